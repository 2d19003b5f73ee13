"""podman for the tests, and a local base image for the roles' Dockerfiles.

No container registry is reachable from the machines the tests run on, so the official
``python:3.11-slim`` cannot be pulled. In its place: Debian bookworm made with
``debootstrap --variant=minbase`` and Python 3.11 from Debian, changed to behave like the
official image (``python`` on PATH, pip allowed to install into the system Python, no
apt caches), imported with ``podman import``. The tests build every role's image FROM it
through the Dockerfiles' PYTHON_IMAGE argument.

The root file system is kept as a tar file in the cache folder the solutions use for
Azurite (``~/.cache/azure-py-cloudservice/`` on Linux), named after everything that goes
into it, and made under a file lock, so that one run makes it once whatever the number of
pytest workers, and later runs only import it (or find it imported).

podman runs with a containers.conf of the tests' own (``CONTAINERS_CONF``): no default
ulimits (podman's cannot be set on these machines) and runc (crun refuses their cgroups).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What the official image has that Debian's Python does not, and what it leaves out.
SLIM_LIKE = [
    ["ln", "-sf", "/usr/bin/python3", "/usr/local/bin/python"],
    ["rm", "-f", "/usr/lib/python3.11/EXTERNALLY-MANAGED"],
    ["sh", "-c", "rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*"],
]
# The official image's configuration.
IMAGE_CONFIG = [
    "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--change", "ENV LANG=C.UTF-8",
    "--change", 'CMD ["python3"]',
]
RECIPE = {"suite": SUITE, "variant": "minbase", "packages": PACKAGES, "slim_like": SLIM_LIKE,
          "image_config": IMAGE_CONFIG, "version": 1}
KEY = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:12]
IMAGE = f"localhost/azure-py-cloudservice-test-base:{KEY}"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# pip inside a build reaches the package index only with this machine's certificates.
BUILD_OPTIONS = ["--network", "host", "--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
CONTAINERS_CONF = """\
[containers]
default_ulimits = []
[engine]
runtime = "runc"
"""
# For `python -m cloudservice run --containers`, whose builds take no options of ours.
CONTAINERS_CONF_HOST_BUILDS = f"""\
[containers]
default_ulimits = []
netns = "host"
volumes = ["{CA_BUNDLE}:{CA_BUNDLE}:ro"]
[engine]
runtime = "runc"
"""


class Unavailable(RuntimeError):
    """podman or debootstrap cannot run here; str() says why."""


def cache_folder() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "azure-py-cloudservice" / "container-base"


def podman_environment(folder: Path, host_builds: bool = False) -> dict[str, str]:
    """The environment to run podman with: os.environ and a containers.conf in ``folder``
    (with ``host_builds``, one that gives every build the options of BUILD_OPTIONS)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("containers-host-builds.conf" if host_builds else "containers.conf")
    path.write_text(CONTAINERS_CONF_HOST_BUILDS if host_builds else CONTAINERS_CONF, encoding="utf-8")
    return {**os.environ, "CONTAINERS_CONF": str(path)}


def debian_mirror() -> str:
    """The Debian mirror apt is configured with (deb822 or one-line sources)."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) + [Path("/etc/apt/sources.list")]
    for path in sources:
        with contextlib.suppress(OSError):
            text = path.read_text(encoding="utf-8")
            for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", text, re.MULTILINE
            ):
                if "security" not in uri:
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def check_tools() -> None:
    if not sys.platform.startswith("linux"):
        raise Unavailable("the container tests make their base image with debootstrap, on Linux only")
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not on PATH (tests/run.py installs them with apt as root)")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    import fcntl  # Linux only, as debootstrap is

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def image_exists(environment: dict[str, str]) -> bool:
    return subprocess.run(["podman", "image", "exists", IMAGE], env=environment, check=False).returncode == 0


def make_rootfs_tar(target: Path) -> None:
    """debootstrap, made slim-like, packed as a tar; written beside ``target`` and renamed."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="making-") as work:
        rootfs = Path(work) / "rootfs"
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs),
                   debian_mirror()]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise Unavailable(f"debootstrap failed (exit {completed.returncode}): {completed.stdout[-2000:]}")
        for step in SLIM_LIKE:
            subprocess.run(["chroot", str(rootfs), *step], check=True)
        partial = Path(work) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.rename(target)


def ensure_base_image(environment: dict[str, str]) -> str:
    """The base image's name, made (once, under a lock) if podman does not have it."""
    check_tools()
    if image_exists(environment):
        return IMAGE
    folder = cache_folder()
    with locked(folder / f"{KEY}.lock"):
        if image_exists(environment):
            return IMAGE
        tar = folder / f"rootfs-{KEY}.tar"
        if not tar.exists():
            make_rootfs_tar(tar)
        subprocess.run(["podman", "import", "--quiet", *IMAGE_CONFIG, str(tar), IMAGE], env=environment,
                       check=True, capture_output=True)
    return IMAGE
