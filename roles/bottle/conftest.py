{% extends "web/_parts/wsgi_conftest.py" %}
{% block docstring %}Fixtures for this role's tests, built with the application factory, and a small WSGI
client that calls the app the way waitress or wfastcgi would.

pytest puts this folder (it holds the root conftest.py) on sys.path, so ``webapp`` and
``wsgi`` import here as they do on the role's VMs.
{% endblock %}
{% block imports %}
from webapp import create_app
{% endblock %}
{% block app %}
@pytest.fixture
def app():
    return create_app({"SECRET_KEY": secrets.token_urlsafe(32)})
{% endblock %}
