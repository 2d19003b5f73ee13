"""Fixtures: a real Azurite for the whole session and a fresh queue for each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.storage.queue import QueueClient

from cloudservice import azurite
from queue_consumer import Settings


@pytest.fixture(scope="session")
def connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with azurite.running(tmp_path_factory.mktemp("azurite")) as storage:
            yield storage.connection_string
    except azurite.AzuriteUnavailable as error:
        pytest.skip(f"the worker tests need Azurite: {error}")


@pytest.fixture
def settings(connection_string: str) -> Settings:
    """Settings for a queue of this test's own, with timeouts short enough for quick tests."""
    return Settings(
        connection_string,
        queue_name=f"test-{uuid.uuid4().hex[:16]}",
        max_dequeue_count=3,
        visibility_timeout=1,
        max_idle_backoff=0.2,
    )


@pytest.fixture
def queue(settings: Settings) -> Iterator[QueueClient]:
    """The test's queue, created, with no message encoding."""
    with QueueClient.from_connection_string(
        settings.connection_string, settings.queue_name
    ) as client:
        client.create_queue()
        yield client
