"""The role's web application. ``create_app()`` builds it: the application factory."""

from __future__ import annotations

from flask import Flask

from hardening import Hardening
from role_environment import flag, running_locally, secret_key

from . import pages


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app, configured from the role's environment or, in tests, from ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(
        HTTPS_ONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.from_mapping(environment_config() if test_config is None else test_config)
    app.wsgi_app = Hardening(app.wsgi_app, app.config)
    app.register_blueprint(pages.bp)
    return app


def environment_config() -> dict:
    """The role's settings (README.md lists them), as Flask configuration."""
    https_only = flag("HTTPS_ONLY")
    return {
        "SECRET_KEY": secret_key(),
        "HTTPS_ONLY": https_only,
        "PREFERRED_URL_SCHEME": "https" if https_only else "http",
        # Local runs are plain http on 127.0.0.1, where a browser may refuse Secure cookies.
        "SESSION_COOKIE_SECURE": not running_locally(),
    }
