"""Hardening: configuration from the environment, headers, cookies, https and proxy headers."""

import secrets

import pytest
from bottle import request

import role_environment
from role_environment import SettingError
from webapp import create_app, get_signed_cookie, set_signed_cookie


def test_configuration_comes_from_the_environment(cloud_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "true")
    app = create_app()
    assert app.config["SECRET_KEY"] == cloud_environment
    assert app.config["HTTPS_ONLY"] is True
    assert app.config["COOKIE_SECURE"] is True


{% set cookie_secure_setting = "COOKIE_SECURE" %}
{% include "web/_parts/secret_key_tests.py" %}


def failing_page():
    raise RuntimeError("the database is on fire")


@pytest.mark.parametrize("path", ["/", "/health", "/static/site.css", "/no-such-page", "/fail"])
def test_security_headers_on_every_response(app, client, path):
    app.route("/fail", callback=failing_page)
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_errors_are_logged_but_not_shown(app, client, caplog):
    app.route("/fail", callback=failing_page)
    response = client.get("/fail")
    assert response.status_code == 500
    assert "on fire" not in response.text
    assert "the database is on fire" in caplog.text


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    hsts = client.get("/", https=True).headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_https_only_redirects_everything_but_health(client_for):
    client = client_for(create_app({"SECRET_KEY": secrets.token_urlsafe(32), "HTTPS_ONLY": True}))
    response = client.get("/?page=2")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/?page=2"
    assert client.get("/health").status_code == 200
    assert client.get("/", https=True).status_code == 200


def remember():
    set_signed_cookie("visitor", {"name": "Ada"})
    return "ok"


def recall():
    return {"visitor": get_signed_cookie("visitor")}


@pytest.fixture
def cookie_app(app):
    app.route("/remember", callback=remember)
    app.route("/recall", callback=recall)
    return app


def test_signed_cookies_are_secure_httponly_and_samesite(cookie_app, client):
    cookie = client.get("/remember").headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=lax" in cookie


def test_signed_cookies_round_trip_and_reject_forgeries(cookie_app, client):
    cookie = client.get("/remember").headers["Set-Cookie"].split(";")[0]
    assert client.get("/recall", headers={"Cookie": cookie}).json() == {"visitor": {"name": "Ada"}}
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert client.get("/recall", headers={"Cookie": forged}).json() == {"visitor": None}


def test_signed_cookies_are_json_not_pickle(cookie_app, client):
    value = client.get("/remember").headers["Set-Cookie"].split(";")[0].partition("=")[2]
    assert not value.startswith("!")  # Bottle's pickled cookies start with "!"


def echo():
    return {"scheme": request.urlparts.scheme, "remote_addr": request.remote_addr}


@pytest.fixture
def echo_app(app):
    app.route("/echo", callback=echo)
    return app


def test_forwarded_headers_from_a_client_are_ignored(echo_app, client, monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    response = client.get(
        "/echo", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    )
    assert response.json() == {"scheme": "http", "remote_addr": "127.0.0.1"}
