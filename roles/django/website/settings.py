"""Django settings for this role, read from the role's environment.

Each setting declared for the role in ServiceDefinition.csdef reaches this process as an
environment variable of the same name (README.md lists them); the values live in
ServiceConfiguration.Cloud.cscfg and ServiceConfiguration.Local.cscfg, not here.
"""

import os
import re
import warnings
from pathlib import Path

from role_environment import flag, listed, logging_config, running_locally, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def container_app_hosts() -> list[str]:
    """On Azure Container Apps, the app's own address, ``<name>.<environment suffix>``,
    from the variables the platform gives every app; elsewhere nothing."""
    name = os.environ.get("CONTAINER_APP_NAME", "").strip()
    suffix = os.environ.get("CONTAINER_APP_ENV_DNS_SUFFIX", "").strip()
    return [f"{name}.{suffix}"] if name and suffix else []


SECRET_KEY = secret_key()
DEBUG = flag("DEBUG")
# Unset, both default to the app's address on Container Apps (served over https there).
ALLOWED_HOSTS = listed("ALLOWED_HOSTS") or container_app_hosts()
CSRF_TRUSTED_ORIGINS = listed("CSRF_TRUSTED_ORIGINS") or [
    f"https://{host}" for host in container_app_hosts()
]

# A stateless site with no database, hence no admin, auth, sessions or messages: every
# instance serves every request alike. README.md says how to add a database.
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "pages",
]
DATABASES = {}

MIDDLEWARE = [
    "pages.middleware.security_headers",
    "pages.middleware.forwarded_headers",
    "pages.middleware.health_check",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "website.urls"
WSGI_APPLICATION = "website.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are served by WhiteNoise, inside the app, whichever server runs it.
# `python manage.py collectstatic` gathers them, compressed, into STATIC_ROOT.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if not STATIC_ROOT.is_dir():
    # Not collected (yet): WhiteNoise serves the files from each app's static/ folder,
    # uncompressed, and need not warn that STATIC_ROOT is missing.
    WHITENOISE_USE_FINDERS = True
    warnings.filterwarnings("ignore", message=re.escape(f"No directory at: {STATIC_ROOT}"))

# HTTPS. The cloud endpoint is plain http until the role has a certificate; then
# HTTPS_ONLY=true redirects http to https. (The load balancer's http probe of /health is
# answered before the redirect, in pages.middleware.) HSTS goes out on https responses only.
# Whether a request came over https is what forwarded_headers.py (run by
# pages.middleware.forwarded_headers) makes of it, not SECURE_PROXY_SSL_HEADER, which would
# believe the first X-Forwarded-Proto entry: the client's.
HTTPS_ONLY = flag("HTTPS_ONLY")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
if not HTTPS_ONLY:
    # No https endpoint to redirect to yet: pages.checks reports the plain-http site
    # instead (as an Info of `manage.py check --deploy` that names HTTPS_ONLY).
    SILENCED_SYSTEM_CHECKS = ["security.W008"]

# Cookies: only over https in the cloud, never readable by scripts, not sent with
# cross-site requests. Local runs are plain http on 127.0.0.1, where a browser may refuse
# Secure cookies.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not running_locally()
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

LOGGING = logging_config()
