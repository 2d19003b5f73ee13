{% extends "web/role_environment.py" %}
{% block log_handler %}
    """Log lines at INFO and above to the WSGI_LOG file when wfastcgi runs the role: it
    swaps stdout and stderr for per-request buffers, so anything written there is lost.
    Elsewhere (local runs, tests) to stdout."""
    if os.environ.get("WSGI_LOG"):
        handler = {
            "class": "logging.FileHandler",
            "filename": os.environ["WSGI_LOG"],
            "encoding": "utf-8",
        }
    else:
        handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
{% endblock %}
