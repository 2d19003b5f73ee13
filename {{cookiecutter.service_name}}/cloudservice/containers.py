"""``python -m cloudservice run --containers``: every role in a container of its own.

Each role's image is built from the role's folder and its Dockerfile, with podman or
docker (whichever is on PATH, podman first), all roles at once. Then each instance runs
as ``run`` would run it, with the same environment (from ServiceDefinition.csdef and
ServiceConfiguration.Local.cscfg) and the same local port, but inside its container:

- The containers share this machine's network (``--network host``), so the storage
  emulator on 127.0.0.1 is reached at the address the connection strings name, and a web
  role answers on the URL ``run`` prints. Web roles listen on 127.0.0.1 only (``HOST``).
- Variables are passed by name (``--env NAME``), their values taken from the engine's own
  environment, so that no secret shows on a command line.
- A variable that names a folder of the solution (a local resource such as
  DIAGNOSTIC_STORE) names the same folder mounted into the container.
- A worker whose container exits is started again, as ``run`` does (recycle.py).

Containers run with ``--rm``, and any left when the run ends are removed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cloudservice.model import RoleDefinition, Service
from cloudservice.run import HOST, RECYCLE, Launch

ENGINES = ("podman", "docker")
# Where the folders of the solution that variables name appear inside a container.
MOUNTED_SOLUTION = PurePosixPath("/mnt/solution")
BUILD_OUTPUT_LINES = 20


class ContainerError(RuntimeError):
    """The roles cannot run in containers here; str() says why and what to do."""


def find_engine() -> str:
    for name in ENGINES:
        found = shutil.which(name)
        if found:
            return found
    raise ContainerError(
        "neither podman nor docker is on PATH: install one of them"
        " (https://podman.io or https://docs.docker.com/get-docker/) and run this again"
    )


def repository(service: Service, role: RoleDefinition) -> str:
    """``<service>-<role>`` in the lower case that image names need."""

    def slug(name: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")

    return f"{slug(service.name)}-{slug(role.name)}"


def image_name(service: Service, role: RoleDefinition) -> str:
    return f"{repository(service, role)}:local"


def build_command(engine: str, folder: Path, image: str, base_image: str | None) -> list[str]:
    command = [engine, "build", "--tag", image]
    if base_image:
        command += ["--build-arg", f"PYTHON_IMAGE={base_image}"]
    return [*command, str(folder)]


def image_id(engine: str, image: str) -> str | None:
    """The ID of the image a tag names now; None when there is none."""
    completed = subprocess.run(
        [engine, "image", "inspect", image], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        return None
    return json.loads(completed.stdout)[0]["Id"]


def build_images(
    engine: str, service: Service, roles: list[RoleDefinition], base_image: str | None = None
) -> dict[str, str]:
    """Build every role's image at once; the image of each role, by role name. The image
    a tag named before a rebuild is removed, unless a container still uses it, so that
    rebuilds leave no untagged images behind."""
    print(f"Building the images of {', '.join(r.name for r in roles)} with {engine} ...",
          flush=True)

    def build(role: RoleDefinition) -> str:
        image = image_name(service, role)
        before = image_id(engine, image)
        started = time.monotonic()
        completed = subprocess.run(
            build_command(engine, service.folder(role), image, base_image),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr).strip().splitlines()
            raise ContainerError(
                f"{service.folder(role) / 'Dockerfile'}: the image did not build"
                f" (exit {completed.returncode}); the build's last lines:\n  "
                + "\n  ".join(output[-BUILD_OUTPUT_LINES:])
            )
        print(f"{role.name}: image {image} built in {time.monotonic() - started:.1f} s",
              flush=True)
        if before is not None and before != image_id(engine, image):
            subprocess.run([engine, "image", "rm", before], capture_output=True, check=False)
        return image

    with ThreadPoolExecutor(max_workers=len(roles)) as pool:
        images = list(pool.map(build, roles))
    return {role.name: image for role, image in zip(roles, images, strict=True)}


def in_container(service: Service, environment: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment as a container sees it, and the ``--volume`` options that make
    the solution's folders it names (local resources) appear where it says."""
    root = service.root.resolve()
    inside, volumes = {}, []
    for name, value in environment.items():
        path = Path(value) if value else None
        if path and path.is_absolute() and path.is_dir() and path.resolve().is_relative_to(root):
            target = MOUNTED_SOLUTION / path.resolve().relative_to(root).as_posix()
            volumes += ["--volume", f"{path.resolve()}:{target}"]
            value = str(target)
        inside[name] = value
    return inside, volumes


@dataclass(frozen=True)
class ContainerLaunch(Launch):
    """A role instance of ``run``, in a container of the role's image."""

    engine: str = ""
    image: str = ""
    name: str = ""  # the container's
    volumes: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()  # the variables passed into the container, by name

    def arguments(self) -> list[str]:
        command = [self.engine, "run", "--rm", "--name", self.name, "--network", "host"]
        for variable in self.passed:
            command += ["--env", variable]
        command += [*self.volumes, self.image]
        if self.script is not None:
            return [sys.executable, str(RECYCLE), *command]
        return command


def container_launches(
    service: Service, launches: list[Launch], base_image: str | None, also_passed: dict[str, str]
) -> list[ContainerLaunch]:
    """Build the images of the launched roles and put each launch in a container;
    ``also_passed`` names the variables every container gets besides the role's own."""
    engine = find_engine()
    roles = list({launch.instance.role.name: launch.instance.role for launch in launches}.values())
    images = build_images(engine, service, roles, base_image)
    return in_containers(service, launches, engine, images, also_passed)


def in_containers(
    service: Service,
    launches: list[Launch],
    engine: str,
    images: dict[str, str],
    also_passed: dict[str, str],
) -> list[ContainerLaunch]:
    """Each launch in a container of its role's image (``images``, by role name)."""
    run_id = uuid.uuid4().hex[:8]
    wrapped = []
    for launch in launches:
        role = launch.instance.role
        environment = dict(launch.environment)
        if launch.port is not None:
            environment.update(HOST=HOST, PORT=str(launch.port))
        environment, volumes = in_container(service, environment)
        fields = {field.name: getattr(launch, field.name) for field in dataclasses.fields(launch)}
        fields["environment"] = environment
        wrapped.append(
            ContainerLaunch(
                **fields,
                engine=engine,
                image=images[role.name],
                name=f"{repository(service, role)}-{launch.instance.index}-{run_id}",
                volumes=tuple(volumes),
                passed=tuple([*environment, *also_passed]),
            )
        )
    return wrapped


@contextmanager
def removed_at_end(launches: list[ContainerLaunch]) -> Iterator[None]:
    """When the run ends, remove any of its containers still there (one whose engine
    client was killed before it could stop it)."""
    try:
        yield
    finally:
        if launches:
            command = [launches[0].engine, "rm", "--force", *(launch.name for launch in launches)]
            subprocess.run(command, capture_output=True, check=False)
