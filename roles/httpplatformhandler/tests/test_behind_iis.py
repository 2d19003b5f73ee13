"""Behind IIS the app takes the scheme from the hop HttpPlatformHandler adds, whatever the
framework: the app is called as {{ role.app_server }} calls it, with the headers IIS would send."""

from __future__ import annotations

{% block wsgi_imports %}
from wsgiref.headers import Headers
from wsgiref.util import setup_testing_defaults

{% endblock %}
import pytest
{% block asgi_imports %}
{% endblock %}

from security_headers import HSTS

# The client wrote the first entries itself; IIS appended the last ones.
FORWARDED_BY_IIS = {
    "HTTP_X_FORWARDED_PROTO": "http, https",
    "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9:51234",
}


@pytest.fixture(autouse=True)
def behind_iis(monkeypatch):
    monkeypatch.setenv("HTTP_PLATFORM_PORT", "50123")
    monkeypatch.delenv("CONTAINER_APP_NAME", raising=False)


{% block response_headers %}
def response_headers(app, **environ) -> Headers:
    # testserver: the host name Django's tests allow.
    environ = {"PATH_INFO": "/", "HTTP_HOST": "testserver", "SERVER_NAME": "testserver", **environ}
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["headers"] = headers

    result = app(environ, start_response)
    try:
        b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Headers(started["headers"])
{% endblock %}


def test_the_hop_iis_added_is_taken(app):
    headers = response_headers(app, REMOTE_ADDR="127.0.0.1", **FORWARDED_BY_IIS)
    assert headers["Strict-Transport-Security"] == HSTS


def test_the_same_headers_from_another_machine_are_not_believed(app):
    headers = response_headers(app, REMOTE_ADDR="198.51.100.7", **FORWARDED_BY_IIS)
    assert "Strict-Transport-Security" not in headers
