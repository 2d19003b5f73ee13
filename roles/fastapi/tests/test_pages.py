"""The pages the role serves."""

{% include "web/_parts/home_page_tests.py" %}


def test_no_interactive_api_pages(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200
