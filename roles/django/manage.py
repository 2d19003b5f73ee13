"""Django's command line for this role: ``python manage.py <command>`` from this folder."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
    # On a developer's machine, unless told otherwise: use the solution's .local-secret-key
    # (which role VMs do not have) when SECRET_KEY is not set.
    os.environ.setdefault("EMULATED", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
