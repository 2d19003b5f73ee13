"""Django's deployment checklist, ``manage.py check --deploy``, on production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROLE_FOLDER = Path(__file__).resolve().parent.parent
# The cloud configuration's settings, with real values in place of the placeholders.
PRODUCTION = {
    "EMULATED": "false",
    "DEBUG": "false",
    "HTTPS_ONLY": "true",
    "ALLOWED_HOSTS": "myservice.cloudapp.azure.com",
    "CSRF_TRUSTED_ORIGINS": "https://myservice.cloudapp.azure.com",
}


def check_deploy(**settings: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), **settings}
    return subprocess.run(  # noqa: S603 - this interpreter, with arguments of our own
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROLE_FOLDER, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )


def test_production_settings_pass():
    checked = check_deploy()
    assert checked.returncode == 0, checked.stderr


def test_a_plain_http_site_is_reported_but_passes():
    checked = check_deploy(HTTPS_ONLY="false")
    assert checked.returncode == 0, checked.stderr
    assert "pages.I001" in checked.stderr


def test_debug_fails():
    checked = check_deploy(DEBUG="true")
    assert checked.returncode != 0
    assert "security.W018" in checked.stderr


def test_a_weak_secret_key_fails():
    checked = check_deploy(SECRET_KEY=secrets.token_urlsafe(8))
    assert checked.returncode != 0
    assert "security.W009" in checked.stderr


def test_a_missing_secret_key_stops_manage_py():
    checked = check_deploy(SECRET_KEY="")
    assert checked.returncode != 0
    assert "SettingError: SECRET_KEY is not set" in checked.stderr
