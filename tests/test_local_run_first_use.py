"""What a first local run meets, beyond the end-to-end run of test_local_run.py.

- Azurite installed in its cache, then Node.js gone from PATH: ``python -m cloudservice run``
  says that Azurite is unavailable and why, and starts the roles anyway; the worker's own
  tests skip, saying why, rather than fail with FileNotFoundError.
- ``run --instances 2``: each instance of a web role answers on its own URL with a home
  page that names it.
- A worker run with the Local .cscfg that has idled long enough to reach its longest wait
  still handles a new message within a few seconds.

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
from xml.etree import ElementTree

import psutil
import pytest
from conftest import TEMPLATE
from helpers import CSCFG_NS, SEND_MESSAGE, azurite_usual_ports, require_node

WEB = "FlaskWebRole"
WORKER = "WorkerRole"
AZURITE_PORTS = (10000, 10001, 10002)
UNAVAILABLE = "Azurite is unavailable: Azurite runs on Node.js, which is not on PATH"
START_WITHIN = 60  # seconds
STOP_WITHIN = 10
# The longest an idle worker may take to see a new message locally, and the margin allowed
# on top of it (Azurite, handling the message, the worker's log line reaching the test).
LOCAL_IDLE_CAP = 5
MARGIN = 3
# Run with the solution's Python: Azurite on free ports until stdin closes.
RUN_AZURITE = """
import sys
from pathlib import Path
from cloudservice import azurite

with azurite.running(Path(sys.argv[1])) as storage:
    print(storage.connection_string, flush=True)
    sys.stdin.read()
"""



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
    try:
        (folder / name).symlink_to(python)
    except OSError:  # Windows without the right to make symbolic links
        os.link(python, folder / name)
    path = [str(folder)]
    if os.name == "nt":  # cmd.exe and taskkill.exe, which run uses
        path.append(str(Path(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")))
    environment = {**os.environ, "PATH": os.pathsep.join(path)}
    assert shutil.which("node", path=environment["PATH"]) is None
    assert shutil.which("python", path=environment["PATH"]) is not None
    return environment


def wait_for_free_azurite_ports() -> None:
    """An emulator that another program left on Azurite's ports would be used by this run."""
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


class Output:
    """A process's output lines, read as they come."""

    def __init__(self, process: subprocess.Popen):
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: str, seconds: float) -> re.Match | None:
        """The first line from now on that matches, within ``seconds``; None if none does."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        return None


@contextlib.contextmanager
def cloudservice_run(solution: Path, python: Path, environment: dict, *arguments: str):
    """``python -m cloudservice run`` for the ``with`` block: its Output; then Ctrl+C, as a
    terminal sends it, and after a failure the end of everything it started."""
    group = (
        {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        if os.name == "nt"
        else {"start_new_session": True}
    )
    run = subprocess.Popen(
        [str(python), "-m", "cloudservice", "run", *arguments],
        cwd=solution, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace", **group,
    )
    try:
        yield Output(run)
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


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        return response.read().decode("utf-8")


def test_run_without_node_says_so_and_starts_the_roles(solution, python, without_node):
    with azurite_usual_ports():
        wait_for_free_azurite_ports()
        run_without_node(solution, python, without_node)


def run_without_node(solution: Path, python: Path, without_node: dict) -> None:
    with cloudservice_run(solution, python, without_node) as output:
        match = output.wait_for(rf"^{WEB}: (http://127\.0\.0\.1:\d+/)$", START_WITHIN)
        assert match, f"{WEB} was not started within {START_WITHIN} s:\n" + "\n".join(output.seen)
        assert any(line.startswith(UNAVAILABLE) for line in output.seen), "\n".join(output.seen)
        assert not any("FileNotFoundError" in line for line in output.seen), "\n".join(output.seen)
        page(match[1])


def test_each_instance_of_a_web_role_says_it_answered(solution, python, without_node):
    """``run --instances 2``: each instance on its own URL, its home page naming it. (Without
    node, so that this run leaves Azurite's ports to the other tests.)"""
    with cloudservice_run(solution, python, without_node, "--role", WEB, "--instances", "2") as output:
        urls = {}
        while len(urls) < 2:
            match = output.wait_for(rf"^({WEB}_IN_\d): (http://127\.0\.0\.1:\d+/)$", START_WITHIN)
            assert match, "the instances did not start:\n" + "\n".join(output.seen)
            urls[match[1]] = match[2]
        assert sorted(urls) == [f"{WEB}_IN_0", f"{WEB}_IN_1"]
        deployments = set()
        for instance, url in urls.items():
            shown = dict(re.findall(r"<dt>(\w+)</dt>\s*<dd>([^<]*)</dd>", page(url)))
            assert shown["Role"] == WEB
            assert shown["Instance"] == instance, url
            assert shown["Emulated"] == "true"
            deployments.add(shown["Deployment"])
        assert len(deployments) == 1 and re.fullmatch(r"[0-9a-f]{32}", deployments.pop())


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


def local_settings(solution: Path, role: str) -> dict[str, str]:
    cscfg = ElementTree.parse(solution / "ServiceConfiguration.Local.cscfg").getroot()
    settings = cscfg.find(f"{CSCFG_NS}Role[@name='{role}']/{CSCFG_NS}ConfigurationSettings")
    return {s.get("name"): s.get("value") for s in settings}


@pytest.fixture
def storage(solution, python, tmp_path):
    """A connection string to an Azurite of this test's own."""
    process = subprocess.Popen(
        [str(python), "-c", RUN_AZURITE, str(tmp_path / "azurite")],
        cwd=solution, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def test_an_idle_local_worker_sees_a_new_message_within_its_short_cap(solution, python, storage):
    settings = local_settings(solution, WORKER)
    cap = float(settings["MaxIdleBackoffSeconds"])
    assert cap <= LOCAL_IDLE_CAP, "the Local .cscfg lets an idle worker wait too long"
    environment = {**os.environ, **settings, "StorageConnectionString": storage}
    worker = subprocess.Popen(
        [str(python), "-u", "worker.py"],
        cwd=solution / WORKER, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace",
    )
    output = Output(worker)
    try:
        assert output.wait_for("Reading the queue", START_WITHIN), "\n".join(output.seen)
        # Waits of 1, 2, 4 ... s reach the cap within twice the cap: idle for longer than that.
        time.sleep(2 * cap + 2)
        content = f"sent to an idle worker at {time.time()}"
        subprocess.run(
            [str(python), "-c", SEND_MESSAGE, storage, settings["QueueName"], content],
            check=True, timeout=30,
        )
        # From the moment the message is on the queue.
        handled = output.wait_for(re.escape(content), cap + MARGIN)
        assert handled, f"not handled within {cap + MARGIN} s:\n" + "\n".join(output.seen)
    finally:
        worker.terminate()
        worker.wait(timeout=STOP_WITHIN)
