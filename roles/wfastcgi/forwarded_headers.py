{% extends "web/forwarded_headers.py" %}
{% block on_the_vms %}
On the role's VMs, wfastcgi hands the application the scheme and client address that IIS
itself saw, so there these headers can only have been written by the client.
{% endblock %}
