"""Fixtures for this role's tests, built with the application factory, and FastAPI's
TestClient, which calls the app the way uvicorn would.

pytest puts this folder (it holds the root conftest.py) on sys.path, so ``webapp`` and
``asgi`` import here as they do on the role's VMs.
"""

import secrets

import pytest
from fastapi.testclient import TestClient

from webapp import create_app


@pytest.fixture
def app():
    return create_app({"SECRET_KEY": secrets.token_urlsafe(32)})


@pytest.fixture
def client(app):
    # An unhandled exception answers 500, as under uvicorn, rather than failing the test.
    return TestClient(app, raise_server_exceptions=False)
