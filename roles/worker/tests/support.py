"""Helpers for the worker tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from azure.storage.queue import QueueClient, QueueMessage

import worker
from queue_consumer import QueueConsumer, Settings, connect


@contextmanager
def running_worker(
    settings: Settings, handle: Callable[[QueueMessage], None] = worker.handle, **options
) -> Iterator[None]:
    """Run a worker that hands each message to ``handle`` (by default the role's own) in a
    thread for the ``with`` block, then stop it as a signal would.

    ``options`` go to ``connect``. Whatever the worker raised is raised here.
    """
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connect(settings, **options) as service:
                QueueConsumer(settings, service, handle).run(stop)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, name="worker", daemon=True)
    thread.start()
    try:
        yield
        assert thread.is_alive() or errors, "the worker returned before it was stopped"
    finally:
        stop.set()
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    assert not thread.is_alive(), "the worker did not stop within 30 s"


def wait_until(condition: Callable[[], object], seconds: float = 15) -> None:
    """Poll ``condition`` until it is true; fail, naming it, after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s: {condition.__doc__ or condition}")
        time.sleep(0.05)


def message_count(queue: QueueClient) -> int:
    """Messages in the queue, hidden ones included."""
    return queue.get_queue_properties().approximate_message_count
