"""The role's web application. ``create_app()`` builds it: the application factory.

Its settings come from the role's environment (README.md lists them). Cookies that must not
be forged are signed with itsdangerous (``set_signed_cookie``/``get_signed_cookie``), never
with Bottle's ``secret=`` cookies, which unpickle what the browser sends back.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bottle import Bottle, HTTPError, request, response, static_file, template
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hardening import HEALTH_PATH, Hardening
from role_environment import flag, role_instance, running_locally, secret_key

ROLE_NAME = "{{ role.name }}"
HERE = Path(__file__).resolve().parent
STATIC_ROOT = str(HERE / "static")
# One list for every call: Bottle caches compiled templates per lookup list.
TEMPLATE_LOOKUP = [str(HERE / "views")]

log = logging.getLogger(__name__)


class Site(Bottle):
    """Bottle, with error pages of one plain line: Bottle's own pages style themselves
    inline, which the Content-Security-Policy (security_headers.py) blocks."""

    def default_error_handler(self, res: HTTPError) -> str:
        response.content_type = "text/plain; charset=utf-8"
        return res.status_line


def create_app(config: dict | None = None) -> Bottle:
    """Build the app, configured from the role's environment or, in tests, from ``config``."""
    app = Site()
    app.config.update({"HTTPS_ONLY": False, "COOKIE_SECURE": True})
    app.config.update(environment_config() if config is None else config)
    # Bottle hands every request to its wsgi method: wrapped, error pages get the headers too.
    app.wsgi = Hardening(app.wsgi, app.config)
    app.error(500, callback=server_error)
    app.route("/", callback=home)
    app.route(HEALTH_PATH, callback=health)
    app.route("/static/<path:path>", callback=static)
    return app


def environment_config() -> dict:
    """The role's settings (README.md lists them), as the app's configuration."""
    return {
        "SECRET_KEY": secret_key(),
        "HTTPS_ONLY": flag("HTTPS_ONLY"),
        # Local runs are plain http on 127.0.0.1, where a browser may refuse Secure cookies.
        "COOKIE_SECURE": not running_locally(),
    }


def home():
    return template(
        "home", template_lookup=TEMPLATE_LOOKUP, role_name=ROLE_NAME, instance=role_instance()
    )


def health():
    """The load balancer's probe (ServiceDefinition.csdef): 200 while the app can serve."""
    response.set_header("Cache-Control", "no-store")
    return {"status": "ok"}


def static(path: str):
    return static_file(path, root=STATIC_ROOT)


def server_error(error: HTTPError) -> str:
    """An unhandled exception: log it (with its traceback) and answer without details."""
    log.error("%s %s failed:\n%s", request.method, request.path, error.traceback)
    return "Internal Server Error"


def set_signed_cookie(name: str, value, max_age: int | None = None) -> None:
    """Set a cookie the browser keeps but cannot forge: ``value`` as JSON, signed with
    SECRET_KEY (readable by the browser, so no secrets in it)."""
    options = {"max_age": max_age} if max_age is not None else {}
    response.set_cookie(
        name,
        _cookie_serializer().dumps(value),
        path="/",
        secure=request.app.config["COOKIE_SECURE"],
        httponly=True,
        samesite="lax",
        **options,
    )


def get_signed_cookie(name: str, max_age: int | None = None, default=None):
    """The value set by ``set_signed_cookie``; ``default`` when the cookie is missing,
    forged, or older than ``max_age`` seconds."""
    raw = request.get_cookie(name)
    if raw is None:
        return default
    try:
        return _cookie_serializer().loads(raw, max_age=max_age)
    except BadSignature:
        return default


def _cookie_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.config["SECRET_KEY"], salt="cookie")
