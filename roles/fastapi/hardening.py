"""Hardening for every request and response of the app: an ASGI middleware that

- believes of the X-Forwarded-* headers only what forwarded_headers.py allows (uvicorn runs
  with --no-proxy-headers, so it leaves them to this);
- with HTTPS_ONLY, answers plain-http requests with a permanent redirect to https, all but
  the load balancer's probe of HEALTH_PATH, which comes over plain http;
- gives every response, error pages included, the headers of security_headers.py that it
  does not set itself (HSTS over https only).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from forwarded_headers import apply_forwarded_headers
from security_headers import security_headers

# The load balancer probes this path over plain http, whatever HTTPS_ONLY says.
HEALTH_PATH = "/health"


def environ_name(header: bytes) -> str:
    return "HTTP_" + header.decode("latin-1").upper().replace("-", "_")


def believed(scope: dict) -> dict:
    """The scope with the scheme and client forwarded_headers.py takes, and without the
    forwarded headers (it works on a WSGI environ: the scope is seen as one)."""
    client_host, client_port = scope.get("client") or ("", 0)
    environ = {"REMOTE_ADDR": client_host, "wsgi.url_scheme": scope["scheme"]}
    for name, value in scope["headers"]:
        environ[environ_name(name)] = value.decode("latin-1")
    apply_forwarded_headers(environ)
    headers = [(name, value) for name, value in scope["headers"] if environ_name(name) in environ]
    client = (environ["REMOTE_ADDR"], client_port) if scope.get("client") else None
    return {**scope, "scheme": environ["wsgi.url_scheme"], "client": client, "headers": headers}


def request_target(scope: dict) -> bytes:
    """The path and query of the request as the client sent them, still percent-encoded:
    ``scope["path"]`` is decoded, and a redirect to it would lose ``%3F`` or break on
    ``%E2%82%AC``."""
    path = scope.get("raw_path")
    if not path:  # raw_path is optional in ASGI: encode the path (root_path included) again
        path = quote(scope["path"]).encode("ascii")
    query = scope.get("query_string", b"")
    return path + b"?" + query if query else path


def with_security_headers(headers: list, https: bool) -> list:
    present = {name.lower() for name, _ in headers}
    return [*headers, *((name.lower().encode(), value.encode())
                        for name, value in security_headers(https).items()
                        if name.lower().encode() not in present)]


class Hardening:
    """Wraps an ASGI application. ``config`` is the app's configuration, read on every
    request for ``HTTPS_ONLY``."""

    def __init__(self, application, config: Mapping):
        self.application = application
        self.config = config

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        scope = believed(scope)
        https = scope["scheme"] == "https"
        if self.config["HTTPS_ONLY"] and not https and scope["path"] != HEALTH_PATH:
            host = dict(scope["headers"]).get(b"host", b"")
            location = b"https://" + host + request_target(scope)
            headers = [(b"location", location), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 301,
                        "headers": with_security_headers(headers, https)})
            await send({"type": "http.response.body", "body": b""})
            return None

        async def send_with_security_headers(message):
            if message["type"] == "http.response.start":
                headers = with_security_headers(list(message.get("headers", [])), https)
                message = {**message, "headers": headers}
            await send(message)

        return await self.application(scope, receive, send_with_security_headers)
