"""The role's web application: a plain WSGI application, no framework. ``make_application()``
builds it, wrapped in hardening.py.

Its settings come from the role's environment (README.md lists them). Each path of
``ROUTES`` is answered by a function that takes the WSGI environ and returns the status,
the headers and the body; anything else is a 404.
"""

from __future__ import annotations

import html
import json
import logging
from http import HTTPStatus
from pathlib import Path

from hardening import HEALTH_PATH, Hardening
from role_environment import flag, role_instance, secret_key

ROLE_NAME = "{{ role.name }}"
STYLESHEET = Path(__file__).resolve().parent / "static" / "site.css"
# What a page answers with the methods it does not take.
METHODS = ("GET", "HEAD")

log = logging.getLogger(__name__)

Response = tuple[HTTPStatus, list[tuple[str, str]], bytes]

HOME_PAGE = """{% with framework="plain WSGI" %}{% include "web/_parts/home_page.html" %}{% endwith %}"""
INSTANCE_ENTRY = "      <dt>{label}</dt>\n      <dd>{value}</dd>\n"


def make_application(config: dict | None = None):
    """Build the app, configured from the role's environment or, in tests, from ``config``."""
    config = {"HTTPS_ONLY": False, **(environment_config() if config is None else config)}
    return Hardening(Site(config), config)


def environment_config() -> dict:
    """The role's settings (README.md lists them), as the app's configuration."""
    return {
        # Nothing is signed yet; the key is there for the cookies or tokens you add.
        "SECRET_KEY": secret_key(),
        "HTTPS_ONLY": flag("HTTPS_ONLY"),
    }


PLAIN_TEXT = "text/plain; charset=utf-8"


def text(status: HTTPStatus, body: str, content_type: str = PLAIN_TEXT) -> Response:
    return status, [("Content-Type", content_type)], body.encode("utf-8")


def home(environ: dict) -> Response:
    instance = "".join(
        INSTANCE_ENTRY.format(label=html.escape(label), value=html.escape(value))
        for label, value in role_instance()
    )
    page = HOME_PAGE.format(role_name=html.escape(ROLE_NAME), instance=instance)
    return text(HTTPStatus.OK, page, "text/html; charset=utf-8")


def health(environ: dict) -> Response:
    """The load balancer's probe (ServiceDefinition.csdef): 200 while the app can serve."""
    status, headers, body = text(HTTPStatus.OK, json.dumps({"status": "ok"}), "application/json")
    return status, [*headers, ("Cache-Control", "no-store")], body


def stylesheet(environ: dict) -> Response:
    return text(HTTPStatus.OK, STYLESHEET.read_text(encoding="utf-8"), "text/css; charset=utf-8")


ROUTES = {
    "/": home,
    HEALTH_PATH: health,
    "/static/site.css": stylesheet,
}


class Site:
    """Answers each request from ``ROUTES``; ``config`` is the app's configuration."""

    def __init__(self, config: dict):
        self.config = config

    def __call__(self, environ, start_response):
        status, headers, body = self.respond(environ)
        headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(f"{status.value} {status.phrase}", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    def respond(self, environ: dict) -> Response:
        route = ROUTES.get(environ.get("PATH_INFO") or "/")
        if route is None:
            return text(HTTPStatus.NOT_FOUND, "404 Not Found")
        if environ["REQUEST_METHOD"] not in METHODS:
            status, headers, body = text(HTTPStatus.METHOD_NOT_ALLOWED, "405 Method Not Allowed")
            return status, [*headers, ("Allow", ", ".join(METHODS))], body
        try:
            return route(environ)
        except Exception:
            # Logged with its traceback; the client learns nothing of it.
            log.exception("%s %s failed", environ["REQUEST_METHOD"], environ.get("PATH_INFO"))
            return text(HTTPStatus.INTERNAL_SERVER_ERROR, "500 Internal Server Error")
