"""Hardening for every request and response of the app."""

from flask import Flask, current_app, redirect, request

from forwarded_headers import apply_forwarded_headers

# Sent with every response, unless a view sets its own value.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Browsers act on it only when it comes over https.
HSTS = "max-age=31536000; includeSubDomains; preload"
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
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
