"""The WSGI entry point that IIS runs ({{ role.wsgi_application }}): the app, built once per process."""

from role_environment import configure_logging
from webapp import make_application

configure_logging()
application = make_application()
