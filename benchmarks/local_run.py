"""``python -m cloudservice run`` in the default solution, packages installed: seconds
from the start of the command until every web role answers (200 on / and /health)
and the worker has polled its queue (it handled a message put there beforehand).

Measured two ways, Azurite installed in both: started by ``run`` itself (not running
before; the message is left in the solution's .azurite data folder), and already
running (started here beforehand on its usual ports). The first start after the
install is timed apart: it also writes the packages' bytecode (uv installs without).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from xml.etree import ElementTree

import psutil
from common import median, venv_python

SEND_MESSAGE = Path(__file__).with_name("send_message.py")
CSDEF = "{http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition}"
CSCFG = "{http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration}"
URL_LINE = re.compile(r"^(?P<label>[\w.-]+): (?P<url>http://127\.0\.0\.1:\d+/)$")
SERVING_LINE = re.compile(r"^\S+ (?P<label>[\w.-]+)\s+\| .*Serving on (?P<url>http://127\.0\.0\.1:\d+)")
READY_WITHIN = 60
STOP_WITHIN = 15


def load_azurite(solution: Path):
    """The solution's own cloudservice/azurite.py (standard library only)."""
    path = solution / "cloudservice" / "azurite.py"
    spec = importlib.util.spec_from_file_location("solution_azurite", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def service_facts(solution: Path) -> tuple[int, str]:
    """How many web role instances run locally, and the worker's queue."""
    definition = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    web_roles = {role.get("name") for role in definition.iter(f"{CSDEF}WebRole")}
    configuration = ElementTree.parse(solution / "ServiceConfiguration.Local.cscfg").getroot()
    web_instances, queues = 0, []
    for role in configuration.iter(f"{CSCFG}Role"):
        if role.get("name") in web_roles:
            web_instances += int(role.find(f"{CSCFG}Instances").get("count"))
        for setting in role.iter(f"{CSCFG}Setting"):
            if setting.get("name") == "QueueName":
                queues.append(setting.get("value"))
    if len(queues) != 1:
        raise RuntimeError(f"expected one worker role with a QueueName, found {queues}")
    return web_instances, queues[0]


def answers(url: str) -> bool:
    try:
        for path in ("", "health"):
            with urllib.request.urlopen(url + path, timeout=1) as response:
                if response.status != 200:
                    return False
    except (OSError, urllib.error.URLError):
        return False
    return True


class Run:
    """One ``python -m cloudservice run``, watched from its start."""

    def __init__(self, solution: Path, web_instances: int, token: str):
        group = (
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
            if os.name == "nt"
            else {"start_new_session": True}
        )
        self.web_instances = web_instances
        self.token = token
        self.output: list[str] = []
        self.events: queue.Queue[tuple[str, str, float]] = queue.Queue()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(venv_python(solution / ".venv")), "-m", "cloudservice", "run"],
            cwd=solution, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", **group,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            now = time.perf_counter() - self.started
            line = line.rstrip("\n")
            self.output.append(line)
            if match := URL_LINE.match(line):
                self.events.put(("url printed", match["url"], now))
            elif match := SERVING_LINE.match(line):
                self.events.put(("serving", match["url"] + "/", now))
            elif self.token in line:
                self.events.put(("worker polled", "", now))
        self.events.put(("ended", "", time.perf_counter() - self.started))

    def watch(self) -> dict:
        """Seconds from the start to each milestone, polling the web roles meanwhile."""
        urls: set[str] = set()
        answered: dict[str, float] = {}
        printed: dict[str, float] = {}
        polled = None
        deadline = time.monotonic() + READY_WITHIN
        while polled is None or len(answered) < self.web_instances:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready within {READY_WITHIN} s:\n" + "\n".join(self.output))
            with contextlib.suppress(queue.Empty):
                while True:
                    kind, url, seconds = self.events.get(timeout=0.01)
                    if kind == "ended":
                        raise RuntimeError("the run ended early:\n" + "\n".join(self.output))
                    if kind == "worker polled":
                        polled = seconds
                    if url:
                        urls.add(url)
                    if kind == "url printed":
                        printed[url] = seconds
            for url in urls - answered.keys():
                if answers(url):
                    answered[url] = time.perf_counter() - self.started
        # The URL lines come from run's own check, every 0.2 s: wait for them too.
        while len(printed) < self.web_instances and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                kind, url, seconds = self.events.get(timeout=0.1)
                if kind == "url printed":
                    printed[url] = seconds
        return {
            "ready_s": max([polled, *answered.values()]),
            "web_roles_answer_s": max(answered.values(), default=0.0),
            "worker_polled_s": polled,
            "urls_printed_s": max(printed.values(), default=None),
        }

    def stop(self) -> float:
        """Ctrl+C as a terminal sends it (Ctrl+Break on Windows); seconds until it ended."""
        started = time.perf_counter()
        children = psutil.Process(self.process.pid).children(recursive=True)
        if os.name == "nt":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        seconds = time.perf_counter() - started
        _, alive = psutil.wait_procs(children, timeout=5)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if alive:
            raise RuntimeError(f"run left processes behind: {[p.pid for p in alive]}")
        return seconds


def wait_for_free_ports(azurite, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while any(azurite.is_listening(port) for port in azurite.DEFAULT_PORTS.values()):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Azurite's ports {sorted(azurite.DEFAULT_PORTS.values())} are in use by another program"
            )
        time.sleep(0.5)


def start_once(solution: Path, azurite, web_instances: int, queue_name: str, already_running: bool) -> dict:
    python = str(venv_python(solution / ".venv"))
    token = f"benchmark-{uuid.uuid4().hex}"
    send = [python, str(SEND_MESSAGE), azurite.connection_string(), queue_name, token]
    if not already_running:
        wait_for_free_ports(azurite)
        # Leave the message in the data folder that run's own Azurite will open.
        with azurite.running(solution / ".azurite", azurite.DEFAULT_PORTS, log=lambda text: None):
            subprocess.run(send, check=True, capture_output=True)
        wait_for_free_ports(azurite)
    else:
        subprocess.run(send, check=True, capture_output=True)
    run = Run(solution, web_instances, token)
    try:
        figures = run.watch()
    finally:
        figures_stop = run.stop()
    figures["stopped_s"] = figures_stop
    return figures


def measure(solution: Path, runs: int, log=print) -> dict:
    azurite = load_azurite(solution)
    azurite.ensure_installed(log=lambda text: log("  " + text))
    web_instances, queue_name = service_facts(solution)
    log("  run: first start after the install")
    first = start_once(solution, azurite, web_instances, queue_name, already_running=False)
    results: dict = {"first_start_after_install": first}
    for way in ("started_by_run", "already_running"):
        samples = []
        with contextlib.ExitStack() as stack:
            if way == "already_running":
                wait_for_free_ports(azurite)
                stack.enter_context(azurite.running(solution / ".azurite", azurite.DEFAULT_PORTS,
                                                    log=lambda text: None))
            for round_number in range(runs):
                log(f"  run ({way.replace('_', ' ')}) round {round_number + 1} of {runs}")
                samples.append(start_once(solution, azurite, web_instances, queue_name,
                                          already_running=way == "already_running"))
        results[way] = {
            "ready_s": median(s["ready_s"] for s in samples),
            "web_roles_answer_s": median(s["web_roles_answer_s"] for s in samples),
            "worker_polled_s": median(s["worker_polled_s"] for s in samples),
            "urls_printed_s": median(s["urls_printed_s"] for s in samples),
            "stopped_s": median(s["stopped_s"] for s in samples),
            "runs": samples,
        }
    return results
