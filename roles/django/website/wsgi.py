"""The WSGI entry point that IIS runs ({{ role.wsgi_application }})."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")

application = get_wsgi_application()
