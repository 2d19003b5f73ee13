"""{% block docstring %}{% endblock %}"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from wsgiref.headers import Headers
from wsgiref.util import setup_testing_defaults

import pytest

{% block imports %}
{% endblock %}


@dataclass
class Response:
    status_code: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


class Client:
    """Sends GET requests straight to a WSGI application."""

    def __init__(self, app):
        self.app = app

    def get(self, path: str, headers: dict | None = None, https: bool = False,
            remote_addr: str = "127.0.0.1") -> Response:
        path, _, query = path.partition("?")
        environ = {"PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": remote_addr,
                   "wsgi.url_scheme": "https" if https else "http"}
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        setup_testing_defaults(environ)
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"], started["headers"] = status, response_headers

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return Response(int(started["status"].split()[0]), Headers(started["headers"]), body)


{% block app %}
{% endblock %}


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def client_for():
    """``client_for(app)``: a client for an app a test builds itself."""
    return Client
