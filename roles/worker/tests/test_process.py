"""The worker as a role instance runs it: a process of its own with its settings in
the environment, stopped by a signal (Ctrl+Break on Windows) or killed outright."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import message_count, wait_until

from queue_consumer import Settings

TESTS = Path(__file__).resolve().parent
ROLE = TESTS.parent


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable]:
    """``start_worker(handle_seconds, **variables)`` starts slow_worker.py on the test's
    queue, with more environment variables if given; any still running at the end is killed."""
    processes: list[subprocess.Popen] = []

    def start(handle_seconds: float, **variables: str) -> subprocess.Popen:
        environment = {
            **{
                name: value
                for name, value in os.environ.items()
                if name != "APPLICATIONINSIGHTS_CONNECTION_STRING"
            },
            "StorageConnectionString": settings.connection_string,
            "QueueName": settings.queue_name,
            "VisibilityTimeoutSeconds": str(settings.visibility_timeout),
            "MaxIdleBackoffSeconds": str(settings.max_idle_backoff),
            "PYTHONPATH": str(ROLE),
            "HANDLED_FILE": str(tmp_path / "handled.txt"),
            "HANDLE_SECONDS": str(handle_seconds),
            **variables,
        }
        with (tmp_path / f"worker{len(processes) + 1}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-u", "slow_worker.py"],
                cwd=TESTS,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Ctrl+Break reaches only a process that leads its own group.
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
            )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def ask_to_stop(process: subprocess.Popen) -> None:
    """What honcho, a terminal or a service manager sends."""
    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        process.send_signal(signal.SIGTERM)


def handled(tmp_path: Path) -> list[str]:
    """What slow_worker.py's handle noted, in order."""
    record = tmp_path / "handled.txt"
    return record.read_text(encoding="utf-8").splitlines() if record.exists() else []


def logs(tmp_path: Path) -> str:
    return "\n".join(log.read_text(errors="replace") for log in sorted(tmp_path.glob("*.log")))


def test_a_stop_signal_lets_the_message_in_hand_finish(queue, start_worker, tmp_path):
    queue.send_message("job")
    process = start_worker(handle_seconds=1.5)
    wait_until(lambda: handled(tmp_path) == ["start job"])

    ask_to_stop(process)

    assert process.wait(timeout=30) == 0, logs(tmp_path)
    assert handled(tmp_path) == ["start job", "done job"], logs(tmp_path)
    assert message_count(queue) == 0


def test_a_killed_worker_loses_nothing(settings, queue, start_worker, tmp_path):
    queue.send_message("job")
    first = start_worker(handle_seconds=60)
    wait_until(lambda: handled(tmp_path) == ["start job"])

    first.kill()
    first.wait()
    second = start_worker(handle_seconds=0)
    # The message comes back once its visibility timeout has run out.
    wait_until(lambda: handled(tmp_path)[-1:] == ["done job"], seconds=20)
    wait_until(lambda: message_count(queue) == 0)
    ask_to_stop(second)

    assert second.wait(timeout=30) == 0, logs(tmp_path)
    assert handled(tmp_path) == ["start job", "start job", "done job"], logs(tmp_path)


@pytest.fixture
def application_insights() -> Iterator[SimpleNamespace]:
    """A stand-in for Application Insights' ingestion endpoint that keeps what it gets."""
    received: list[str] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body.decode("utf-8", errors="replace"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"itemsReceived": 0, "itemsAccepted": 0, "errors": []}')

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    yield SimpleNamespace(
        connection_string=f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={url};LiveEndpoint={url}",
        received=received,
    )
    server.shutdown()
    server.server_close()


def test_telemetry_reaches_application_insights_when_configured(
    queue, start_worker, tmp_path, application_insights
):
    queue.send_message("job")
    # The exporter keeps unsent telemetry in a folder of the temporary directory, one per
    # instrumentation key: point it at this test's own folder, which pytest cleans up.
    temporary = {name: str(tmp_path) for name in ("TMPDIR", "TEMP", "TMP")}
    process = start_worker(
        handle_seconds=0,
        APPLICATIONINSIGHTS_CONNECTION_STRING=application_insights.connection_string,
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",  # no reports to Microsoft's own
        OTEL_BLRP_SCHEDULE_DELAY="100",  # send log lines within 0.1 s, not 5 s
        **temporary,
    )

    def log_line_sent() -> bool:
        """the worker's log line about the message reached the endpoint"""
        return any("handled in" in body for body in application_insights.received)

    wait_until(log_line_sent, seconds=30)
    ask_to_stop(process)
    assert process.wait(timeout=30) == 0, logs(tmp_path)
    sent = [item for body in application_insights.received if "handled in" in body
            for item in json.loads(body)]
    role_folder = Path(__file__).resolve().parents[1].name
    assert {item["tags"]["ai.cloud.role"] for item in sent} == {role_folder}
