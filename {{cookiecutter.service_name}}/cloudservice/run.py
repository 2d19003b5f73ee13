"""``python -m cloudservice run``: the roles of the service on this machine, as Azure runs them.

Each role instance gets the environment Azure would give it (see environment.py),
from ServiceDefinition.csdef and ServiceConfiguration.Local.cscfg, read afresh at
every start. Web roles are served by waitress (uvicorn for ASGI ones) on local ports
(see ports.py); worker roles run the script of their entry point, started again when it
exits (see recycle.py). When the local settings point at the storage emulator, Azurite is
started first (or the one already running is used).

processes.py runs the processes, with honcho, each output line prefixed with the role
(or instance) name.

With ``--containers``, containers.py builds each role's image and every process is
the role instance in its container instead.
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import re
import runpy
import shlex
import signal
import subprocess
import sys
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cloudservice import azurite, ports
from cloudservice.environment import Instance, instance_environment
from cloudservice.model import ModelError, RoleDefinition, Service, ServiceConfiguration

CONFIGURATION = "Local"
HOST = "127.0.0.1"
AZURITE_DATA = ".azurite"
RECYCLE = Path(__file__).with_name("recycle.py")
# What every role process gets on top of its role environment: output that reaches
# run line by line, in the encoding run reads it with.
OUTPUT_ENVIRONMENT = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
INTERRUPTED = 130
# waitress's command line, as ``python -m waitress`` has it, but with its exit code: that one
# exits with 0 even when the application cannot be imported, and run would say nothing failed.
WAITRESS = "import sys; from waitress.runner import run; sys.exit(run())"
CMD_SPECIAL = re.compile(r'([()\[\]%!^"`<>&|;, *?])')
# Signals that stop the run besides SIGINT and SIGTERM (which honcho handles):
# Ctrl+Break on Windows, the terminal closing elsewhere.
EXTRA_STOP_SIGNALS = [
    getattr(signal, name) for name in ("SIGBREAK", "SIGHUP") if hasattr(signal, name)
]


def command_line(arguments: list[str]) -> str:
    """An argument list as one command string for the shell honcho starts it with.

    POSIX: /bin/sh, so ``shlex.join``, after ``exec``: the shell becomes the program, whose
    own exit code the run then reports (a shell stopped with the run would give -15).
    Windows: cmd.exe, which hands the program a command line that the program splits by
    the C runtime's rules, so each argument is quoted by those rules
    (``subprocess.list2cmdline``) and then every character that means something to cmd.exe
    (such as ``&``, ``%``, ``"``) is escaped with ``^``.
    """
    if os.name != "nt":
        return "exec " + shlex.join(arguments)
    return " ".join(CMD_SPECIAL.sub(r"^\1", subprocess.list2cmdline([a])) for a in arguments)


@dataclass(frozen=True)
class Launch:
    """One process of the run: a role instance, where and with what it starts."""

    instance: Instance
    folder: Path
    environment: dict[str, str]
    application: str | None = None  # web roles: the WSGI application, module:attribute
    port: int | None = None  # web roles: the local port waitress listens on
    asgi: bool = False  # web roles: the application is ASGI, served by uvicorn
    script: str | None = None  # worker roles: the script of the entry point

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://{HOST}:{self.port}/"

    def arguments(self) -> list[str]:
        if self.application is not None and self.asgi:
            return [
                sys.executable,
                "-m",
                "uvicorn",
                f"--host={HOST}",
                f"--port={self.port}",
                # As on the VMs (web.config): forwarded_headers.py decides what to believe
                # of the X-Forwarded-* headers, and no Server header or access log.
                "--no-proxy-headers",
                "--no-server-header",
                "--no-access-log",
                self.application,
            ]
        if self.application is not None:
            listen = f"--listen={HOST}:{self.port}"
            return [sys.executable, "-c", WAITRESS, listen, self.application]
        return [sys.executable, str(RECYCLE), sys.executable, self.script]


def served_endpoint(service: Service, role: RoleDefinition) -> str:
    """The name of the http endpoint that the web role's site is bound to."""
    bound = {name for site in role.sites for name in site.endpoints}
    for endpoint in role.endpoints:
        if endpoint.protocol == "http" and (endpoint.name in bound or not bound):
            return endpoint.name
    raise ModelError(
        service.definition.path, f"web role {role.name} has no http endpoint to serve locally"
    )


def plan(
    service: Service,
    configuration: ServiceConfiguration,
    selected: list[RoleDefinition],
    instances: int | None = None,
    deployment_id: str = "",
) -> list[Launch]:
    """The processes for the selected roles. Local ports are given to every role of
    the service, so that a role keeps its port when it runs alone."""
    counts = {role.name: configuration.role(role.name).instances for role in service.roles}
    if instances:
        counts.update((role.name, instances) for role in selected)
    everything = [
        Instance(role, i, counts[role.name])
        for role in service.roles
        for i in range(counts[role.name])
    ]
    local_ports = ports.assign(
        ((instance.id, endpoint.name), endpoint.port)
        for instance in everything
        for endpoint in instance.role.endpoints
    )
    deployment_id = deployment_id or uuid.uuid4().hex
    launches = []
    for instance in everything:
        role = instance.role
        if role not in selected:
            continue
        endpoint_ports = {e.name: local_ports[instance.id, e.name] for e in role.endpoints}
        environment = instance_environment(
            service, configuration, instance, deployment_id, endpoint_ports
        )
        folder = service.folder(role)
        if role.web:
            web_config = service.web_config(role)
            launches.append(
                Launch(
                    instance,
                    folder,
                    environment,
                    application=web_config.wsgi_application,
                    port=endpoint_ports[served_endpoint(service, role)],
                    asgi=web_config.asgi,
                )
            )
        else:
            script = role.entry_point_script()
            if script is None:
                raise ModelError(
                    service.definition.path,
                    f"worker role {role.name}: its ProgramEntryPoint names no Python script (.py)",
                )
            launches.append(Launch(instance, folder, environment, script=script))
    return launches


def run_in_process(service: Service, launch: Launch) -> int:
    """Run one role instance in this very process, the way a debugger needs it: the
    role's folder as the current folder and first on sys.path, its environment set,
    no restarts."""
    os.environ.update(launch.environment)
    os.chdir(launch.folder)
    sys.path[:] = [str(launch.folder)] + [
        entry for entry in sys.path if entry and Path(entry).resolve() != service.root.resolve()
    ]
    try:
        if launch.application is None:
            runpy.run_path(launch.script, run_name="__main__")
            return 0
        application = pkgutil.resolve_name(launch.application)
        print(f"{launch.instance.label}: {launch.url}", flush=True)
        if launch.asgi:
            import uvicorn

            uvicorn.run(application, host=HOST, port=launch.port, proxy_headers=False)
        else:
            import waitress

            waitress.serve(application, listen=f"{HOST}:{launch.port}")
    except KeyboardInterrupt:
        return INTERRUPTED
    return 0


def uses_storage_emulator(configuration: ServiceConfiguration, roles: list[RoleDefinition]) -> bool:
    values = [value for role in roles for value in configuration.role(role.name).settings.values()]
    return any(
        azurite.ACCOUNT in value or "UseDevelopmentStorage=true" in value for value in values
    )


def start_storage_emulator(service: Service, stack: ExitStack) -> None:
    """Azurite on its usual ports for the rest of the run, or say why not."""
    first, last = min(azurite.DEFAULT_PORTS.values()), max(azurite.DEFAULT_PORTS.values())
    try:
        storage = stack.enter_context(
            azurite.running(service.root / AZURITE_DATA, azurite.DEFAULT_PORTS)
        )
    except azurite.AzuriteUnavailable as error:
        print(
            f"Azurite is unavailable: {error}\n"
            f"The roles start without it; their storage calls fail until a storage emulator"
            f" listens on {HOST}:{first}-{last}.",
            flush=True,
        )
        return
    if storage.process is None:
        print(
            f"Azurite: using the storage emulator already listening on {HOST}:{first}-{last}",
            flush=True,
        )
    else:
        print(
            f"Azurite: storage emulator on {HOST}:{first}-{last}, data in {AZURITE_DATA}/",
            flush=True,
        )


def stop_on_signals() -> None:
    """Until honcho takes over, make the stop signals unwind like Ctrl+C, so that an
    Azurite started meanwhile is stopped too."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for signum in [signal.SIGTERM, *EXTRA_STOP_SIGNALS]:
        signal.signal(signum, interrupt)


def main(
    roles: list[str] | None = None,
    instances: int | None = None,
    in_process: bool = False,
    containers: bool = False,
    base_image: str | None = None,
) -> int:
    stop_on_signals()
    service = Service.load()
    configuration = service.configuration(CONFIGURATION)
    selected = service.roles_named(roles)
    try:
        launches = plan(service, configuration, selected, instances)
        with ExitStack() as stack:
            if containers:
                from cloudservice import containers as in_containers

                try:
                    launches = in_containers.container_launches(
                        service, launches, base_image, OUTPUT_ENVIRONMENT
                    )
                except in_containers.ContainerError as error:
                    print(f"cloudservice run: {error}", file=sys.stderr)
                    return 1
                stack.enter_context(in_containers.removed_at_end(launches))
            if uses_storage_emulator(configuration, selected):
                start_storage_emulator(service, stack)
            if in_process:
                return run_in_process(service, launches[0])
            from cloudservice.processes import run_processes  # honcho: a dev tool, needed here only

            return run_processes(launches)
    except KeyboardInterrupt:
        return INTERRUPTED


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="run the roles on this machine, as Azure would",
        description="Run every role (or those given) with the environment Azure would give it, from"
        " ServiceDefinition.csdef and ServiceConfiguration.Local.cscfg. Ctrl+C stops them.",
    )
    Service.add_role_option(parser, "run")
    parser.add_argument(
        "--instances",
        type=positive,
        metavar="N",
        help="instances of each role (default: the count in ServiceConfiguration.Local.cscfg)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the one --role in this process, without restarts, so that a debugger"
        " attached to it stops at breakpoints in the role's code",
    )
    parser.add_argument(
        "--containers",
        action="store_true",
        help="build each role's image (its Dockerfile) with podman or docker and run the"
        " roles in containers",
    )
    parser.add_argument(
        "--base-image",
        metavar="IMAGE",
        help="with --containers: the Python image to build on (the Dockerfiles' PYTHON_IMAGE)",
    )
    parser.set_defaults(func=lambda args: from_arguments(parser, args))
    return parser


def from_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    one_role = len({name.lower() for name in args.roles or []}) == 1
    if args.in_process and (not one_role or (args.instances or 1) > 1):
        parser.error(
            "--in-process runs one instance of one role: give one --role NAME (and no --instances)"
        )
    if args.containers and args.in_process:
        parser.error("--in-process runs the role in this process, not in a container: choose one")
    if args.base_image and not args.containers:
        parser.error("--base-image is for the images of --containers: give --containers too")
    return main(args.roles, args.instances, args.in_process, args.containers, args.base_image)
