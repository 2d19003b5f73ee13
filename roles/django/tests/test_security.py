"""Hardening: response headers, https, cookies and proxy headers."""

import pytest
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.test import Client, RequestFactory, override_settings


@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_security_headers_on_pages(client, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_debug_pages_get_no_content_security_policy(client):
    assert "Content-Security-Policy" in client.get("/no-such-page")
    with override_settings(DEBUG=True):
        debug_page = client.get("/no-such-page")
    assert "<style" in debug_page.content.decode()  # Django's debug pages style themselves inline
    assert "Content-Security-Policy" not in debug_page


def test_static_files_are_not_sniffed(client):
    response = client.get("/static/pages/site.css")
    assert response["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/")
    hsts = client.get("/", secure=True)["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains; preload"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_https_only_redirects_everything_but_health():
    client = Client()
    response = client.get("/?page=2")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/?page=2"
    assert client.get("/health").status_code == 200
    assert client.get("/", secure=True).status_code == 200


def test_csrf_cookie_is_secure_httponly_and_samesite():
    request = RequestFactory().get("/")
    get_token(request)
    response = CsrfViewMiddleware(lambda request: HttpResponse())(request)
    cookie = response.cookies["csrftoken"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_forwarded_headers_from_a_client_are_ignored(client, monkeypatch):
    monkeypatch.delenv("HTTP_PLATFORM_PORT", raising=False)
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert "Strict-Transport-Security" not in response
    assert response.wsgi_request.scheme == "http"
    assert response.wsgi_request.META["REMOTE_ADDR"] == "127.0.0.1"
