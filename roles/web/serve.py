"""The container's entry point: waitress, as in ``python -m cloudservice run``, serving the
WSGI application named on the command line on $HOST:$PORT (0.0.0.0:8000 unless they say
otherwise)::

    python serve.py module:application

A container's first process gets no default signal handlers, so SIGTERM (how Container
Apps and ``docker stop`` ask a container to stop) would be ignored until the platform
kills the process. Here SIGTERM stops waitress as Ctrl+C does: requests in progress get
a few seconds to finish, then the process exits with 0.
"""

from __future__ import annotations

import os
import pkgutil
import signal
import sys

import waitress

# Every address of the container: the platform's ingress reaches it from outside.
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104  # nosec B104


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python serve.py module:application", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        application = pkgutil.resolve_name(arguments[0])
        host = os.environ.get("HOST") or ALL_ADDRESSES
        waitress.serve(application, listen=f"{host}:{os.environ.get('PORT') or 8000}")
    except KeyboardInterrupt:  # stopped before waitress started
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
