"""Local ports for the roles' endpoints.

In the cloud every role has its own load-balanced address, so two roles may both
use port 80 behind different names, but on one machine they share 127.0.0.1. The
rule, applied to each instance of each role in ServiceDefinition.csdef order:

1. Start from the endpoint's port. A port below 1024 needs administrator rights on
   most systems, so it moves up by 8000: 80 becomes 8080, 443 becomes 8443. Other
   ports are kept. An endpoint without a port starts from 8000.
2. Take the first port from there upward that no earlier instance took, that is not
   one of Azurite's (10000-10002) and that nothing on this machine is using.

So the template's first web role (port 80) listens on 8080 and a second one (port
8080) on 8081. The URL printed at start is always the one to use.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Hashable, Iterable

PRIVILEGED_BELOW = 1024
PRIVILEGED_SHIFT = 8000
NO_PORT_START = 8000
HIGHEST_PORT = 65535
AZURITE_PORTS = frozenset({10000, 10001, 10002})


def preferred(port: int | None) -> int:
    """Where the search for a local port starts (rule 1)."""
    if port is None:
        return NO_PORT_START
    return port + PRIVILEGED_SHIFT if port < PRIVILEGED_BELOW else port


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now: nothing answers there and
    the port can be bound (allowing for connections of a previous run still closing)."""
    if is_listening(port, host):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            # As waitress does; on Windows the option would let the bind succeed on a taken port.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def assign(
    wanted: Iterable[tuple[Hashable, int | None]],
    reserved: Iterable[int] = AZURITE_PORTS,
    free: Callable[[int], bool] = is_free,
) -> dict[Hashable, int]:
    """Give each key (in order) a local port for its endpoint port (rule 2)."""
    taken = set(reserved)
    ports = {}
    for key, port in wanted:
        candidate = preferred(port)
        while candidate in taken or not free(candidate):
            candidate += 1
            if candidate > HIGHEST_PORT:
                raise RuntimeError(f"no free local port at or above {preferred(port)} for {key}")
        taken.add(candidate)
        ports[key] = candidate
    return ports
