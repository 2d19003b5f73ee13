{% extends "web/role_environment.py" %}
{% block log_handler %}
    """Log lines at INFO and above to stdout, which HttpPlatformHandler writes to its log
    file on the VMs and ``python -m cloudservice run`` shows prefixed with the role."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
{% endblock %}
