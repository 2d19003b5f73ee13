"""Read an old Visual Studio Python cloud service and say what adopting it means.

``analyse(folder)`` reads the folder that holds ServiceDefinition.csdef (never writing to
it) and returns an ``Adoption``: the answers for this template (service name, roles with
their kinds and entry points, VM size, instance counts, OS family), the team's own files
of each role, the configuration settings with their values per .cscfg, and the notes for
MIGRATION.md (``render_migration``). A folder it cannot adopt raises hooks/plan.py's
``AnswerError`` with the field ``adopt_from``.

``adopt_planned_roles`` then turns the planned roles that the old service has into adopted
ones (make_plan calls it): the team's entry point or script, VM size, instances, endpoints,
local storage, certificates and settings, the template's files they get (``adopted_sources``)
and the text of MIGRATION.md. ``record``/``from_record`` keep what later generations need in
the answers (``__adoption``), so that `cruft update` never needs the old folder.

The old solutions come in three generations of Visual Studio's tooling: the 2012 Django
roles (their own setup.cmd and wfastcgi.py), the 2015 PTVS roles (bin\\ps.cmd,
ConfigureCloudService.ps1, LaunchWorker.ps1) and the 2017 roles from Microsoft's article
(PrepPython.ps1, PipInstaller.ps1). Their start-up scripts are replaced by the template's.

This file is not a hook: cookiecutter runs only the files in hooks/ named after a hook.
local_extensions.py loads it by path (``hook_module``), as it loads plan.py.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from xml.parsers import expat

FIELD = "adopt_from"
DEFINITION_FILE = "ServiceDefinition.csdef"

# Classic VM sizes (by name, by their A0-A4 aliases and as the retired Standard_A0-A11)
# and the ARM sizes Cloud Services (extended support) offers in their place: Av2 for the
# general sizes, Av2 with more memory for A5-A7, the same cores and memory for the HPC
# sizes A8-A11, which lose their RDMA network.
VM_SIZES = {
    "extrasmall": "Standard_A1_v2", "a0": "Standard_A1_v2", "standard_a0": "Standard_A1_v2",
    "small": "Standard_A1_v2", "a1": "Standard_A1_v2", "standard_a1": "Standard_A1_v2",
    "medium": "Standard_A2_v2", "a2": "Standard_A2_v2", "standard_a2": "Standard_A2_v2",
    "large": "Standard_A4_v2", "a3": "Standard_A4_v2", "standard_a3": "Standard_A4_v2",
    "extralarge": "Standard_A8_v2", "a4": "Standard_A8_v2", "standard_a4": "Standard_A8_v2",
    "a5": "Standard_A2m_v2", "standard_a5": "Standard_A2m_v2",
    "a6": "Standard_A4m_v2", "standard_a6": "Standard_A4m_v2",
    "a7": "Standard_A8m_v2", "standard_a7": "Standard_A8m_v2",
    "a8": "Standard_A8m_v2", "standard_a8": "Standard_A8m_v2",
    "a9": "Standard_D14_v2", "standard_a9": "Standard_D14_v2",
    "a10": "Standard_A8m_v2", "standard_a10": "Standard_A8m_v2",
    "a11": "Standard_D14_v2", "standard_a11": "Standard_D14_v2",
}
CLASSIC_DEFAULT_VM_SIZE = "Small"  # what a csdef without vmsize ran on
OS_FAMILIES = ("6", "7")
DEFAULT_OS_FAMILY = "7"

# Classes of retired Azure SDKs, by the package they were imported from (or one above it),
# and what to use now.
RETIRED_CLASSES = {
    ("azure", "CloudStorageAccount"): "azure-storage-blob / azure-storage-queue 12: "
    "`BlobServiceClient.from_connection_string`, `QueueServiceClient.from_connection_string`",
    ("azure", "QueueService"): "azure-storage-queue 12: `QueueClient` / `QueueServiceClient`",
    ("azure", "BlobService"): "azure-storage-blob 12: `BlobServiceClient`",
    ("azure", "BlockBlobService"): "azure-storage-blob 12: `BlobServiceClient` / `BlobClient`",
    ("azure", "PageBlobService"): "azure-storage-blob 12: `BlobClient` (page blob methods)",
    ("azure", "AppendBlobService"): "azure-storage-blob 12: `BlobClient` (append blob methods)",
    ("azure", "TableService"): "azure-data-tables: `TableServiceClient` / `TableClient`",
    ("azure", "FileService"): "azure-storage-file-share: `ShareServiceClient`",
    ("azure", "ServiceBusService"): "azure-servicebus 7: `ServiceBusClient`",
    ("azure.servicebus", "Message"): "azure-servicebus 7: `ServiceBusMessage`",
    ("azure.servicebus", "QueueClient"): "azure-servicebus 7: `ServiceBusClient.get_queue_sender/receiver`",
    ("azure.servicebus", "TopicClient"): "azure-servicebus 7: `ServiceBusClient.get_topic_sender`",
    ("azure.servicebus", "SubscriptionClient"): "azure-servicebus 7: `ServiceBusClient.get_subscription_receiver`",
    ("azure.servicebus", "Queue"): "azure-servicebus 7: `ServiceBusAdministrationClient`",
    ("azure.servicebus", "Topic"): "azure-servicebus 7: `ServiceBusAdministrationClient`",
    ("azure.servicebus", "Subscription"): "azure-servicebus 7: `ServiceBusAdministrationClient`",
}
# Modules of retired Azure SDKs -> what to use now. All of a module's submodules are retired
# with it, except under "azure" and "azure.storage", which today's packages share.
RETIRED_MODULES = {
    "azure": "the `azure` meta-package is retired: install the azure-* package of each service",
    "azure.storage": "azure-storage-blob, azure-storage-queue, azure-data-tables (the v12 clients)",
    "azure.storage.table": "azure-data-tables: `TableServiceClient` / `TableClient`",
    "azure.cosmosdb.table": "azure-data-tables: `TableServiceClient` / `TableClient`",
    "azure.storage.file": "azure-storage-file-share: `ShareServiceClient`",
    "azure.storage.common": "azure-storage-blob / azure-storage-queue 12 (they handle connections themselves)",
    "azure.servicebus.control_client": "azure-servicebus 7: `ServiceBusAdministrationClient`",
    "azure.servicebus.common": "azure-servicebus 7",
    "azure.common": "azure-core (`azure.core.exceptions`) and azure-identity for credentials",
    "azure.servicemanagement": "the azure-mgmt-* packages with azure-identity",
}
SHARED_NAMESPACES = {"azure", "azure.storage"}
# Python 2 modules that Python 3 renamed or removed -> what Python 3 has.
PYTHON2_MODULES = {
    "urllib2": "urllib.request", "urlparse": "urllib.parse", "httplib": "http.client", "StringIO": "io",
    "cStringIO": "io", "cPickle": "pickle", "ConfigParser": "configparser", "Queue": "queue",
    "HTMLParser": "html.parser", "Cookie": "http.cookies", "cookielib": "http.cookiejar",
    "SocketServer": "socketserver", "Tkinter": "tkinter", "__builtin__": "builtins", "commands": "subprocess",
    "thread": "_thread", "xmlrpclib": "xmlrpc.client", "BaseHTTPServer": "http.server",
}
# Requirements of retired packages: name -> (retired below this major version or None for all, advice).
RETIRED_PACKAGES = {
    "azure": (None, "the azure-* packages the code uses (the meta-package is retired)"),
    "azure-storage": (None, "azure-storage-blob, azure-storage-queue and azure-data-tables (it was split)"),
    "azure-storage-common": (None, "the v12 storage packages, which do not need it"),
    "azure-storage-queue": (12, "azure-storage-queue 12 or later (a new API)"),
    "azure-storage-blob": (12, "azure-storage-blob 12 or later (a new API)"),
    "azure-servicebus": (7, "azure-servicebus 7 or later (a new API)"),
    "azure-cosmosdb-table": (None, "azure-data-tables"),
    "azure-common": (None, "azure-core"),
    "azure-servicemanagement-legacy": (None, "the azure-mgmt-* packages"),
}

# The old tooling's start-up scripts: the template's start-up replaces them. The 2012 setup
# scripts were often edited by the teams, so what else they did is left to a person.
EDITED_START_UP_FILES = {"setup.cmd", "setup_web.cmd", "setup_worker.cmd"}
OLD_START_UP_FILES = EDITED_START_UP_FILES | {
    "ps.cmd", "configurecloudservice.ps1", "launchworker.ps1", "preppython.ps1", "pipinstaller.ps1",
    "wfastcgi.py", "web.config", "web.debug.config", "web.cloud.config", "readme.html",
}
# Folders that are never the team's application: at the role's top the build output (and
# the old start-up scripts in bin/, the old tooling's wheelhouse, which `prepare` makes anew
# from requirements.txt), anywhere tool state and caches.
BUILD_FOLDERS = {"bin", "obj", "dist", "wheelhouse"}
SKIPPED_FOLDERS = {"__pycache__", ".git", ".hg", ".svn", ".vs", ".idea", ".pytest_cache", "node_modules", ".tox",
                   ".mypy_cache", ".ruff_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".egg", ".pyproj", ".user", ".suo", ".cspkg"}
CLASSIC_IMPORTS = {"remoteaccess", "remoteforwarder", "diagnostics"}
CLASSIC_SETTING_PREFIX = "Microsoft.WindowsAzure.Plugins."
# Parts of a role's definition that adoption reads; anything else is reported, quoted.
KNOWN_ROLE_PARTS = {"ConfigurationSettings", "Endpoints", "Imports", "LocalResources", "Certificates",
                    "Startup", "Runtime", "Sites"}
KNOWN_SERVICE_PARTS = {"WebRole", "WorkerRole", "LoadBalancerProbes"}
# The environment variables ServiceDefinition.csdef gives every role (its role_environment), and
# those that Python, Windows, the role's scripts and Container Apps set: a setting becomes a
# variable of its name, so a setting of one of these names would replace it.
RESERVED_VARIABLES = {"PYTHON_BUILD", "PYTHON_PACKAGE_URL", "EMULATED", "DEPLOYMENT_ID", "ROLE_NAME",
                      "ROLE_INSTANCE_ID", "DIAGNOSTIC_STORE", "PATH", "PYTHONPATH", "PYTHONHOME",
                      "SYSTEMROOT", "TEMP", "PROGRAMDATA", "ROLEROOT", "CONTAINER_APP_NAME",
                      "CONTAINER_APP_ENV_DNS_SUFFIX"}
# And those a web role's server is started with (by IIS, by `run`, in the container).
WEB_RESERVED_VARIABLES = {"PORT", "HOST", "HTTP_PLATFORM_PORT", "WSGI_LOG"}
# What an environment variable may be called everywhere the role runs (Container Apps' rule).
SETTING_NAME = re.compile(r"[-._A-Za-z][-._A-Za-z0-9]*")
# Environment variables the old tooling set for its own scripts.
OLD_TOOLING_VARIABLES = {"EMULATED", "PYTHON", "PYTHONPATH", "PYTHON2", "PYPATH"}
# The IIS modules that ran Python in an old web.config's handlers (wfastcgi, HttpPlatformHandler).
PYTHON_HANDLER_MODULES = {"fastcgimodule", "httpplatformhandler"}
# The old web.config's appSettings that were the tooling's; others are reported.
OLD_TOOLING_APP_SETTINGS = {"WSGI_HANDLER", "PYTHONPATH", "WSGI_LOG", "DJANGO_SETTINGS_MODULE", "EMULATED",
                            "WSGI_RESTART_FILE_REGEX", "WSGI_PTVSD_SECRET", "WSGI_ALT_VIRTUALENV_HANDLER",
                            "WSGI_ALT_VIRTUALENV_ACTIVATE_THIS"}
# Modules whose top-level names are the usual homes of a WSGI application, most likely first.
WSGI_MODULES = ("wsgi", "app", "application", "main", "runserver", "server", "webapp")
WSGI_NAMES = ("application", "app", "wsgi_app", "api")

CARRIED, CHANGED, PERSON = "carried", "changed", "person"


# --- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """One line of MIGRATION.md: in which section, what, and where (file and line)."""

    section: str
    text: str
    file: str | None = None
    line: int | None = None


@dataclass
class Setting:
    """A ConfigurationSetting of a role and its value in each .cscfg (never shown)."""

    name: str
    values: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class AdoptedRole:
    """One role of the old service, as this template will have it."""

    name: str
    kind: str  # django, flask, bottle, wsgi or worker
    folder: Path
    entry_point: str  # "module:attribute" of the WSGI application, or the worker's script
    vm_size: str
    classic_vm_size: str | None
    instances: dict[str, int]  # .cscfg file name -> instance count
    files: list[str]  # the team's files, relative to folder, with "/"
    settings: list[Setting] = field(default_factory=list)
    settings_module: str | None = None  # Django only
    python_path: list[str] = field(default_factory=list)  # role folders the imports also start from
    wsgi_factory: bool = False  # entry_point is called to make the application
    endpoints: list[dict[str, str]] = field(default_factory=list)
    local_resources: list[dict[str, str]] = field(default_factory=list)
    certificates: list[dict] = field(default_factory=list)  # the csdef's attributes and "thumbprints" per .cscfg

    @property
    def web(self) -> bool:
        return self.kind != "worker"


@dataclass
class Adoption:
    """What adopting the old service means: its answers, its roles and the notes for MIGRATION.md."""

    folder: Path
    original_name: str
    service_name: str
    os_family: str
    configurations: list[str]
    roles: list[AdoptedRole]
    notes: list[Note] = field(default_factory=list)
    read: bool = True  # False when made from the record in the answers (the old folder is not read)

    @property
    def cloud_configuration(self) -> str:
        return cloud_configuration(self.configurations)

    def answers(self) -> dict[str, str]:
        """The template's answers this solution gives (the command line may override them)."""
        cloud = self.cloud_configuration
        return {
            "service_name": self.service_name,
            "roles": " ".join(f"{role.name}:{role.kind}" for role in self.roles),
            "vm_size": self.roles[0].vm_size,
            "instance_count": str(max(role.instances.get(cloud, 1) for role in self.roles)),
            "os_family": self.os_family,
        }


# --- errors, and the checks of hooks/plan.py -------------------------------------------------


def plan_module():
    """hooks/plan.py's module, as local_extensions.py loads it: one AnswerError for both."""
    import local_extensions  # the template's root is on sys.path under cookiecutter, cruft and the tests

    return local_extensions.hook_module("plan")


def refuse(problem: str, allowed: str) -> Exception:
    return plan_module().AnswerError(FIELD, problem, allowed)


def check_role_name(name: str) -> None:
    """The same check as for a new service, reported under adopt_from."""
    plan = plan_module()
    try:
        plan.check_role_name(name)
    except plan.AnswerError as error:
        problem, _, allowed = str(error).removeprefix("roles: ").partition("; ")
        raise refuse(f"role {problem} (in {DEFINITION_FILE})",
                     f"rename the role in the old solution: {allowed}") from None


def check_output_folder(folder: Path, output: Path, roles: list[AdoptedRole] = ()) -> None:
    """The new solution may not be written into the old one or one of its role folders (which
    may lie beside it), nor any of those lie inside the new one."""
    new = output.resolve()
    for place, shown in [(folder, f"'{folder}'"), *((role.folder, f"the folder of role {role.name} ('{role.folder}')")
                                                    for role in roles)]:
        old = place.resolve()
        if old == new or new.is_relative_to(old) or old.is_relative_to(new):
            raise refuse(f"{shown} is the output folder or overlaps it",
                         "write the new solution to a folder outside the old one")


# --- reading XML with line numbers ------------------------------------------------------------


@dataclass
class Node:
    tag: str  # without its namespace
    attrib: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def all(self, *path: str) -> list[Node]:
        nodes = [self]
        for tag in path:
            nodes = [child for node in nodes for child in node.children if child.tag == tag]
        return nodes

    def first(self, *path: str) -> Node | None:
        found = self.all(*path)
        return found[0] if found else None

    def quoted(self) -> str:
        attributes = "".join(f' {name}="{value}"' for name, value in self.attrib.items())
        return f"<{self.tag}{attributes}>"


def read_xml(path: Path, shown: str) -> Node:
    stack: list[Node] = []
    roots: list[Node] = []
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(tag: str, attrib: dict[str, str]) -> None:
        node = Node(tag.rpartition(" ")[2], attrib, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as error:
        raise refuse(
            f"{shown} is not well-formed XML: {expat.ErrorString(error.code)} at line {error.lineno}, "
            f"column {error.offset + 1}",
            "fix the file in the old solution (Visual Studio opens it) and run again",
        ) from None
    return roots[0]


# --- finding the files -------------------------------------------------------------------------


def child_named(folder: Path, name: str) -> Path | None:
    """The entry of folder called name, ignoring case (the solutions were made on Windows)."""
    if not folder.is_dir():
        return None
    exact = folder / name
    if exact.exists():
        return exact
    return next((entry for entry in sorted(folder.iterdir()) if entry.name.lower() == name.lower()), None)


def read_text(path: Path) -> str:
    """A text file as Windows tools wrote it: UTF-8, or UTF-16 with its BOM (PowerShell's
    `pip freeze > requirements.txt`); undecodable bytes are replaced."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def windows_path(base: Path, text: str) -> Path:
    """A path written in a Visual Studio file (backslashes, relative to base)."""
    return base.joinpath(*PureWindowsPath(text.strip()).parts)


def find_definition(folder: Path) -> Path:
    if not folder.exists():
        raise refuse(f"'{folder}' does not exist", "give the folder that holds ServiceDefinition.csdef")
    if not folder.is_dir():
        raise refuse(f"'{folder}' is not a folder", "give the folder that holds ServiceDefinition.csdef")
    definition = child_named(folder, DEFINITION_FILE)
    if definition is None:
        below = sorted(p.parent.name for p in folder.glob("*/*.csdef"))
        hint = f" (it is in '{below[0]}')" if below else ""
        raise refuse(f"'{folder}' holds no {DEFINITION_FILE}{hint}",
                     "give the cloud project's folder, the one with ServiceDefinition.csdef and the .cscfg files")
    return definition


def find_configurations(folder: Path) -> list[Path]:
    found = sorted(path for path in folder.iterdir() if path.suffix.lower() == ".cscfg")
    if not found:
        raise refuse(f"'{folder}' holds no .cscfg file",
                     "give the cloud project's folder, with its ServiceConfiguration.*.cscfg files")
    return found


def cloud_configuration(names: list[str]) -> str:
    """The .cscfg that is deployed: Cloud by name, else the first that is not Local."""
    lowered = {name.lower(): name for name in names}
    if "serviceconfiguration.cloud.cscfg" in lowered:
        return lowered["serviceconfiguration.cloud.cscfg"]
    return next((name for name in names if ".local." not in name.lower()), names[0])


def project_references(folder: Path) -> dict[str, Path]:
    """Role name -> role folder, from the cloud project's .ccproj (ProjectReference/RoleName)."""
    found: dict[str, Path] = {}
    for ccproj in sorted(folder.glob("*.ccproj")):
        project = read_xml(ccproj, ccproj.name)
        for reference in project.all("ItemGroup", "ProjectReference"):
            role = reference.first("RoleName") or reference.first("Name")
            include = reference.attrib.get("Include", "")
            if role is not None and include:
                found[role.text.strip().lower()] = windows_path(folder, include).parent
    return found


def pyproj_names(folder: Path) -> dict[str, Path]:
    """Project name -> folder, for the .pyproj files beside the cloud project and inside it."""
    found: dict[str, Path] = {}
    plan = plan_module()
    for base in (folder, folder.absolute().parent):
        for pyproj in sorted(base.glob("*/*.pyproj")):
            found.setdefault(pyproj.stem.lower(), pyproj.parent)
            try:
                name = read_xml(pyproj, pyproj.name).first("PropertyGroup", "Name")
            except plan.AnswerError:
                continue  # a project that is no role of this service
            if name is not None and name.text.strip():
                found.setdefault(name.text.strip().lower(), pyproj.parent)
    return found


def role_folder(folder: Path, role: Node, references: dict[str, Path]) -> Path:
    """Where Visual Studio put the role: the site's physicalDirectory, the .ccproj's reference,
    a folder named as the role beside the cloud project or inside it, or a .pyproj of that name."""
    name = role.attrib["name"]
    candidates: list[Path] = []
    for site in role.all("Sites", "Site"):
        if site.attrib.get("physicalDirectory"):
            candidates.append(windows_path(folder, site.attrib["physicalDirectory"]))
    if name.lower() in references:
        candidates.append(references[name.lower()])
    for base in (folder.absolute().parent, folder):  # absolute: the parent of "." is "."
        named = child_named(base, name)
        candidates.append(named if named is not None else base / name)
    for candidate in candidates:
        if candidate.is_dir() and candidate.resolve() != folder.resolve():
            return Path(os.path.normpath(candidate))
    projects = pyproj_names(folder)
    if name.lower() in projects:
        return projects[name.lower()]
    looked = ", ".join(dict.fromkeys(shown_path(folder, c) for c in candidates))
    raise refuse(f"the folder of role '{name}' was not found (looked for {looked})",
                 "put the role's folder beside the cloud project or inside it, or name it in the .ccproj")


def shown_path(folder: Path, path: Path) -> str:
    """path as seen from the cloud project's folder (absolute when on another drive)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return Path(path).as_posix()


def is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").exists() or (path / "Scripts" / "activate").exists() or (
        path / "bin" / "activate").exists() or (path / "Lib" / "site-packages").is_dir()


def team_files(root: Path) -> list[str]:
    """The role's own files: not virtualenvs, bin/ output, caches, compiled or packaged files,
    nor the old tooling's start-up scripts."""
    files: list[str] = []

    def walk(folder: Path, top: bool) -> None:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.is_dir():
                if not (entry.is_symlink() or skipped_folder(entry, top)):
                    walk(entry, False)
            elif not skipped_file(entry, top):
                files.append(entry.relative_to(root).as_posix())

    walk(root, True)
    return files


def skipped_folder(path: Path, top: bool) -> bool:
    name = path.name.lower()
    return (top and name in BUILD_FOLDERS) or name in SKIPPED_FOLDERS or name.endswith(".egg-info") \
        or is_virtualenv(path)


def unknown_bin_files(root: Path) -> list[str]:
    """Files in the role's bin/ that are not the old tooling's (someone may have put their own there)."""
    bin_folder = child_named(root, "bin")
    if bin_folder is None or not bin_folder.is_dir():
        return []
    return [f"{bin_folder.name}/{path.name}" for path in sorted(bin_folder.iterdir())
            if path.is_file() and path.name.lower() not in OLD_START_UP_FILES]


def skipped_file(path: Path, top: bool) -> bool:
    name = path.name.lower()
    if path.suffix.lower() in SKIPPED_SUFFIXES:
        return True
    return top and name in OLD_START_UP_FILES


# --- what a role holds -------------------------------------------------------------------------


@dataclass
class RoleSource:
    """What the role's folder says about the application in it."""

    root: Path
    files: list[str]
    app_settings: dict[str, str]
    web_server: list[str]  # the parts of the old web.config's system.webServer other than its handlers
    handlers: list[str]  # its handlers other than the one that ran Python, as quoted elements
    project: dict[str, str]  # PropertyGroup values of the role's .pyproj
    requirements: dict[str, tuple[str, int, str]]  # package -> (requirement, line, file)
    imports: dict[str, list[tuple[str, str, int]]]  # file -> [(module, name, line)]
    roots: list[str] = field(default_factory=lambda: [""])  # folders imports start from ("" is the role's)
    # The old web.config's sections besides appSettings and system.webServer, as quoted elements.
    web_config_sections: list[str] = field(default_factory=list)

    def has(self, relative: str) -> bool:
        return relative in self.files

    def manage_py(self) -> str | None:
        """Django's manage.py, at the role's top or one folder down (the project's folder)."""
        found = sorted((name for name in self.files if name.rpartition("/")[2] == "manage.py"
                        and name.count("/") <= 1), key=lambda name: name.count("/"))
        return found[0] if found else None

    def imported(self, module: str) -> bool:
        return any(found.split(".")[0] == module for uses in self.imports.values() for found, _, _ in uses)


def read_role_source(root: Path, shown: str) -> RoleSource:
    files = team_files(root)
    app_settings, web_server, handlers, sections = read_web_config(root, shown)
    source = RoleSource(
        root=root,
        files=files,
        app_settings=app_settings,
        web_server=web_server,
        handlers=handlers,
        web_config_sections=sections,
        project=read_pyproj(root, shown),
        requirements=read_requirements(root),
        imports={name: imports_of(root / name) for name in files if name.endswith(".py")},
    )
    source.roots = search_roots(source)
    return source


def search_roots(source: RoleSource) -> list[str]:
    """Where the role's imports start: its folder, the folder of a nested Django project, and
    the folders named by the old PYTHONPATH (web.config) or SearchPath (.pyproj)."""
    roots = [""]
    manage = source.manage_py()
    if manage and "/" in manage:
        roots.append(manage.rpartition("/")[0])
    entries = source.app_settings.get("PYTHONPATH", "") + ";" + source.project.get("SearchPath", "")
    folders = {name.rsplit("/", cut)[0] for name in source.files for cut in range(1, name.count("/") + 1)}
    for entry in filter(None, (entry.strip() for entry in entries.split(";"))):
        parts = [part for part in PureWindowsPath(entry).parts if part not in ("\\", ".")]
        suffixes = ("/".join(parts[start:]) for start in range(len(parts)))
        roots += [suffix for suffix in suffixes if suffix in folders][:1]
    return list(dict.fromkeys(roots))


# A requirement that names a local path: -e ../lib, -r ../base.txt, ./wheels/x.whl, file:../lib
# A requirement that names a path: ./lib, .., ../shared, C:\libs\x, \\server\share, /opt/x, file:///C:/x.
LOCAL_REQUIREMENT = re.compile(r"^(?:(?:-e|--editable|-r|--requirement|-c|--constraint)[\s=]+)?(?:file:(?://)?)?"
                               r"(\.{1,2}(?:[\\/]\S*)?|/?[A-Za-z]:[\\/]\S*|[\\/]\S*)(?:\s|$)")


def outside_notes(name: str, role: Node, source: RoleSource) -> list[Note]:
    """What the role took from outside its folder, which is not copied: the folders of its
    PYTHONPATH (web.config, the .csdef's Runtime) and SearchPath (.pyproj), the .pyproj's
    linked files and referenced projects, and local paths in its requirements."""
    def outside(base: Path, text: str) -> bool:
        if PureWindowsPath(text.strip()).anchor:  # C:\..., \\server\share, /opt/...: the old machines'
            return True
        path = windows_path(base, text)
        return not Path(os.path.normpath(path)).is_relative_to(Path(os.path.normpath(source.root)))

    found: list[tuple[str, str, int | None]] = []  # (what, where, line)
    runtime = [v.attrib.get("value", "") for v in role.all("Runtime", "Environment", "Variable")
               if v.attrib.get("name", "").upper() == "PYTHONPATH"]
    for where, value in [("PYTHONPATH of the old web.config", source.app_settings.get("PYTHONPATH", "")),
                         ("SearchPath of the .pyproj", source.project.get("SearchPath", "")),
                         *((f"PYTHONPATH of {DEFINITION_FILE}", value) for value in runtime)]:
        for entry in filter(None, (entry.strip() for entry in value.split(";"))):
            if "%" not in entry and outside(source.root, entry):
                found.append((f"`{entry}` ({where})", f"{name}/", None))
    for pyproj in sorted(source.root.glob("*.pyproj")):
        project = read_xml(pyproj, f"{name}/{pyproj.name}")
        for item in project.all("ItemGroup", "Compile") + project.all("ItemGroup", "Content") + project.all(
                "ItemGroup", "ProjectReference"):
            include = item.attrib.get("Include", "")
            if include and outside(source.root, include):
                found.append((f"`{include}` ({item.tag} of {pyproj.name})", f"{name}/{pyproj.name} (old)", item.line))
    for path, requirement, line, file in local_requirements(source.root):
        if outside((source.root / file).parent, path):
            found.append((f"`{requirement}`", f"{name}/{file}", line))
    return [Note(PERSON, f"{what} is outside the role's folder and is not copied: copy that code into the role "
                 "(or install it as a package from requirements.txt) and fix the reference", where, line)
            for what, where, line in found]


def read_web_config(root: Path, shown: str) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """The old web.config's appSettings, the parts of its system.webServer other than the
    handlers, the handlers other than Python's (FastCGI or HttpPlatformHandler), and its other
    sections (<location path="admin">, <system.web>). It is the role's own, or the one the
    old empty web role left in bin\\."""
    bin_folder = child_named(root, "bin")
    web_config = child_named(root, "web.config") or (child_named(bin_folder, "web.config") if bin_folder else None)
    if web_config is None or not web_config.is_file():
        return {}, [], [], []
    config = read_xml(web_config, f"{shown}/{shown_path(root, web_config)}")
    settings = {add.attrib.get("key", ""): add.attrib.get("value", "") for add in config.all("appSettings", "add")}
    parts = [part.tag for server in config.all("system.webServer") for part in server.children
             if part.tag != "handlers"]
    handlers = [handler.quoted() for handler in config.all("system.webServer", "handlers", "add")
                if handler.attrib.get("modules", "").lower() not in PYTHON_HANDLER_MODULES]
    sections = [section.quoted() for section in config.children
                if section.tag not in ("appSettings", "system.webServer", "configSections")]
    return settings, parts, handlers, sections


def read_pyproj(root: Path, shown: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pyproj in sorted(root.glob("*.pyproj")):
        for group in read_xml(pyproj, f"{shown}/{pyproj.name}").all("PropertyGroup"):
            for item in group.children:
                if item.text.strip():
                    values.setdefault(item.tag, item.text.strip())
    return values


REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def requirement_name(line: str) -> str | None:
    """The normalised package name a requirements line asks for (None for options and comments)."""
    match = REQUIREMENT.match(line.split("#", 1)[0].strip())
    if not match or line.lstrip().startswith("-"):
        return None
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


INCLUDE = re.compile(r"^(?:-r|--requirement)[\s=]+(\S+)")


def requirement_lines(root: Path) -> Iterator[tuple[str, int, str]]:
    """(line without its comment, line number, file) of requirements.txt and the files it
    includes (-r) inside the role's folder. The file is named as the new role has it: its
    requirements.txt, however the old one spelled that name, begins with the team's lines."""
    top = child_named(root, "requirements.txt")
    pending, seen = [top], set()
    while pending:
        path = pending.pop(0)
        if path is None or not path.is_file() or path.resolve() in seen or not path.resolve().is_relative_to(
                root.resolve()):
            continue
        seen.add(path.resolve())
        for number, raw in enumerate(read_text(path).splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            include = INCLUDE.match(line)
            if include:
                pending.append(path.parent / include.group(1))
            yield line, number, "requirements.txt" if path == top else path.relative_to(root).as_posix()


def read_requirements(root: Path) -> dict[str, tuple[str, int, str]]:
    """package -> (requirement, line, file) of requirements.txt and the files it includes (-r)."""
    found: dict[str, tuple[str, int, str]] = {}
    for line, number, file in requirement_lines(root):
        if (name := requirement_name(line)) is not None:
            found.setdefault(name, (line, number, file))
    return found


def local_requirements(root: Path) -> list[tuple[str, str, int, str]]:
    """(path, requirement, line, file) of the requirements that name a local path (``-e ../lib``)."""
    return [(match.group(1), line, number, file) for line, number, file in requirement_lines(root)
            if (match := LOCAL_REQUIREMENT.match(line))]


IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+\(?([\w\s,*]+)|import\s+([\w.\s,]+))")


def imports_of(path: Path) -> list[tuple[str, str, int]]:
    """(module, name, line) of every import; name is "*" for a plain ``import module``."""
    source = path.read_bytes()
    try:
        tree = ast.parse(source, filename=path.name)
    except (SyntaxError, ValueError):
        return imports_by_line(source.decode("utf-8", errors="replace"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "*", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return sorted(found, key=lambda item: item[2])


def imports_by_line(text: str) -> list[tuple[str, str, int]]:
    """The imports of a file Python 3 cannot parse (Python 2 code), read line by line."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        if match.group(1):
            names = [name.strip() for name in match.group(2).split(",") if name.strip()]
            found += [(match.group(1), name.split()[0], number) for name in names]
        else:
            modules = [name.strip().split()[0] for name in match.group(3).split(",") if name.strip()]
            found += [(module, "*", number) for module in modules]
    return found


def module_names(path: Path) -> dict[str, ast.AST]:
    """The names a module binds at its top level (def, class, assignment, import)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=path.name)
    except (SyntaxError, ValueError, OSError):
        return {}
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            names.update({target.id: node for target in node.targets if isinstance(target, ast.Name)})
        elif isinstance(node, ast.ImportFrom):
            names.update({(alias.asname or alias.name): node for alias in node.names})
    return names


# --- the role's kind and entry point -------------------------------------------------------------


def detect_kind(role_type: str, source: RoleSource) -> str | None:
    """worker, django, flask or bottle; None for a web role of none of these."""
    if role_type == "WorkerRole":
        return "worker"
    handler = source.app_settings.get("WSGI_HANDLER", "") or source.project.get("PythonWsgiHandler", "")
    if (source.manage_py() or "DJANGO_SETTINGS_MODULE" in source.app_settings
            or "DjangoSettingsModule" in source.project or "django" in source.requirements
            or handler.startswith("django.")):
        return "django"
    for framework in ("flask", "bottle"):
        if framework in source.requirements or source.imported(framework):
            return framework
    return None


def module_file(source: RoleSource, module: str) -> str | None:
    """The file that holds a dotted module, if it is one of the role's (from any of its roots)."""
    base = module.replace(".", "/")
    for root in source.roots:
        for name in (f"{base}.py", f"{base}/__init__.py"):
            if source.has(f"{root}/{name}".lstrip("/")):
                return f"{root}/{name}".lstrip("/")
    return None


def split_handler(source: RoleSource, handler: str) -> tuple[str, str, bool]:
    """wfastcgi's ``module.attribute`` (``()`` when it is called) -> (module, attribute, called).
    The module is the longest prefix that is one of the role's files."""
    called = handler.endswith("()")
    dotted = handler.removesuffix("()").strip()
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if module_file(source, ".".join(parts[:cut])):
            return ".".join(parts[:cut]), ".".join(parts[cut:]), called
    return ".".join(parts[:-1]), parts[-1], called


def is_factory(source: RoleSource, module: str, attribute: str) -> bool:
    """True when the module defines attribute as a function that takes no argument."""
    file = module_file(source, module)
    node = module_names(source.root / file).get(attribute) if file else None
    return isinstance(node, ast.FunctionDef) and not node.args.args


def handler_entry(source: RoleSource, role: str, notes: list[Note]) -> tuple[str, bool] | None:
    """The WSGI application named by web.config's WSGI_HANDLER or the .pyproj, as module:attribute."""
    handler = source.app_settings.get("WSGI_HANDLER") or source.project.get("PythonWsgiHandler")
    if not handler:
        return None
    module, attribute, called = split_handler(source, handler)
    if not module:
        return None
    factory = called and is_factory(source, module, attribute)
    if called and not factory:
        notes.append(Note(CHANGED, f"WSGI_HANDLER `{handler}` calls `{attribute}`, which is the application "
                                   f"itself, not a function that makes one: the new web.config uses "
                                   f"`{module}:{attribute}` without calling it", f"{role}/web.config"))
    return f"{module}:{attribute}", factory


def found_application(source: RoleSource, plain: bool) -> str | None:
    """A module-level WSGI application in the role's top-level modules, likeliest first.
    For a plain WSGI role only a callable that looks like one counts."""
    modules = {}
    for root in source.roots:
        for name in source.files:
            folder, _, file = name.rpartition("/")
            if folder == root and file.endswith(".py"):
                modules.setdefault(file[:-3], name)
            elif file == "__init__.py" and folder.rpartition("/")[0] == root and folder:
                modules.setdefault(folder.rpartition("/")[2], name)
    ordered = [m for m in WSGI_MODULES if m in modules] + sorted(m for m in modules if m not in WSGI_MODULES)
    for module in ordered:
        names = module_names(source.root / modules[module])
        for name in WSGI_NAMES:
            node = names.get(name)
            if node is None:
                continue
            if not plain or name == "application" or looks_like_wsgi(node):
                return f"{module}:{name}"
        for name, node in names.items():
            if looks_like_wsgi(node):
                return f"{module}:{name}"
    return None


def looks_like_wsgi(node: ast.AST) -> bool:
    if not isinstance(node, ast.FunctionDef):
        return False
    return [arg.arg for arg in node.args.args[:2]] == ["environ", "start_response"]


def django_settings(source: RoleSource) -> str | None:
    named = source.app_settings.get("DJANGO_SETTINGS_MODULE") or source.project.get("DjangoSettingsModule")
    if named:
        return named
    manage = source.manage_py()
    if manage:
        text = read_text(source.root / manage)
        match = re.search(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]", text)
        if match:
            return match.group(1)
    for root in reversed(source.roots):  # the innermost root is the Django project's folder
        prefix = f"{root}/" if root else ""
        packages = sorted((name[len(prefix): -len("/settings.py")] for name in source.files
                           if name.startswith(prefix) and name.endswith("/settings.py")), key=len)
        if packages:
            return packages[0].replace("/", ".")
    return None


def django_entry(source: RoleSource, role: str, notes: list[Note]) -> tuple[str, bool, str]:
    settings = django_settings(source)
    if settings is None:
        raise refuse(f"the Django role '{role}' has no settings module that can be found",
                     "set DJANGO_SETTINGS_MODULE in its web.config or manage.py")
    package = settings.rpartition(".")[0]
    wsgi = f"{package}.wsgi" if package else "wsgi"
    for module in dict.fromkeys((wsgi, "wsgi")):
        file = module_file(source, module)
        if file and "application" in module_names(source.root / file):
            return f"{module}:application", False, settings
    old = source.app_settings.get("WSGI_HANDLER", "")
    notes.append(Note(CHANGED, f"the role has no {wsgi.replace('.', '/')}.py"
                      + (f" and its WSGI_HANDLER `{old}` is Django's old handler" if old else "")
                      + f": the new web.config uses `django.core.wsgi.get_wsgi_application()` with "
                      f"DJANGO_SETTINGS_MODULE `{settings}`", f"{role}/web.config" if old else None))
    return "django.core.wsgi:get_wsgi_application", True, settings


def web_entry(kind: str | None, source: RoleSource, role: str, notes: list[Note]) -> tuple[str, str, bool]:
    """(kind, module:attribute, is a factory) of a web role; an error when no application is found."""
    entry = handler_entry(source, role, notes)
    if entry is None:
        application = found_application(source, plain=kind is None)
        entry = (application, False) if application else None
    if entry is None:
        what = f"a {kind.capitalize()} role" if kind else "neither Django, Flask nor Bottle"
        raise refuse(f"the web role '{role}' is {what} and no WSGI application was found in its folder",
                     "name it in WSGI_HANDLER of the role's web.config (module.attribute) "
                     "or define a module-level `application` in wsgi.py")
    return kind or "wsgi", entry[0], entry[1]


SCRIPT = re.compile(r"([\w.\\/-]+\.py)\b", re.IGNORECASE)


LAUNCHER = re.compile(r"([\w.\\/-]+\.(?:cmd|bat|ps1))\b", re.IGNORECASE)


def launcher_texts(source: RoleSource, command: str) -> list[str]:
    """The scripts a command line runs (run.cmd, bin\\ps.cmd LaunchWorker.ps1, ...), read from the role."""
    texts = []
    for script in LAUNCHER.findall(command):
        name = PureWindowsPath(script).name
        for folder in (source.root / PureWindowsPath(script).parent.as_posix(), source.root, source.root / "bin"):
            found = child_named(folder, name)
            if found is not None and found.is_file():
                texts.append(read_text(found))
                break
    return texts


def resolve_script(source: RoleSource, script: str) -> str | None:
    """A .py named in a command line: as written, from a root, or the one file whose path ends so
    (in any case, as Windows finds it)."""
    relative = PureWindowsPath(script).as_posix().removeprefix("./").lower()
    files = {name.lower(): name for name in source.files}
    for root in source.roots:
        if f"{root}/{relative}".lstrip("/") in files:
            return files[f"{root}/{relative}".lstrip("/")]
    ending = sorted((name for name in source.files if name.lower().endswith("/" + relative)),
                    key=lambda n: n.count("/"))
    return ending[0] if ending else None


def worker_script(role: Node, source: RoleSource, name: str) -> str:
    """The worker's script: named by ProgramEntryPoint or the scripts it runs, else the .pyproj's
    StartupFile, else worker.py."""
    entry = role.first("Runtime", "EntryPoint", "ProgramEntryPoint")
    command = entry.attrib.get("commandLine", "") if entry is not None else ""
    for place in [command, *launcher_texts(source, command), source.project.get("StartupFile", ""), "worker.py"]:
        for script in SCRIPT.findall(place):
            found = resolve_script(source, script)
            if found:
                return found
    raise refuse(f"the worker role '{name}' has no script that can be found",
                 "name it in the role's ProgramEntryPoint (bin\\ps.cmd LaunchWorker.ps1 worker.py)")


def script_arguments(role: Node, script: str) -> str:
    """What the old ProgramEntryPoint's command line gives the worker's script after its name
    (Windows file names: in any case), up to cmd.exe's first ``&``, ``|``, ``<`` or ``>``."""
    entry = role.first("Runtime", "EntryPoint", "ProgramEntryPoint")
    command = entry.attrib.get("commandLine", "") if entry is not None else ""
    for match in SCRIPT.finditer(command):
        if PureWindowsPath(match.group(1)).name.lower() == PurePosixPath(script).name.lower():
            before, rest = command[:match.start()], command[match.end():]
            if before.endswith('"') and rest.startswith('"'):  # the script's own quotes
                before, rest = before[:-1], rest[1:]
            if before.count('"') % 2:  # in a quoted command: cmd /c "python x.py ..."
                rest = rest.rpartition('"')[0]
            return before_shell_operators(rest)
    return ""


def before_shell_operators(text: str) -> str:
    """``text`` up to its first &, |, < or > outside double quotes, and without the stream
    number of a redirection (the 2 of ``2>err.log``)."""
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "&|<>" and not quoted:
            return re.sub(r"(^|\s)\d$", "", text[:index].rstrip()).strip()
    return text.strip()


# --- the definition and configurations -----------------------------------------------------------


# An ARM size in any case, with the retired _Promo suffix or not: its parts as in plan.VM_SIZE.
ARM_SIZE_PARTS = re.compile(r"standard_([a-z]+?)([0-9]+)(-[0-9]+)?([a-z]*)(_[0-9]+)?"
                            r"(_cc|_(?!v[0-9]+(_promo)?$)[a-z][a-z0-9]*)?(_v[0-9]+)?(_promo)?", re.IGNORECASE)


def map_vm_size(classic: str | None) -> str:
    """The ARM size for a role's old vmsize: a classic size's successor, or the ARM size as
    Azure spells it (old .csdef files may spell it in any case, or with _Promo)."""
    classic = classic or CLASSIC_DEFAULT_VM_SIZE
    if classic.lower() in VM_SIZES:
        return VM_SIZES[classic.lower()]
    parts = ARM_SIZE_PARTS.fullmatch(classic)
    if parts:
        family, cores, constrained, features, memory, accelerator, _, version, _ = parts.groups()
        if accelerator:
            accelerator = "_cc" if accelerator.lower() == "_cc" else accelerator.upper()
        size = (f"Standard_{family.upper()}{cores}{constrained or ''}{features.lower()}{memory or ''}"
                f"{accelerator or ''}{(version or '').lower()}")
        if plan_module().VM_SIZE.match(size):
            return size
    raise refuse(f"the vmsize '{classic}' of {DEFINITION_FILE} is not a size Azure knows",
                 f"use a classic size ({', '.join(sorted(VM_SIZES))}) or an ARM size such as Standard_D1_v2")


def valid_service_name(name: str) -> str:
    """The csdef's name made a valid service name (letters, digits, hyphens; 3-63 characters)."""
    text = re.sub(r"[^A-Za-z0-9-]+", "-", name)
    text = re.sub(r"-{2,}", "-", text).lstrip("-0123456789")[:63].rstrip("-")
    if len(text) < 3:
        text = (text + "-service").lstrip("-")
    return text


def choose_os_family(configurations: dict[str, Node], notes: list[Note]) -> str:
    cloud = configurations[cloud_configuration(list(configurations))]
    family = cloud.attrib.get("osFamily", "")
    if family in OS_FAMILIES:
        notes.append(Note(CARRIED, f"osFamily {family} kept"))
        return family
    was = f"osFamily {family}" if family else "no osFamily (which meant 5, Windows Server 2016)"
    notes.append(Note(CHANGED, f"{was} becomes osFamily {DEFAULT_OS_FAMILY} (Windows Server 2022): "
                      f"Cloud Services (extended support) is set up here for 6 or 7 only",
                      cloud_configuration(list(configurations)), cloud.line))
    return DEFAULT_OS_FAMILY


def role_configuration(name: str, configurations: dict[str, Node]) -> dict[str, Node]:
    found = {}
    for file, configuration in configurations.items():
        role = next((r for r in configuration.all("Role") if r.attrib.get("name", "").lower() == name.lower()), None)
        if role is not None:
            found[file] = role
    return found


def instance_counts(name: str, configured: dict[str, Node], notes: list[Note]) -> dict[str, int]:
    counts = {}
    for file, role in configured.items():
        instances = role.first("Instances")
        text = instances.attrib.get("count", "1") if instances is not None else "1"
        counts[file] = int(text) if text.isdigit() and int(text) > 0 else 1
        if not text.isdigit() or int(text) < 1:
            notes.append(Note(PERSON, f"role {name}: instance count '{text}' is not a number; 1 is used",
                              file, role.line))
    return counts


def read_settings(name: str, role: Node, configured: dict[str, Node], notes: list[Note]) -> list[Setting]:
    settings: dict[str, Setting] = {}
    reserved = RESERVED_VARIABLES | (WEB_RESERVED_VARIABLES if role.tag == "WebRole" else set())
    dropped: set[str] = set()

    def drop(setting: str, file: str, line: int) -> None:
        if setting not in dropped:
            dropped.add(setting)
            notes.append(Note(CHANGED, f"role {name}: setting `{setting}` dropped: Cloud Services (extended "
                              "support) refuses the classic plug-ins' settings (remote desktop is an extension there)",
                              file, line))

    for declared in role.all("ConfigurationSettings", "Setting"):
        setting = declared.attrib.get("name", "")
        if setting.startswith(CLASSIC_SETTING_PREFIX):
            drop(setting, DEFINITION_FILE, declared.line)
        elif setting.upper() in reserved:
            raise refuse(f"role {name}: the setting '{setting}' ({DEFINITION_FILE} line {declared.line}) would "
                         "replace the environment variable of that name, which the new role needs",
                         f"rename the setting in the old solution (not one of {', '.join(sorted(reserved))})")
        elif not SETTING_NAME.fullmatch(setting):
            raise refuse(f"role {name}: the setting '{setting}' ({DEFINITION_FILE} line {declared.line}) cannot "
                         "be the name of an environment variable on Windows, Linux and Container Apps",
                         "rename the setting in the old solution (letters, digits, '_', '.' and '-', "
                         "not starting with a digit)")
        elif any(setting.upper() == other.upper() for other in settings):
            raise refuse(f"role {name}: the settings '{setting}' and "
                         f"'{next(other for other in settings if other.upper() == setting.upper())}' "
                         f"({DEFINITION_FILE} line {declared.line}) are one environment variable on Windows",
                         "rename one of them in the old solution")
        else:
            settings[setting] = Setting(setting)
    for file, configuration in configured.items():
        for valued in configuration.all("ConfigurationSettings", "Setting"):
            setting = valued.attrib.get("name", "")
            if setting in settings:
                settings[setting].values[file] = valued.attrib.get("value", "")
            elif setting.startswith(CLASSIC_SETTING_PREFIX):
                drop(setting, file, valued.line)
            else:
                notes.append(Note(PERSON, f"role {name}: setting `{setting}` has a value but is not declared "
                                  f"in {DEFINITION_FILE}; not carried", file, valued.line))
    if settings:
        notes.append(Note(CARRIED, f"role {name}: settings {', '.join(f'`{s}`' for s in settings)} with their "
                          "values in every .cscfg"))
    return list(settings.values())


def read_imports(name: str, role: Node, notes: list[Note]) -> None:
    for imported in role.all("Imports", "Import"):
        module = imported.attrib.get("moduleName", "")
        if module.lower() in CLASSIC_IMPORTS:
            notes.append(Note(CHANGED, f"role {name}: `{imported.quoted()}` dropped: Cloud Services (extended "
                              "support) refuses classic modules (remote desktop is an extension; diagnostics "
                              "go to Application Insights)", DEFINITION_FILE, imported.line))
        else:
            notes.append(Note(PERSON, f"role {name}: `{imported.quoted()}` not carried: not understood",
                              DEFINITION_FILE, imported.line))


def read_start_up(name: str, role: Node, notes: list[Note]) -> None:
    for task in role.all("Startup", "Task"):
        command = task.attrib.get("commandLine", "")
        words = {word.lower() for word in re.split(r"[\s\\/]+", command)}
        if words & OLD_START_UP_FILES:
            notes.append(Note(CHANGED, f"role {name}: start-up task `{command}` replaced by the template's "
                              "start-up (a pinned Python and the packages from a wheelhouse)",
                              DEFINITION_FILE, task.line))
        if words & EDITED_START_UP_FILES:
            notes.append(Note(PERSON, f"role {name}: start-up task `{command}` installed Python; anything else "
                              "it did is not carried: add that to the new role's start-up if it is still needed",
                              DEFINITION_FILE, task.line))
        elif not words & OLD_START_UP_FILES:
            notes.append(Note(PERSON, f"role {name}: start-up task `{command}` not carried: "
                              "add what it does to the new role's start-up if it is still needed",
                              DEFINITION_FILE, task.line))
    for variable in role.all("Runtime", "Environment", "Variable"):
        if variable.attrib.get("name", "") not in OLD_TOOLING_VARIABLES:
            notes.append(Note(PERSON, f"role {name}: runtime variable `{variable.attrib.get('name', '')}` not "
                              "carried (its value is in the old ServiceDefinition.csdef): make it a "
                              "ConfigurationSetting if the role still reads it",
                              DEFINITION_FILE, variable.line))


def read_endpoints(role: Node) -> list[dict]:
    """Each endpoint's element ("kind") and attributes, and its child elements when it has any
    (an InstanceInputEndpoint's AllocatePublicPortFrom, an InternalEndpoint's FixedPortRange)."""
    endpoints = role.first("Endpoints")
    return [{"kind": endpoint.tag, **endpoint.attrib,
             **({"children": [element_record(child) for child in endpoint.children]} if endpoint.children else {})}
            for endpoint in (endpoints.children if endpoints else [])]


def element_record(node: Node) -> dict:
    """An XML element as the plan keeps it (plan.py's ``Endpoint.children``)."""
    return {"element": node.tag, "attributes": dict(node.attrib),
            "children": [element_record(child) for child in node.children]}


def read_unknown(name: str, role: Node, notes: list[Note]) -> None:
    for part in role.children:
        if part.tag not in KNOWN_ROLE_PARTS:
            notes.append(Note(PERSON, f"role {name}: `{part.quoted()}` not carried: not understood",
                              DEFINITION_FILE, part.line))


def read_certificates(name: str, role: Node, configured: dict[str, Node], notes: list[Note]) -> list[dict]:
    certificates = []
    for certificate in role.all("Certificates", "Certificate"):
        thumbprints = {file: found.attrib.get("thumbprint", "") for file, configuration in configured.items()
                       for found in configuration.all("Certificates", "Certificate")
                       if found.attrib.get("name") == certificate.attrib.get("name")}
        certificates.append({**certificate.attrib, "thumbprints": thumbprints})
        notes.append(Note(PERSON, f"role {name}: certificate `{certificate.attrib.get('name', '')}` carried: "
                          "upload it to a Key Vault and give the deployment its secret identifier",
                          DEFINITION_FILE, certificate.line))
    for file, configuration in configured.items():
        for certificate in configuration.all("Certificates", "Certificate"):
            if certificate.attrib.get("name", "").startswith(CLASSIC_SETTING_PREFIX):
                notes.append(Note(CHANGED, f"role {name}: certificate `{certificate.attrib['name']}` dropped "
                                  "with the classic remote desktop plug-in", file, certificate.line))
    return certificates


# --- the report on the code ----------------------------------------------------------------------


def python2_notes(name: str, source: RoleSource) -> list[Note]:
    """Every .py of the role that Python 3 cannot compile, with its first error; in those it can,
    the imports of Python 2 modules."""
    notes = []
    for relative in (f for f in source.files if f.endswith(".py")):
        try:
            compile(source.root.joinpath(relative).read_bytes(), relative, "exec", dont_inherit=True)
        except SyntaxError as error:
            notes.append(Note(PERSON, f"does not compile under Python 3 (Python 2 code?): {error.msg}",
                              f"{name}/{relative}", error.lineno))
            continue
        except ValueError as error:
            notes.append(Note(PERSON, f"cannot be read as Python 3: {error}", f"{name}/{relative}"))
            continue
        local = {module.partition(".")[0] for module, _, _ in source.imports[relative]} & {
            Path(f).stem for f in source.files if f.endswith(".py")}
        for module, _, line in source.imports[relative]:
            if module in PYTHON2_MODULES and module not in local:
                notes.append(Note(PERSON, f"imports `{module}`, a Python 2 module: Python 3 has "
                                  f"`{PYTHON2_MODULES[module]}`", f"{name}/{relative}", line))
    return notes


def retired_advice(module: str, name: str) -> str | None:
    """What to move to, when ``from module import name`` (name "*" for ``import module``) is retired."""
    if not (module == "azure" or module.startswith("azure.")):
        return None
    parents = [module.rsplit(".", cut)[0] for cut in range(module.count(".") + 1)]  # longest first
    for parent in parents:
        if (parent, name) in RETIRED_CLASSES:
            return RETIRED_CLASSES[(parent, name)]
    for parent in parents:
        if parent not in RETIRED_MODULES:
            continue
        if parent not in SHARED_NAMESPACES:
            return RETIRED_MODULES[parent]  # the module and all below it
        if parent == module and (name != "*" or module == "azure"):
            return RETIRED_MODULES[parent]  # `import azure`, `from azure.storage import x`; not `import azure.storage`
    return None


def only_before(requirement: str, major: int) -> bool:
    """True when the requirement allows only versions before major (==2.1, <=11.4, <12)."""
    for operator, first, second in re.findall(r"(==|<=|<)\s*(\d+)(?:\.(\d+))?", requirement):
        version = (int(first), int(second or 0))
        if version < (major, 0) or (operator == "<" and version == (major, 0)):
            return True
    return False


def sdk_notes(name: str, source: RoleSource) -> list[Note]:
    notes = []
    for relative, uses in source.imports.items():
        for module, imported, line in uses:
            advice = retired_advice(module, imported)
            if advice:
                what = module if imported == "*" else f"{module}.{imported}"
                notes.append(Note(PERSON, f"imports `{what}` of a retired Azure SDK: move to {advice}",
                                  f"{name}/{relative}", line))
    for package, (requirement, line, file) in source.requirements.items():
        if package in RETIRED_PACKAGES:
            below, advice = RETIRED_PACKAGES[package]
            if below is None or only_before(requirement, below):
                notes.append(Note(PERSON, f"requires `{requirement}`, a retired Azure SDK: use {advice}",
                                  f"{name}/{file}", line))
    return notes


def service_bus_notes(name: str, source: RoleSource, settings: list[Setting]) -> list[Note]:
    used = [(relative, line) for relative, uses in source.imports.items()
            for module, _, line in uses if module.startswith("azure.servicebus")]
    named = [s.name for s in settings if "servicebus" in s.name.lower()]
    if not used and not named:
        return []
    where = f"{name}/{used[0][0]}" if used else DEFINITION_FILE
    return [Note(PERSON, "uses Service Bus queues: the template's worker reads storage queues only; keep your own "
                 "loop on azure-servicebus 7 (`ServiceBusClient(...).get_queue_receiver`) or move the queue to "
                 "Azure Storage (azure-storage-queue 12)", where, used[0][1] if used else None)]


def diagnostics_notes(folder: Path, roots: list[Path]) -> list[Note]:
    """The diagnostics files of the cloud project (its <Role>Content folders too) and of the roles."""
    found = {path for base in (folder, *roots) for path in [*base.glob("*.wadcfg*"), *base.glob("*/*.wadcfg*")]}
    return [Note(PERSON, "diagnostics configuration not carried: the Azure Diagnostics extension is deprecated; "
                 "the roles send logs and traces to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING)",
                 shown_path(folder, path)) for path in sorted(found)]


# --- the analysis --------------------------------------------------------------------------------


def analyse(folder: Path) -> Adoption:
    """Read the old solution in folder (the one with ServiceDefinition.csdef); write nothing."""
    try:
        return read_service(Path(folder))
    except OSError as error:  # a file or folder this user may not read (permissions, a broken link)
        what = f"'{error.filename}' cannot be read" if error.filename else "a file cannot be read"
        raise refuse(f"{what}: {error.strerror or error}", "make the old solution's files readable and run again") \
            from None


def read_service(folder: Path) -> Adoption:
    definition = read_xml(find_definition(folder), DEFINITION_FILE)
    configurations = {path.name: read_xml(path, path.name) for path in find_configurations(folder)}
    roles_xml = [node for node in definition.children if node.tag in ("WebRole", "WorkerRole")]
    check_role_names(roles_xml)
    notes = service_notes(definition, configurations, {role.attrib["name"].lower() for role in roles_xml})

    original = definition.attrib.get("name", "")
    service_name = valid_service_name(original or folder.resolve().name)
    if service_name != original:
        notes.append(Note(CHANGED, f"service name `{original}` becomes `{service_name}` (letters, digits and "
                          "hyphens only)", DEFINITION_FILE, definition.line))
    os_family = choose_os_family(configurations, notes)
    references = project_references(folder)
    roles = [adopt_role(folder, role, configurations, references, notes) for role in roles_xml]
    notes += diagnostics_notes(folder, [role.folder for role in roles])
    return Adoption(folder=folder, original_name=original, service_name=service_name, os_family=os_family,
                    configurations=list(configurations), roles=roles, notes=notes)


def check_role_names(roles: list[Node]) -> None:
    if not roles:
        raise refuse(f"{DEFINITION_FILE} defines no WebRole or WorkerRole", "adopt a service with at least one role")
    seen: set[str] = set()
    for role in roles:
        name = role.attrib.get("name", "")
        check_role_name(name)
        if plan_module().same_name_key(name) in seen:
            raise refuse(f"the role name '{name}' is used twice in {DEFINITION_FILE} (names are compared "
                         "ignoring case, '-' and '_')", "rename one of the roles in the old solution")
        seen.add(plan_module().same_name_key(name))


def service_notes(definition: Node, configurations: dict[str, Node], roles: set[str]) -> list[Note]:
    """What the service as a whole carries, drops or leaves to a person."""
    notes = []
    dropped = {name: value for name, value in definition.attrib.items()
               if name not in ("name", "schemaVersion") and "}" not in name}  # not xsi:schemaLocation
    if dropped:
        quoted = " ".join(f'{name}="{value}"' for name, value in dropped.items())
        notes.append(Note(PERSON, f"`{quoted}` of the ServiceDefinition not carried: add it to the new one if the "
                          "service needs it", DEFINITION_FILE, definition.line))
    for other in definition.children:
        if other.tag not in KNOWN_SERVICE_PARTS:
            notes.append(Note(PERSON, f"`{other.quoted()}` not carried: not understood", DEFINITION_FILE, other.line))
    for probe in definition.all("LoadBalancerProbes", "LoadBalancerProbe"):
        notes.append(Note(CHANGED, f"`{probe.quoted()}` replaced by the template's probe of each web role's "
                          "HttpIn endpoint (GET /health, which role_wsgi.py answers)", DEFINITION_FILE, probe.line))
    for file, configuration in configurations.items():
        for stray in configuration.all("Role"):
            if stray.attrib.get("name", "").lower() not in roles:
                notes.append(Note(PERSON, f"role `{stray.attrib.get('name', '')}` is configured but not defined "
                                  f"in {DEFINITION_FILE}; not carried", file, stray.line))
    network = any(c.first("NetworkConfiguration") is not None for c in configurations.values())
    notes.append(Note(CHANGED, "NetworkConfiguration " + ("replaced by the template's virtual network" if network
                      else "added: Cloud Services (extended support) needs a virtual network")))
    return notes


def adopt_role(folder: Path, role: Node, configurations: dict[str, Node], references: dict[str, Path],
               notes: list[Note]) -> AdoptedRole:
    name = role.attrib["name"]
    root = role_folder(folder, role, references)
    source = read_role_source(root, shown_path(folder, root))
    kind, entry, factory, settings_module = role_entry(role, source, notes)
    classic = role.attrib.get("vmsize")
    vm_size = map_vm_size(classic)
    if classic != vm_size:
        was = f"vmsize `{classic}`" if classic else f"no vmsize (which meant {CLASSIC_DEFAULT_VM_SIZE})"
        why = ("classic sizes are not offered in Cloud Services (extended support)"
               if (classic or CLASSIC_DEFAULT_VM_SIZE).lower() in VM_SIZES
               else "as Azure names it; the Promo sizes are retired" if classic.lower().endswith("_promo")
               else "as Azure names it")
        notes.append(Note(CHANGED, f"role {name}: {was} becomes `{vm_size}` ({why})", DEFINITION_FILE, role.line))
    configured = role_configuration(name, configurations)
    for missing in sorted(set(configurations) - set(configured)):
        notes.append(Note(PERSON, f"role {name} is missing from {missing}; 1 instance is used", missing))
    definition_notes(name, role, notes)
    settings = read_settings(name, role, configured, notes)
    adopted = AdoptedRole(
        name=name, kind=kind, folder=root, entry_point=entry, vm_size=vm_size, classic_vm_size=classic,
        instances=instance_counts(name, configured, notes), files=source.files, settings=settings,
        settings_module=settings_module, wsgi_factory=factory, python_path=source.roots[1:],
        endpoints=read_endpoints(role),
        local_resources=[dict(r.attrib) for r in role.all("LocalResources", "LocalStorage")],
        certificates=read_certificates(name, role, configured, notes),
    )
    called = "()" if factory else ""
    described = f"worker script `{entry}`" if kind == "worker" else f"WSGI application `{entry}{called}`"
    notes.append(Note(CARRIED, f"role {name}: a {kind} role from `{shown_path(folder, root)}`, {described}"
                      + (f", settings `{settings_module}`" if settings_module else "")
                      + f", {len(source.files)} files copied unchanged"))
    requirements = next((file for file in source.files if file.lower() == "requirements.txt"), None)
    if requirements not in (None, "requirements.txt"):
        notes.append(Note(CHANGED, f"role {name}: `{requirements}` becomes `requirements.txt`, the name pip, the "
                          "template's tools and the Linux containers look for", f"{name}/{requirements} (old)"))
    notes += code_notes(name, source, settings) + outside_notes(name, role, source)
    return adopted


def role_entry(role: Node, source: RoleSource, notes: list[Note]) -> tuple[str, str, bool, str | None]:
    """(kind, entry point, entry point is a factory, Django settings module) of a role."""
    name = role.attrib["name"]
    dotnet = role.first("Runtime", "EntryPoint", "NetFxEntryPoint")
    projects = [f for f in source.files if f.endswith((".csproj", ".vbproj", ".fsproj"))]
    if (dotnet is not None or projects) and not any(f.endswith(".py") for f in source.files):
        raise refuse(f"role '{name}' is a .NET role ({dotnet.quoted() if dotnet is not None else projects[0]}), "
                     "not a Python one", "adopt a service whose roles are all Python (move the .NET role out first)")
    kind = detect_kind(role.tag, source)
    if kind == "worker":
        if role.all("Endpoints", "InputEndpoint"):
            notes.append(Note(PERSON, f"role {name} is a worker role with input endpoints: it serves requests "
                              "itself, while the template's worker reads a queue; keep its script as the worker's "
                              "loop or make it a web role", DEFINITION_FILE, role.line))
        script = worker_script(role, source, name)
        arguments = script_arguments(role, script)
        if arguments:
            notes.append(Note(PERSON, f"role {name}: the old entry point gave its script the arguments `{arguments}`; "
                              f"the new one runs `{script}` without them: read them from settings (environment "
                              "variables) instead, or add them to the ProgramEntryPoint of ServiceDefinition.csdef, "
                              "bin/LaunchWorker.ps1 and the Dockerfile", DEFINITION_FILE, role.line))
        return kind, script, False, None
    if kind == "django":
        entry, factory, settings_module = django_entry(source, name, notes)
        return kind, entry, factory, settings_module
    kind, entry, factory = web_entry(kind, source, name, notes)
    return kind, entry, factory, None


def definition_notes(name: str, role: Node, notes: list[Note]) -> None:
    """The role's parts of the csdef: imports, start-up, sites, what is kept and what is not understood."""
    read_imports(name, role, notes)
    read_start_up(name, role, notes)
    read_unknown(name, role, notes)
    runtime = role.first("Runtime")
    if runtime is not None and runtime.attrib.get("executionContext", "").lower() == "elevated":
        notes.append(Note(PERSON, f"role {name}: `{runtime.quoted()}` not carried: the role's code runs with "
                          "limited rights now; add executionContext=\"elevated\" to its Runtime if it needs "
                          "administrator rights", DEFINITION_FILE, runtime.line))
    entry = role.first("Runtime", "EntryPoint", "ProgramEntryPoint")
    if entry is not None and entry.attrib.get("setReadyOnProcessStart", "").lower() == "false":
        notes.append(Note(PERSON, f"role {name}: its entry point had setReadyOnProcessStart=\"false\" (the code "
                          "said when the instance was ready); the new one is ready as the process starts",
                          DEFINITION_FILE, entry.line))
    for binding in role.all("Sites", "Site", "Bindings", "Binding"):
        if set(binding.attrib) - {"name", "endpointName"}:
            notes.append(Note(PERSON, f"role {name}: `{binding.quoted()}` not carried: the new site is bound to "
                              "HttpIn for every host name", DEFINITION_FILE, binding.line))
    sites = role.all("Sites", "Site")
    for extra in sites[1:] + [part for site in sites for part in site.children if part.tag != "Bindings"]:
        notes.append(Note(PERSON, f"role {name}: `{extra.quoted()}` not carried: the template serves one site "
                          "per web role, at its root", DEFINITION_FILE, extra.line))
    endpoints = role.first("Endpoints")
    for kept in (endpoints.children if endpoints else []) + role.all("LocalResources", "LocalStorage"):
        if kept.tag == "LocalStorage" and kept.attrib.get("name", "").lower() == "diagnosticstore":
            notes.append(Note(CHANGED, f"role {name}: `{kept.quoted()}` replaced by the template's own DiagnosticStore "
                              "(where the start-up and the roles write their logs)", DEFINITION_FILE, kept.line))
        else:
            notes.append(Note(CARRIED, f"role {name}: `{kept.quoted()}`", DEFINITION_FILE, kept.line))


def code_notes(name: str, source: RoleSource, settings: list[Setting]) -> list[Note]:
    """What in the role's own files needs a person."""
    notes = [Note(PERSON, f"appSetting `{key}` of the old web.config not carried: declare it as a "
                  "ConfigurationSetting (the roles see settings as environment variables)", f"{name}/web.config (old)")
             for key in source.app_settings if key not in OLD_TOOLING_APP_SETTINGS]
    notes += [Note(PERSON, f"`<{part}>` of the old web.config's system.webServer not carried: add it to the new "
                   "web.config if the site needs it", f"{name}/web.config (old)") for part in source.web_server]
    notes += [Note(PERSON, f"`{section}` of the old web.config not carried: add it to the new web.config if "
                   "the site needs it", f"{name}/web.config (old)") for section in source.web_config_sections]
    notes += [Note(PERSON, f"handler `{handler}` of the old web.config not carried: IIS hands every request to "
                   "Python now; add it to the new web.config if the site needs it", f"{name}/web.config (old)")
              for handler in source.handlers]
    notes += [Note(PERSON, "not copied: bin/ held build output and the old start-up scripts; copy it by hand if "
                   "it is the team's own", f"{name}/{relative} (old)") for relative in unknown_bin_files(source.root)]
    return notes + python2_notes(name, source) + sdk_notes(name, source) + service_bus_notes(name, source, settings)


# --- for the generation step ---------------------------------------------------------------------


PARTS = "_parts"  # a layer's pieces that its files include, not files of the role
TEAM_SETTING = "the team's own setting, carried from the old service"
DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"


def adopt_planned_roles(adoption: Adoption, roles: list, answers: dict) -> dict:
    """Make each planned role that the old service has into its adopted role, in place: its code,
    VM size, instances, endpoints, local storage, certificates and settings. A role of the
    ``roles`` answer that the old service lacks stays a new role of the template. Returns what
    the plan adds: the text of MIGRATION.md and the summary to print."""
    plan = plan_module()
    notes = list(adoption.notes)
    old_roles = {role.name.lower(): role for role in adoption.roles}
    planned = {role.name.lower() for role in roles}
    for old in adoption.roles:
        if old.name.lower() not in planned:
            notes.append(Note(CHANGED, f"role {old.name} not adopted: the `roles` answer leaves it out"))
    local = next((name for name in adoption.configurations if ".local." in name.lower()), None)
    if local is None:
        notes.append(Note(PERSON, f"the old service has no local .cscfg: ServiceConfiguration.Local.cscfg has the "
                          f"values of {adoption.cloud_configuration} (secrets too): give it local ones"))
    elif local == adoption.cloud_configuration:
        notes.append(Note(PERSON, f"the old service has only {local}: ServiceConfiguration.Cloud.cscfg has its "
                          "local values: give it the cloud ones before deploying"))
    if adoption.cloud_configuration.lower() not in ("serviceconfiguration.cloud.cscfg", str(local).lower()):
        notes.append(Note(CHANGED, f"{adoption.cloud_configuration} is the new ServiceConfiguration.Cloud.cscfg: "
                          "the old service had no Cloud one"))
    for other in adoption.configurations:
        if other not in (adoption.cloud_configuration, local):
            notes.append(Note(PERSON, f"the values of {other} are not carried: the solution has the cloud "
                              f"configuration (from {adoption.cloud_configuration}) and the local one; copy "
                              f"ServiceConfiguration.Cloud.cscfg to {other} and set them there", other))
    defaults = adoption.answers()
    own_size = plan.check_vm_size(answers["vm_size"]) == defaults["vm_size"]
    own_count = plan.parse_instance_count(answers["instance_count"]) == int(defaults["instance_count"])
    if own_size:
        notes.append(Note(CARRIED, "each role's VM size (the vm_size answer was not given another value)"))
    if own_count:
        notes.append(Note(CARRIED, "each role's cloud instance count (the instance_count answer was not given "
                          "another value)"))
    if not own_size:
        notes.append(Note(CHANGED, f"every role runs on `{answers['vm_size'].strip()}`, the vm_size answer"))
    if not own_count:
        notes.append(Note(CHANGED, f"every role has {answers['instance_count'].strip()} instances in the cloud, "
                          "the instance_count answer"))
    taken: set[int] = set()
    for role in roles:
        old = old_roles.get(role.name.lower())
        if old is None:
            continue
        if role.web != old.web:
            raise plan.AnswerError(
                "roles", f"'{role.name}' is a {'web' if old.web else 'worker'} role in the old service",
                f"give it {'a web kind' if old.web else 'the worker kind'}, or another name for a new role")
        if role.kind != old.kind:
            notes.append(Note(CHANGED, f"role {role.name}: the `roles` answer makes it a {role.kind} role "
                              f"(it was found to be {old.kind})"))
        adopt_role_into(role, old, adoption, notes, own_size=own_size, own_count=own_count,
                        web_server=answers["web_server"])
        if role.kind == "django":
            notes.append(Note(PERSON, f"role {role.name}: IIS now hands every request to Django, its static files "
                              "too, which Django does not serve with DEBUG off: add WhiteNoise "
                              "(`whitenoise.middleware.WhiteNoiseMiddleware`, as the template's Django roles do) "
                              "or serve them from blob storage"))
        taken |= {int(e.attributes["port"]) for e in role.endpoints if e.element == "InputEndpoint"
                  and e.attributes.get("port", "").isdigit()}
        if role.port is not None:
            taken.add(role.port)
    give_free_ports(roles, old_roles, taken, notes)
    code = sum(1 for role in roles if role.adopted for name in role.adopted.files if name.endswith(".py"))
    if code:
        notes.append(Note(CHANGED, f"the adopted roles' {code} Python file(s) are left out of ruff and bandit "
                          "(`extend-exclude` in pyproject.toml, the Lint step of .github/workflows/tests.yml) "
                          "until they meet those rules: take each back in once it does"))
    if not adoption.read:
        return {}  # MIGRATION.md was written when the old service was read
    left_out = [old.name for old in adoption.roles if old.name.lower() not in planned]
    notes = [note for note in notes if not any(note.text.startswith(f"role {name}:")
                                               or (note.file or "").startswith(f"{name}/") for name in left_out)]
    table = []
    for role in roles:
        old = old_roles.get(role.name.lower())
        entry = f"`{old.entry_point}{'()' if old.wsgi_factory else ''}`" if old else "new: the template's"
        table.append((role.name, role.kind, entry, role.vm_size or plan.check_vm_size(answers["vm_size"]),
                      role.instances or plan.parse_instance_count(answers["instance_count"])))
    adopted = replace_notes(adoption, notes)
    kept = [(role.name, role.kind) for role in roles if role.name.lower() in old_roles]
    return {"migration": render_migration(adopted, table), "adoption_summary": summary(adopted, kept)}


def replace_notes(adoption: Adoption, notes: list[Note]) -> Adoption:
    return Adoption(folder=adoption.folder, original_name=adoption.original_name, service_name=adoption.service_name,
                    os_family=adoption.os_family, configurations=adoption.configurations, roles=adoption.roles,
                    notes=notes, read=adoption.read)


# --- the record in the answers (cruft) -------------------------------------------------------------


def template_role_files() -> set[str]:
    """Every path a layer of the template can write into a role folder, in lower case."""
    layers = [layer for layer in plan_module().ROLE_SOURCES.iterdir() if layer.is_dir()]
    return {path.relative_to(layer).as_posix().lower()
            for layer in layers for path in layer.rglob("*") if path.is_file()}


def record(adoption: Adoption) -> str:
    """What later generations need of the analysis when the old folder is not there (`cruft
    update` renders the template again from the answers in .cruft.json): the roles as found,
    their settings' names but never their values, and only those of the team's files that share
    a path with one of the template's."""
    clashing = template_role_files()
    roles = [{
        "name": role.name, "kind": role.kind, "entry_point": role.entry_point, "vm_size": role.vm_size,
        "classic_vm_size": role.classic_vm_size, "instances": role.instances,
        "files": [name for name in role.files if name.lower() in clashing],
        "settings": [setting.name for setting in role.settings], "settings_module": role.settings_module,
        "python_path": role.python_path, "wsgi_factory": role.wsgi_factory, "endpoints": role.endpoints,
        "local_resources": role.local_resources,
        "certificates": [{**c, "thumbprints": dict(c["thumbprints"])} for c in role.certificates],
    } for role in adoption.roles]
    return json.dumps({"folder": adoption.folder.resolve().name, "original_name": adoption.original_name,
                       "service_name": adoption.service_name, "os_family": adoption.os_family,
                       "configurations": adoption.configurations, "roles": roles}, separators=(",", ":"))


def from_record(text: str) -> Adoption:
    found = json.loads(text)
    roles = [AdoptedRole(**{**role, "folder": Path(), "settings": [Setting(name) for name in role["settings"]]})
             for role in found.pop("roles")]
    return Adoption(**{**found, "folder": Path(found["folder"])}, roles=roles, read=False)


def give_free_ports(roles: list, old_roles: dict[str, AdoptedRole], taken: set[int], notes: list[Note]) -> None:
    """Web roles without a port of their own (new ones, and adopted ones that had no http endpoint)
    get one that no adopted endpoint uses: 80 when it is free, else the next from 8080."""
    plan = plan_module()
    candidates = iter([plan.FIRST_WEB_PORT, *range(plan.NEXT_WEB_PORTS_FROM, 65536)])
    for role in roles:
        adopted_port = role.adopted is not None and role.port is not None
        if not role.web or adopted_port:
            continue
        port = next(candidate for candidate in candidates if candidate not in taken)
        taken.add(port)
        if role.adopted is not None:
            notes.append(Note(CHANGED, f"role {role.name}: an http endpoint `HttpIn` on port {port} added "
                              "(the load balancer probes /health over http)"))
        role.port = port


def adopt_role_into(role, old: AdoptedRole, adoption: Adoption, notes: list[Note], own_size: bool,
                    own_count: bool, web_server: str) -> None:
    plan = plan_module()
    cloud = adoption.cloud_configuration
    local = next((name for name in adoption.configurations if ".local." in name.lower()), None)
    role.vm_size = old.vm_size if own_size else None
    role.instances = old.instances.get(cloud, 1) if own_count else None
    endpoints = [dict(endpoint) for endpoint in old.endpoints]
    http = next((e for e in endpoints if role.web and e.get("kind") == "InputEndpoint"
                 and e.get("protocol") == "http" and e.get("port", "").isdigit()), None)
    if http is not None:
        endpoints.remove(http)
        role.port = int(http["port"])
        if http.get("name") != "HttpIn":
            notes.append(Note(CHANGED, f"role {role.name}: endpoint `{http.get('name')}` (http, port {role.port}) "
                              "is named `HttpIn`, with the template's health probe on /health", DEFINITION_FILE))
        dropped = sorted(set(http) - {"kind", "name", "protocol", "port", "loadBalancerProbe"})
        if dropped:
            notes.append(Note(CHANGED, f"role {role.name}: the {', '.join(f'`{part}`' for part in dropped)} of "
                              f"endpoint `{http.get('name')}` not kept: the template's HttpIn is only its port, "
                              "which IIS listens on", DEFINITION_FILE))
    elif role.web:
        role.port = None  # give_free_ports picks one
    role.endpoints = []
    for endpoint in endpoints:
        attributes = {k: v for k, v in endpoint.items() if k not in ("kind", "loadBalancerProbe", "children")}
        if "loadBalancerProbe" in endpoint:
            notes.append(Note(PERSON, f"role {role.name}: endpoint `{attributes.get('name')}` used the load balancer "
                              f"probe `{endpoint['loadBalancerProbe']}`, which is not carried: it has none now",
                              DEFINITION_FILE))
        role.endpoints.append(plan.Endpoint(endpoint.get("kind", "InputEndpoint"), attributes,
                                            endpoint.get("children", [])))
    role.local_resources = [dict(r) for r in old.local_resources if r.get("name", "").lower() != "diagnosticstore"]
    role.certificates = [
        plan.Certificate(
            name=c.get("name", ""), store_location=c.get("storeLocation", "LocalMachine"),
            store_name=c.get("storeName", "My"), cloud_thumbprint=c["thumbprints"].get(cloud, ""),
            local_thumbprint=c["thumbprints"].get(local) or c["thumbprints"].get(cloud, ""),
            permission_level=c.get("permissionLevel"))
        for c in old.certificates]
    role.settings = merged_settings(role, old, cloud, local, notes)
    https = [e for e in old.endpoints if e.get("kind") == "InputEndpoint" and e.get("protocol") == "https"
             and e.get("port", "").isdigit()]
    teams_https_only = "HTTPS_ONLY" in {setting.name.upper() for setting in old.settings}
    if role.web and teams_https_only:
        notes.append(Note(CHANGED, f"role {role.name}: its own setting HTTPS_ONLY is now also read by role_wsgi.py: "
                          "`true` (or `false`, nothing else) redirects plain http to https, all but /health"))
    elif role.web and https and http is None:
        settings = {setting.name: setting for setting in role.settings}
        settings["HTTPS_ONLY"] = dataclasses.replace(settings["HTTPS_ONLY"], cloud="true")
        role.settings = list(settings.values())
        notes.append(Note(CHANGED, f"role {role.name}: the old service answered it over https only "
                          f"(`{https[0].get('name')}`): HTTPS_ONLY is true in the cloud, so the http endpoint "
                          f"the probe needs redirects every other request to https on port {https[0]['port']}"))
    if role.web:
        role.wsgi_application = plan.ADOPTED_WSGI_APPLICATION
    else:
        role.worker_script = old.entry_point
    sources, kept = adopted_sources(role, old, web_server)
    notes.extend(kept_over_template(old, kept))
    role.adopted = plan.AdoptedCode(
        entry_point=old.entry_point, factory=old.wsgi_factory, settings_module=old.settings_module,
        python_path=list(old.python_path), folder=str(old.folder.resolve()) if adoption.read else None,
        files=list(old.files), kept=kept, sources=sources,
        requirements=missing_requirements(role.name, old, server_requirements(web_server), notes)
        if role.web else [],
        https_port=int(https[0]["port"]) if https else 443)


def missing_requirements(name: str, old: AdoptedRole, needed: list[str], notes: list[Note]) -> list[str]:
    """What of ``needed`` the team's requirements.txt (and the files it includes) lacks. A
    package the team asks for in its own way stays theirs, with a note to check the pin."""
    theirs = read_requirements(old.folder) if old.folder.is_dir() else {}
    for requirement in needed:
        if requirement_name(requirement) in theirs:
            line, number, file = theirs[requirement_name(requirement)]
            if line.replace(" ", "").lower() != requirement.replace(" ", "").lower():
                notes.append(Note(PERSON, f"role {name}: the team's `{line}` stays in place of the template's "
                                  f"`{requirement}`, which the new web.config is written for: make sure that its pin "
                                  "allows it", f"{name}/{file}", number))
    return [requirement for requirement in needed if requirement_name(requirement) not in theirs]


# The template's settings an adopted role keeps: those for any code of the role, and a web role's
# HTTPS_ONLY, which role_wsgi.py reads. The others are read only by the kinds' sample
# applications and the template's queue consumer, which it does not get.
ADOPTED_TEMPLATE_SETTINGS = ("StorageConnectionString", "APPLICATIONINSIGHTS_CONNECTION_STRING", "HTTPS_ONLY")
# What such a setting does in an adopted role, where the kinds' meaning would not be true
# (role_wsgi.py sends no HSTS: the team's application decides its headers).
ADOPTED_MEANINGS = {"HTTPS_ONLY": "'true' once the role has an https endpoint: role_wsgi.py redirects http to https "
                                  "(all but /health)"}


def merged_settings(role, old: AdoptedRole, cloud: str, local: str | None, notes: list[Note]) -> list:
    """The template's settings for any role, then the team's; where both have a name, the team's values."""
    plan = plan_module()
    settings = {setting.name: dataclasses.replace(setting, meaning=ADOPTED_MEANINGS.get(setting.name, setting.meaning))
                for setting in role.settings if setting.name in ADOPTED_TEMPLATE_SETTINGS}
    for theirs in old.settings:
        cloud_value = theirs.values.get(cloud, "")
        local_value = theirs.values.get(local, cloud_value) if local else cloud_value
        if local_value.replace(" ", "").lower().startswith(DEVELOPMENT_STORAGE):
            local_value = plan.AZURITE_CONNECTION_STRING
            notes.append(Note(CHANGED, f"role {role.name}: setting `{theirs.name}` is Azurite's connection string "
                              "locally (its old local value named the retired storage emulator)",
                              "ServiceConfiguration.Local.cscfg"))
        templates = next((name for name in settings if name.upper() == theirs.name.upper()), None)
        if templates is not None:  # one variable on Windows: the template's spelling, the team's values
            settings[templates] = dataclasses.replace(settings[templates], cloud=cloud_value, local=local_value)
            notes.append(Note(CHANGED, f"role {role.name}: setting `{templates}` has the old service's values, "
                              "not the template's"))
            if templates != theirs.name:
                notes.append(Note(PERSON, f"role {role.name}: setting `{theirs.name}` is spelled `{templates}`, "
                                  "as the template's code reads it: Linux and the container tell the two apart, "
                                  "so the team's code that reads it needs the new spelling"))
        else:
            settings[theirs.name] = plan.Setting(theirs.name, cloud=cloud_value, local=local_value,
                                                 meaning=TEAM_SETTING)
    return list(settings.values())


def adopted_layers(web: bool, web_server: str) -> tuple[str, ...]:
    """The folders of roles/ an adopted role is made from, later ones overriding earlier ones."""
    return ("common", "web", web_server, "adopted", "adopted_web") if web else (
        "common", "worker", "adopted", "adopted_worker")


def server_requirements(web_server: str) -> list[str]:
    """The requirements the web server's layer adds to every web role (its _parts/requirements.txt)."""
    text = (plan_module().ROLE_SOURCES / web_server / PARTS / "requirements.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def adopted_sources(role, old: AdoptedRole, web_server: str) -> tuple[list[str], list[str]]:
    """The template's files an adopted role gets ("layer/path", a later layer's replacing an
    earlier one's), and the paths of those that the team's own files replace instead."""
    plan = plan_module()
    chosen: dict[str, str] = {}
    for layer in adopted_layers(role.web, web_server):
        for path in sorted((plan.ROLE_SOURCES / layer).rglob("*")):
            relative = path.relative_to(plan.ROLE_SOURCES / layer)
            source = f"{layer}/{relative.as_posix()}"
            if path.is_file() and relative.parts[0] != PARTS and not source.startswith(plan.NOT_FOR_ADOPTED):
                chosen[relative.as_posix()] = source
    theirs = {name.lower() for name in old.files}
    kept = sorted(relative for relative in chosen if relative.lower() in theirs)
    return [source for relative, source in chosen.items() if relative not in kept], kept


# The template's files that something runs or imports, and what keeping the team's file of
# that name instead means.
RUN_BY_THE_TEMPLATE = {
    "serve.py": "the container's entry point (the Dockerfile runs it), so the image runs yours",
    "dockerfile": "the image's recipe, so `run --containers` and Container Apps build yours",
    "role_wsgi.py": "what IIS and the container serve, so yours must answer /health and hand on the rest",
    "forwarded_headers.py": "what role_wsgi.py imports to judge X-Forwarded-* headers",
    "role_environment.py": "what role_wsgi.py imports to read HTTPS_ONLY",
}


def kept_over_template(role: AdoptedRole, template_files: list[str]) -> list[Note]:
    """Where a file the template would write into the role is one of theirs: theirs wins. Where
    the template runs that file, a person must look."""
    theirs = {name.lower() for name in role.files}
    notes = []
    for name in sorted(template_files):
        if name.lower() not in theirs:
            continue
        if name.lower() in RUN_BY_THE_TEMPLATE:
            notes.append(Note(PERSON, f"the role's own `{name}` is kept; the template's is not written, and it is "
                              f"{RUN_BY_THE_TEMPLATE[name.lower()]}: check that it does what the template's did",
                              f"{role.name}/{name}"))
        else:
            notes.append(Note(CHANGED, f"the role's own `{name}` is kept; the template's is not written",
                              f"{role.name}/{name}"))
    return notes


# --- MIGRATION.md --------------------------------------------------------------------------------

SECTIONS = {
    CARRIED: "Carried over",
    CHANGED: "Changed, and why",
    PERSON: "Needs a person",
}


def where(note: Note) -> str:
    if note.file is None:
        return ""
    return f"`{note.file}`" + (f" line {note.line}" if note.line else "") + ": "


def render_migration(adoption: Adoption, table: list[tuple[str, str, str, str, int]] | None = None) -> str:
    """The text of MIGRATION.md: what was carried over, what changed and why, what needs a person.
    Setting values are never written here. ``table`` has a row (role, kind, entry point, VM size,
    instances) for each role of the new solution; without it, the old service's roles."""
    lines = [
        f"# Migration of {adoption.original_name or adoption.service_name}",
        "",
        f"This solution was adopted from the Visual Studio cloud service `{adoption.folder.resolve().name}`. "
        "The roles' own files were copied unchanged, so their line numbers below are those of the "
        "files in this solution; lines of ServiceDefinition.csdef and the .cscfg files are those of "
        "the old solution.",
        "",
        "| Role | Kind | Entry point | VM size | Instances |",
        "| --- | --- | --- | --- | --- |",
    ]
    cloud = adoption.cloud_configuration
    if table is None:
        table = [(role.name, role.kind, f"`{role.entry_point}{'()' if role.wsgi_factory else ''}`", role.vm_size,
                  role.instances.get(cloud, 1)) for role in adoption.roles]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table]
    for section, title in SECTIONS.items():
        chosen = [note for note in adoption.notes if note.section == section]
        lines += ["", f"## {title}", ""]
        lines += [f"- {where(note)}{note.text}" for note in chosen] or ["- Nothing."]
    return "\n".join(lines) + "\n"


def summary(adoption: Adoption, adopted_roles: list[tuple[str, str]] | None = None) -> str:
    """A few lines for the terminal (no setting values): ``adopted_roles`` are (name, kind) of the
    roles adopted, by default every role of the old service."""
    people = sum(1 for note in adoption.notes if note.section == PERSON)
    roles = ", ".join(f"{name} ({kind})" for name, kind in adopted_roles or
                      [(role.name, role.kind) for role in adoption.roles])
    return f"Adopted {adoption.original_name}: {roles}; {people} item(s) in MIGRATION.md need a person."
