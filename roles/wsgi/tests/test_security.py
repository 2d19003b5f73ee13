"""Hardening: configuration from the environment, headers, errors, https and proxy headers."""

import logging
import secrets

import pytest

import webapp
from webapp import environment_config, make_application


def test_configuration_comes_from_the_environment(cloud_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "true")
    assert environment_config() == {"SECRET_KEY": cloud_environment, "HTTPS_ONLY": True}


@pytest.fixture
def failing_page(monkeypatch):
    def fail(environ):
        raise RuntimeError("the database is on fire")

    monkeypatch.setitem(webapp.ROUTES, "/fail", fail)


@pytest.mark.parametrize("path", ["/", "/health", "/static/site.css", "/no-such-page", "/fail"])
def test_security_headers_on_every_response(failing_page, client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_errors_are_logged_but_not_shown(failing_page, client, caplog):
    with caplog.at_level(logging.ERROR):
        response = client.get("/fail")
    assert response.status_code == 500
    assert response.text == "500 Internal Server Error"
    assert "the database is on fire" in caplog.text


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    hsts = client.get("/", https=True).headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_https_only_redirects_everything_but_health(client_for):
    config = {"SECRET_KEY": secrets.token_urlsafe(32), "HTTPS_ONLY": True}
    client = client_for(make_application(config))
    response = client.get("/?page=2")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/?page=2"
    assert client.get("/health").status_code == 200
    assert client.get("/", https=True).status_code == 200


def test_forwarded_headers_from_a_client_are_ignored(client, monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    monkeypatch.delenv("CONTAINER_APP_NAME", raising=False)
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
