"""The WSGI application that IIS, waitress and the container serve for this role:
the team's own `{{ role.adopted.entry_point }}`{{ " (called to make the application)" if role.adopted.factory }},
with /health for the load balancer's probe in front of it.

The scheme and client address of each request are what `forwarded_headers.py` believes:
the proxy in front of the role (IIS, the Container Apps ingress), never the client's own
X-Forwarded-* headers. With the setting HTTPS_ONLY true, a plain-http request gets a
permanent redirect to the role's https endpoint instead (all but /health, which the probe
asks over http).
"""

{% if role.adopted.settings_module or role.adopted.python_path %}
import os
{% endif %}
import pkgutil
import re
{% if role.adopted.python_path %}
import sys
from pathlib import Path
{% endif %}
from wsgiref.util import request_uri

from forwarded_headers import apply_forwarded_headers
from role_environment import flag
{% if role.adopted.python_path %}

# The folders the team's imports start from, besides the role folder.
ROLE_FOLDER = Path(__file__).resolve().parent
for folder in {{ role.adopted.python_path | tojson }}:
    if str(ROLE_FOLDER / folder) not in sys.path:
        sys.path.insert(0, str(ROLE_FOLDER / folder))
{% endif %}
{% if role.adopted.settings_module %}

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ role.adopted.settings_module }}")
{% endif %}

HEALTH_PATH = "/health"
HEALTH_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
# Read once, so that a value other than true or false stops the role as it starts.
HTTPS_ONLY = flag("HTTPS_ONLY")
# The port of the role's https endpoint in ServiceDefinition.csdef (443 while it has none).
HTTPS_PORT = {{ role.adopted.https_port }}
{% if role.adopted.factory %}
team_application = pkgutil.resolve_name("{{ role.adopted.entry_point }}")()
{% else %}
team_application = pkgutil.resolve_name("{{ role.adopted.entry_point }}")
{% endif %}


def application(environ, start_response):
    """/health answers the load balancer's probe; the team's application answers the rest."""
    if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        start_response("200 OK", HEALTH_HEADERS)
        return [b"ok\n"]
    apply_forwarded_headers(environ)
    if environ.get("wsgi.url_scheme") != "https" and HTTPS_ONLY:
        headers = [("Location", https_url(environ)), ("Content-Length", "0")]
        start_response("301 Moved Permanently", headers)
        return [b""]
    return team_application(environ, start_response)


def https_url(environ) -> str:
    """The request's URL on the https endpoint: its host name and path, the port HTTPS_PORT."""
    host, _, path = request_uri(environ).partition("://")[2].partition("/")
    host_name = re.sub(r":\d*$", "", host)  # the http endpoint's port, if the URL had one
    port = "" if HTTPS_PORT == 443 else f":{HTTPS_PORT}"
    return f"https://{host_name}{port}/{path}"
