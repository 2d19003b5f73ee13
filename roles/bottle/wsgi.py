"""The WSGI entry point that IIS runs ({{ role.wsgi_application }}): the app, built once per process."""

from role_environment import configure_logging
from webapp import create_app

configure_logging()
app = create_app()
