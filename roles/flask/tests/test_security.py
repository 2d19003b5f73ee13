"""Hardening: configuration from the environment, headers, cookies, https and proxy headers."""

import secrets

import pytest
from flask import request, session

import role_environment
from role_environment import SettingError
from webapp import create_app


def test_configuration_comes_from_the_environment(cloud_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "true")
    app = create_app()
    assert app.config["SECRET_KEY"] == cloud_environment
    assert app.config["HTTPS_ONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.debug is False


{% set cookie_secure_setting = "SESSION_COOKIE_SECURE" %}
{% include "web/_parts/secret_key_tests.py" %}


@pytest.mark.parametrize("path", ["/", "/health", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    hsts = client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_https_only_redirects_everything_but_health(app):
    app.config["HTTPS_ONLY"] = True
    client = app.test_client()
    response = client.get("/?page=2")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://localhost/?page=2"
    assert client.get("/health").status_code == 200
    assert client.get("/", base_url="https://localhost").status_code == 200


def test_session_cookie_is_secure_httponly_and_samesite(app):
    @app.get("/remember")
    def remember():
        session["seen"] = True
        return "ok"

    cookie = app.test_client().get("/remember").headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


@pytest.fixture
def echo_client(app):
    """A client for an app with one more page that shows how the app sees the request."""

    @app.get("/echo")
    def echo():
        return {"scheme": request.scheme, "remote_addr": request.remote_addr}

    return app.test_client()


def test_forwarded_headers_from_a_client_are_ignored(echo_client, monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    response = echo_client.get(
        "/echo", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    )
    assert response.json == {"scheme": "http", "remote_addr": "127.0.0.1"}
