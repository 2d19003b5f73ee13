"""Azurite, the local Azure Storage emulator, installed with npm on first use.

Azurite runs on Node.js. It is installed once into a cache folder shared by every
solution on this machine (``CLOUDSERVICE_CACHE`` moves it) and started with
``--skipApiVersionCheck``, because the current Python SDK sends API versions newer
than a released Azurite knows.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

AZURITE_VERSION = "3.37.0"
DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
ACCOUNT = "devstoreaccount1"
# Microsoft's published key for the emulator account: not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
HOW_TO_GET_NODE = "install Node.js (which brings npm) from https://nodejs.org and run this again"


class AzuriteUnavailable(RuntimeError):
    """Azurite cannot be installed or started here; str() says why and what to do."""


def cache_folder() -> Path:
    """Where downloaded tools are kept: ``CLOUDSERVICE_CACHE``, else the platform's cache."""
    if os.environ.get("CLOUDSERVICE_CACHE"):
        return Path(os.environ["CLOUDSERVICE_CACHE"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "azure-py-cloudservice"


def install_folder() -> Path:
    return cache_folder() / f"azurite-{AZURITE_VERSION}"


def azurite_script(folder: Path) -> Path:
    """The JavaScript file that the ``azurite`` command runs, from the package's own manifest."""
    package = folder / "node_modules" / "azurite"
    manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    return package / manifest["bin"]["azurite"]


def node() -> str:
    """The node program that runs Azurite. Looked for at every use: an Azurite installed
    earlier stays in the cache when Node.js is later removed or off PATH."""
    found = shutil.which("node")
    if found is None:
        raise AzuriteUnavailable(
            f"Azurite runs on Node.js, which is not on PATH: {HOW_TO_GET_NODE}"
        )
    return found


def ensure_installed(log=print) -> Path:
    """Install Azurite into the cache on first use; return the script to run with node."""
    folder = install_folder()
    try:
        return azurite_script(folder)
    except (OSError, KeyError, ValueError):
        pass
    node()
    npm = shutil.which("npm")
    if npm is None:
        raise AzuriteUnavailable(f"npm, which installs Azurite, is not on PATH: {HOW_TO_GET_NODE}")
    log(f"Installing Azurite {AZURITE_VERSION} into {folder} (once) ...")
    # Install beside the final folder and rename it into place, so that two runs
    # installing at the same time never see a half-installed Azurite.
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=folder.parent))
    command = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        str(staging),
        f"azurite@{AZURITE_VERSION}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        last_line = (completed.stderr.strip().splitlines() or [""])[-1]
        raise AzuriteUnavailable(
            f"npm could not install Azurite (exit {completed.returncode}): {last_line}"
        )
    try:
        staging.rename(folder)
    except OSError:  # another run finished first
        shutil.rmtree(staging, ignore_errors=True)
    return azurite_script(folder)


def connection_string(ports: dict[str, int] = DEFAULT_PORTS) -> str:
    endpoints = "".join(
        f"{service.capitalize()}Endpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        for service, port in ports.items()
    )
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};{endpoints}"
    )


def is_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Storage:
    """A running emulator: its ports and the connection string that reaches it."""

    ports: dict[str, int]
    process: AzuriteProcess | None

    @property
    def connection_string(self) -> str:
        return connection_string(self.ports)


class AzuriteProcess(subprocess.Popen):
    """Azurite's node process, whose console tells when its services have closed.

    Stopped, Azurite closes its services (saving its data) within moments, but node
    may then linger for up to a minute on timers Azurite leaves behind; ``stop``
    waits for the services rather than for node.
    """

    def __init__(self, command: list[str], services: int, error_output):
        super().__init__(
            command,
            stdout=subprocess.PIPE,
            stderr=error_output,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.closed = threading.Event()
        threading.Thread(target=self._watch_console, args=(services,), daemon=True).start()

    def _watch_console(self, services: int) -> None:
        closed = 0
        for line in self.stdout:
            if line.rstrip().endswith("successfully closed"):
                closed += 1
                if closed == services:
                    self.closed.set()
        self.closed.set()


def start(data_folder: Path, ports: dict[str, int], log=print) -> AzuriteProcess:
    """Start Azurite in the background and wait until every service accepts connections.

    Its error output goes to ``azurite-errors.log`` in the data folder."""
    program = node()
    script = ensure_installed(log)
    data_folder.mkdir(parents=True, exist_ok=True)
    command = [
        program,
        str(script),
        "--silent",
        "--skipApiVersionCheck",
        "--location",
        str(data_folder),
    ]
    for service, port in ports.items():
        command += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port)]
    errors = data_folder / "azurite-errors.log"
    with errors.open("wb") as error_output:
        process = AzuriteProcess(command, len(ports), error_output)
    try:
        wait_until_listening(process, ports, errors)
    except BaseException:  # including Ctrl+C while waiting: never leave Azurite behind
        stop(process)
        raise
    return process


def wait_until_listening(process: subprocess.Popen, ports: dict[str, int], errors: Path) -> None:
    deadline = time.monotonic() + 30
    while not all(is_listening(port) for port in ports.values()):
        if process.poll() is not None:
            error = errors.read_text(encoding="utf-8", errors="replace").strip()
            raise AzuriteUnavailable(
                f"Azurite stopped at start-up (exit {process.returncode}): {error}"
            )
        if time.monotonic() > deadline:
            raise AzuriteUnavailable("Azurite did not open its ports within 30 seconds")
        time.sleep(0.1)


def stop(process: AzuriteProcess) -> None:
    """Ask Azurite to stop, give its services up to 5 seconds to close, then end node."""
    if process.poll() is None:
        process.terminate()
        process.closed.wait(timeout=5)
        process.kill()
    process.wait()


@contextmanager
def running(data_folder: Path, ports: dict[str, int] | None = None, log=print) -> Iterator[Storage]:
    """Azurite for the duration of a ``with`` block.

    Without ``ports`` it takes free ones (tests); with ports that already answer, it
    uses the emulator that is already there and leaves it running.
    """
    if ports is None:
        ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS)), strict=True))
    if all(is_listening(port) for port in ports.values()):
        yield Storage(ports, None)
        return
    process = start(data_folder, ports, log)
    try:
        yield Storage(ports, process)
    finally:
        stop(process)
