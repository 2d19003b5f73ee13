{% if cookiecutter.web_server == "httpplatformhandler" %}
"""What to believe of the X-Forwarded-* request headers.

On the role's VMs, IIS receives each request and HttpPlatformHandler passes it on to
waitress on 127.0.0.1, adding X-Forwarded-Proto (http or https) and X-Forwarded-For (the
client's address and port). IIS appends its value to whatever the client sent, so only the
last entry of each header comes from IIS: that one hop is taken, and only when
HttpPlatformHandler started this process (it sets HTTP_PLATFORM_PORT) and the request came
from this machine. Anywhere else (local runs, tests) the headers can only be the client's.

Either way the headers are then removed, so that nothing further on takes a client's word
for its scheme or address (Bottle's request.remote_addr, for one, reads X-Forwarded-For).
Django's SECURE_PROXY_SSL_HEADER is not used: it trusts the *first* X-Forwarded-Proto
entry, which is the one the client wrote.
"""

from __future__ import annotations

import ipaddress
import os

FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_PROTO",
)
LOOPBACK = ("127.0.0.1", "::1")


def behind_iis() -> bool:
    return bool(os.environ.get("HTTP_PLATFORM_PORT"))


def last_entry(header: str) -> str:
    return header.rpartition(",")[2].strip()


def client_address(entry: str) -> str | None:
    """``203.0.113.7:51234`` or ``[2001:db8::7]:51234`` (IIS adds the port) -> the address."""
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def apply_forwarded_headers(environ: dict) -> None:
    """Update a WSGI environ in place: take the scheme and client address from the hop
    IIS added, when there is one to take, then drop the forwarded headers."""
    if behind_iis() and environ.get("REMOTE_ADDR") in LOOPBACK:
        scheme = last_entry(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower()
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme
        client = client_address(last_entry(environ.get("HTTP_X_FORWARDED_FOR", "")))
        if client:
            environ["REMOTE_ADDR"] = client
    for name in FORWARDED_HEADERS:
        environ.pop(name, None)
{% else %}
"""What to believe of the X-Forwarded-* request headers: nothing.

wfastcgi hands the application the scheme and client address that IIS itself saw, so these
headers can only have been written by the client. They are removed before the application
sees the request, so that nothing takes a client's word for its scheme or address (Bottle's
request.remote_addr, for one, reads X-Forwarded-For).
"""

FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_PROTO",
)


def apply_forwarded_headers(environ: dict) -> None:
    """Update a WSGI environ in place: drop the forwarded headers."""
    for name in FORWARDED_HEADERS:
        environ.pop(name, None)
{% endif %}
