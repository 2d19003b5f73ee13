"""The pages the role serves."""

from wsgiref.util import setup_testing_defaults

{% include "web/_parts/home_page_tests.py" %}


def test_the_stylesheet_says_its_length(client):
    response = client.get("/static/site.css")
    assert int(response.headers["Content-Length"]) == len(response.body) > 0


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
