from django.apps import AppConfig
from django.core import checks

from .checks import plain_http


class PagesConfig(AppConfig):
    name = "pages"

    def ready(self) -> None:
        checks.register(plain_http, checks.Tags.security, deploy=True)
