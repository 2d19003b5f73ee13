"""On Azure Container Apps: the host names and origins the site trusts, when the settings
leave them unset, come from the variables the platform gives every app."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROLE_FOLDER = Path(__file__).resolve().parent.parent
APP = {
    "CONTAINER_APP_NAME": "shop",
    "CONTAINER_APP_ENV_DNS_SUFFIX": "calm-sea-1a2b3c.westeurope.azurecontainerapps.io",
}
ADDRESS = "shop.calm-sea-1a2b3c.westeurope.azurecontainerapps.io"
# Loads the settings as the role does, then asks the site for two pages with a Host header.
PROBE = """
import json, sys
import django
from django.conf import settings
from django.test import Client
django.setup()
client = Client()
print(json.dumps({
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
    "home": client.get("/", HTTP_HOST=sys.argv[1]).status_code,
    "health": client.get("/health", HTTP_HOST="10.0.0.4:8000").status_code,
}))
"""


def load_settings(host: str, **settings: str) -> dict:
    environ = {
        name: value for name, value in os.environ.items() if not name.startswith("CONTAINER_APP_")
    }
    environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "website.settings",
            "EMULATED": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "",
            "CSRF_TRUSTED_ORIGINS": "",
            **settings,
        }
    )
    completed = subprocess.run(  # noqa: S603 - this interpreter, with arguments of our own
        [sys.executable, "-c", PROBE, host],
        cwd=ROLE_FOLDER, env=environ, capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_unset_they_are_the_apps_address():
    loaded = load_settings(ADDRESS, **APP)
    assert loaded["ALLOWED_HOSTS"] == [ADDRESS]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == [f"https://{ADDRESS}"]
    assert loaded["home"] == 200
    assert loaded["health"] == 200


def test_set_they_win():
    loaded = load_settings(
        "www.example.com",
        ALLOWED_HOSTS="www.example.com",
        CSRF_TRUSTED_ORIGINS="https://www.example.com",
        **APP,
    )
    assert loaded["ALLOWED_HOSTS"] == ["www.example.com"]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == ["https://www.example.com"]
    assert loaded["home"] == 200


def test_elsewhere_unset_means_no_host_but_health_still_answers():
    loaded = load_settings(ADDRESS)
    assert loaded["ALLOWED_HOSTS"] == []
    assert loaded["CSRF_TRUSTED_ORIGINS"] == []
    assert loaded["home"] == 400
    assert loaded["health"] == 200
