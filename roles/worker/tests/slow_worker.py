"""The worker with a ``handle`` that takes HANDLE_SECONDS and notes each message it
starts and finishes in the file HANDLED_FILE. The tests run it as a real process, to
stop or kill it in the middle of a message."""

import os
import sys
import time
from pathlib import Path

import worker


def handle(message) -> None:
    record = Path(os.environ["HANDLED_FILE"])
    with record.open("a", encoding="utf-8") as out:
        out.write(f"start {message.content}\n")
    time.sleep(float(os.environ["HANDLE_SECONDS"]))
    with record.open("a", encoding="utf-8") as out:
        out.write(f"done {message.content}\n")


if __name__ == "__main__":
    worker.handle = handle
    sys.exit(worker.main())
