"""What to believe of the X-Forwarded-* request headers.

{% block on_the_vms %}
{% endblock %}

On Azure Container Apps (which sets CONTAINER_APP_NAME) a replica is reached only through
the environment's ingress, which adds its own X-Forwarded-Proto and X-Forwarded-For entries
last: that hop is taken, so that a site behind https ingress knows it is served over https.
Anywhere else (local runs, tests, ``run --containers``) the headers can only be the client's.

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
{% block iis_names %}
{% endblock %}


def from_a_trusted_proxy(environ: dict) -> bool:
{% block from_iis %}
{% endblock %}
    return bool(os.environ.get("CONTAINER_APP_NAME"))


def last_entry(header: str) -> str:
    return header.rpartition(",")[2].strip()


def client_address(entry: str) -> str | None:
    """``203.0.113.7:51234`` or ``[2001:db8::7]:51234`` (a port may follow) -> the address."""
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
    the trusted proxy added, when there is one, then drop the forwarded headers."""
    if from_a_trusted_proxy(environ):
        scheme = last_entry(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower()
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme
        client = client_address(last_entry(environ.get("HTTP_X_FORWARDED_FOR", "")))
        if client:
            environ["REMOTE_ADDR"] = client
    for name in FORWARDED_HEADERS:
        environ.pop(name, None)
