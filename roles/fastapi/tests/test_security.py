"""Hardening: configuration from the environment, headers, errors, https and proxy headers."""

import secrets

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from hardening import request_target
from webapp import create_app, environment_config


def test_configuration_comes_from_the_environment(cloud_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_ONLY", "true")
    assert environment_config() == {"SECRET_KEY": cloud_environment, "HTTPS_ONLY": True}


@pytest.fixture
def failing_app(app):
    @app.get("/fail")
    def fail():
        raise RuntimeError("the database is on fire")

    return app


@pytest.mark.parametrize("path", ["/", "/health", "/static/site.css", "/no-such-page", "/fail"])
def test_security_headers_on_every_response(failing_app, client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_errors_are_not_shown(failing_app, client):
    response = client.get("/fail")
    assert response.status_code == 500
    assert "on fire" not in response.text


def test_hsts_only_over_https(app):
    assert "Strict-Transport-Security" not in TestClient(app).get("/").headers
    hsts = TestClient(app, base_url="https://testserver").get("/").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_https_only_redirects_everything_but_health():
    app = create_app({"SECRET_KEY": secrets.token_urlsafe(32), "HTTPS_ONLY": True})
    client = TestClient(app, follow_redirects=False)
    response = client.get("/?page=2")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://testserver/?page=2"
    assert client.get("/health").status_code == 200
    assert TestClient(app, base_url="https://testserver").get("/").status_code == 200


@pytest.mark.parametrize(
    "target", ["/%E2%82%AC", "/a%20b", "/%3F?x=1", "/a%0D%0Ab", "/caf%C3%A9/?q=%26"]
)
def test_https_only_redirects_to_the_path_as_it_was_sent(target):
    app = create_app({"SECRET_KEY": secrets.token_urlsafe(32), "HTTPS_ONLY": True})
    response = TestClient(app, follow_redirects=False).get(target)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://testserver{target}"


def test_a_server_that_gives_no_raw_path_gets_the_path_encoded_again():
    scope = {"path": "/site/caf\u00e9 ?", "root_path": "/site", "query_string": b"q=%26"}
    assert request_target(scope) == b"/site/caf%C3%A9%20%3F?q=%26"


@pytest.fixture
def echo_app(app):
    """The app with one more page that shows how the app sees the request."""

    @app.get("/echo")
    def echo(request: Request) -> dict:
        return {"scheme": request.url.scheme, "remote_addr": request.client.host}

    return app


def test_forwarded_headers_from_a_client_are_ignored(echo_app, monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    monkeypatch.delenv("CONTAINER_APP_NAME", raising=False)
    client = TestClient(echo_app, client=("127.0.0.1", 50000))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    response = client.get("/echo", headers=forwarded)
    assert response.json() == {"scheme": "http", "remote_addr": "127.0.0.1"}


def test_behind_iis_the_hop_iis_added_is_taken(echo_app, monkeypatch):
    monkeypatch.setenv("HTTP_PLATFORM_PORT", "50123")
    client = TestClient(echo_app, client=("127.0.0.1", 50000))
    response = client.get("/echo", headers={
        "X-Forwarded-Proto": "http, https", "X-Forwarded-For": "198.51.100.7, 203.0.113.9:51234",
    })
    assert response.json() == {"scheme": "https", "remote_addr": "203.0.113.9"}
    assert "Strict-Transport-Security" in response.headers
