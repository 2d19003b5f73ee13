{% extends "web/_parts/wsgi_conftest.py" %}
{% block docstring %}Fixtures for this role's tests: the app, and a small WSGI client that calls it the way
waitress or wfastcgi would.

pytest puts this folder (it holds the root conftest.py) on sys.path, so ``webapp`` and
``wsgi`` import here as they do on the role's VMs.
{% endblock %}
{% block imports %}
from webapp import make_application
{% endblock %}
{% block app %}
@pytest.fixture
def app():
    return make_application({"SECRET_KEY": secrets.token_urlsafe(32)})
{% endblock %}
