"""Run the template's whole test suite: ``python3 tests/run.py [pytest arguments]``.

Needs only Python 3.11+ (and Node.js with npm for the tests that use Azurite). It keeps
its tools in ``.venv`` at the repository root, installing them with uv (itself installed
with pip) the first time and again whenever tests/requirements.txt changes; installs
podman, runc and debootstrap for the container tests with apt-get when they are missing
(on Linux, as root); then runs pytest on all cores.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "tests" / "requirements.txt"
STAMP = VENV / "requirements.sha256"
# What tests/test_containers.py runs: the tools' names are also their Debian packages' names.
CONTAINER_TOOLS = ("podman", "runc", "debootstrap")


def venv_bin(name: str) -> Path:
    folder, suffix = ("Scripts", ".exe") if os.name == "nt" else ("bin", "")
    return VENV / folder / f"{name}{suffix}"


def run(command: list[str | Path]) -> None:
    completed = subprocess.run([str(part) for part in command], check=False)
    if completed.returncode != 0:
        sys.exit(f"tests/run.py: {command[0]} failed with exit code {completed.returncode}")


def install_tools() -> None:
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not venv_bin("python").exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    if not venv_bin("uv").exists():
        run([venv_bin("python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"])
    print("Installing the test tools ...", flush=True)
    run([venv_bin("uv"), "pip", "install", "--python", venv_bin("python"), "-r", REQUIREMENTS])
    STAMP.write_text(wanted)


def install_container_tools() -> None:
    """podman, runc and debootstrap for tests/test_containers.py: installed with apt when
    missing (Linux, as root); elsewhere one line says what those tests need."""
    missing = [tool for tool in CONTAINER_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    if not sys.platform.startswith("linux") or shutil.which("apt-get") is None or os.geteuid() != 0:
        print(
            f"tests/run.py: {', '.join(missing)} missing: the container tests need podman, runc and"
            " debootstrap on Linux (tests/run.py installs them with apt-get when run as root)",
            flush=True,
        )
        return
    print(f"Installing {', '.join(missing)} with apt-get ...", flush=True)
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        if subprocess.run(command, env=quiet, check=False).returncode != 0:
            sys.exit(f"tests/run.py: {' '.join(command)} failed")


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older Python
        sys.exit("tests/run.py: Python 3.11 or newer is needed")
    install_tools()
    install_container_tools()
    # Cookiecutter leaves the rendered copy of every hook it runs in the temporary folder
    # (two files a bake, hundreds a run), and a crowded temporary folder slows every later
    # bake. So the run gets a temporary folder of its own, removed when every test passed.
    temporary = Path(tempfile.mkdtemp(prefix="azure-py-cloudservice-tests-"))
    environment = {**os.environ, **{name: str(temporary) for name in ("TMPDIR", "TEMP", "TMP")}}
    pytest = [str(venv_bin("python")), "-m", "pytest", "-n", "auto", *sys.argv[1:]]
    returncode = subprocess.run(pytest, cwd=ROOT, env=environment, check=False).returncode
    if returncode == 0:
        shutil.rmtree(temporary, ignore_errors=True)
    else:
        print(f"tests/run.py: the run's temporary files are kept in {temporary}", file=sys.stderr)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
