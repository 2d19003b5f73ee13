"""End to end: a generated solution runs all its roles with ``python -m cloudservice run``.

One solution with a role of each kind is generated with its packages installed, then
run as its README says: every web role answers on its printed URL, the worker handles
a message put on its queue in Azurite, a worker that dies is started again, and Ctrl+C
(or SIGTERM) stops everything it started within a few seconds.

Azurite needs Node.js and npm. Without them these tests skip, except in CI (``CI`` set),
where they fail: CI must run them.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from xml.etree import ElementTree

import psutil
import pytest
from conftest import TEMPLATE, venv_python
from helpers import CSCFG_NS, DEFAULT_NAMES, KINDS, SEND_MESSAGE, WEB_KINDS, azurite_usual_ports, require_node

ROLES = " ".join(KINDS)  # one role of each kind, with its default name
WEB_ROLES = [DEFAULT_NAMES[kind] for kind in WEB_KINDS]
WORKER = DEFAULT_NAMES["worker"]
URL_LINE = re.compile(r"^(?P<label>[\w-]+): (?P<url>http://127\.0\.0\.1:\d+/)$")
START_WITHIN = 180  # seconds; the first run installs Azurite with npm
HANDLED_WITHIN = 60
STOP_WITHIN = 10
# Run with the solution's own Python, which has azure-storage-queue:
# count the messages on a queue.
COUNT_MESSAGES = """
import sys
from azure.storage.queue import QueueClient

queue = QueueClient.from_connection_string(sys.argv[1], sys.argv[2])
print(queue.get_queue_properties().approximate_message_count)
"""



@pytest.fixture(scope="module")
def solution(cookies_session) -> Path:
    require_node()
    result = cookies_session.bake(
        extra_context={"roles": ROLES, "install_packages": True}, template=str(TEMPLATE)
    )
    assert result.exit_code == 0, result.exception
    assert venv_python(result.project_path / ".venv").exists(), "the packages were not installed"
    return result.project_path


def local_settings(solution: Path, role: str) -> dict[str, str]:
    cscfg = ElementTree.parse(solution / "ServiceConfiguration.Local.cscfg").getroot()
    settings = cscfg.find(f"{CSCFG_NS}Role[@name='{role}']/{CSCFG_NS}ConfigurationSettings")
    return {s.get("name"): s.get("value") for s in settings}


def set_local_setting(solution: Path, role: str, name: str, value: str) -> None:
    """Edit one value in the Local .cscfg as a user would, leaving the rest of the text alone."""
    path = solution / "ServiceConfiguration.Local.cscfg"
    text = path.read_text(encoding="utf-8")
    start = text.index(f'<Role name="{role}">')
    setting = re.compile(rf'(<Setting name="{name}" value=")[^"]*(")')
    path.write_text(
        text[:start] + setting.sub(rf"\g<1>{value}\g<2>", text[start:], count=1), encoding="utf-8"
    )


class Run:
    """``python -m cloudservice run`` in a solution, its output read as it comes."""

    def __init__(self, solution: Path, *arguments: str):
        if os.name == "nt":
            group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        else:
            group = {"start_new_session": True}  # so that Ctrl+C can go to the whole group
        self.process = subprocess.Popen(
            [str(venv_python(solution / ".venv")), "-m", "cloudservice", "run", *arguments],
            cwd=solution,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            **group,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, pattern: str | re.Pattern, timeout: float) -> re.Match:
        """The first line from now on that matches; fails with the output so far."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail("the run ended early:\n" + "\n".join(self.output))
            self.output.append(line)
            if match := re.search(pattern, line):
                return match
        pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n" + "\n".join(self.output))

    def urls(self, count: int) -> dict[str, str]:
        urls = {}
        while len(urls) < count:
            match = self.wait_for(URL_LINE, START_WITHIN)
            urls[match["label"]] = match["url"]
        return urls

    def started(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def role_processes(self, script: str) -> list[psutil.Process]:
        """The role's own Python processes (not the shells and wrappers that run them)."""
        found = []
        for process in self.started():
            try:
                command = process.cmdline()
            except psutil.Error:
                continue
            if command[1:2] == [script] or command[1:3] == ["-m", script]:
                found.append(process)
        return found

    def interrupt(self) -> None:
        """Ctrl+C as a terminal sends it (Ctrl+Break on Windows, where a test cannot
        send Ctrl+C to another process group)."""
        if os.name == "nt":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(self.process.pid, signal.SIGINT)

    def assert_stops_cleanly(self, started: list[psutil.Process], since: float) -> None:
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not stop within {STOP_WITHIN} s:\n" + "\n".join(self.output))
        took = time.monotonic() - since
        assert took < STOP_WITHIN
        _, alive = psutil.wait_procs(started, timeout=2)
        assert alive == [], f"left running: {[(p.pid, p.cmdline()) for p in alive]}"

    def kill_everything(self) -> None:
        """After a failure: leave nothing running."""
        if self.process.poll() is None:
            processes = [*self.started(), psutil.Process(self.process.pid)]
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(processes, timeout=5)


@pytest.fixture
def run(solution):
    runs = []

    def start(*arguments: str) -> Run:
        runs.append(Run(solution, *arguments))
        return runs[-1]

    with azurite_usual_ports():
        yield start
        for started in runs:
            started.kill_everything()


def accepts_connections(url: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", urllib.parse.urlsplit(url).port)) == 0


def queue_script(solution: Path, script: str, settings: dict[str, str], *arguments: str) -> str:
    completed = subprocess.run(
        [
            str(venv_python(solution / ".venv")),
            "-c",
            script,
            settings["StorageConnectionString"],
            settings["QueueName"],
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def test_run_serves_every_role_and_ctrl_c_stops_everything(solution, run):
    set_local_setting(solution, WORKER, "MaxIdleBackoffSeconds", "2")
    worker_settings = local_settings(solution, WORKER)

    service = run()
    urls = service.urls(len(WEB_ROLES))
    assert sorted(urls) == sorted(WEB_ROLES)
    for url in urls.values():
        assert get(url) == 200, url
        assert get(url + "health") == 200, url

    # Each role has the environment Azure would give it, with the Local .cscfg's values.
    (worker,) = service.role_processes("worker.py")
    environment = worker.environ()
    assert environment["EMULATED"] == "true"
    assert environment["ROLE_NAME"] == WORKER
    assert environment["ROLE_INSTANCE_ID"] == f"{WORKER}_IN_0"
    assert environment["MaxIdleBackoffSeconds"] == "2"
    assert environment["QueueName"] == worker_settings["QueueName"]
    assert Path(environment["DIAGNOSTIC_STORE"]).is_dir()
    secret = (solution / ".local-secret-key").read_text(encoding="utf-8").strip()
    for web in service.role_processes("waitress"):
        assert web.environ()["SECRET_KEY"] == secret

    # A message put on the worker's queue in Azurite is handled.
    content = f"hello from the end-to-end test {uuid.uuid4().hex}"
    queue_script(solution, SEND_MESSAGE, worker_settings, content)
    service.wait_for(rf"^\S+ {WORKER}\s+\|.*{re.escape(content)}", HANDLED_WITHIN)
    deadline = time.monotonic() + 10
    while queue_script(solution, COUNT_MESSAGES, worker_settings) != "0":
        assert time.monotonic() < deadline, "the handled message was not deleted from the queue"
        time.sleep(0.2)

    # A worker that dies is started again, with a line saying so.
    worker.kill()
    service.wait_for(rf"^\S+ {WORKER}\s+\| worker\.py exited .* starting it again in", 10)
    deadline = time.monotonic() + 10
    while not service.role_processes("worker.py") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert service.role_processes("worker.py"), "the worker was not started again"

    started = service.started()
    since = time.monotonic()
    service.interrupt()
    service.assert_stops_cleanly(started, since)
    for url in urls.values():
        assert not accepts_connections(url), url


@pytest.mark.skipif(os.name == "nt", reason="on Windows SIGTERM ends a process at once: nothing to handle")
def test_sigterm_stops_one_role_with_several_instances(solution, run):
    service = run("--role", WORKER, "--instances", "2")
    instances = {f"{WORKER}_IN_0", f"{WORKER}_IN_1"}
    started_instances = set()
    while started_instances != instances:
        match = service.wait_for(rf"^\S+ system\s+\| ({WORKER}_IN_\d+) started", START_WITHIN)
        started_instances.add(match[1])
    deadline = time.monotonic() + 30
    while len(service.role_processes("worker.py")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = service.role_processes("worker.py")
    assert sorted(w.environ()["ROLE_INSTANCE_ID"] for w in workers) == [
        f"{WORKER}_IN_0",
        f"{WORKER}_IN_1",
    ]
    assert not service.role_processes("waitress"), "--role started other roles"

    started = service.started()
    since = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    service.assert_stops_cleanly(started, since)
