"""``python -m cloudservice check``: is the service ready to be packaged and deployed?

Azure rejects a deployment whose files disagree, often minutes into it and with a
terse error; a role whose start-up script or web.config is wrong fails on the VM. This
command finds those mistakes on the developer's machine. Each rule below is a function
that yields the problems it finds, one line each, ``<file>: <problem>``:

- the service files can be read;
- names agree across ServiceDefinition.csdef, every .cscfg and deploy/main.parameters.json;
- every declared setting has a value in every .cscfg, and no other setting is there;
- public endpoint ports are distinct (one load balancer serves the whole service);
- Cloud Services (extended support) rules: a virtual network with a subnet for every
  role in each cloud .cscfg, a Guest OS family it runs on, ARM VM sizes, no legacy plugin
  imports, settings or certificates, and every certificate from Key Vault;
- every role pins its Python build in one place, as ``prepare`` needs it;
- each role's folder holds the files its start-up task and entry point run, and each site
  (and virtual application) has a folder to be packaged from;
- each web role's web.config names a handler that its start-up script installs and a
  WSGI or ASGI application (``module:attribute``) that exists in the role.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from cloudservice.containerapps import drift as container_apps_agree
from cloudservice.model import (
    ARM_VM_SIZE,
    CLASSIC_DEFAULT_VM_SIZE,
    CLASSIC_VM_SIZES,
    DEFINITION_FILE,
    OLDEST_OS_FAMILY,
    OS_FAMILIES,
    SOLUTION,
    ModelError,
    RoleDefinition,
    Service,
    ServiceConfiguration,
)

REQUIRED_CONFIGURATIONS = ("Cloud", "Local")
LOCAL_CONFIGURATION = "Local"
DEPLOYMENT_CONFIGURATION = "Cloud"
DEPLOY_PARAMETERS = "deploy/main.parameters.json"
DEPLOY_TEMPLATE = "deploy/main.bicep"
VIRTUAL_NETWORK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$")
# A PowerShell script's dot-sourcing of another one beside it.
DOT_SOURCED = re.compile(
    r"^\s*\.\s+\(Join-Path \$PSScriptRoot '([^']+\.ps1)'\)", re.MULTILINE | re.IGNORECASE
)
LEGACY_IMPORTS = ("RemoteAccess", "RemoteForwarder", "Diagnostics")
LEGACY_SETTING_PREFIX = "Microsoft.WindowsAzure.Plugins."
# The certificate the classic remote desktop plugin encrypted its password with.
LEGACY_RDP_CERTIFICATE = "Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption"
VAULT_URL_EXAMPLE = "https://<vault>.vault.azure.net/secrets/<name>/<version>"
# What a start-up script must mention to install what each kind of web.config runs:
# the IIS module and the Python package.
SERVER_NEEDS = {
    "httpplatformhandler": ("HttpPlatformHandler", "waitress"),
    "wfastcgi": ("FastCgi", "wfastcgi"),
}
SERVER_NAMES = {"httpplatformhandler": "HttpPlatformHandler", "wfastcgi": "wfastcgi"}


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the solution, with forward slashes
    text: str

    def __str__(self) -> str:
        return f"{self.file}: {self.text}"


@dataclass
class Solution:
    """What the rules look at: the service, its configurations (those that could be
    read) and the deploy parameters (None when missing or unreadable)."""

    root: Path
    service: Service
    configurations: dict[str, ServiceConfiguration]
    deploy_parameters: dict | None

    def parameter_values(self) -> dict:
        """The value of each parameter in deploy/main.parameters.json."""
        entries = (self.deploy_parameters or {}).get("parameters", {})
        return {
            name: entry.get("value") for name, entry in entries.items() if isinstance(entry, dict)
        }

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def problem(self, error: ModelError) -> Problem:
        return Problem(self.relative(error.source), error.problem)

    def configuration_file(self, configuration: ServiceConfiguration) -> str:
        return self.relative(configuration.path)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def load(root: Path) -> tuple[Solution | None, list[Problem]]:
    """Read the service files: every problem found while reading them (a file that
    cannot be read at all is one problem, and its model is missing)."""
    found: list[ModelError] = []
    try:
        service = Service.load(root, found)
    except ModelError as error:
        found.append(error)
        return None, [Problem(error.source.name, error.problem) for error in found]
    configurations = {}
    for name in service.configuration_names():
        try:
            configurations[name] = service.configuration(name, found)
        except ModelError as error:
            found.append(error)
    problems = [Problem(error.source.name, error.problem) for error in found]
    for name in REQUIRED_CONFIGURATIONS:
        if name not in service.configuration_names():
            problems.append(
                Problem(f"ServiceConfiguration.{name}.cscfg", "not found; the service needs it")
            )
    parameters = None
    try:
        parameters = json.loads((root / DEPLOY_PARAMETERS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(DEPLOY_PARAMETERS, "not found; deploying needs it"))
    except ValueError as error:
        problems.append(Problem(DEPLOY_PARAMETERS, f"is not valid JSON ({error})"))
    if parameters is not None and not (
        isinstance(parameters, dict) and isinstance(parameters.get("parameters", {}), dict)
    ):
        problems.append(
            Problem(DEPLOY_PARAMETERS, 'is not a parameters file: no "parameters" object')
        )
        parameters = None
    if not (root / DEPLOY_TEMPLATE).is_file():
        problems.append(Problem(DEPLOY_TEMPLATE, "not found; deploying needs it"))
    return Solution(root, service, configurations, parameters), problems


def names_agree(solution: Solution) -> Iterator[Problem]:
    definition = solution.service.definition
    defined = [role.name for role in definition.roles]
    for configuration in solution.configurations.values():
        file = solution.configuration_file(configuration)
        if configuration.service_name != definition.name:
            yield Problem(
                file,
                f'serviceName="{configuration.service_name}" differs from the name'
                f' "{definition.name}" in {DEFINITION_FILE}',
            )
        configured = [role.name for role in configuration.roles]
        for name in defined:
            if name not in configured:
                yield Problem(file, f'has no <Role name="{name}">, which {DEFINITION_FILE} defines')
        for name in configured:
            if name not in defined:
                yield Problem(file, f"has a role {name} that {DEFINITION_FILE} does not define")


def settings_have_values(solution: Solution) -> Iterator[Problem]:
    for configuration in solution.configurations.values():
        file = solution.configuration_file(configuration)
        values = {role.name: role.settings for role in configuration.roles}
        for role in solution.service.roles:
            if role.name not in values:
                continue  # names_agree reports it
            # Plugin settings are no_legacy_plugins' to report.
            for name in role.settings:
                if name not in values[role.name] and not name.startswith(LEGACY_SETTING_PREFIX):
                    yield Problem(file, f"role {role.name} gives no value to the setting {name}")
            for name in values[role.name]:
                if name not in role.settings and not name.startswith(LEGACY_SETTING_PREFIX):
                    yield Problem(
                        file,
                        f"role {role.name} has the setting {name}, which {DEFINITION_FILE}"
                        " does not declare for it",
                    )


def setting_xpath(name: str) -> str:
    """What a Runtime <Variable> reads a configuration setting with."""
    return (
        "/RoleEnvironment/CurrentInstance/ConfigurationSettings/"
        f"ConfigurationSetting[@name='{name}']/@value"
    )


def settings_reach_the_roles(solution: Solution) -> Iterator[Problem]:
    """On the VMs a role's processes see a setting only through a Runtime environment
    <Variable> that reads it (run and Container Apps give every setting, so nothing else
    would show the gap before the cloud)."""
    for role in solution.service.roles:
        read = {variable.xpath for variable in role.environment if variable.xpath}
        for name in role.settings:
            if setting_xpath(name) not in read and not name.startswith(LEGACY_SETTING_PREFIX):
                yield Problem(
                    DEFINITION_FILE,
                    f"role {role.name} declares the setting {name}, but no <Variable> of its"
                    " <Runtime><Environment> reads it"
                    f' (<RoleInstanceValue xpath="{setting_xpath(name)}" />):'
                    " its processes on the VMs would not see it",
                )


def ports_are_distinct(solution: Solution) -> Iterator[Problem]:
    """One load balancer serves every public (input) endpoint of the service."""
    taken: dict[int, str] = {}
    probes = {probe.name for probe in solution.service.definition.probes}
    for role in solution.service.roles:
        for endpoint in role.endpoints:
            where = f"{role.name}/{endpoint.name}"
            if endpoint.kind == "InputEndpoint" and endpoint.port is not None:
                if endpoint.port in taken:
                    yield Problem(
                        DEFINITION_FILE,
                        f"the input endpoints {taken[endpoint.port]} and {where} both use"
                        f" port {endpoint.port}; every public port of a service must differ",
                    )
                taken.setdefault(endpoint.port, where)
            if endpoint.probe and endpoint.probe not in probes:
                yield Problem(
                    DEFINITION_FILE,
                    f'the endpoint {where} names the load balancer probe "{endpoint.probe}",'
                    " which is not defined",
                )


def cloud_configurations(solution: Solution) -> list[ServiceConfiguration]:
    return [c for name, c in solution.configurations.items() if name != LOCAL_CONFIGURATION]


def network_is_configured(solution: Solution) -> Iterator[Problem]:
    """CSES deploys every role into a subnet of a virtual network named in the .cscfg."""
    for configuration in cloud_configurations(solution):
        file = solution.configuration_file(configuration)
        if not configuration.virtual_network:
            yield Problem(
                file,
                "has no <NetworkConfiguration><VirtualNetworkSite name=...>; Cloud Services"
                " (extended support) deploys into a virtual network",
            )
        elif not VIRTUAL_NETWORK_NAME.match(configuration.virtual_network):
            yield Problem(
                file,
                f'names the virtual network "{configuration.virtual_network}"; Azure\'s names of'
                " virtual networks have 2-64 letters, digits, '_', '.' and '-', start with a letter"
                " or digit and end with a letter, digit or '_'",
            )
        for role in solution.service.roles:
            if not configuration.subnets.get(role.name):
                yield Problem(
                    file,
                    f'has no <InstanceAddress roleName="{role.name}"> with a subnet under'
                    " NetworkConfiguration/AddressAssignments",
                )
        for name in configuration.subnets:
            if name not in {role.name for role in solution.service.roles}:
                yield Problem(
                    file, f"has an InstanceAddress for {name}, a role {DEFINITION_FILE} lacks"
                )


def os_family_is_supported(solution: Solution) -> Iterator[Problem]:
    """CSES runs the Guest OS families 5, 6 and 7; without osFamily a role gets 5."""
    *newer, newest = (
        f"{family} ({release})"
        for family, release in OS_FAMILIES.items()
        if int(family) >= OLDEST_OS_FAMILY
    )
    supported = f"{', '.join(newer)} or {newest}"
    for configuration in cloud_configurations(solution):
        family = configuration.os_family
        if family is None or (family in OS_FAMILIES and int(family) >= OLDEST_OS_FAMILY):
            continue
        if family in OS_FAMILIES:
            what = f"is {OS_FAMILIES[family]}, a retired Guest OS family"
        else:
            what = "is not a Guest OS family"
        yield Problem(
            solution.configuration_file(configuration),
            f'osFamily="{family}" {what}; Cloud Services (extended support) runs {supported}',
        )


def is_arm_size(vm_size: str | None) -> bool:
    return bool(ARM_VM_SIZE.match(vm_size or ""))


def classic_size(vm_size: str) -> str | None:
    """The classic size name that vm_size is (ignoring case), if it is one."""
    return next((name for name in CLASSIC_VM_SIZES if name.lower() == vm_size.lower()), None)


def vm_sizes_are_arm(solution: Solution) -> Iterator[Problem]:
    for role in solution.service.roles:
        if is_arm_size(role.vm_size):
            continue
        classic = classic_size(role.vm_size or CLASSIC_DEFAULT_VM_SIZE)
        if role.vm_size is None:
            what = f"has no vmsize, which classic Cloud Services took as {CLASSIC_DEFAULT_VM_SIZE}"
        elif classic:
            what = f'has the classic vmsize="{role.vm_size}"'
        else:
            what = f'has vmsize="{role.vm_size}"'
        if classic and CLASSIC_VM_SIZES[classic]:
            use = f'vmsize="{CLASSIC_VM_SIZES[classic]}", the ARM size of {classic}'
        elif classic:
            use = f"an ARM size such as Standard_D1_v2 ({classic} has no ARM equivalent)"
        else:
            use = "an ARM size such as Standard_D1_v2 (Small is Standard_A1_v2)"
        yield Problem(
            DEFINITION_FILE,
            f"role {role.name} {what}; Cloud Services (extended support) needs {use}",
        )


def plugin_settings(role: str, names: list[str], verb: str) -> str:
    listed = ", ".join(names)
    return (
        f"role {role} {verb} the plugin setting{'s' if len(names) > 1 else ''} {listed};"
        " Cloud Services (extended support) has no plugins: remove"
        f" {'them' if len(names) > 1 else 'it'}"
    )


def no_legacy_plugins(solution: Solution) -> Iterator[Problem]:
    """Remote desktop and diagnostics are extensions in CSES, not imported plugins. The
    settings of a plugin are reported here, once per role and file, and by no other rule."""
    for role in solution.service.roles:
        for module in role.imports:
            if module in LEGACY_IMPORTS:
                yield Problem(
                    DEFINITION_FILE,
                    f'role {role.name} imports the plugin "{module}", which Cloud Services'
                    " (extended support) does not support; use an extension instead",
                )
        declared = [name for name in role.settings if name.startswith(LEGACY_SETTING_PREFIX)]
        if declared:
            yield Problem(DEFINITION_FILE, plugin_settings(role.name, declared, "declares"))
    for configuration in solution.configurations.values():
        for role in configuration.roles:
            given = [name for name in role.settings if name.startswith(LEGACY_SETTING_PREFIX)]
            if given:
                yield Problem(
                    solution.configuration_file(configuration),
                    plugin_settings(role.name, given, "has"),
                )


def thumbprint(text: str) -> str:
    return "".join(text.split()).upper()


def certificates_come_from_key_vault(solution: Solution) -> Iterator[Problem]:
    """Every certificate a cloud .cscfg gives a role is one the .csdef declares for it, and
    deploy/main.parameters.json names its Key Vault secret (CSES installs certificates only
    from Key Vault). The classic remote desktop plugin's certificate has no place in CSES."""
    definitions = {role.name: role for role in solution.service.roles}
    for configuration in solution.configurations.values():
        file = solution.configuration_file(configuration)
        for role in configuration.roles:
            if LEGACY_RDP_CERTIFICATE in role.certificates:
                yield Problem(
                    file,
                    f"role {role.name} has the certificate {LEGACY_RDP_CERTIFICATE} of the"
                    " classic remote desktop plugin; Cloud Services (extended support) gives"
                    " remote desktop through the RDP extension: remove the certificate",
                )
    wanted: dict[str, str] = {}  # thumbprint -> which role's certificate
    for configuration in cloud_configurations(solution):
        file = solution.configuration_file(configuration)
        for role in configuration.roles:
            definition = definitions.get(role.name)
            if definition is None:
                continue  # names_agree reports it
            given = {n: t for n, t in role.certificates.items() if n != LEGACY_RDP_CERTIFICATE}
            for name in definition.certificates:
                if name not in given and name != LEGACY_RDP_CERTIFICATE:
                    yield Problem(
                        file,
                        f"role {role.name} gives no thumbprint to the certificate {name}, which"
                        f" {DEFINITION_FILE} declares for it",
                    )
            for name, value in given.items():
                if name not in definition.certificates:
                    yield Problem(
                        file,
                        f"role {role.name} has the certificate {name}, which {DEFINITION_FILE}"
                        " does not declare for it",
                    )
                if configuration.name == DEPLOYMENT_CONFIGURATION:
                    wanted.setdefault(thumbprint(value), f"{name} of role {role.name}")
    parameters = solution.deploy_parameters
    if parameters is None:
        return
    values = solution.parameter_values()
    listed = values.get("certificates") or []
    if not isinstance(listed, list):
        yield Problem(
            DEPLOY_PARAMETERS, "certificates is not a list of {thumbprint, certificateUrl}"
        )
        listed = []
    secrets = {
        thumbprint(str(entry.get("thumbprint", ""))): entry.get("certificateUrl")
        for entry in listed
        if isinstance(entry, dict)
    }
    cloud = f"ServiceConfiguration.{DEPLOYMENT_CONFIGURATION}.cscfg"
    for value, which in wanted.items():
        if value not in secrets:
            entry = json.dumps({"thumbprint": value, "certificateUrl": VAULT_URL_EXAMPLE})
            yield Problem(
                DEPLOY_PARAMETERS,
                f"certificates has no Key Vault secret for the certificate {which} in {cloud}"
                " (Cloud Services (extended support) installs certificates only from Key"
                f" Vault): add {entry}",
            )
        elif not secrets[value]:
            yield Problem(
                DEPLOY_PARAMETERS,
                f"certificates gives the thumbprint {value} no certificateUrl (its secret"
                f" identifier in Key Vault, {VAULT_URL_EXAMPLE})",
            )
    for value in secrets:
        if value not in wanted:
            yield Problem(
                DEPLOY_PARAMETERS,
                f"certificates has the thumbprint {value}, which no role has in {cloud}",
            )
    if secrets and not values.get("keyVaultId"):
        yield Problem(
            DEPLOY_PARAMETERS,
            "keyVaultId is empty, but certificates lists Key Vault secrets; give the"
            " resource ID of the Key Vault that holds them",
        )


def python_is_pinned(solution: Solution) -> Iterator[Problem]:
    for role in solution.service.roles:
        try:
            solution.service.python_pin(role)
        except ModelError as error:
            yield solution.problem(error)


def command_files(command_line: str, base: PureWindowsPath) -> list[str]:
    """The files a start-up task or entry point runs, relative to the role folder: the
    program (from ``base``), the PowerShell scripts it is given (beside the program,
    as ps.cmd finds them) and Python scripts (from the role folder, as LaunchWorker.ps1
    runs them)."""
    words = [word.strip('"') for word in shlex.split(command_line, posix=False)]
    if not words:
        return []
    program = base / words[0]
    files = [program.as_posix()]
    for word in words[1:]:
        suffix = PureWindowsPath(word).suffix.lower()
        if suffix == ".ps1":
            files.append((program.parent / word).as_posix())
        elif suffix == ".py":
            files.append(PureWindowsPath(word).as_posix())
    return files


def role_files(solution: Solution) -> Iterator[Problem]:
    """The role folder holds what Azure runs from it. Startup tasks run from approot\\bin
    in web roles and from approot in worker roles; the entry point from approot."""
    for role in solution.service.roles:
        folder = solution.service.folder(role)
        if not folder.is_dir():
            yield Problem(role.name, f"the folder of the role {role.name} is missing")
            continue
        needed = ["requirements.txt"] + (["web.config"] if role.web else [])
        task_base = PureWindowsPath("bin") if role.web else PureWindowsPath()
        for task in role.startup:
            needed += command_files(task.command_line, task_base)
        if role.entry_point:
            needed += command_files(role.entry_point, PureWindowsPath())
        for name in dict.fromkeys(needed):
            if not (folder / name).is_file():
                yield Problem(f"{role.name}/{name}", "not found; the role needs it")


def sites_have_folders(solution: Solution) -> Iterator[Problem]:
    """cspack packages each site of a web role from a folder: its physicalDirectory
    (relative to the .csdef), or the role folder for the one site without one; so too each
    virtual application and directory in a site, which needs a physicalDirectory."""
    for role in solution.service.roles:
        served_from_role = [site.name for site in role.sites if not site.physical_directory]
        if len(served_from_role) > 1:
            yield Problem(
                DEFINITION_FILE,
                f"role {role.name} has the sites {' and '.join(served_from_role)} without"
                " physicalDirectory; only one site can be served from the role folder: give"
                f" the others a physicalDirectory (relative to {DEFINITION_FILE})",
            )
        for site in role.sites:
            places = []
            if site.physical_directory:
                places.append((f"the site {site.name}", site.physical_directory))
            for virtual in site.virtual_paths:
                what = f"the {virtual.kind} {site.name}/{virtual.path}"
                if not virtual.physical_directory:
                    yield Problem(
                        DEFINITION_FILE,
                        f"role {role.name}: {what} has no physicalDirectory, the folder to"
                        " package it from",
                    )
                else:
                    places.append((what, virtual.physical_directory))
            for what, directory in places:
                folder = solution.root / PureWindowsPath(directory).as_posix()
                if not folder.is_dir():
                    yield Problem(
                        DEFINITION_FILE,
                        f'role {role.name}: {what} has physicalDirectory="{directory}",'
                        " which is not a folder",
                    )


def startup_scripts(solution: Solution, role: RoleDefinition) -> str:
    """The text of the PowerShell scripts the role's startup tasks run, and of the scripts
    beside them that those dot-source (``. (Join-Path $PSScriptRoot 'WebServer.ps1')``)."""
    folder = solution.service.folder(role)
    base = PureWindowsPath("bin") if role.web else PureWindowsPath()
    paths = [
        folder / name
        for task in role.startup
        for name in command_files(task.command_line, base)
        if name.lower().endswith(".ps1")
    ]
    texts, read = [], set()
    while paths:
        path = paths.pop(0)
        if path in read or not path.is_file():
            continue
        read.add(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        paths += [path.parent / name for name in DOT_SOURCED.findall(text)]
    return "\n".join(texts)


def top_level_names(tree: ast.Module) -> set[str] | None:
    """The names a module binds at its top level (also inside top-level if/try blocks);
    None when a star import makes that unknowable."""
    names: set[str] = set()
    statements = list(tree.body)
    while statements:
        statement = statements.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(statement, ast.If | ast.Try | ast.With):
            statements += statement.body + getattr(statement, "orelse", [])
            statements += getattr(statement, "finalbody", [])
            for handler in getattr(statement, "handlers", []):
                statements += handler.body
    return names


def application_problem(folder: Path, application: str, kind: str = "WSGI") -> str | None:
    """What is wrong with a ``module:attribute`` application (WSGI or ASGI) in a role folder."""
    named = f"names the {kind} application {application}"
    module, _, attribute = application.partition(":")
    candidates = [
        folder.joinpath(*module.split(".")).with_suffix(".py"),
        folder.joinpath(*module.split("."), "__init__.py"),
    ]
    source = next((path for path in candidates if path.is_file()), None)
    if source is None:
        return f"{named}, but the role has no module {module}"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except SyntaxError as error:
        return f"{named}, but {module} does not parse ({error})"
    names = top_level_names(tree)
    if names is not None and attribute not in names:
        return f"{named}, but {module} defines no {attribute}"
    return None


def web_config_matches(solution: Solution) -> Iterator[Problem]:
    for role in solution.service.roles:
        if not role.web or not (solution.service.folder(role) / "web.config").is_file():
            continue  # role_files reports a missing web.config
        try:
            web_config = solution.service.web_config(role)
        except ModelError as error:
            yield solution.problem(error)
            continue
        file = solution.relative(web_config.path)
        scripts = startup_scripts(solution, role).lower()
        needs = SERVER_NEEDS[web_config.server]
        if web_config.asgi:
            needs = tuple("uvicorn" if need == "waitress" else need for need in needs)
        missing = [need for need in needs if need.lower() not in scripts]
        if missing:
            yield Problem(
                file,
                f"IIS runs the site with {SERVER_NAMES[web_config.server]}, but no startup task"
                f" script of the role installs {' or '.join(missing)}",
            )
        problem = application_problem(
            solution.service.folder(role),
            web_config.wsgi_application,
            "ASGI" if web_config.asgi else "WSGI",
        )
        if problem:
            yield Problem(file, problem)


def deploy_files_agree(solution: Solution) -> Iterator[Problem]:
    """deploy/main.parameters.json describes the same roles, sizes, instance counts and
    network as the service files (Azure checks the role profile against them)."""
    parameters = solution.deploy_parameters
    cloud = solution.configurations.get(DEPLOYMENT_CONFIGURATION)
    if parameters is None or cloud is None:
        return
    values = solution.parameter_values()
    roles = values.get("roles")
    if not isinstance(roles, list):
        yield Problem(DEPLOY_PARAMETERS, "has no roles parameter (a list of roles)")
        roles = []
    listed = {role.get("name"): role for role in roles if isinstance(role, dict)}
    counts = {role.name: role.instances for role in cloud.roles}
    for role in solution.service.roles:
        entry = listed.pop(role.name, None)
        if entry is None:
            yield Problem(DEPLOY_PARAMETERS, f"roles has no entry for the role {role.name}")
            continue
        if is_arm_size(role.vm_size) and entry.get("vmSize") != role.vm_size:
            yield Problem(
                DEPLOY_PARAMETERS,
                f'role {role.name} has vmSize "{entry.get("vmSize")}", but {DEFINITION_FILE}'
                f' has vmsize="{role.vm_size}"',
            )
        count = counts.get(role.name)
        if count is not None and entry.get("instanceCount") != count:
            yield Problem(
                DEPLOY_PARAMETERS,
                f"role {role.name} has instanceCount {entry.get('instanceCount')}, but"
                f" {solution.configuration_file(cloud)} has {plural(count, 'instance')}",
            )
    for name in listed:
        yield Problem(DEPLOY_PARAMETERS, f"roles has {name}, a role {DEFINITION_FILE} lacks")
    network = values.get("virtualNetworkName")
    if cloud.virtual_network and network != cloud.virtual_network:
        yield Problem(
            DEPLOY_PARAMETERS,
            f'virtualNetworkName is "{network}", but {solution.configuration_file(cloud)}'
            f' names the virtual network "{cloud.virtual_network}"',
        )
    subnet = values.get("subnetName")
    for role_name, subnets in cloud.subnets.items():
        if subnets and subnet not in subnets:
            yield Problem(
                DEPLOY_PARAMETERS,
                f'subnetName is "{subnet}", but {solution.configuration_file(cloud)} puts'
                f" {role_name} in {', '.join(subnets)}",
            )


RULES = (
    names_agree,
    settings_have_values,
    settings_reach_the_roles,
    ports_are_distinct,
    network_is_configured,
    os_family_is_supported,
    vm_sizes_are_arm,
    no_legacy_plugins,
    certificates_come_from_key_vault,
    python_is_pinned,
    role_files,
    sites_have_folders,
    web_config_matches,
    deploy_files_agree,
    container_apps_agree,
)


def problems(root: Path = SOLUTION) -> tuple[Solution | None, list[Problem]]:
    """Every problem of the solution in ``root``, rule by rule."""
    solution, found = load(root)
    if solution is not None:
        for rule in RULES:
            found += rule(solution)
    return solution, found


def summary(solution: Solution) -> str:
    roles = solution.service.roles
    web = sum(role.web for role in roles)
    return (
        f"OK: {solution.service.name}: {plural(len(roles), 'role')} ({web} web,"
        f" {len(roles) - web} worker), configurations {', '.join(solution.configurations)},"
        " deploy files agree"
    )


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check",
        help="find mistakes in the service files before Azure does",
        description="Check ServiceDefinition.csdef, the .cscfg files, the role folders,"
        " the web.config files and deploy/ against each other and against the rules of"
        " Cloud Services (extended support). Prints one line per problem and exits with 1,"
        " or one line of summary.",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    solution, found = problems()
    for problem in found:
        print(problem)
    if found:
        print(f"{plural(len(found), 'problem')} found.", file=sys.stderr)
        return 1
    print(summary(solution))
    return 0
