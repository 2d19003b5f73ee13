"""A check of our own for ``manage.py check --deploy``."""

from django.conf import settings
from django.core.checks import Info


def plain_http(app_configs, **kwargs):
    if settings.SECURE_SSL_REDIRECT:
        return []
    return [
        Info(
            "HTTPS_ONLY is false: the site is served over plain http, where browsers drop "
            "its Secure cookies (so forms fail their CSRF check).",
            hint="Give the role a certificate and an https endpoint, then set HTTPS_ONLY "
            "to true in ServiceConfiguration.Cloud.cscfg.",
            id="pages.I001",
        )
    ]
