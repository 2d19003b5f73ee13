"""The container's entry point: uvicorn, as on the VMs and in ``python -m cloudservice run``,
serving the ASGI application named on the command line on $HOST:$PORT (0.0.0.0:8000 unless
they say otherwise)::

    python serve.py module:application

uvicorn stops on SIGTERM (how Container Apps and ``docker stop`` ask a container to stop)
as on Ctrl+C: requests in progress get a few seconds to finish. Then it signals the process
again, to end it as the signal would; here SIGTERM, as Ctrl+C, raises KeyboardInterrupt, so
the process exits with 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import uvicorn

# Every address of the container: the platform's ingress reaches it from outside.
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104  # nosec B104
# Requests in progress at SIGTERM get this long to finish.
GRACEFUL_SECONDS = 5


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python serve.py module:application", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            arguments[0],
            host=os.environ.get("HOST") or ALL_ADDRESSES,
            port=int(os.environ.get("PORT") or 8000),
            # forwarded_headers.py decides what to believe of them (see hardening.py).
            proxy_headers=False,
            server_header=False,
            access_log=False,  # as on the VMs: a line per request, probes included, is noise
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
