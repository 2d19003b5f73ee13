"""The pages the role serves."""

ROLE_NAME = "{{ role.name }}"


def test_home_page_names_the_role(client):
    response = client.get("/")
    assert response.status_code == 200
    assert f"<h1>{ROLE_NAME}</h1>" in response.text


def test_static_files_are_served(client):
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_files_outside_static_are_not(client):
    assert client.get("/static/../webapp.py").status_code in (403, 404)
