"""Settings come from environment variables; a bad one stops the worker at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential

from cloudservice import azurite
from queue_consumer import (
    DEFAULT_QUEUE_NAME,
    SettingError,
    Settings,
    connect,
    send_telemetry_when_configured,
)

ROLE = Path(__file__).resolve().parents[1]
AZURITE = azurite.connection_string()


def test_defaults():
    settings = Settings.from_environment({"StorageConnectionString": AZURITE})

    assert settings == Settings(
        AZURITE,
        queue_name=DEFAULT_QUEUE_NAME,
        max_dequeue_count=5,
        visibility_timeout=30,
        max_idle_backoff=60,
        message_encoding="text",
    )
    assert settings.poison_queue_name == f"{DEFAULT_QUEUE_NAME}-poison"


def test_every_setting_is_read():
    settings = Settings.from_environment(
        {
            "StorageConnectionString": AZURITE,
            "QueueName": "orders-2",
            "MaxDequeueCount": "3",
            "VisibilityTimeoutSeconds": "120",
            "MaxIdleBackoffSeconds": "7.5",
            "MessageEncoding": "Base64",
        }
    )

    assert settings == Settings(AZURITE, "orders-2", 3, 120, 7.5, "base64")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("StorageConnectionString", ""),
        ("StorageQueueEndpoint", "myaccount.queue.core.windows.net"),
        ("QueueName", "Orders"),
        ("QueueName", "a--b"),
        ("QueueName", "x" * 57),
        ("MaxDequeueCount", "0"),
        ("MaxDequeueCount", "five"),
        ("VisibilityTimeoutSeconds", "604801"),
        ("MaxIdleBackoffSeconds", "0"),
        ("MaxIdleBackoffSeconds", "nan"),
        ("MessageEncoding", "utf-16"),
    ],
)
def test_a_bad_setting_is_named(name, value):
    # StorageQueueEndpoint is read only without a connection string.
    connection_string = "" if name == "StorageQueueEndpoint" else AZURITE
    environment = {"StorageConnectionString": connection_string, name: value}

    with pytest.raises(SettingError, match=f"^{name}: "):
        Settings.from_environment(environment)


QUEUE_ENDPOINT = "https://myaccount.queue.core.windows.net"


def test_a_connection_string_signs_with_the_account_key():
    settings = Settings.from_environment(
        {"StorageConnectionString": AZURITE, "StorageQueueEndpoint": QUEUE_ENDPOINT}
    )

    with connect(settings) as service:
        assert settings.queue_endpoint == ""
        assert service.credential.account_name == azurite.ACCOUNT
        assert service.url.startswith(f"http://127.0.0.1:10001/{azurite.ACCOUNT}")


def test_without_a_connection_string_the_managed_identity_signs(monkeypatch):
    # A user-assigned identity, as Container Apps gives it (no request is made here).
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    settings = Settings.from_environment(
        {"StorageConnectionString": "", "StorageQueueEndpoint": QUEUE_ENDPOINT}
    )

    with connect(settings) as service:
        assert settings.queue_endpoint == QUEUE_ENDPOINT
        assert isinstance(service.credential, DefaultAzureCredential)
        assert service.url == QUEUE_ENDPOINT + "/"
        queue = service.get_queue_client(settings.queue_name)
        assert queue.url == f"{QUEUE_ENDPOINT}/{DEFAULT_QUEUE_NAME}"


def test_without_either_the_worker_says_what_to_give():
    neither = "^StorageConnectionString: not set, and neither is StorageQueueEndpoint"
    with pytest.raises(SettingError, match=neither):
        Settings.from_environment({"StorageConnectionString": "", "StorageQueueEndpoint": ""})


def test_a_malformed_connection_string_is_named():
    settings = Settings("not a connection string")

    with pytest.raises(SettingError, match="^StorageConnectionString: "):
        connect(settings)


def test_the_worker_exits_at_start_with_the_setting_named():
    environment = {**os.environ, "StorageConnectionString": AZURITE, "MaxDequeueCount": "-1"}

    completed = subprocess.run(
        [sys.executable, "-u", "worker.py"],
        cwd=ROLE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "ERROR MaxDequeueCount: '-1' is not a whole number" in completed.stdout


def test_no_telemetry_without_a_connection_string(monkeypatch):
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "")

    send_telemetry_when_configured()

    assert "azure.monitor.opentelemetry" not in sys.modules
