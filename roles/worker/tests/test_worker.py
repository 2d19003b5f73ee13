"""The worker against a real Azurite, running in a thread of the test process."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import time

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import LinearRetry, QueueClient, TextBase64EncodePolicy
from support import message_count, running_worker, wait_until

from cloudservice import azurite
from queue_consumer import FIRST_WAIT_SECONDS, Settings


class Recorder:
    """A stand-in for ``handle`` that notes each message's content and dequeue count."""

    def __init__(self, seconds: float = 0, fail: bool = False):
        self.seconds = seconds
        self.fail = fail
        self.calls: list[tuple[str, int]] = []

    def __call__(self, message) -> None:
        self.calls.append((message.content, message.dequeue_count))
        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("this handler always fails")

    def contents(self) -> list[str]:
        return [content for content, _ in self.calls]


class Requests:
    """Counts the requests of the worker's storage client (its ``raw_response_hook``)."""

    def __init__(self):
        self.made: list[tuple[str, str]] = []

    def __call__(self, response) -> None:
        self.made.append((response.http_request.method, response.http_request.url))

    def count(self, method: str, fragment: str = "") -> int:
        return sum(1 for m, url in self.made if m == method and fragment in url)


def poison_contents(settings: Settings) -> list[str]:
    with QueueClient.from_connection_string(
        settings.connection_string, settings.poison_queue_name
    ) as poison:
        return [message.content for message in poison.peek_messages(max_messages=32)]


def test_every_message_is_handled_once_then_deleted(settings, queue):
    handler = Recorder()
    sent = [f"message {n}" for n in range(40)]  # more than one batch
    for text in sent:
        queue.send_message(text)
    requests = Requests()

    with running_worker(settings, handler, raw_response_hook=requests):
        wait_until(lambda: len(handler.calls) == len(sent) and message_count(queue) == 0)

    assert sorted(handler.contents()) == sorted(sent)
    assert requests.count("DELETE", "popreceipt") == len(sent)
    assert requests.count("PUT", "popreceipt") == 0, "quick messages need no visibility updates"


def test_a_failing_message_moves_to_the_poison_queue(settings, queue):
    handler = Recorder(fail=True)
    queue.send_message("cannot be done")

    with running_worker(settings, handler):
        wait_until(lambda: message_count(queue) == 0, seconds=20)

    assert handler.calls == [("cannot be done", n) for n in (1, 2, 3)]
    assert poison_contents(settings) == ["cannot be done"]


def test_a_message_that_stopped_the_worker_every_time_goes_to_poison(settings, queue):
    handler = Recorder()
    queue.send_message("crashes the worker")
    for _ in range(settings.max_dequeue_count):  # received, then never finished
        message = queue.receive_message(visibility_timeout=30)
        queue.update_message(message, visibility_timeout=0)

    with running_worker(settings, handler):
        wait_until(lambda: message_count(queue) == 0)

    assert handler.calls == []
    assert poison_contents(settings) == ["crashes the worker"]


def test_base64_messages_arrive_as_the_text_that_was_sent(settings, queue):
    handler = Recorder()
    text = '{"greeting": "grüß dich ✓"}'
    with QueueClient.from_connection_string(
        settings.connection_string,
        settings.queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
    ) as functions_style:
        functions_style.send_message(text)
    [stored] = queue.peek_messages()
    assert base64.b64decode(stored.content).decode("utf-8") == text

    with running_worker(dataclasses.replace(settings, message_encoding="base64"), handler):
        wait_until(lambda: message_count(queue) == 0)

    assert handler.contents() == [text]


def test_a_message_that_is_not_base64_fails_alone(settings, queue):
    handler = Recorder()
    queue.send_message("plain text, not Base64")
    queue.send_message(base64.b64encode(b"fine").decode())

    with running_worker(dataclasses.replace(settings, message_encoding="base64"), handler):
        wait_until(lambda: message_count(queue) == 0, seconds=20)

    assert handler.contents() == ["fine"]
    assert poison_contents(settings) == ["plain text, not Base64"]


def test_a_long_message_stays_hidden_from_other_workers(settings, queue):
    settings = dataclasses.replace(settings, visibility_timeout=2)  # leaves room for slow CI
    handler = Recorder(seconds=1.5 * settings.visibility_timeout)
    queue.send_message("takes a while")
    requests = Requests()

    with (
        running_worker(settings, handler, raw_response_hook=requests),
        running_worker(settings, handler, raw_response_hook=requests),
    ):
        wait_until(lambda: message_count(queue) == 0)

    assert handler.contents() == ["takes a while"]
    assert requests.count("PUT", "popreceipt") >= 2, "its visibility was extended"


@pytest.mark.parametrize("cap", [0.25, 60])
def test_an_idle_worker_backs_off(settings, cap):
    seconds = 2
    requests = Requests()

    with running_worker(dataclasses.replace(settings, max_idle_backoff=cap),
                        raw_response_hook=requests):
        time.sleep(seconds)

    # One request creates the missing queue; then it polls at once and again after
    # each wait, the waits doubling from FIRST_WAIT_SECONDS up to the cap.
    polls, waited, wait = 1, 0.0, 0.0
    while True:
        wait = min(max(2 * wait, FIRST_WAIT_SECONDS), cap)
        waited += wait
        if waited > seconds:
            break
        polls += 1
    assert requests.count("PUT") == 1
    assert 1 <= requests.count("GET", "/messages") <= polls


def test_the_worker_waits_out_a_storage_outage(settings, tmp_path, caplog):
    handler = Recorder()
    ports = dict(zip(azurite.DEFAULT_PORTS, azurite.free_ports(3), strict=True))
    down = dataclasses.replace(settings, connection_string=azurite.connection_string(ports))

    storage = None
    try:
        # Without the SDK's own retries, every failure reaches the worker's loop.
        with running_worker(down, handler, retry_policy=LinearRetry(retry_total=0)):
            # Nothing listens on those ports yet.
            wait_until(lambda: "Cannot receive" in caplog.text)
            storage = azurite.start(tmp_path / "azurite", ports)
            with QueueClient.from_connection_string(
                down.connection_string, down.queue_name
            ) as client:
                with contextlib.suppress(ResourceExistsError):  # the worker may be first
                    client.create_queue()
                client.send_message("after the outage")
            wait_until(lambda: handler.contents() == ["after the outage"], seconds=20)
    finally:
        if storage:
            storage.kill()  # its data is throw-away, and a polite stop takes seconds
            storage.wait()
