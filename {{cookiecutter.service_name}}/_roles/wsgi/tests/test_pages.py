"""The pages the role serves."""

from wsgiref.util import setup_testing_defaults

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
    assert int(response.headers["Content-Length"]) == len(response.body) > 0


def test_files_outside_the_routes_are_not_served(client):
    assert client.get("/static/../webapp.py").status_code == 404
    assert client.get("/webapp.py").status_code == 404


def test_unknown_page_is_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.text == "404 Not Found"


def call(app, method: str, path: str) -> tuple[str, dict, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return started["status"], started["headers"], body


def test_other_methods_are_refused(app):
    status, headers, _ = call(app, "POST", "/")
    assert status == "405 Method Not Allowed"
    assert headers["Allow"] == "GET, HEAD"


def test_head_answers_the_headers_without_the_body(app):
    status, headers, body = call(app, "HEAD", "/")
    assert status == "200 OK"
    assert int(headers["Content-Length"]) > 0
    assert body == b""
