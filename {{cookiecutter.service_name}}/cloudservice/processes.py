"""The processes of ``python -m cloudservice run``, under honcho.

honcho runs the processes and prefixes their output with the role (or instance)
name; it starts each one through the shell (cmd.exe on Windows, /bin/sh elsewhere),
so every command line is built by ``run.command_line``. Added to honcho here, through
its internals (hence ``honcho<3`` in requirements-dev.txt): on Windows a process is
stopped with everything it started (honcho would end only the shell); Ctrl+Break
(Windows), a closing terminal or a closed output pipe (``run | head``) stop the run
like Ctrl+C; a stop in the first moments
of a run, before every process has started, works; the web role URLs are printed
once they answer.

Only ``run`` imports this module: the tool's other commands need no honcho.
"""

from __future__ import annotations

import datetime
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from honcho.manager import SYSTEM_PRINTER_NAME as SYSTEM
from honcho.manager import Manager as HonchoManager
from honcho.printer import Message
from honcho.printer import Printer as HonchoPrinter
from honcho.process import Process as HonchoProcess

from cloudservice import ports
from cloudservice.run import EXTRA_STOP_SIGNALS, OUTPUT_ENVIRONMENT, Launch, command_line


class Printer(HonchoPrinter):
    """honcho's printer; a line without a process name is the tool's own and is
    printed as it is (the role URLs). Once the output is closed (the reader of a pipe
    has gone), ``output_closed`` is called and later lines are dropped."""

    output_closed = None  # set by the Manager

    def write(self, message: Message) -> None:
        try:
            if message.name is None:
                print(message.data.rstrip("\n"), file=self.output, flush=True)
            else:
                super().write(message)
        except OSError as error:
            if not is_closed_pipe(error):
                raise
            # As Python's documentation advises: point the output at the null device, so
            # that neither these lines nor the flush at exit fail again.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.output.fileno())
            os.close(null)
            if self.output_closed is not None:
                self.output_closed()


def is_closed_pipe(error: OSError) -> bool:
    """A write to a pipe whose reader has gone: BrokenPipeError, or on Windows often EINVAL."""
    return isinstance(error, BrokenPipeError) or (os.name == "nt" and error.errno == errno.EINVAL)


class RoleProcess(HonchoProcess):
    """honcho's relay of one role process. It must outlive the role process to report
    its end, so on Windows it also ignores Ctrl+Break (honcho ignores SIGINT and
    SIGTERM only)."""

    def run(self, events=None, ignore_signals=False):
        if ignore_signals and hasattr(signal, "SIGBREAK"):
            signal.signal(signal.SIGBREAK, signal.SIG_IGN)
        super().run(events, ignore_signals)


class WindowsProcessTree:
    """Stops a process together with every process it started: on Windows honcho
    would end only the shell, leaving the role's Python process running."""

    taskkill = Path(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32", "taskkill.exe")

    def terminate(self, pid: int) -> None:
        command = [str(self.taskkill), "/PID", str(pid), "/T", "/F"]
        subprocess.run(command, capture_output=True, check=False)

    kill = terminate


class Manager(HonchoManager):
    def __init__(self, printer: Printer):
        super().__init__(printer)
        self._process_ctor = RoleProcess
        if os.name == "nt":
            self._procmgr = WindowsProcessTree()
        printer.output_closed = self._output_closed

    def loop(self) -> None:
        for signum in EXTRA_STOP_SIGNALS:
            signal.signal(signum, self._stop_signal)
        super().loop()

    def _stop_signal(self, signum, frame) -> None:
        self._system_print(f"{signal.Signals(signum).name} received\n")
        self.returncode = 128 + signum
        self.terminate()

    def _output_closed(self) -> None:
        if self.returncode is None:
            self.returncode = 1
        self.terminate()

    def _killall(self, force: bool = False) -> None:
        # As honcho's, but a process that is still starting (no pid yet: a stop in the
        # first moments of a run) is stopped as soon as it has started, where honcho
        # would fail with a KeyError.
        starting = []
        for name, process in self._processes.items():
            if "returncode" in process:
                continue
            if "pid" in process:
                self._signal(name, process["pid"], force)
            else:
                starting.append(name)
        if starting:
            threading.Thread(
                target=self._stop_once_started, args=(starting, force), daemon=True
            ).start()

    def _stop_once_started(self, names: list[str], force: bool) -> None:
        while names:
            for name in list(names):
                pid = self._processes[name].get("pid")
                if pid is not None:
                    self._signal(name, pid, force)
                    names.remove(name)
            time.sleep(0.05)

    def _signal(self, name: str, pid: int, force: bool) -> None:
        self.announce(
            f"sending {'SIGKILL' if force else 'SIGTERM'} to {name} (pid {pid})\n", SYSTEM
        )
        if force:
            self._procmgr.kill(pid)
        else:
            self._procmgr.terminate(pid)

    def announce(self, text: str, name: str | None = None) -> None:
        """Print a line in turn with the processes' output (from any thread): as honcho's
        own with ``name`` "system", as it is without a name."""
        self.events.put(
            Message(type="line", data=text, time=datetime.datetime.now(), name=name, colour=None)
        )


def announce_urls(manager: Manager, launches: list[Launch], stopped: threading.Event) -> None:
    """Print ``<Role>: <url>`` for each web role instance once it answers there."""
    waiting = [launch for launch in launches if launch.url]
    while waiting and not stopped.wait(0.2):
        for launch in [launch for launch in waiting if ports.is_listening(launch.port)]:
            manager.announce(f"{launch.instance.label}: {launch.url}\n")
            waiting.remove(launch)


def run_processes(launches: list[Launch]) -> int:
    # A role may print what the console cannot show (Windows): show it mangled, not fail.
    sys.stdout.reconfigure(errors="replace")
    manager = Manager(Printer(sys.stdout))
    for launch in launches:
        manager.add_process(
            launch.instance.label,
            command_line(launch.arguments()),
            env={**os.environ, **launch.environment, **OUTPUT_ENVIRONMENT},
            cwd=str(launch.folder),
        )
    stopped = threading.Event()
    watcher = threading.Thread(target=announce_urls, args=(manager, launches, stopped), daemon=True)
    watcher.start()
    try:
        manager.loop()
    finally:
        stopped.set()
    return manager.returncode or 0
