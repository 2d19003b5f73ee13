"""The WSGI entry point that IIS runs, loaded in a new process as IIS would load it."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROLE_FOLDER = Path(__file__).resolve().parent.parent
ENTRY_POINT = "{{ role.wsgi_application }}"
# The value ServiceConfiguration.Cloud.cscfg ships with.
CLOUD_PLACEHOLDER = "REPLACE-WITH-A-LONG-RANDOM-SECRET"


def load_entry_point(**settings: str) -> subprocess.CompletedProcess:
    module, _, attribute = ENTRY_POINT.partition(":")
    environ = {**os.environ, "EMULATED": "false", "HTTPS_ONLY": "false", **settings}
    return subprocess.run(  # noqa: S603 - this interpreter, with arguments of our own
        [sys.executable, "-c", f"from {module} import {attribute}"],
        cwd=ROLE_FOLDER, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )


def test_loads_with_the_cloud_settings():
    loaded = load_entry_point(SECRET_KEY=secrets.token_urlsafe(50))
    assert loaded.returncode == 0, loaded.stderr


def test_without_a_secret_key_it_stops_and_says_why():
    loaded = load_entry_point(SECRET_KEY="")
    assert loaded.returncode != 0
    assert "SettingError: SECRET_KEY is not set" in loaded.stderr


def test_with_a_placeholder_left_in_it_stops_and_says_why():
    loaded = load_entry_point(SECRET_KEY=CLOUD_PLACEHOLDER)
    assert loaded.returncode != 0
    assert "SettingError: SECRET_KEY still holds its placeholder" in loaded.stderr
