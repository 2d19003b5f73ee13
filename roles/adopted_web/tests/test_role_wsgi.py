"""role_wsgi.py: /health answers the load balancer without the team's application, which gets
every other request, with the forwarded headers of a client removed."""

from wsgiref.util import setup_testing_defaults

import role_wsgi


def call(path: str, scheme: str = "http", **headers: str) -> tuple[str, bytes]:
    environ = {"PATH_INFO": path, "wsgi.url_scheme": scheme}
    environ.update((f"HTTP_{key.upper()}", value) for key, value in headers.items())
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = status
        started["headers"] = dict(response_headers)

    result = role_wsgi.application(environ, start_response)
    try:
        return started["status"], b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def test_health_answers_200_without_the_application(monkeypatch):
    def refuse(environ, start_response):
        raise AssertionError("the team's application was called for /health")

    monkeypatch.setattr(role_wsgi, "team_application", refuse)
    assert call("/health") == ("200 OK", b"ok\n")


def test_other_requests_reach_the_teams_application_without_forwarded_headers(monkeypatch):
    seen = {}

    def team(environ, start_response):
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    monkeypatch.setattr(role_wsgi, "team_application", team)
    answer = call("/orders", x_forwarded_proto="https", x_forwarded_for="203.0.113.7")
    assert answer == ("204 No Content", b"")
    assert seen["PATH_INFO"] == "/orders"
    assert "HTTP_X_FORWARDED_PROTO" not in seen and "HTTP_X_FORWARDED_FOR" not in seen
    assert seen["wsgi.url_scheme"] == "http"


def test_the_teams_application_is_a_wsgi_callable():
    assert callable(role_wsgi.team_application)


def test_with_https_only_plain_http_is_sent_to_https_but_for_health(monkeypatch):
    def team(environ, start_response):
        start_response("204 No Content", [])
        return []

    monkeypatch.setattr(role_wsgi, "team_application", team)
    monkeypatch.setenv("HTTPS_ONLY", "true")
    environ = {"PATH_INFO": "/orders", "QUERY_STRING": "id=7", "HTTP_HOST": "svc.example"}
    setup_testing_defaults(environ)
    redirected = {}

    def start_response(status, headers):
        redirected.update(status=status, headers=dict(headers))

    role_wsgi.application(environ, start_response)
    assert redirected["status"] == "301 Moved Permanently"
    assert redirected["headers"]["Location"] == "https://svc.example/orders?id=7"
    assert call("/health") == ("200 OK", b"ok\n")
    assert call("/orders", scheme="https") == ("204 No Content", b"")
    monkeypatch.setenv("HTTPS_ONLY", "false")
    assert call("/orders") == ("204 No Content", b"")
