"""Fixtures for this role's tests, built with the application factory.

pytest puts this folder (it holds the root conftest.py) on sys.path, so ``webapp`` and
``wsgi`` import here as they do on the role's VMs.
"""

import secrets

import pytest

from webapp import create_app


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": secrets.token_urlsafe(32)})


@pytest.fixture
def client(app):
    return app.test_client()
