"""Put one plain-text message on a queue (created when missing), with the solution's
own Python: ``python send_message.py CONNECTION_STRING QUEUE TEXT``."""

from __future__ import annotations

import contextlib
import sys

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

if __name__ == "__main__":
    connection_string, queue_name, text = sys.argv[1:]
    with QueueClient.from_connection_string(connection_string, queue_name) as queue:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        queue.send_message(text)
