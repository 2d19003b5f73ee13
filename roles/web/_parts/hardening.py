"""Hardening for every request and response of the app, whatever serves it: a WSGI
middleware that

- believes of the X-Forwarded-* headers only what forwarded_headers.py allows;
- with HTTPS_ONLY, answers plain-http requests with a permanent redirect to https, all but
  the load balancer's probe of HEALTH_PATH, which comes over plain http;
- gives every response, error pages included, the headers of security_headers.py that it
  does not set itself (HSTS over https only).
"""

from __future__ import annotations

from collections.abc import Mapping
from wsgiref.util import request_uri

from forwarded_headers import apply_forwarded_headers
from security_headers import security_headers

# The load balancer probes this path over plain http, whatever HTTPS_ONLY says.
HEALTH_PATH = "/health"


def with_security_headers(headers: list[tuple[str, str]], https: bool) -> list[tuple[str, str]]:
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in security_headers(https).items()
                      if name.lower() not in present]


class Hardening:
    """Wraps a WSGI application. ``config`` is the app's configuration, read on every
    request for ``HTTPS_ONLY``."""

    def __init__(self, application, config: Mapping):
        self.application = application
        self.config = config

    def __call__(self, environ, start_response):
        apply_forwarded_headers(environ)
        https = environ.get("wsgi.url_scheme") == "https"
        if self.config["HTTPS_ONLY"] and not https and environ.get("PATH_INFO") != HEALTH_PATH:
            location = "https://" + request_uri(environ).partition("://")[2]
            start_response("301 Moved Permanently", with_security_headers(
                [("Location", location), ("Content-Length", "0")], https))
            return [b""]

        def start_with_security_headers(status, headers, exc_info=None):
            return start_response(status, with_security_headers(headers, https), exc_info)

        return self.application(environ, start_with_security_headers)
