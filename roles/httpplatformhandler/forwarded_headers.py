{% extends "web/forwarded_headers.py" %}
{% block on_the_vms %}
On the role's VMs, IIS receives each request and HttpPlatformHandler passes it on to
{{ role.app_server }} on 127.0.0.1, adding X-Forwarded-Proto (http or https) and X-Forwarded-For (the
client's address and port). IIS appends its value to whatever the client sent, so only the
last entry of each header comes from IIS: that one hop is taken, and only when
HttpPlatformHandler started this process (it sets HTTP_PLATFORM_PORT) and the request came
from this machine.
{% endblock %}
{% block iis_names %}
LOOPBACK = ("127.0.0.1", "::1")
{% endblock %}
{% block from_iis %}
    if os.environ.get("HTTP_PLATFORM_PORT"):  # started by HttpPlatformHandler, behind IIS
        return environ.get("REMOTE_ADDR") in LOOPBACK
{% endblock %}
