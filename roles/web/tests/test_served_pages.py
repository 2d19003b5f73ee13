"""What the app serves, whatever the framework: /health answers the probes, the home page
says which role instance answered, every response carries the headers of security_headers.py,
and the home page keeps to its Content-Security-Policy. {% block called %}The app is called
as a WSGI server calls it.{% endblock %}"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit
{% block wsgi_imports %}
from wsgiref.headers import Headers
from wsgiref.util import setup_testing_defaults
{% endblock %}

import pytest
{% block asgi_imports %}
{% endblock %}

from security_headers import SECURITY_HEADERS

ROLE_NAME = "{{ role.name }}"


@dataclass
class Response:
    status: int
    headers: Headers
    text: str


{% block get %}
def get(app, path: str, host: str = "testserver") -> Response:
    # testserver: the host name Django's tests allow.
    environ = {"PATH_INFO": path, "HTTP_HOST": host, "SERVER_NAME": "testserver"}
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status = int(started["status"].split()[0])
    return Response(status, Headers(started["headers"]), body.decode("utf-8", "replace"))
{% endblock %}


class PageParts(HTMLParser):
    """What of a page a Content-Security-Policy rules on."""

    def __init__(self):
        super().__init__()
        self.elements: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)
        for name, value in attrs:
            self.attributes.append((name, value or ""))
            if name in ("src", "href") and tag != "a":
                self.urls.append(value or "")


def home_page_parts(app) -> PageParts:
    home = get(app, "/")
    assert home.status == 200
    parts = PageParts()
    parts.feed(home.text)
    return parts


# The load balancer's probe uses the instance's address, Container Apps' the replica's.
@pytest.mark.parametrize("host", ["testserver", "10.0.0.4", "10.0.0.4:8000"])
def test_health_answers_the_probes_whatever_host_name_they_use(app, host):
    health = get(app, "/health", host)
    assert health.status == 200
    assert json.loads(health.text) == {"status": "ok"}
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.headers["Cache-Control"] == "no-store"


def test_an_unknown_page_is_404(app):
    assert get(app, "/no-such-page").status == 404


def test_the_home_page_shows_which_instance_answered(app, monkeypatch):
    shown = {
        "Role": ("ROLE_NAME", ROLE_NAME),
        "Instance": ("ROLE_INSTANCE_ID", f"{ROLE_NAME}_IN_1"),
        "Deployment": ("DEPLOYMENT_ID", "4f6c0c8e5d0b4c1e9a3b2d7e8f9a0b1c"),
        "Emulated": ("EMULATED", "true"),
    }
    for variable, value in shown.values():
        monkeypatch.setenv(variable, value)
    page = get(app, "/").text
    for label, (_, value) in shown.items():
        assert f"<dt>{label}</dt>\n      <dd>{value}</dd>" in page


def test_without_the_platform_variables_the_home_page_says_so(app, monkeypatch):
    for name in ("ROLE_NAME", "ROLE_INSTANCE_ID", "DEPLOYMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMULATED", "false")
    page = get(app, "/").text
    assert "<dt>Instance</dt>\n      <dd>(not set)</dd>" in page
    assert "<dt>Emulated</dt>\n      <dd>false</dd>" in page


@pytest.mark.parametrize("path", ["/", "/health", "/no-such-page", "stylesheet"])
def test_every_response_carries_the_security_headers(app, path):
    if path == "stylesheet":
        (path,) = [url for url in home_page_parts(app).urls if url.endswith(".css")]
    headers = get(app, path).headers
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_error_pages_keep_to_the_content_security_policy(app):
    missing = get(app, "/no-such-page")
    assert missing.status == 404
    parts = PageParts()
    parts.feed(missing.text)
    assert {"script", "style"}.isdisjoint(parts.elements), missing.text
    assert [name for name, _ in parts.attributes if name == "style" or name.startswith("on")] == []


def test_the_home_page_keeps_to_the_content_security_policy(app):
    parts = home_page_parts(app)
    # No inline script or style, which default-src 'self' blocks.
    assert "script" not in parts.elements
    assert "style" not in parts.elements
    assert [name for name, _ in parts.attributes if name == "style" or name.startswith("on")] == []
    assert not [value for _, value in parts.attributes if value.lower().startswith("javascript:")]
    # Everything it loads comes from the site itself, and is there.
    assert parts.urls
    for url in parts.urls:
        split = urlsplit(url)
        assert not split.scheme and not split.netloc, url
        assert get(app, url).status == 200, url
