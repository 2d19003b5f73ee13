"""X-Forwarded-* headers: only the hop a trusted proxy adds is believed."""

import pytest

from forwarded_headers import apply_forwarded_headers


def request_environ(**headers) -> dict:
    return {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", **headers}


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    monkeypatch.delenv("CONTAINER_APP_NAME", raising=False)


@pytest.fixture
def on_container_apps(monkeypatch):
    monkeypatch.setenv("CONTAINER_APP_NAME", "webrole")


def test_without_a_trusted_proxy_the_headers_are_only_removed():
    environ = request_environ(
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="for=203.0.113.9;proto=https",
    )
    apply_forwarded_headers(environ)
    assert environ == request_environ()


def test_on_container_apps_the_scheme_and_client_come_from_the_ingress(on_container_apps):
    environ = request_environ(
        REMOTE_ADDR="100.100.0.12",
        HTTP_X_FORWARDED_PROTO="http, https",
        HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.9",
    )
    apply_forwarded_headers(environ)
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert not any(name.startswith("HTTP_X_FORWARDED") for name in environ)
{% block server_tests %}
{% endblock %}
