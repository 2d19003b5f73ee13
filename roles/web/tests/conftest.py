"""Fixtures every web role's tests share."""

import secrets

import pytest


@pytest.fixture
def cloud_environment(monkeypatch):
    """The environment a role instance in the cloud gets (see ServiceDefinition.csdef)."""
    key = secrets.token_urlsafe(50)
    monkeypatch.setenv("EMULATED", "false")
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("HTTPS_ONLY", "false")
    return key
