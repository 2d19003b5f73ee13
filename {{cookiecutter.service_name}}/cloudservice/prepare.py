"""``python -m cloudservice prepare``: bring along what each role would otherwise download.

A role VM has no C compiler, and fetching Python and packages at every start of every
instance is slow, billed and fragile. ``prepare`` fills two folders of each role, which
``bin/ConfigureCloudService.ps1`` uses when they are there:

``<Role>/bin/wheelhouse``
    Wheels of the role's ``requirements.txt`` (and of the web server package that its
    ``web.config`` needs) for Windows x64 and the role's CPython, downloaded by pip from
    PyPI on any operating system. Only wheels: a requirement that PyPI offers for
    Windows only as source stops the command, naming it and saying why. The VM installs
    from here with ``pip install --no-index --find-links``.
``<Role>/bin/python``
    The pinned CPython build, unpacked from its NuGet package (``python.exe`` is in
    ``tools/``).

The pin is in one place: the ``PYTHON_BUILD`` and ``PYTHON_PACKAGE_URL`` variables of
each role's environment in ServiceDefinition.csdef. Running ``prepare`` again reuses
the wheels that are still wanted, drops the others, and leaves an unpacked Python of
the pinned build alone.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cloudservice.model import PythonPin, RoleDefinition, Service

WHEELHOUSE = Path("bin", "wheelhouse")
PYTHON_HOME = Path("bin", "python")
PYTHON_EXE = "tools/python.exe"  # inside the NuGet package
# What prepare last did, kept beside its results (pip and the VM ignore these files).
WHEELHOUSE_STAMP = ".prepared.json"
PYTHON_STAMP = ".python-build"
PLATFORM = "win_amd64"
# The Python package that runs each kind of web.config (see model.WebConfig.server).
SERVER_PACKAGES = {"httpplatformhandler": "waitress", "wfastcgi": "wfastcgi"}
# What serves an ASGI application (model.WebConfig.asgi) behind HttpPlatformHandler.
ASGI_SERVER_PACKAGE = "uvicorn"
# Packages the role scripts need that PyPI has only as source; they are pure Python,
# so a wheel built here runs on Windows as well.
BUILT_HERE = frozenset({"wfastcgi"})
PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"
DOWNLOAD_TIMEOUT = 60
CHUNK = 1 << 20


class PrepareError(Exception):
    """What stopped the preparation of a role, as one message for the user."""


def server_packages(service: Service, role: RoleDefinition) -> list[str]:
    """The package that serves a web role under IIS, as its web.config says."""
    if not role.web:
        return []
    web_config = service.web_config(role)
    return [ASGI_SERVER_PACKAGE if web_config.asgi else SERVER_PACKAGES[web_config.server]]


def requirement_lines(requirements: Path) -> list[str]:
    """The lines of a requirements file that are not blank or comments."""
    lines = requirements.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


# pip evaluates environment markers (``tzdata; sys_platform == "win32"``) for the Python
# that runs it, even when it downloads for another platform. This runs pip with the
# markers evaluated for the role VM instead, so that the wheelhouse has what Windows needs.
PIP_FOR_THE_VM = """
import json, runpy, sys
from pip._vendor.packaging import markers
vm = json.loads(sys.argv[1])
markers.default_environment = lambda: dict(vm)
sys.argv = ["pip", *sys.argv[2:]]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def vm_environment(pin: PythonPin) -> dict[str, str]:
    """The values of environment markers on a role VM (PEP 508): CPython ``pin.build``
    on 64-bit Windows Server."""
    return {
        "implementation_name": "cpython",
        "implementation_version": pin.build,
        "os_name": "nt",
        "platform_machine": "AMD64",
        "platform_python_implementation": "CPython",
        "platform_release": "10",
        "platform_system": "Windows",
        "platform_version": "10.0.20348",
        "python_full_version": pin.build,
        "python_version": pin.version,
        "sys_platform": "win32",
    }


def pip_options(index_url: str | None) -> list[str]:
    """Options for every pip command here: ignore this machine's pip configuration and
    environment variables, so that the wheelhouse depends only on the requirements and
    the index."""
    options = ["--isolated", "--disable-pip-version-check", "--no-input", "--progress-bar=off"]
    if index_url:
        options.append(f"--index-url={index_url}")
    return options


def download_command(
    requirements: Path,
    packages: list[str],
    pin: PythonPin,
    destination: Path,
    index_url: str | None,
) -> list[str]:
    """pip download of the role's wheels, run with the VM's environment markers."""
    return [
        sys.executable,
        "-c",
        PIP_FOR_THE_VM,
        json.dumps(vm_environment(pin)),
        "download",
        *pip_options(index_url),
        "--only-binary=:all:",
        f"--platform={PLATFORM}",
        f"--python-version={pin.version}",
        "--implementation=cp",
        f"--dest={destination}",
        f"--requirement={requirements}",
        *packages,
    ]


def wheel_command(package: str, wheelhouse: Path, index_url: str | None) -> list[str]:
    return [
        sys.executable, "-m", "pip", "wheel", *pip_options(index_url),
        "--no-deps", f"--wheel-dir={wheelhouse}", package,
    ]  # fmt: skip


# pip's output lines that show progress, and the part of each worth showing.
PROGRESS = re.compile(r"^(Collecting \S+|Downloading \S+ \(.*\)|ERROR: .*|WARNING: .*)")


def stream(command: list[str]) -> tuple[int, list[str]]:
    """Run pip, showing the progress lines of its output (which package it is at,
    what it downloads, errors) as they come; return its exit code and all its output."""
    output = []
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    with process:
        for line in process.stdout:
            output.append(line.rstrip())
            if progress := PROGRESS.match(line.strip()):
                print(f"  {progress[1]}", flush=True)
    return process.returncode, output


SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded) (.+?)\s*$")
NOT_FOUND = re.compile(
    r"Could not find a version that satisfies the requirement (.+?) \(from versions: (.*)\)\s*$"
)
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def saved_wheels(output: Iterable[str]) -> set[str]:
    """The file names pip says it saved or found already in the destination."""
    return {Path(match[1]).name for line in output if (match := SAVED.match(line))}


def unsatisfied(output: Iterable[str]) -> tuple[str, str] | None:
    """The requirement pip found no usable distribution for, and the versions it saw."""
    for line in output:
        if match := NOT_FOUND.search(line):
            return match[1], match[2]
    return None


@dataclass(frozen=True)
class WheelTags:
    pythons: frozenset[str]
    abis: frozenset[str]
    platforms: frozenset[str]


def wheel_tags(filename: str) -> WheelTags | None:
    """The tags of a wheel file name (``name-version[-build]-python-abi-platform.whl``)."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[: -len(".whl")].split("-")
    if len(parts) < 5:
        return None
    python, abi, platform = parts[-3:]
    return WheelTags(
        frozenset(python.split(".")), frozenset(abi.split(".")), frozenset(platform.split("."))
    )


def runs_on_windows(filename: str) -> bool:
    """Whether a wheel installs on 64-bit Windows: built for it, or pure Python."""
    tags = wheel_tags(filename)
    return tags is not None and bool(tags.platforms & {PLATFORM, "any"})


def runs_on_cpython(tags: WheelTags, version: str) -> bool:
    """Whether a wheel's Python and ABI tags accept CPython ``version`` (such as 3.12)."""
    major, minor = (int(part) for part in version.split("."))
    for python in tags.pythons:
        if python in {f"py{major}", f"py{major}{minor}"}:
            return True
        match = re.fullmatch(rf"cp{major}(\d+)", python)
        if match and (int(match[1]) == minor or ("abi3" in tags.abis and int(match[1]) <= minor)):
            return True
    return False


def project_files(name: str) -> dict | None:
    """PyPI's JSON description of a project's latest release, or None when PyPI does
    not know it or cannot be asked."""
    try:
        # A fixed https URL.
        with urllib.request.urlopen(  # noqa: S310  # nosec B310
            PYPI_PROJECT.format(name=name), timeout=DOWNLOAD_TIMEOUT
        ) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def why_no_wheel(name: str, version: str, project: dict | None) -> str:
    """Why PyPI has no wheel of ``name`` for Windows x64 and CPython ``version``, from
    the project's JSON description (None: PyPI does not know it)."""
    if project is None:
        return "PyPI has no project of that name (or could not be asked)"
    release = project["info"]["version"]
    wheels = [f["filename"] for f in project.get("urls", []) if f["filename"].endswith(".whl")]
    if not wheels:
        return (
            f"PyPI has only its source (latest release {release}), and role VMs have no"
            " compiler to build it"
        )
    windows = [w for w in wheels if runs_on_windows(w)]
    if not windows:
        return f"its wheels on PyPI (release {release}) are all for other systems"
    if not any(runs_on_cpython(wheel_tags(w), version) for w in windows):
        pythons = sorted({p for w in windows for p in wheel_tags(w).pythons})
        return f"its Windows wheels (release {release}) are for {', '.join(pythons)} only"
    return (
        f"its latest release, {release}, has one, but no release that the version"
        " constraints allow does"
    )


def explain_failure(
    role: RoleDefinition, output: list[str], version: str, index_url: str | None
) -> str:
    missing = unsatisfied(output)
    if missing is None:
        errors = [line.strip() for line in output if line.lstrip().startswith("ERROR")]
        detail = errors[-1] if errors else (output[-1].strip() if output else "no output")
        return f"{role.name}: pip could not download the wheels: {detail}"
    requirement, _ = missing
    name = REQUIREMENT_NAME.match(requirement)[1]
    why = f"{index_url} has none" if index_url else why_no_wheel(name, version, project_files(name))
    return (
        f"{role.name}/requirements.txt: {requirement} has no wheel for Windows x64 and CPython"
        f" {version}: {why}. Role VMs install only wheels: choose a version or a package"
        " that has one."
    )


def build_pure_wheel(package: str, wheelhouse: Path, index_url: str | None) -> str:
    """A wheel of a pure-Python package that PyPI has only as source, built here; the
    one already in the wheelhouse when there is one."""
    pattern = re.compile(rf"^{re.escape(package)}-[^-]+-.*-none-any\.whl$", re.IGNORECASE)
    existing = sorted(p.name for p in wheelhouse.glob("*.whl") if pattern.match(p.name))
    if existing:
        print(f"  Using {existing[-1]}", flush=True)
        return existing[-1]
    before = set(wheelhouse.glob("*.whl"))
    code, _ = stream(wheel_command(package, wheelhouse, index_url))
    built = [p.name for p in set(wheelhouse.glob("*.whl")) - before]
    if code != 0 or len(built) != 1:
        raise PrepareError(f"building a wheel of {package} failed (see pip's output above)")
    if not pattern.match(built[0]):
        (wheelhouse / built[0]).unlink()
        raise PrepareError(f"{package} built into {built[0]}, which is not pure Python")
    return built[0]


def requirements_digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def wheelhouse_stamp(
    requirements: Path, version: str, packages: list[str], wheels: Iterable[str]
) -> dict:
    """What a wheelhouse was prepared for; ``package`` compares it with the role now."""
    return {
        "python": version,
        "platform": PLATFORM,
        "requirements_sha256": requirements_digest(requirements),
        "packages": sorted(packages),
        "wheels": sorted(wheels),
    }


def prepare_wheelhouse(
    service: Service, role: RoleDefinition, pin: PythonPin, index_url: str | None
) -> int:
    """Fill ``<Role>/bin/wheelhouse``; return the number of wheels in it."""
    folder = service.folder(role)
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        raise PrepareError(f"{role.name}: there is no {role.name}/requirements.txt")
    wheelhouse = folder / WHEELHOUSE
    packages = server_packages(service, role)
    downloaded = [p for p in packages if p not in BUILT_HERE]
    print(
        f"{role.name}: wheels for CPython {pin.version} on Windows x64"
        f" -> {role.name}/{WHEELHOUSE.as_posix()}",
        flush=True,
    )
    wheelhouse.mkdir(parents=True, exist_ok=True)
    # Until this run succeeds, the role does not count as prepared.
    (wheelhouse / WHEELHOUSE_STAMP).unlink(missing_ok=True)
    wanted = set()
    if requirement_lines(requirements) or downloaded:
        command = download_command(requirements, downloaded, pin, wheelhouse, index_url)
        code, output = stream(command)
        if code != 0:
            raise PrepareError(explain_failure(role, output, pin.version, index_url))
        wanted = saved_wheels(output)
        if not wanted:
            raise PrepareError(f"{role.name}: pip succeeded, but its output names no wheel")
    for package in packages:
        if package in BUILT_HERE:
            wanted.add(build_pure_wheel(package, wheelhouse, index_url))
    foreign = sorted(name for name in wanted if not runs_on_windows(name))
    if foreign:
        raise PrepareError(
            f"{role.name}: pip chose wheels that do not run on Windows x64: " + ", ".join(foreign)
        )
    for stale in wheelhouse.glob("*.whl"):
        if stale.name not in wanted:
            stale.unlink()
    stamp = wheelhouse_stamp(requirements, pin.version, packages, wanted)
    (wheelhouse / WHEELHOUSE_STAMP).write_text(json.dumps(stamp, indent=2) + "\n", "utf-8")
    return len(wanted)


def python_is_there(home: Path, build: str) -> bool:
    stamp = home / PYTHON_STAMP
    return (
        (home / PYTHON_EXE).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == build
    )


def size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"


def progress_marks(total: int) -> Iterator[int]:
    """Byte counts at which to report a download: every quarter."""
    yield from (total * quarter // 4 for quarter in range(1, 5))


def download(url: str, target: Path) -> None:
    """Fetch a URL into a file, reporting progress by the quarter."""
    print(f"  Downloading {url}", flush=True)
    received = total = 0
    try:
        # The URL is the pinned package's, or one the user gave.
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310  # nosec B310
            total = int(response.headers.get("Content-Length") or 0)
            marks = list(progress_marks(total)) if total else []
            with target.open("wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    while marks and received >= marks[0]:
                        marks.pop(0)
                        print(f"  {size(received)} of {size(total)}", flush=True)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise PrepareError(f"downloading {url} failed: {error}") from None
    if not total:
        print(f"  {size(received)}", flush=True)


def unpack_python(package: Path, url: str, home: Path, build: str) -> None:
    """Unpack a NuGet package of CPython into ``home``, which then holds tools/python.exe.
    It is unpacked beside ``home`` first, so that an interrupted run leaves no half
    Python behind."""
    if not zipfile.is_zipfile(package):
        raise PrepareError(f"{url} is not a NuGet package (those are zip files)")
    with zipfile.ZipFile(package) as archive:
        if PYTHON_EXE not in archive.namelist():
            raise PrepareError(f"{url} has no {PYTHON_EXE}: it is not a CPython NuGet package")
        unpacking = home.with_name(home.name + ".unpacking")
        shutil.rmtree(unpacking, ignore_errors=True)
        archive.extractall(unpacking)
    (unpacking / PYTHON_STAMP).write_text(build + "\n", encoding="utf-8")
    shutil.rmtree(home, ignore_errors=True)
    unpacking.rename(home)


def prepare_python(
    service: Service,
    role: RoleDefinition,
    pin: PythonPin,
    url: str,
    downloads: dict[str, Path],
    scratch: Path,
) -> None:
    """Unpack the pinned Python into ``<Role>/bin/python`` unless that build is there.
    ``downloads`` maps URLs fetched in this run to their files, so that roles with the
    same build share one download."""
    home = service.folder(role) / PYTHON_HOME
    where = f"{role.name}/{PYTHON_HOME.as_posix()}"
    if python_is_there(home, pin.build):
        print(f"{role.name}: Python {pin.build} is already in {where}", flush=True)
        return
    print(f"{role.name}: Python {pin.build} -> {where}", flush=True)
    if url not in downloads:
        package = scratch / f"package-{len(downloads)}.nupkg"
        download(url, package)
        downloads[url] = package
    unpack_python(downloads[url], url, home, pin.build)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "prepare",
        help="bring each role's packages (and Python) along, for a start with no downloads",
        description="For every role (or those given), download Windows x64 wheels of its"
        " requirements.txt into <Role>/bin/wheelhouse and unpack the pinned CPython build"
        " (PYTHON_BUILD and PYTHON_PACKAGE_URL in ServiceDefinition.csdef) into"
        " <Role>/bin/python. Safe to run again: it fetches only what changed.",
    )
    Service.add_role_option(parser, "prepare")
    parser.add_argument(
        "--no-python", action="store_true", help="only the wheels; leave bin/python alone"
    )
    parser.add_argument(
        "--python-url",
        metavar="URL",
        help="fetch the Python NuGet package from here (every role prepared) instead of"
        " PYTHON_PACKAGE_URL",
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="download the wheels from this package index (a mirror of PyPI) instead of PyPI",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pip") is None:
        print(
            f"cloudservice prepare: pip is needed; install it with {sys.executable} -m ensurepip",
            file=sys.stderr,
        )
        return 1
    service = Service.load()
    roles = service.roles_named(args.roles)
    pins = {role.name: service.python_pin(role) for role in roles}
    downloads: dict[str, Path] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="cloudservice-prepare-") as scratch:
            for role in roles:
                count = prepare_wheelhouse(service, role, pins[role.name], args.index_url)
                print(f"{role.name}: {count} wheels", flush=True)
                if not args.no_python:
                    url = args.python_url or pins[role.name].url
                    prepare_python(service, role, pins[role.name], url, downloads, Path(scratch))
    except PrepareError as error:
        print(f"cloudservice prepare: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    names = ", ".join(role.name for role in roles)
    print(f"Prepared {len(roles)} role{'s' if len(roles) > 1 else ''}: {names}.")
    return 0
