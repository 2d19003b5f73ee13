"""An ASGI entry point, for ASGI servers (IIS runs the WSGI one, website/wsgi.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")

application = get_asgi_application()
