"""The role's web application. ``create_app()`` builds it: the application factory.

Its settings come from the role's environment (README.md lists them), kept in
``app.state.config``.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from hardening import HEALTH_PATH, Hardening
from role_environment import flag, role_instance, secret_key

ROLE_NAME = "{{ role.name }}"
STATIC_ROOT = Path(__file__).resolve().parent / "static"

HOME_PAGE = """{% with framework="FastAPI" %}{% include "web/_parts/home_page.html" %}{% endwith %}"""
INSTANCE_ENTRY = "      <dt>{label}</dt>\n      <dd>{value}</dd>\n"


class Site(FastAPI):
    """FastAPI, with hardening.py around everything, Starlette's error responses included."""

    def build_middleware_stack(self):
        return Hardening(super().build_middleware_stack(), self.state.config)


def create_app(config: dict | None = None) -> FastAPI:
    """Build the app, configured from the role's environment or, in tests, from ``config``."""
    # No interactive API pages (/docs, /redoc): they load scripts from a CDN, which the
    # Content-Security-Policy blocks. /openapi.json describes the API.
    app = Site(docs_url=None, redoc_url=None)
    app.state.config = {"HTTPS_ONLY": False, **(environment_config() if config is None else config)}
    app.add_exception_handler(HTTPException, plain_error)
    # HEAD as well as GET, as the WSGI kinds answer it: uptime monitors probe with HEAD.
    # Pages and probe, not API: /openapi.json leaves them out.
    pages = {"methods": ["GET", "HEAD"], "include_in_schema": False}
    app.api_route("/", response_class=HTMLResponse, **pages)(home)
    app.api_route(HEALTH_PATH, **pages)(health)
    app.mount("/static", StaticFiles(directory=STATIC_ROOT), name="static")
    return app


def environment_config() -> dict:
    """The role's settings (README.md lists them), as the app's configuration."""
    return {
        # Nothing is signed yet; the key is there for the cookies or tokens you add.
        "SECRET_KEY": secret_key(),
        "HTTPS_ONLY": flag("HTTPS_ONLY"),
    }


def home() -> str:
    instance = "".join(
        INSTANCE_ENTRY.format(label=html.escape(label), value=html.escape(value))
        for label, value in role_instance()
    )
    return HOME_PAGE.format(role_name=html.escape(ROLE_NAME), instance=instance)


def health(response: Response) -> dict:
    """The load balancer's probe (ServiceDefinition.csdef): 200 while the app can serve."""
    response.headers["Cache-Control"] = "no-store"
    return {"status": "ok"}


async def plain_error(request, error: HTTPException) -> PlainTextResponse:
    """Errors as one plain line, such as ``404 Not Found``."""
    return PlainTextResponse(f"{error.status_code} {error.detail}", status_code=error.status_code,
                             headers=error.headers)
