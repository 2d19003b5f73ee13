"""The pages the role serves."""

import pytest

{% include "web/_parts/home_page_tests.py" %}


def test_no_interactive_api_pages(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("path", ["/", "/health"])
def test_head_answers_the_headers_without_the_body(client, path):
    response = client.head(path)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(client.get(path).content)
    assert response.content == b""
