{% extends "httpplatformhandler/tests/test_behind_iis.py" %}
{% block wsgi_imports %}{% endblock %}
{% block asgi_imports %}
from fastapi.testclient import TestClient
from httpx2 import Headers
{% endblock %}
{% block response_headers %}
def response_headers(app, **environ) -> Headers:
    """The headers of the home page's response to a request with these WSGI-style
    variables (REMOTE_ADDR, HTTP_*), as uvicorn would hand it over."""
    client = environ.pop("REMOTE_ADDR")
    headers = {name.removeprefix("HTTP_").replace("_", "-"): value
               for name, value in environ.items()}
    return TestClient(app, client=(client, 51234)).get("/", headers=headers).headers
{% endblock %}
