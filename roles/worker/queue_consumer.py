"""The machinery behind ``worker.py``: it hands every message of a storage queue to a
handler and keeps the queue's promises.

A message is deleted only after the handler returns, stays hidden from other instances
while it waits or is handled, and moves to ``<QueueName>-poison`` once it has been tried
MaxDequeueCount times. README.md describes the settings.
"""

from __future__ import annotations

import base64
import copy
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import LinearRetry, QueueClient, QueueMessage, QueueServiceClient

log = logging.getLogger("worker")
# The cloud role name that Application Insights shows.
ROLE_NAME = "{{ role.name }}"

{% macro cloud_value(name) %}{{ role.settings | selectattr("name", "equalto", name) | map(attribute="cloud") | first }}{% endmacro %}
# What an unset or empty setting means: its value in ServiceConfiguration.Cloud.cscfg.
DEFAULT_QUEUE_NAME = "{{ cloud_value("QueueName") }}"
DEFAULT_MAX_DEQUEUE_COUNT = {{ cloud_value("MaxDequeueCount") }}
DEFAULT_VISIBILITY_TIMEOUT = {{ cloud_value("VisibilityTimeoutSeconds") }}
DEFAULT_MAX_IDLE_BACKOFF = {{ cloud_value("MaxIdleBackoffSeconds") }}
DEFAULT_MESSAGE_ENCODING = "{{ cloud_value("MessageEncoding") }}"
BATCH_SIZE = 32  # the most one request can receive
DELETE_THREADS = 8
FIRST_WAIT_SECONDS = 1.0  # after an empty poll or a storage error; doubles up to the cap
QUEUE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
POISON_SUFFIX = "-poison"
DECIMAL = re.compile(r"^\d+(\.\d+)?$")
QUEUE_ENDPOINT = re.compile(r"^https?://[^/\s]+(/[^\s]*)?$")


class SettingError(ValueError):
    """A setting that cannot be used; str() names it and says what would do."""


@dataclass(frozen=True)
class Settings:
    connection_string: str
    queue_name: str = DEFAULT_QUEUE_NAME
    max_dequeue_count: int = DEFAULT_MAX_DEQUEUE_COUNT
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    max_idle_backoff: float = DEFAULT_MAX_IDLE_BACKOFF
    message_encoding: str = DEFAULT_MESSAGE_ENCODING
    # Used, with the role's managed identity, when connection_string is empty.
    queue_endpoint: str = ""

    @property
    def poison_queue_name(self) -> str:
        return self.queue_name + POISON_SUFFIX

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings; an unset or empty variable takes the default."""

        def get(name: str, default: str = "") -> str:
            return environ.get(name, "").strip() or default

        connection_string = get("StorageConnectionString")
        queue_endpoint = "" if connection_string else get("StorageQueueEndpoint")
        if not connection_string and not queue_endpoint:
            raise SettingError(
                "StorageConnectionString: not set, and neither is StorageQueueEndpoint; give "
                "the storage account's connection string (ServiceConfiguration.Local.cscfg has "
                "the one for Azurite), or its queue endpoint to use the managed identity"
            )
        if queue_endpoint and not QUEUE_ENDPOINT.match(queue_endpoint):
            raise SettingError(
                f"StorageQueueEndpoint: '{queue_endpoint}' is not a queue endpoint; give one "
                "such as https://<account>.queue.core.windows.net"
            )
        queue_name = get("QueueName", DEFAULT_QUEUE_NAME)
        if not (
            QUEUE_NAME.match(queue_name) and 3 <= len(queue_name) <= 63 - len(POISON_SUFFIX)
        ):
            raise SettingError(
                f"QueueName: '{queue_name}' is not a usable queue name; use 3-56 lower-case "
                "letters, digits and single hyphens, starting and ending with a letter or digit"
            )
        encoding = get("MessageEncoding", DEFAULT_MESSAGE_ENCODING).lower()
        if encoding not in ("text", "base64"):
            raise SettingError(f"MessageEncoding: '{encoding}' is not offered; use text or base64")
        backoff = get("MaxIdleBackoffSeconds", str(DEFAULT_MAX_IDLE_BACKOFF))
        if not DECIMAL.match(backoff) or float(backoff) <= 0:
            raise SettingError(
                f"MaxIdleBackoffSeconds: '{backoff}' is not a number of seconds above 0"
            )
        return cls(
            connection_string=connection_string,
            queue_name=queue_name,
            max_dequeue_count=whole_number(
                "MaxDequeueCount", get("MaxDequeueCount", str(DEFAULT_MAX_DEQUEUE_COUNT)), 1
            ),
            visibility_timeout=whole_number(
                "VisibilityTimeoutSeconds",
                get("VisibilityTimeoutSeconds", str(DEFAULT_VISIBILITY_TIMEOUT)),
                1,
                7 * 24 * 3600,
            ),
            max_idle_backoff=float(backoff),
            message_encoding=encoding,
            queue_endpoint=queue_endpoint,
        )


def whole_number(name: str, text: str, low: int, high: int | None = None) -> int:
    if text.isdigit() and int(text) >= low and (high is None or int(text) <= high):
        return int(text)
    allowed = f"from {low} to {high}" if high else f"of at least {low}"
    raise SettingError(f"{name}: '{text}' is not a whole number {allowed}")


def connect(settings: Settings, **options) -> QueueServiceClient:
    """The storage account's queue service; ``options`` go to the SDK (tests count
    requests with them). A failed call is retried three times, about a second apart;
    past that the worker backs off and tries again itself, for as long as it runs.

    With a connection string, its account key signs the requests. Without one, the
    requests to StorageQueueEndpoint carry tokens of DefaultAzureCredential: on Container
    Apps the app's managed identity (AZURE_CLIENT_ID names a user-assigned one), which
    needs a queue data role on the account; on a developer's machine, ``az login``."""
    options = {"retry_policy": LinearRetry(backoff=1, random_jitter_range=0.5), **options}
    if not settings.connection_string:
        from azure.identity import DefaultAzureCredential

        return QueueServiceClient(settings.queue_endpoint, DefaultAzureCredential(), **options)
    try:
        return QueueServiceClient.from_connection_string(settings.connection_string, **options)
    except ValueError as error:
        raise SettingError(f"StorageConnectionString: {error}") from None


def describe(error: AzureError) -> str:
    """The first line of a storage error: all one log line needs."""
    first_line = str(error.message).partition("\n")[0]
    return f"{type(error).__name__}: {first_line}"


class Leases:
    """Keeps received messages hidden from other instances until they are finished.

    A background thread extends a message's visibility (update_message) when half
    of its timeout has passed; a message finished sooner costs no extra request.
    """

    def __init__(self, queue: QueueClient, timeout: int):
        self._queue = queue
        self._timeout = timeout
        self._held: dict[str, tuple[QueueMessage, float]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="leases", daemon=True)

    def __enter__(self) -> Leases:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._closed.set()
        self._thread.join()

    def hold(self, messages: list[QueueMessage]) -> None:
        now = time.monotonic()
        with self._lock:
            self._held.update((message.id, (message, now)) for message in messages)

    def release(self, message: QueueMessage) -> None:
        """Stop extending; afterwards ``message.pop_receipt`` is the current one."""
        with self._lock:
            self._held.pop(message.id, None)

    def _renew(self) -> None:
        while not self._closed.wait(self._timeout / 4):
            with self._lock:
                for message, since in list(self._held.values()):
                    if time.monotonic() - since >= self._timeout / 2:
                        self._extend(message)

    def _extend(self, message: QueueMessage) -> None:
        started = time.monotonic()
        try:
            receipt = self._queue.update_message(message, visibility_timeout=self._timeout)
        except AzureError as error:
            log.warning("Message %s: could not extend its visibility (%s)", message.id,
                        describe(error))
            return
        message.pop_receipt = receipt.pop_receipt
        self._held[message.id] = (message, started)
        log.info("Message %s: hidden for another %s s", message.id, self._timeout)


class QueueConsumer:
    """Receives the queue's messages in batches and hands each one to ``handle``."""

    def __init__(
        self,
        settings: Settings,
        service: QueueServiceClient,
        handle: Callable[[QueueMessage], None],
    ):
        self.settings = settings
        self.handle = handle
        self.queue = service.get_queue_client(settings.queue_name)
        self.poison = service.get_queue_client(settings.poison_queue_name)
        self.leases = Leases(self.queue, settings.visibility_timeout)
        self.deleter = ThreadPoolExecutor(DELETE_THREADS, thread_name_prefix="delete")
        self.seconds_per_message = 0.0

    def run(self, stop: threading.Event) -> None:
        """Handle messages until ``stop`` is set, then finish the message in hand."""
        wait_seconds = 0.0
        with self.leases, self.deleter:
            while not stop.is_set():
                try:
                    batch = self.receive()
                except AzureError as error:
                    wait_seconds = self.longer(wait_seconds)
                    log.error("Cannot receive (%s); trying again in %.1f s", describe(error),
                              wait_seconds)
                    stop.wait(wait_seconds)
                    continue
                if batch:
                    wait_seconds = 0.0
                    self.handle_batch(batch, stop)
                else:
                    wait_seconds = self.longer(wait_seconds)
                    stop.wait(wait_seconds)

    def longer(self, seconds: float) -> float:
        return min(max(seconds * 2, FIRST_WAIT_SECONDS), self.settings.max_idle_backoff)

    def receive(self) -> list[QueueMessage]:
        # Take only as many messages as this worker handles within half the visibility
        # timeout, so that slow work does not keep extending the ones still waiting.
        per_message = max(self.seconds_per_message, 0.001)
        count = max(1, min(BATCH_SIZE, int(self.settings.visibility_timeout / 2 / per_message)))
        pages = self.queue.receive_messages(
            messages_per_page=count, visibility_timeout=self.settings.visibility_timeout
        ).by_page()
        try:
            return list(next(pages, []))  # one page: exactly one request
        except ResourceNotFoundError:
            self.create(self.queue)
            return []

    def handle_batch(self, batch: list[QueueMessage], stop: threading.Event) -> None:
        self.leases.hold(batch)
        deletes = []
        for position, message in enumerate(batch):
            if stop.is_set():
                self.hand_back(batch[position:])
                break
            if message.dequeue_count > self.settings.max_dequeue_count:
                # Tried that often without an outcome: it stopped the worker every time.
                self.move_to_poison(message)
                continue
            seconds = self.try_handle(message)
            if seconds is not None:
                deletes.append(self.deleter.submit(self.delete, message, seconds))
        wait(deletes)

    def try_handle(self, message: QueueMessage) -> float | None:
        """Call ``handle``; the seconds it took, or None when it raised."""
        started = time.monotonic()
        try:
            self.handle(self.as_sent(message))
        except Exception:
            log.exception("Message %s failed (try %d of %d)", message.id,
                          message.dequeue_count, self.settings.max_dequeue_count)
            if message.dequeue_count >= self.settings.max_dequeue_count:
                self.move_to_poison(message)
            else:
                self.leases.release(message)  # it comes back after the visibility timeout
            return None
        finally:
            seconds = time.monotonic() - started
            self.seconds_per_message = 0.8 * self.seconds_per_message + 0.2 * seconds
        return seconds

    def as_sent(self, message: QueueMessage) -> QueueMessage:
        """The message as ``handle`` sees it: with MessageEncoding=base64, decoded.

        Decoding here, not in the SDK, lets a message that is not Base64 fail on its
        own (and end in the poison queue as it was stored) instead of failing its batch.
        """
        if self.settings.message_encoding == "text":
            return message
        decoded = copy.copy(message)
        decoded.content = base64.b64decode(message.content, validate=True).decode("utf-8")
        return decoded

    def delete(self, message: QueueMessage, seconds: float) -> None:
        self.leases.release(message)
        try:
            self.queue.delete_message(message)
        except AzureError as error:
            log.warning("Message %s was handled but not deleted (%s); it will come again",
                        message.id, describe(error))
            return
        log.info("Message %s handled in %.3f s", message.id, seconds)

    def move_to_poison(self, message: QueueMessage) -> None:
        self.leases.release(message)
        try:
            try:
                self.poison.send_message(message.content, time_to_live=-1)
            except ResourceNotFoundError:
                self.create(self.poison)
                self.poison.send_message(message.content, time_to_live=-1)
            self.queue.delete_message(message)
        except AzureError as error:
            log.error("Message %s: could not move it to %s (%s); it will come again",
                      message.id, self.poison.queue_name, describe(error))
            return
        log.warning("Message %s moved to %s after %d tries", message.id,
                    self.poison.queue_name, message.dequeue_count)

    def hand_back(self, messages: list[QueueMessage]) -> None:
        """Make messages not yet started visible again, for other instances to take."""
        for message in messages:
            self.leases.release(message)
            try:
                self.queue.update_message(message, visibility_timeout=0)
            except AzureError as error:
                log.warning("Message %s: not handed back (%s); it comes back on its own",
                            message.id, describe(error))

    @staticmethod
    def create(queue: QueueClient) -> None:
        try:
            queue.create_queue()
            log.info("Created the queue %s", queue.queue_name)
        except ResourceExistsError:
            pass


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM, SIGINT (Ctrl+C) and, on Windows, SIGBREAK (Ctrl+Break) ask the worker
    to stop once the message in hand is done."""

    def request_stop(signum: int, frame: object) -> None:
        if stop.is_set():
            raise SystemExit(f"{signal.Signals(signum).name} again: stopping at once")
        log.info("%s: stopping after the message in hand (signal again to stop at once)",
                 signal.Signals(signum).name)
        stop.set()

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), request_stop)


def send_telemetry_when_configured() -> None:
    """Send logs and storage calls to Application Insights when it is configured."""
    if os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip():
        from azure.monitor.opentelemetry import configure_azure_monitor

        os.environ.setdefault("OTEL_SERVICE_NAME", ROLE_NAME)  # else "unknown_service"
        configure_azure_monitor()
        log.info("Sending telemetry to Application Insights")
