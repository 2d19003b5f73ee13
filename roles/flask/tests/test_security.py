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


def test_missing_secret_key_stops_the_app(cloud_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(SettingError, match="SECRET_KEY is not set"):
        create_app()


def test_placeholder_secret_key_stops_the_app(cloud_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "REPLACE-WITH-A-LONG-RANDOM-SECRET")
    with pytest.raises(SettingError, match="placeholder"):
        create_app()


def test_local_runs_use_the_solution_key(monkeypatch, tmp_path):
    key = secrets.token_urlsafe(50)
    key_file = tmp_path / ".local-secret-key"
    key_file.write_text(key + "\n", encoding="utf-8")
    monkeypatch.setattr(role_environment, "LOCAL_SECRET_FILE", key_file)
    monkeypatch.setenv("EMULATED", "true")
    monkeypatch.setenv("SECRET_KEY", "")
    app = create_app()
    assert app.config["SECRET_KEY"] == key
    assert app.config["SESSION_COOKIE_SECURE"] is False


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
