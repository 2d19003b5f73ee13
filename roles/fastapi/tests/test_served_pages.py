{% extends "web/tests/test_served_pages.py" %}
{% block called %}The app is called through
FastAPI's TestClient, as uvicorn calls it.{% endblock %}
{% block wsgi_imports %}{% endblock %}
{% block asgi_imports %}
from fastapi.testclient import TestClient
from httpx2 import Headers
{% endblock %}
{% block get %}
def get(app, path: str, host: str = "testserver") -> Response:
    response = TestClient(app).get(path, headers={"Host": host})
    return Response(response.status_code, response.headers, response.text)
{% endblock %}
