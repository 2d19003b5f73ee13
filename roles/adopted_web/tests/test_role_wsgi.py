"""role_wsgi.py: /health answers the load balancer without the team's application, which gets
every other request, with the forwarded headers of a client removed."""

import importlib.util
from wsgiref.util import setup_testing_defaults

import pytest

import role_wsgi
from role_environment import SettingError


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


def redirected_to(environ: dict) -> str:
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer.update(status=status, headers=dict(headers))

    role_wsgi.application(environ, start_response)
    assert answer["status"] == "301 Moved Permanently"
    return answer["headers"]["Location"]


def test_with_https_only_plain_http_is_sent_to_https_but_for_health(monkeypatch):
    def team(environ, start_response):
        start_response("204 No Content", [])
        return []

    monkeypatch.setattr(role_wsgi, "team_application", team)
    monkeypatch.setattr(role_wsgi, "HTTPS_ONLY", True)
    monkeypatch.setattr(role_wsgi, "HTTPS_PORT", 443)
    environ = {"PATH_INFO": "/orders", "QUERY_STRING": "id=7", "HTTP_HOST": "svc.example"}
    assert redirected_to(environ) == "https://svc.example/orders?id=7"
    assert call("/health") == ("200 OK", b"ok\n")
    assert call("/orders", scheme="https") == ("204 No Content", b"")
    monkeypatch.setattr(role_wsgi, "HTTPS_ONLY", False)
    assert call("/orders") == ("204 No Content", b"")


@pytest.mark.parametrize(("host", "https_port", "location"), [
    ("svc.example:8080", 443, "https://svc.example/a%20b"),
    ("svc.example:8080", 8443, "https://svc.example:8443/a%20b"),
    ("svc.example", 8443, "https://svc.example:8443/a%20b"),
    ("[2001:db8::1]:8080", 8443, "https://[2001:db8::1]:8443/a%20b"),
    ("[2001:db8::1]", 443, "https://[2001:db8::1]/a%20b"),
])
def test_the_redirect_goes_to_the_https_endpoints_port(monkeypatch, host, https_port, location):
    monkeypatch.setattr(role_wsgi, "HTTPS_ONLY", True)
    monkeypatch.setattr(role_wsgi, "HTTPS_PORT", https_port)
    assert redirected_to({"PATH_INFO": "/a b", "HTTP_HOST": host}) == location


def test_https_only_is_read_as_the_role_starts(monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "yes")
    spec = importlib.util.spec_from_file_location("role_wsgi_again", role_wsgi.__file__)
    with pytest.raises(SettingError, match="HTTPS_ONLY must be true or false"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
