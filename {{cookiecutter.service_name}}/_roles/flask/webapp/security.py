"""Hardening for every request and response of the app."""

from flask import Flask, current_app, redirect, request

from forwarded_headers import apply_forwarded_headers
from security_headers import security_headers

# The load balancer probes this path over plain http, whatever HTTPS_ONLY says.
HEALTH_PATH = "/health"


def init_app(app: Flask) -> None:
    app.wsgi_app = ForwardedHeadersMiddleware(app.wsgi_app)
    app.before_request(redirect_to_https)
    app.after_request(add_security_headers)


class ForwardedHeadersMiddleware:
    """Apply forwarded_headers.py before Flask reads the request's scheme and address."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        apply_forwarded_headers(environ)
        return self.wsgi_app(environ, start_response)


def redirect_to_https():
    if current_app.config["HTTPS_ONLY"] and not request.is_secure and request.path != HEALTH_PATH:
        return redirect(request.url.replace("http://", "https://", 1), code=301)
    return None


def add_security_headers(response):
    """security_headers.py's headers, on every response that does not set its own."""
    for name, value in security_headers(request.is_secure).items():
        response.headers.setdefault(name, value)
    return response
