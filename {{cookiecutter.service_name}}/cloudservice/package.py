"""``python -m cloudservice package``: the service package (.cspkg) that Azure deploys.

Only ``cspack.exe`` makes a .cspkg, and it runs only on Windows: it comes with the
"Azure Cloud Services build tools" of the Visual Studio installer (the Azure SDK 2.9,
in ``%ProgramFiles%\\Microsoft SDKs\\Azure\\.NET SDK\\v2.9\\bin``). This command builds
its command line from ServiceDefinition.csdef: for every role ``/role:<Role>;<folder>``
(the files of approot), for every site of a web role ``/sites:<Role>;<Site>;<folder>``
(IIS serves the site from its own copy, sitesroot\\<n>) and for every virtual application
or directory in it ``/sites:<Role>;<Site>/<path>;<folder>``, and the role properties in
deploy/RoleProperties.txt (the .NET Framework version a role is marked with, as
Visual Studio's build marks it; no .NET code runs in these roles). A site's folder is its
physicalDirectory (relative to the .csdef); the one site without one is served from the
role folder. ``--dry-run`` prints that command line on any operating system, once
``check`` finds nothing wrong, as ``package`` needs, and refuses what ``package`` refuses
before it looks for cspack.

A package of a role that ``prepare`` has not (or no longer) matched to its
requirements.txt and Python would download them on every instance start, or fail to:
it is refused unless ``--allow-unprepared`` says that is meant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

from cloudservice import check
from cloudservice.model import DEFINITION_FILE, SOLUTION, ModelError, RoleDefinition, Service
from cloudservice.prepare import (
    PYTHON_HOME,
    WHEELHOUSE,
    WHEELHOUSE_STAMP,
    python_is_there,
    requirements_digest,
    server_packages,
)

CSPACK = "cspack.exe"
CSPACK_VARIABLE = "CSPACK"
# Where the Azure Cloud Services build tools put cspack.exe, under Program Files.
SDK_FOLDER = PureWindowsPath("Microsoft SDKs", "Azure", ".NET SDK")
ROLE_PROPERTIES = PureWindowsPath("deploy", "RoleProperties.txt")
BUILD_TOOLS_HELP = (
    "cspack.exe, from the Azure Cloud Services build tools (Visual Studio Installer >"
    " Individual components > 'Azure Cloud Services build tools'), on Windows"
)


def windows_path(root: Path, path: Path) -> str:
    """A path as cspack gets it: relative to the solution when inside it, Windows style."""
    try:
        return str(PureWindowsPath(path.relative_to(root)))
    except ValueError:
        return str(PureWindowsPath(path))


def site_folder(service: Service, role: RoleDefinition, physical_directory: str | None) -> Path:
    """The folder IIS serves a site from: the site's physicalDirectory (relative to the
    .csdef), else the role folder."""
    if physical_directory:
        # normpath: "..\\Api" is beside the solution, not inside it.
        return Path(os.path.normpath(service.root / PureWindowsPath(physical_directory).as_posix()))
    return service.folder(role)


def virtual_path_folders(service: Service, role: RoleDefinition) -> list[tuple[str, Path]]:
    """(virtual path, folder) of each site of a web role, and of each virtual application
    and directory in it (``<Site>/<path>``), as ``/sites`` gives them to cspack. Only the
    first site without a physicalDirectory is the role folder, and a virtual path without
    one has no folder: ``check`` reports both, and those are left out here."""
    folders = []
    role_folder_taken = False
    for site in role.sites:
        if site.physical_directory or not role_folder_taken:
            role_folder_taken |= not site.physical_directory
            folders.append((site.name, site_folder(service, role, site.physical_directory)))
        for virtual in site.virtual_paths:
            if virtual.physical_directory:
                folder = site_folder(service, role, virtual.physical_directory)
                folders.append((f"{site.name}/{virtual.path}", folder))
    return folders


def cspack_arguments(service: Service, output: Path) -> list[str]:
    """The arguments of cspack for the whole service, run in the solution folder."""
    root = service.root
    arguments = [DEFINITION_FILE]
    for role in service.roles:
        arguments.append(f"/role:{role.name};{windows_path(root, service.folder(role))}")
        for virtual_path, folder in virtual_path_folders(service, role):
            arguments.append(f"/sites:{role.name};{virtual_path};{windows_path(root, folder)}")
        arguments.append(f"/rolePropertiesFile:{role.name};{ROLE_PROPERTIES}")
    arguments.append(f"/out:{windows_path(root, output)}")
    return arguments


def program_files() -> list[Path]:
    folders = (os.environ.get(name) for name in ("ProgramFiles", "ProgramFiles(x86)"))
    return [Path(folder) for folder in folders if folder]


def sdk_version(folder: Path) -> tuple[int, ...]:
    """``v2.9`` -> (2, 9), so that the newest SDK sorts last."""
    return tuple(int(part) for part in folder.name.lstrip("v").split(".") if part.isdigit())


def find_cspack() -> Path | None:
    """cspack.exe: from the CSPACK environment variable, the PATH, or the folders the
    build tools install it in (the newest SDK first)."""
    if os.environ.get(CSPACK_VARIABLE):
        return Path(os.environ[CSPACK_VARIABLE])
    on_path = shutil.which("cspack")
    if on_path:
        return Path(on_path)
    for base in program_files():
        sdks = sorted((base / SDK_FOLDER).glob("v*"), key=sdk_version, reverse=True)
        for sdk in sdks:
            if (sdk / "bin" / CSPACK).is_file():
                return sdk / "bin" / CSPACK
    return None


def unprepared(service: Service, role: RoleDefinition) -> str | None:
    """Why the role's bin/wheelhouse or bin/python does not match it now, if it does not."""
    folder = service.folder(role)
    wheelhouse = folder / WHEELHOUSE
    try:
        stamp = json.loads((wheelhouse / WHEELHOUSE_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{role.name} has no wheelhouse"
    try:
        pin = service.python_pin(role)
        packages = sorted(server_packages(service, role))
    except ModelError as error:
        return str(error)
    if stamp.get("python") != pin.version:
        return (
            f"the wheelhouse of {role.name} is for Python {stamp.get('python')}, not {pin.version}"
        )
    requirements = folder / "requirements.txt"
    if (
        not requirements.is_file()
        or stamp.get("requirements_sha256") != requirements_digest(requirements)
        or stamp.get("packages") != packages
    ):
        return f"{role.name}/requirements.txt (or its web server) changed since it was prepared"
    if not all((wheelhouse / name).is_file() for name in stamp.get("wheels", [])):
        return f"wheels are missing from the wheelhouse of {role.name}"
    if not python_is_there(folder / PYTHON_HOME, pin.build):
        return f"{role.name} has no Python {pin.build} in {PYTHON_HOME.as_posix()}"
    return None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "package",
        help="build the service package (.cspkg) with cspack (Windows)",
        description="Run cspack.exe (Azure Cloud Services build tools, Windows) on"
        " ServiceDefinition.csdef and every role folder, after checking the service and that"
        " every role is prepared. Set CSPACK to the path of cspack.exe if it is not found.",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="the package to write (default: <service name>.cspkg in the solution folder)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check as package does, then print the cspack command line (run in the solution"
        " folder) and stop; any OS",
    )
    parser.add_argument(
        "--allow-unprepared",
        action="store_true",
        help="package roles that prepare has not brought up to date (they download at start)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    solution, problems = check.problems(SOLUTION)
    if problems or solution is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        print(
            "cloudservice package: fix these first (python -m cloudservice check)", file=sys.stderr
        )
        return 1
    service = solution.service
    output = (args.out or service.root / f"{service.name}.cspkg").resolve()
    cspack = find_cspack()
    command = [str(cspack or CSPACK), *cspack_arguments(service, output)]
    reasons = [reason for role in service.roles if (reason := unprepared(service, role))]
    refused = bool(reasons) and not args.allow_unprepared
    if args.dry_run:
        print(subprocess.list2cmdline(command))
    if refused:
        print("\n".join(reasons), file=sys.stderr)
        print(
            "cloudservice package: run python -m cloudservice prepare first"
            " (or give --allow-unprepared)",
            file=sys.stderr,
        )
        return 1
    if args.dry_run:
        for reason in reasons:
            print(f"warning: {reason}", file=sys.stderr)
        return 0
    missing = []
    if os.name != "nt":
        missing.append("this is not Windows")
    if os.environ.get(CSPACK_VARIABLE) and not cspack.is_file():
        missing.append(f"{CSPACK_VARIABLE} names {cspack}, which is not there")
    elif cspack is None and os.name == "nt":
        missing.append("it is not installed here")
    if missing:
        print(
            f"cloudservice package: packaging needs {BUILD_TOOLS_HELP},"
            f" and {' and '.join(missing)}. Set {CSPACK_VARIABLE} to its path if it is"
            " elsewhere; --dry-run shows the command.",
            file=sys.stderr,
        )
        return 1
    print(subprocess.list2cmdline(command), flush=True)
    completed = subprocess.run(command, cwd=service.root, check=False)
    if completed.returncode != 0:
        print(f"cloudservice package: cspack exited with {completed.returncode}", file=sys.stderr)
        return 1
    print(f"Wrote {output}")
    return 0
