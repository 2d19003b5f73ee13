ROLE_NAME = "{{ role.name }}"


def test_home_page_names_the_role(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"<h1>{ROLE_NAME}</h1>" in response.text


def test_home_page_escapes_what_it_shows(client, monkeypatch):
    monkeypatch.setenv("ROLE_INSTANCE_ID", "<script>alert(1)</script>")
    page = client.get("/").text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_stylesheet_is_served(client):
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_files_outside_the_routes_are_not_served(client):
    assert client.get("/static/../webapp.py").status_code == 404


def test_unknown_page_is_one_plain_line(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.text == "404 Not Found"
