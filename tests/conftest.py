"""Fixtures shared by the template's tests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from helpers import CSCFG_NS

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


BUILD_RECIPES = {"Dockerfile", ".dockerignore"}


def top_level_modules(folder: Path) -> set[str]:
    return {path.stem.lower() for path in folder.iterdir() if path.suffix == ".py" or path.is_dir()}


def requirement_names(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(match.group(1).lower().replace("-", "_"))
    return names


def role_fingerprint(solution: Path, role: str) -> str:
    """What a role's own tests depend on: its files and the solution's pytest configuration,
    with the names that tell equal roles apart (the service's, the role's, its queue's)
    taken out, but the role's name kept when its folder could shadow a module (the
    standard library's, a requirement's or the role's own), since that changes imports."""
    role_folder = solution / role
    replaced = [solution.name, role]
    configuration = ElementTree.parse(solution / "ServiceConfiguration.Local.cscfg").getroot()
    queue = configuration.find(f"{CSCFG_NS}Role[@name='{role}']/{CSCFG_NS}ConfigurationSettings/"
                               f"{CSCFG_NS}Setting[@name='QueueName']")
    if queue is not None:
        replaced.append(queue.get("value"))
    digest = hashlib.sha256()
    # The role's tests read neither its guide, nor its Windows scripts and its image's recipe
    # (which name the Python of the VMs and of the image), nor the bytecode.
    role_files = sorted(
        path for path in role_folder.rglob("*")
        if path.is_file() and path.suffix != ".md" and path.name not in BUILD_RECIPES
        and not {"__pycache__", "bin"} & set(path.relative_to(role_folder).parts[:-1])
    )
    for path in [solution / "pyproject.toml", *role_files]:
        content = path.read_bytes()
        for name in sorted(replaced, key=len, reverse=True):
            content = content.replace(name.encode("utf-8"), b"<name>")
        digest.update(path.relative_to(solution).as_posix().replace(role, "<role>").encode("utf-8"))
        digest.update(hashlib.sha256(content).digest())
    shadowable = set(sys.stdlib_module_names) | requirement_names(role_folder / "requirements.txt")
    if role.lower() in shadowable | top_level_modules(role_folder):
        digest.update(role.encode("utf-8"))
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def run_role_tests(role_python, venv_cache):
    """Run one role's own tests the way the solution's README says, in an environment of that
    role's requirements and the solution's tools (requirements-dev.txt).

    The same role, but for its names, comes out of many of the suite's bakes (every
    combination has a worker or a Flask role): its tests run once per fingerprint in a
    whole run, and a role equal to one that passed gets that run's result."""
    passed_runs = venv_cache.parent / "role-tests-passed"
    passed_runs.mkdir(exist_ok=True)

    def run_role_tests(solution: Path, role: str) -> subprocess.CompletedProcess:
        record = passed_runs / role_fingerprint(solution, role)
        if record.exists():
            return subprocess.CompletedProcess(record.name, 0, record.read_text(encoding="utf-8"), "")
        python = role_python(solution / role / "requirements.txt", solution / "requirements-dev.txt")
        completed = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", role],
            cwd=solution, capture_output=True, text=True, check=False, timeout=600,
        )
        if completed.returncode == 0:
            written = record.with_name(f"{record.name}.{os.getpid()}")
            written.write_text(completed.stdout, encoding="utf-8")
            written.replace(record)
        return completed

    return run_role_tests
