"""Run a command and start it again whenever it exits, waiting longer each time.

``python cloudservice/recycle.py <command> [<argument> ...]``

Azure recycles a worker role instance whose entry point exits; ``run`` starts each
worker through this script to do the same locally. The wait starts at 1 second and
doubles after each exit up to a minute; a process that ran for a minute or more
counts as healthy and the wait starts again at 1 second.

Run as a script (not with ``-m``) from the role's folder, so that the role's
process finds only the role's own modules; it uses the standard library alone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

FIRST_DELAY = 1.0
LONGEST_DELAY = 60.0
HEALTHY_AFTER = 60.0


def next_delay(previous: float | None, ran_for: float) -> float:
    """The wait before starting again, after a run of ``ran_for`` seconds that
    followed a wait of ``previous`` seconds (None for the first run)."""
    if previous is None or ran_for >= HEALTHY_AFTER:
        return FIRST_DELAY
    return min(previous * 2, LONGEST_DELAY)


class Recycler:
    """Starts the command again whenever it exits, until asked to stop.

    Asked to stop (SIGTERM, or SIGINT), it starts nothing more: while the command runs,
    it waits for it to end (``run`` signals the whole process group, so the command
    has had the signal too) and exits with its code; between runs it exits at once.
    """

    def __init__(self, command: list[str]):
        self.command = command
        self.child: subprocess.Popen | None = None
        self.stopping = False

    def stop(self, signum, frame) -> None:
        self.stopping = True
        if self.child is None:
            raise SystemExit(128 + signum)

    def run(self) -> int:
        name = " ".join(self.command[1:]) or self.command[0]
        delay = None
        while True:
            started = time.monotonic()
            self.child = subprocess.Popen(self.command)
            returncode = self.child.wait()
            self.child = None
            if self.stopping:
                return returncode
            delay = next_delay(delay, time.monotonic() - started)
            print(
                f"{name} exited with code {returncode}; starting it again in {delay:g} s,"
                " as Azure recycles an instance whose entry point exits",
                flush=True,
            )
            time.sleep(delay)


def main(command: list[str]) -> int:
    if not command:
        print("usage: python cloudservice/recycle.py <command> [<argument> ...]", file=sys.stderr)
        return 2
    recycler = Recycler(command)
    signal.signal(signal.SIGTERM, recycler.stop)
    signal.signal(signal.SIGINT, recycler.stop)
    return recycler.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
