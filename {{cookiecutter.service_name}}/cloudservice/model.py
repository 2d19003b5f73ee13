"""The one model of the service, read from ServiceDefinition.csdef and the .cscfg files.

Every command of the tool reads the service through this module, so that they all
agree on what the files say. The classes hold what is in the files, nothing derived
from a particular use of them: ``run`` turns them into local processes, ``check``
can compare them, ``package`` can hand them to cspack.

``ServiceDefinition.csdef`` says what each role is (web or worker, endpoints,
declared settings, environment variables, entry point); each
``ServiceConfiguration.<Name>.cscfg`` gives values for one place the service runs
(``Local`` on a developer's machine, ``Cloud`` in Azure): instance counts and
setting values.

The commands other than ``check`` stop at the first thing wrong in a file (a
``ModelError``). ``check`` wants every problem of a file in one run: the readers take a
``problems`` list, put each problem there and go on with what they could read.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from xml.etree import ElementTree

DEFINITION_FILE = "ServiceDefinition.csdef"
CONFIGURATION_PATTERN = "ServiceConfiguration.*.cscfg"
DEFINITION_NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition"
CONFIGURATION_NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
D = {"d": DEFINITION_NS}
C = {"c": CONFIGURATION_NS}
# The "{namespace}" prefix of ElementTree tag names.
DEFINITION = "{" + DEFINITION_NS + "}"
CONFIGURATION = "{" + CONFIGURATION_NS + "}"
ENDPOINT_KINDS = ("InputEndpoint", "InternalEndpoint", "InstanceInputEndpoint")
VIRTUAL_PATH_KINDS = ("VirtualApplication", "VirtualDirectory")
# The Guest OS family of each osFamily value of a .cscfg. Families 1 to 4 are retired (the
# last of them, 2, 3 and 4, in December 2024 and February 2025); Cloud Services (extended
# support) runs on 5 and newer.
OS_FAMILIES = {
    "1": "Windows Server 2008 SP2",
    "2": "Windows Server 2008 R2 SP1",
    "3": "Windows Server 2012",
    "4": "Windows Server 2012 R2",
    "5": "Windows Server 2016",
    "6": "Windows Server 2019",
    "7": "Windows Server 2022",
}
OLDEST_OS_FAMILY = 5
# The classic vmsize names and the ARM size that Microsoft names as each one's equivalent in
# Cloud Services (extended support); None where it has none (A8 to A11 and MSODSG5 are gone).
# A classic role without vmsize was given CLASSIC_DEFAULT_VM_SIZE.
CLASSIC_VM_SIZES = {
    "ExtraSmall": "Standard_A1_v2",
    "Small": "Standard_A1_v2",
    "Medium": "Standard_A2_v2",
    "Large": "Standard_A4_v2",
    "ExtraLarge": "Standard_A8_v2",
    "A5": "Standard_A2m_v2",
    "A6": "Standard_A4m_v2",
    "A7": "Standard_A8m_v2",
    "A8": None,
    "A9": None,
    "A10": None,
    "A11": None,
    "MSODSG5": None,
}
CLASSIC_DEFAULT_VM_SIZE = "Small"
# Azure's names of VM sizes: family (capitals), vCPUs, constrained vCPUs, features (small
# letters; never v, which marks the version), memory or constrained cores (_8), accelerator
# or _cc, version (_v and a number; _V2 at the end is a misspelt version), as in
# Standard_D1_v2, Standard_E4-2ds_v5, Standard_M416s_8_v2 or Standard_NC24ads_A100_v4.
ARM_VM_SIZE = re.compile(
    r"^(?!.*_V[0-9]+$)Standard_[A-Z]+[0-9]+(-[0-9]+)?[a-uw-z]*(_[0-9]+)?"
    r"(_[A-Z][A-Z0-9]*|_cc)?(_v[0-9]+)?$"
)
# The CPython build each role runs: ServiceDefinition.csdef pins it in two variables of every
# role's environments (its start-up tasks' and its runtime's).
BUILD_VARIABLE = "PYTHON_BUILD"
URL_VARIABLE = "PYTHON_PACKAGE_URL"
BUILD_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# The folder that holds ServiceDefinition.csdef: this package sits at its root.
SOLUTION = Path(__file__).resolve().parent.parent


class ModelError(ValueError):
    """A service file that cannot be used; str() names the file and what is wrong."""

    def __init__(self, source: Path | str, problem: str):
        self.source = Path(source)
        self.problem = problem
        super().__init__(f"{self.source.name}: {problem}")


@dataclass(frozen=True)
class Variable:
    """An environment variable of a role: a literal ``value`` or a RoleInstanceValue ``xpath``."""

    name: str
    xpath: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Task:
    command_line: str
    execution_context: str
    task_type: str
    environment: tuple[Variable, ...]


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # one of ENDPOINT_KINDS
    protocol: str
    port: int | None
    local_port: int | None
    probe: str | None


@dataclass(frozen=True)
class Probe:
    name: str
    protocol: str
    path: str | None
    port: int | None


@dataclass(frozen=True)
class LocalStorage:
    name: str
    size_mb: int
    clean_on_role_recycle: bool


@dataclass(frozen=True)
class VirtualPath:
    """A VirtualApplication or VirtualDirectory of a site."""

    path: str  # below the site, with forward slashes: "api", or "api/v2" for a nested one
    kind: str  # one of VIRTUAL_PATH_KINDS
    physical_directory: str | None  # relative to the .csdef


@dataclass(frozen=True)
class Site:
    name: str
    physical_directory: str | None
    endpoints: tuple[str, ...]  # the endpoint names of its bindings
    virtual_paths: tuple[VirtualPath, ...] = ()


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    web: bool
    vm_size: str | None  # None when the role has no vmsize (classic took CLASSIC_DEFAULT_VM_SIZE)
    sites: tuple[Site, ...]
    endpoints: tuple[Endpoint, ...]
    settings: tuple[str, ...]  # names declared under ConfigurationSettings
    local_storage: tuple[LocalStorage, ...]
    startup: tuple[Task, ...]
    environment: tuple[Variable, ...]  # Runtime/Environment: what the role's processes see
    entry_point: str | None  # the ProgramEntryPoint command line (worker roles)
    imports: tuple[str, ...]
    certificates: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "web" if self.web else "worker"

    def entry_point_script(self) -> str | None:
        """The Python script that the entry point launches (``worker.py`` in
        ``bin\\ps.cmd LaunchWorker.ps1 worker.py``), relative to the role folder, with
        forward slashes (``src/worker.py`` for ``src\\worker.py``), which every system reads."""
        if self.entry_point is None:
            return None
        words = [word.strip('"') for word in shlex.split(self.entry_point, posix=False)]
        script = next((word for word in words if word.endswith(".py")), None)
        return None if script is None else PureWindowsPath(script).as_posix()


@dataclass(frozen=True)
class ServiceDefinition:
    path: Path
    name: str
    roles: tuple[RoleDefinition, ...]
    probes: tuple[Probe, ...]


@dataclass(frozen=True)
class RoleConfiguration:
    name: str
    instances: int | None  # None only when read with problems collected and no count to read
    settings: dict[str, str]
    certificates: dict[str, str]  # certificate name -> thumbprint


@dataclass(frozen=True)
class ServiceConfiguration:
    path: Path
    name: str  # "Local" for ServiceConfiguration.Local.cscfg
    service_name: str
    os_family: str | None
    os_version: str | None
    roles: tuple[RoleConfiguration, ...]
    virtual_network: str | None
    subnets: dict[str, tuple[str, ...]]  # role name -> subnet names (InstanceAddress)

    def role(self, name: str) -> RoleConfiguration:
        for role in self.roles:
            if role.name == name:
                return role
        raise ModelError(self.path, f'has no <Role name="{name}">')


@dataclass(frozen=True)
class WebConfig:
    """What a web role's web.config tells IIS: which handler runs Python and which
    WSGI application it serves (as ``module:attribute``), or ASGI application, which
    uvicorn serves behind HttpPlatformHandler."""

    path: Path
    server: str  # "httpplatformhandler" or "wfastcgi"
    wsgi_application: str
    asgi: bool = False


def report(problems: list[ModelError] | None, source: Path, problem: str) -> None:
    """Raise the problem, or add it to ``problems`` when the caller collects them."""
    error = ModelError(source, problem)
    if problems is None:
        raise error
    problems.append(error)


def parse(path: Path) -> ElementTree.Element:
    try:
        # The solution's own files.
        return ElementTree.parse(path).getroot()  # noqa: S314  # nosec B314
    except FileNotFoundError:
        raise ModelError(path, f"not found in {path.parent}") from None
    except ElementTree.ParseError as error:
        raise ModelError(path, f"is not well-formed XML ({error})") from None


def number(
    path: Path,
    element: ElementTree.Element,
    attribute: str,
    problems: list[ModelError] | None = None,
) -> int | None:
    """The attribute as a whole number; None when it is missing or (with problems
    collected) not a whole number."""
    text = element.get(attribute)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        problem = f'<{local_name(element)} {attribute}="{text}"> is not a whole number'
        report(problems, path, problem)
        return None


def local_name(element: ElementTree.Element) -> str:
    return element.tag.rpartition("}")[2]


def namespace(element: ElementTree.Element) -> str:
    return element.tag[1:].partition("}")[0] if element.tag.startswith("{") else ""


def check_root(
    path: Path, root: ElementTree.Element, expected: str, ns: str, problems: list[ModelError] | None
) -> dict[str, str]:
    """The namespace map to read the file with. The root element must be ``expected``
    (or the file is not what it claims to be); a missing or wrong namespace is a problem,
    and the file is then read in the namespace it has."""
    if local_name(root) != expected:
        raise ModelError(path, f"the root element is <{local_name(root)}>, not <{expected}>")
    actual = namespace(root)
    if actual != ns:
        where = "has no namespace" if not actual else f'is in the namespace "{actual}"'
        report(problems, path, f'the root element <{expected}> {where}; it needs xmlns="{ns}"')
    return {"d": actual}


def read_variables(
    parent: ElementTree.Element | None, ns: dict[str, str] = D
) -> tuple[Variable, ...]:
    if parent is None:
        return ()
    variables = []
    for variable in parent.findall("d:Variable", ns):
        instance_value = variable.find("d:RoleInstanceValue", ns)
        variables.append(
            Variable(
                name=variable.get("name", ""),
                xpath=None if instance_value is None else instance_value.get("xpath"),
                value=variable.get("value"),
            )
        )
    return tuple(variables)


def read_virtual_paths(
    element: ElementTree.Element, ns: dict[str, str], below: str = ""
) -> tuple[VirtualPath, ...]:
    """The virtual applications and directories under a site (or under one of them)."""
    found = []
    for child in element:
        kind = local_name(child)
        if namespace(child) != ns["d"] or kind not in VIRTUAL_PATH_KINDS:
            continue
        path = f"{below}{child.get('name', '')}"
        found.append(VirtualPath(path, kind, child.get("physicalDirectory")))
        found += read_virtual_paths(child, ns, f"{path}/")
    return tuple(found)


def read_role(
    path: Path,
    element: ElementTree.Element,
    ns: dict[str, str] = D,
    problems: list[ModelError] | None = None,
) -> RoleDefinition:
    name = element.get("name")
    if not name:
        raise ModelError(path, f"a <{local_name(element)}> has no name")
    sites = tuple(
        Site(
            name=site.get("name", ""),
            physical_directory=site.get("physicalDirectory"),
            endpoints=tuple(
                b.get("endpointName", "") for b in site.iterfind("d:Bindings/d:Binding", ns)
            ),
            virtual_paths=read_virtual_paths(site, ns),
        )
        for site in element.iterfind("d:Sites/d:Site", ns)
    )
    endpoints = tuple(
        Endpoint(
            name=endpoint.get("name", ""),
            kind=local_name(endpoint),
            protocol=endpoint.get("protocol", ""),
            port=number(path, endpoint, "port", problems),
            local_port=number(path, endpoint, "localPort", problems),
            probe=endpoint.get("loadBalancerProbe"),
        )
        for kind in ENDPOINT_KINDS
        for endpoint in element.iterfind(f"d:Endpoints/d:{kind}", ns)
    )
    startup = tuple(
        Task(
            command_line=task.get("commandLine", ""),
            execution_context=task.get("executionContext", "limited"),
            task_type=task.get("taskType", "simple"),
            environment=read_variables(task.find("d:Environment", ns), ns),
        )
        for task in element.iterfind("d:Startup/d:Task", ns)
    )
    entry_point = element.find("d:Runtime/d:EntryPoint/d:ProgramEntryPoint", ns)
    return RoleDefinition(
        name=name,
        web=local_name(element) == "WebRole",
        vm_size=element.get("vmsize"),
        sites=sites,
        endpoints=endpoints,
        settings=tuple(
            s.get("name", "") for s in element.iterfind("d:ConfigurationSettings/d:Setting", ns)
        ),
        local_storage=tuple(
            LocalStorage(
                name=storage.get("name", ""),
                size_mb=number(path, storage, "sizeInMB", problems) or 0,
                clean_on_role_recycle=storage.get("cleanOnRoleRecycle", "true").lower() == "true",
            )
            for storage in element.iterfind("d:LocalResources/d:LocalStorage", ns)
        ),
        startup=startup,
        environment=read_variables(element.find("d:Runtime/d:Environment", ns), ns),
        entry_point=None if entry_point is None else entry_point.get("commandLine"),
        imports=tuple(i.get("moduleName", "") for i in element.iterfind("d:Imports/d:Import", ns)),
        certificates=tuple(
            c.get("name", "") for c in element.iterfind("d:Certificates/d:Certificate", ns)
        ),
    )


def read_definition(path: Path, problems: list[ModelError] | None = None) -> ServiceDefinition:
    """ServiceDefinition.csdef. With a ``problems`` list, what is wrong but leaves the rest
    readable goes there; a file that cannot be read at all still raises ModelError."""
    root = parse(path)
    ns = check_root(path, root, "ServiceDefinition", DEFINITION_NS, problems)
    roles = tuple(
        read_role(path, element, ns, problems)
        for element in root
        if namespace(element) == ns["d"] and local_name(element) in ("WebRole", "WorkerRole")
    )
    probes = tuple(
        Probe(
            name=probe.get("name", ""),
            protocol=probe.get("protocol", ""),
            path=probe.get("path"),
            port=number(path, probe, "port", problems),
        )
        for probe in root.iterfind("d:LoadBalancerProbes/d:LoadBalancerProbe", ns)
    )
    return ServiceDefinition(path=path, name=root.get("name", ""), roles=roles, probes=probes)


def read_configuration(
    path: Path, problems: list[ModelError] | None = None
) -> ServiceConfiguration:
    """A ServiceConfiguration.<Name>.cscfg, with problems collected as read_definition does."""
    root = parse(path)
    ns = check_root(path, root, "ServiceConfiguration", CONFIGURATION_NS, problems)
    roles = []
    for role in root.iterfind("d:Role", ns):
        instances = role.find("d:Instances", ns)
        count = None if instances is None else number(path, instances, "count", problems)
        if instances is None or instances.get("count") is None:
            report(problems, path, f'<Role name="{role.get("name")}"> has no <Instances count=...>')
        roles.append(
            RoleConfiguration(
                name=role.get("name", ""),
                instances=count,
                settings={
                    s.get("name", ""): s.get("value", "")
                    for s in role.iterfind("d:ConfigurationSettings/d:Setting", ns)
                },
                certificates={
                    c.get("name", ""): c.get("thumbprint", "")
                    for c in role.iterfind("d:Certificates/d:Certificate", ns)
                },
            )
        )
    network = root.find("d:NetworkConfiguration", ns)
    site = None if network is None else network.find("d:VirtualNetworkSite", ns)
    subnets = {}
    if network is not None:
        for address in network.iterfind("d:AddressAssignments/d:InstanceAddress", ns):
            subnets[address.get("roleName", "")] = tuple(
                subnet.get("name", "") for subnet in address.iterfind("d:Subnets/d:Subnet", ns)
            )
    return ServiceConfiguration(
        path=path,
        name=path.name.removeprefix("ServiceConfiguration.").removesuffix(".cscfg"),
        service_name=root.get("serviceName", ""),
        os_family=root.get("osFamily"),
        os_version=root.get("osVersion"),
        roles=tuple(roles),
        virtual_network=None if site is None else site.get("name"),
        subnets=subnets,
    )


def read_web_config(path: Path) -> WebConfig:
    """Read which WSGI application IIS serves: the ``module:attribute`` argument of
    waitress (or, for an ASGI application, uvicorn) in the httpPlatform arguments, or
    wfastcgi's ``WSGI_HANDLER`` setting (``module.attribute``, turned into
    ``module:attribute``)."""
    root = parse(path)
    platform = root.find("system.webServer/httpPlatform")
    if platform is not None:
        arguments = shlex.split(platform.get("arguments", ""), posix=False)
        applications = [a.strip('"') for a in arguments if ":" in a and not a.startswith("-")]
        if applications:
            asgi = "uvicorn" in arguments
            return WebConfig(path, "httpplatformhandler", applications[-1], asgi=asgi)
        raise ModelError(
            path, "<httpPlatform arguments=...> names no WSGI application (module:attribute)"
        )
    handler = root.find("appSettings/add[@key='WSGI_HANDLER']")
    if handler is not None and handler.get("value"):
        module, _, attribute = handler.get("value", "").rpartition(".")
        if module and attribute.isidentifier():
            return WebConfig(path, "wfastcgi", f"{module}:{attribute}")
        raise ModelError(path, f'WSGI_HANDLER "{handler.get("value")}" is not module.attribute')
    raise ModelError(
        path,
        "has neither <httpPlatform> nor an appSettings WSGI_HANDLER: no WSGI application to run",
    )


@dataclass(frozen=True)
class PythonPin:
    """The CPython build a role runs and where its NuGet package is."""

    build: str
    url: str

    @property
    def version(self) -> str:
        """``3.12`` for the build ``3.12.10``: what wheels are chosen for."""
        major, minor, _ = BUILD_PATTERN.match(self.build).groups()
        return f"{major}.{minor}"


@dataclass(frozen=True)
class Service:
    """A solution: its folder and its service definition. Configurations are read
    on demand, so a command always sees the files as they are now."""

    root: Path
    definition: ServiceDefinition

    @classmethod
    def load(cls, root: Path = SOLUTION, problems: list[ModelError] | None = None) -> Service:
        return cls(root=root, definition=read_definition(root / DEFINITION_FILE, problems))

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def roles(self) -> tuple[RoleDefinition, ...]:
        return self.definition.roles

    def role(self, name: str) -> RoleDefinition:
        """The role of that name (ignoring case, as role names are folder names)."""
        for role in self.roles:
            if role.name.lower() == name.lower():
                return role
        known = ", ".join(role.name for role in self.roles)
        raise ModelError(self.definition.path, f"has no role '{name}'; its roles are {known}")

    @staticmethod
    def add_role_option(parser, verb: str) -> None:
        """The commands' ``--role NAME``, which may be given again; roles_named reads it."""
        parser.add_argument(
            "--role",
            dest="roles",
            action="append",
            metavar="NAME",
            help=f"{verb} this role only (again for more roles)",
        )

    def roles_named(self, names: list[str] | None) -> list[RoleDefinition]:
        """The roles of those names (each once, in the order given), or all for no names:
        what the commands' repeatable ``--role`` picks."""
        if not names:
            return list(self.roles)
        return list({role.name: role for role in map(self.role, names)}.values())

    def folder(self, role: RoleDefinition) -> Path:
        return self.root / role.name

    def configuration_names(self) -> list[str]:
        return sorted(
            path.name.removeprefix("ServiceConfiguration.").removesuffix(".cscfg")
            for path in self.root.glob(CONFIGURATION_PATTERN)
        )

    def configuration(
        self, name: str, problems: list[ModelError] | None = None
    ) -> ServiceConfiguration:
        return read_configuration(self.root / f"ServiceConfiguration.{name}.cscfg", problems)

    def web_config(self, role: RoleDefinition) -> WebConfig:
        return read_web_config(self.folder(role) / "web.config")

    def python_pin(self, role: RoleDefinition) -> PythonPin:
        """The role's ``PYTHON_BUILD`` and ``PYTHON_PACKAGE_URL``, which its startup tasks and
        its runtime environment must each give, with the same values."""
        environments = [("startup task", task.environment) for task in role.startup]
        environments.append(("runtime", role.environment))
        values = {}
        for name in (BUILD_VARIABLE, URL_VARIABLE):
            found = set()
            for where, environment in environments:
                given = [v.value for v in environment if v.name == name and v.value is not None]
                if not given:
                    raise ModelError(
                        self.definition.path,
                        f'role {role.name} has no <Variable name="{name}" value="..."> in its'
                        f" {where} environment",
                    )
                found.update(given)
            if len(found) > 1:
                raise ModelError(
                    self.definition.path,
                    f"role {role.name} gives {name} different values: {', '.join(sorted(found))}",
                )
            values[name] = found.pop()
        if not BUILD_PATTERN.match(values[BUILD_VARIABLE]):
            raise ModelError(
                self.definition.path,
                f"role {role.name}: {BUILD_VARIABLE} '{values[BUILD_VARIABLE]}' is not a CPython"
                " build such as 3.12.10",
            )
        return PythonPin(values[BUILD_VARIABLE], values[URL_VARIABLE])
