"""Azurite installed in its cache, then Node.js gone from PATH: ``python -m cloudservice run``
says that Azurite is unavailable and why, and starts the roles anyway; the worker's own tests
skip, saying why, rather than fail with FileNotFoundError.

Installing Azurite needs Node.js and npm: without them these tests skip, except in CI.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import TEMPLATE

WEB = "FlaskWebRole"
WORKER = "WorkerRole"
AZURITE_PORTS = (10000, 10001, 10002)
UNAVAILABLE = "Azurite is unavailable: Azurite runs on Node.js, which is not on PATH"
START_WITHIN = 60  # seconds
STOP_WITHIN = 10


def require_node() -> None:
    if shutil.which("node") and shutil.which("npm"):
        return
    if os.environ.get("CI"):
        pytest.fail("Node.js and npm are not on PATH; CI must provide them for the Azurite tests")
    pytest.skip("Node.js and npm are not on PATH: Azurite cannot be installed here")


@pytest.fixture(scope="module")
def solution(cookies_session) -> Path:
    require_node()
    result = cookies_session.bake(
        extra_context={"roles": f"{WEB}:flask {WORKER}:worker", "install_packages": False},
        template=str(TEMPLATE),
    )
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="module")
def python(solution, role_python) -> Path:
    """A Python with what the solution's README installs, and Azurite in its cache."""
    python = role_python(
        solution / "requirements-dev.txt",
        solution / WEB / "requirements.txt",
        solution / WORKER / "requirements.txt",
    )
    subprocess.run(
        [str(python), "-c", "from cloudservice import azurite; azurite.ensure_installed()"],
        cwd=solution, check=True, timeout=300,
    )
    return python


@pytest.fixture
def without_node(tmp_path, python) -> dict[str, str]:
    """This environment with a PATH that has Python and nothing else: no node, no npm."""
    folder = tmp_path / "bin"
    folder.mkdir()
    name = "python.exe" if os.name == "nt" else "python"
    (folder / name).symlink_to(python)
    path = [str(folder)]
    if os.name == "nt":  # cmd.exe and taskkill.exe, which run uses
        path.append(str(Path(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")))
    environment = {**os.environ, "PATH": os.pathsep.join(path)}
    assert shutil.which("node", path=environment["PATH"]) is None
    assert shutil.which("python", path=environment["PATH"]) is not None
    return environment


def wait_for_free_azurite_ports() -> None:
    """Another test's run may hold Azurite's ports; this run must not find an Azurite there."""
    deadline = time.monotonic() + 60
    while any(listening(port) for port in AZURITE_PORTS):
        if time.monotonic() > deadline:
            pytest.fail(f"ports {AZURITE_PORTS} stayed taken: the run would use that emulator")
        time.sleep(0.5)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_run_without_node_says_so_and_starts_the_roles(solution, python, without_node):
    wait_for_free_azurite_ports()
    group = (
        {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        if os.name == "nt"
        else {"start_new_session": True}
    )
    run = subprocess.Popen(
        [str(python), "-m", "cloudservice", "run"],
        cwd=solution, env=without_node, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace", **group,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in run.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    output: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + START_WITHIN
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                pytest.fail("the run ended:\n" + "\n".join(output))
            output.append(line)
            if match := re.fullmatch(rf"{WEB}: (http://127\.0\.0\.1:\d+/)", line):
                url = match[1]
        assert url, f"{WEB} was not started within {START_WITHIN} s:\n" + "\n".join(output)
        assert any(line.startswith(UNAVAILABLE) for line in output), "\n".join(output)
        assert not any("FileNotFoundError" in line for line in output), "\n".join(output)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200

        if os.name == "nt":
            run.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=STOP_WITHIN)
    finally:
        if run.poll() is None:
            processes = [*psutil.Process(run.pid).children(recursive=True), psutil.Process(run.pid)]
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(processes, timeout=5)


def test_worker_tests_without_node_skip_saying_why(solution, python, without_node):
    completed = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", WORKER],
        cwd=solution, env=without_node, capture_output=True, text=True, timeout=300, check=False,
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    assert "FileNotFoundError" not in report
    assert "the worker tests need Azurite: Azurite runs on Node.js, which is not on PATH" in report
    assert " skipped" in report.strip().splitlines()[-1]
