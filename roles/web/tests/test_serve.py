"""serve.py, the container's entry point: {{ role.app_server }} on $HOST:$PORT, stopped by SIGTERM."""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROLE_FOLDER = Path(__file__).resolve().parent.parent
ENTRY_POINT = "{{ role.wsgi_application }}"


def health(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(os.name == "nt", reason="on Windows SIGTERM ends a process at once")
def test_serves_on_port_and_stops_with_0_on_sigterm():
    port = free_port()
    environ = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMULATED": "false",
        "HTTPS_ONLY": "false",
    }
    server = subprocess.Popen(  # noqa: S603 - this interpreter, with arguments of our own
        [sys.executable, "serve.py", ENTRY_POINT],
        cwd=ROLE_FOLDER, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert health(port) == 200
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "serve.py did not answer within 60 s"
                time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()


def test_without_an_application_it_says_how_to_start_it():
    completed = subprocess.run(  # noqa: S603 - this interpreter, with arguments of our own
        [sys.executable, "serve.py"],
        cwd=ROLE_FOLDER, capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == "usage: python serve.py module:application"
