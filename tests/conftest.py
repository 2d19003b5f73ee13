"""Fixtures shared by the template's tests."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent


def find_uv() -> str:
    beside_python = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    uv = str(beside_python) if beside_python.exists() else shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed: run the suite with `python3 tests/run.py`")
    return uv


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture
def bake(cookies):
    """Bake the template with these answers (never installing packages unless asked)."""

    def bake(**answers):
        answers.setdefault("install_packages", False)
        return cookies.bake(extra_context=answers, template=str(TEMPLATE))

    return bake


@pytest.fixture(scope="session")
def venv_cache(tmp_path_factory) -> Path:
    # The parent of the base temp folder is shared by all xdist workers of a run.
    folder = tmp_path_factory.getbasetemp().parent / "role-venvs"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def role_python(venv_cache):
    """The Python of a virtual environment (made with uv) holding these requirements and
    pytest; one environment per distinct set of requirements, shared by the whole run."""

    def role_python(*requirement_files: Path) -> Path:
        contents = b"".join(path.read_bytes() for path in requirement_files)
        venv = venv_cache / hashlib.sha256(contents).hexdigest()[:16]
        if venv_python(venv).exists():
            return venv_python(venv)
        building = Path(tempfile.mkdtemp(dir=venv_cache, prefix="building-"))
        uv = find_uv()
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(building)], check=True)
        requirements = []
        for path in requirement_files:
            requirements += ["-r", str(path)]
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(venv_python(building)), *requirements, "pytest"],
            check=True,
        )
        try:
            building.rename(venv)
        except OSError:  # another worker finished the same environment first
            shutil.rmtree(building, ignore_errors=True)
        return venv_python(venv)

    return role_python


@pytest.fixture(scope="session")
def run_role_tests(role_python):
    """Run one role's own tests the way the solution's README says, in that role's environment."""

    def run_role_tests(solution: Path, role: str) -> subprocess.CompletedProcess:
        python = role_python(solution / role / "requirements.txt")
        return subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", role],
            cwd=solution, capture_output=True, text=True, check=False, timeout=600,
        )

    return run_role_tests
