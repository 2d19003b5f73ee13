"""The worker of role {{ role.name }}.

It hands every message of a storage queue to ``handle``. Edit ``handle``;
``queue_consumer.py`` keeps the queue's promises. A message is deleted
only after ``handle`` returns, stays hidden from other instances while it waits or is
handled, and moves to ``<QueueName>-poison`` once it has been tried MaxDequeueCount times.
README.md describes the settings.
"""

from __future__ import annotations

import logging
import sys
import threading

from azure.storage.queue import QueueMessage

from queue_consumer import (
    QueueConsumer,
    SettingError,
    Settings,
    connect,
    send_telemetry_when_configured,
    stop_on_signals,
)

log = logging.getLogger("worker")


def handle(message: QueueMessage) -> None:
    """Do what one message asks for.

    Return, and the message is deleted. Raise, and it comes back after the visibility
    timeout, until it has been tried MaxDequeueCount times. A message can arrive twice
    (an instance may stop between ``handle`` and the delete), so make the work idempotent.
    """
    log.info("Message %s says %r", message.id, message.content)


def main() -> int:
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs every request at INFO
    try:
        settings = Settings.from_environment()
        service = connect(settings)
    except SettingError as error:
        log.error("%s", error)
        return 2
    send_telemetry_when_configured()
    stop = threading.Event()
    stop_on_signals(stop)
    log.info("Reading the queue %s", settings.queue_name)
    # ``handle`` is looked up for each message, not passed as it is now: a test that
    # replaces ``worker.handle`` then has its own handler called.
    QueueConsumer(settings, service, lambda message: handle(message)).run(stop)
    log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
