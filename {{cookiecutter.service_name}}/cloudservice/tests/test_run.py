from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from cloudservice.model import SOLUTION
from cloudservice.processes import Manager, Printer
from cloudservice.recycle import FIRST_DELAY, LONGEST_DELAY, next_delay
from cloudservice.run import (
    EXTRA_STOP_SIGNALS,
    RECYCLE,
    WAITRESS,
    command_line,
    plan,
    uses_storage_emulator,
)

PRINT_ARGUMENTS = "import json, sys; print(json.dumps(sys.argv[1:]))"


def test_command_lines_reach_the_program_unchanged_through_the_shell():
    """honcho starts every process through the shell (cmd.exe on Windows)."""
    awkward = ["two words", 'say "hi"', "back\\slash\\", "a&b|c", "(x)", "50%", "%PATH%", "$HOME"]
    awkward += ["semi;colon", "*", "^caret", "it's", ""]
    command = command_line([sys.executable, "-c", PRINT_ARGUMENTS, *awkward])
    # The shell is under test.
    shown = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)  # noqa: S602  # nosec B602
    assert json.loads(shown.stdout) == awkward


@pytest.fixture
def signal_handlers():
    """honcho installs its own handlers of the stop signals: put pytest's back."""
    signums = [signal.SIGINT, signal.SIGTERM, *EXTRA_STOP_SIGNALS]
    saved = {signum: signal.getsignal(signum) for signum in signums}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_stop_before_the_processes_have_started_still_stops_them(signal_handlers):
    output = io.StringIO()
    manager = Manager(Printer(output))
    manager.add_process(
        "sleeper", command_line([sys.executable, "-c", "import time; time.sleep(60)"])
    )
    manager.terminate()  # as a Ctrl+C in the first moments of a run does
    started = time.monotonic()
    manager.loop()
    assert time.monotonic() - started < 10
    assert "sending SIGTERM to sleeper" in output.getvalue()
    assert "sleeper stopped" in output.getvalue()


STOPS_CLEANLY = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(os.name == "nt", reason="on Windows the run ends a process tree with taskkill")
def test_a_process_that_stops_cleanly_is_reported_with_its_own_exit_code(signal_handlers):
    """As a worker does on SIGTERM: the run reports its 0, not the shell's end."""
    output = io.StringIO()
    manager = Manager(Printer(output))
    manager.add_process("worker", command_line([sys.executable, "-c", STOPS_CLEANLY]))
    threading.Timer(3, manager.terminate).start()
    manager.loop()
    assert "worker stopped (rc=0)" in output.getvalue(), output.getvalue()


def test_a_closed_output_stops_the_run(signal_handlers):
    """As ``run | head -3`` does once head has its lines: the processes are stopped, not
    left holding their ports."""
    reader, writer = os.pipe()
    os.close(reader)
    with open(writer, "w", encoding="utf-8") as output:
        manager = Manager(Printer(output))
        talker = "import time; print('ready', flush=True); time.sleep(60)"
        manager.add_process("talker", command_line([sys.executable, "-c", talker]))
        started = time.monotonic()
        manager.loop()
    assert time.monotonic() - started < 10
    assert manager.returncode == 1
    assert "returncode" in manager._processes["talker"]


@pytest.fixture
def runnable_copy(service_copy):
    """The service copy with the files run reads from the role folders."""
    for role in service_copy.roles:
        if role.web:
            (service_copy.root / role.name).mkdir()
            shutil.copy(SOLUTION / role.name / "web.config", service_copy.root / role.name)
    return service_copy


def test_every_instance_gets_a_process(runnable_copy):
    configuration = runnable_copy.configuration("Local")
    launches = plan(runnable_copy, configuration, list(runnable_copy.roles), instances=2)
    assert [launch.instance.label for launch in launches] == [
        f"{role.name}_IN_{index}" for role in runnable_copy.roles for index in (0, 1)
    ]
    ports = [launch.port for launch in launches if launch.port is not None]
    assert len(ports) == len(set(ports))
    assert all(port >= 1024 for port in ports)
    for launch in launches:
        arguments = launch.arguments()
        assert launch.folder == runnable_copy.root / launch.instance.role.name
        if launch.instance.role.web:
            web_config = runnable_copy.web_config(launch.instance.role)
            if web_config.asgi:
                server = ["uvicorn", "--host=127.0.0.1", f"--port={launch.port}"]
                server += ["--no-proxy-headers", "--no-server-header", "--no-access-log"]
                assert arguments == [sys.executable, "-m", *server, web_config.wsgi_application]
            else:
                server = ["-c", WAITRESS, f"--listen=127.0.0.1:{launch.port}"]
                assert arguments == [sys.executable, *server, web_config.wsgi_application]
            assert launch.url == f"http://127.0.0.1:{launch.port}/"
        else:
            script = launch.instance.role.entry_point_script()
            assert arguments == [sys.executable, str(RECYCLE), sys.executable, script]


def test_a_web_role_that_cannot_start_fails_its_process(runnable_copy):
    """An application that cannot be imported ends the role's process with an error, so that
    run reports it stopped with that code and exits with it."""
    configuration = runnable_copy.configuration("Local")
    for launch in plan(runnable_copy, configuration, list(runnable_copy.roles)):
        if launch.application is None:
            continue
        broken = dataclasses.replace(launch, application="no_such_module_of_the_role:app")
        completed = subprocess.run(
            broken.arguments(),
            cwd=launch.folder,
            env={**os.environ, **launch.environment},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode != 0, launch.instance.label
        assert "no_such_module_of_the_role" in completed.stdout + completed.stderr


def test_roles_named_are_those_given_once_each_or_all(service_copy):
    names = [role.name for role in service_copy.roles]
    assert service_copy.roles_named(None) == list(service_copy.roles)
    picked = service_copy.roles_named([names[-1], names[0].upper(), names[-1]])
    assert [role.name for role in picked] == list(dict.fromkeys([names[-1], names[0]]))


def test_a_role_run_alone_keeps_its_port(runnable_copy):
    configuration = runnable_copy.configuration("Local")
    everything = plan(runnable_copy, configuration, list(runnable_copy.roles))
    for launch in everything:
        (alone,) = plan(runnable_copy, configuration, [launch.instance.role])
        assert alone.port == launch.port


def test_the_local_configuration_uses_azurite(solution):
    configuration = solution.configuration("Local")
    assert uses_storage_emulator(configuration, list(solution.roles))
    assert not uses_storage_emulator(solution.configuration("Cloud"), list(solution.roles))


@pytest.mark.parametrize(
    ("previous", "ran_for", "delay"),
    [
        (None, 0, FIRST_DELAY),
        (1, 0.5, 2),
        (2, 3, 4),
        (32, 1, LONGEST_DELAY),
        (60, 1, 60),
        (8, 61, 1),
    ],
)
def test_restarts_back_off(previous, ran_for, delay):
    assert next_delay(previous, ran_for) == delay


def test_an_exiting_command_is_started_again_with_a_growing_wait():
    code = "print('ran', flush=True)"
    recycle = subprocess.Popen(
        [sys.executable, str(RECYCLE), sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started = time.monotonic()
        lines = [recycle.stdout.readline().strip() for _ in range(4)]
    finally:
        recycle.terminate()
        recycle.wait(timeout=10)
    assert lines[0::2] == ["ran", "ran"]
    assert lines[1].startswith(
        "-c print('ran', flush=True) exited with code 0; starting it again in 1 s"
    )
    assert lines[3].startswith(
        "-c print('ran', flush=True) exited with code 0; starting it again in 2 s"
    )
    assert time.monotonic() - started >= 1


def test_command_line_errors_are_plain(tmp_path):
    def tool(*arguments):
        return subprocess.run(
            [sys.executable, "-m", "cloudservice", *arguments],
            cwd=SOLUTION,
            capture_output=True,
            text=True,
            check=False,
        )

    unknown = tool("run", "--role", "NoSuchRole")
    assert unknown.returncode == 1
    assert "has no role 'NoSuchRole'; its roles are" in unknown.stderr
    for roles in ([], ["--role", "A", "--role", "B"]):
        alone = tool("run", "--in-process", *roles)
        assert alone.returncode == 2
        assert "--in-process runs one instance of one role" in alone.stderr
