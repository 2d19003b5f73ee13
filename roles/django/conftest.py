"""Test set-up for this role: Django configured as in the cloud, with a throwaway secret.

pytest puts this folder (it holds the root conftest.py) on sys.path, so ``website`` and
``pages`` import here as they do on the role's VMs.
"""

import os
import secrets

import django
import pytest
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.test.utils import setup_test_environment, teardown_test_environment

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "website.settings",
        "EMULATED": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "HTTPS_ONLY": "false",
        "ALLOWED_HOSTS": "testserver",
        "CSRF_TRUSTED_ORIGINS": "",
    }
)
django.setup()


def pytest_configure(config):
    # website/settings.py quiets WhiteNoise's warning about an uncollected STATIC_ROOT, but
    # pytest restores the warning filters after loading this file: quiet it for the tests too.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(scope="session", autouse=True)
def django_test_environment():
    setup_test_environment()
    yield
    teardown_test_environment()


@pytest.fixture
def client():
    return Client()


@pytest.fixture
def app():
    """The WSGI application, as a WSGI server calls it."""
    return get_wsgi_application()
