"""Check the answers and plan the roles: what every other part of the template reads.

A bad answer is an ``AnswerError``, whose text is the one line the user sees,
``<field>: <what is wrong>; <what is allowed>``.

A good set of answers becomes the role plan (``make_plan``): the list of roles with their
names, kinds, ports, queue names and settings, and the answers parsed. Cookiecutter's own
process makes it once, through local_extensions.py, and hands it to the post-generation
hook in that hook's rendered source.

This file is not a hook (cookiecutter runs only the files of hooks/ named after one):
local_extensions.py loads it by path, and so do the tests.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

# An adopted role is made of the template's infrastructure around the team's own code: the
# layers of adopted_layers(), without the kinds' sample applications, the tests of them and the
# layers' _parts. Its web roles are served through a module of their own
# (roles/adopted_web/role_wsgi.py), which answers /health; its workers run the team's script,
# which their one test compiles (roles/adopted_worker/).
NOT_FOR_ADOPTED = (
    "web/security_headers.py", "web/tests/test_entry_point.py", "web/tests/test_served_pages.py",
    "httpplatformhandler/tests/test_behind_iis.py",
    "worker/worker.py", "worker/queue_consumer.py", "worker/conftest.py", "worker/requirements.txt", "worker/tests/",
)
ADOPTED_WSGI_APPLICATION = "role_wsgi:application"

SERVICE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,61}[A-Za-z0-9]$")
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
# Azure's names of VM sizes: family (capitals), vCPUs, constrained vCPUs, features (small
# letters; never v, which marks the version), memory or constrained cores (_8), accelerator
# or _cc, version (_v and a number; _V2 at the end is a misspelt version), as in
# Standard_D1_v2, Standard_E4-2ds_v5, Standard_M416s_8_v2 or Standard_NC24ads_A100_v4. The
# solution's cloudservice/model.py has the same ARM_VM_SIZE, for its `check`.
VM_SIZE = re.compile(
    r"^(?!.*_V[0-9]+$)Standard_[A-Z]+[0-9]+(-[0-9]+)?[a-uw-z]*(_[0-9]+)?(_[A-Z][A-Z0-9]*|_cc)?(_v[0-9]+)?$"
)
VIRTUAL_NETWORK_NAME_LENGTH = 64
WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{device}{n}" for device in ("COM", "LPT") for n in range(1, 10)
}
# Folders at the solution root. A role folder may not take one of these names
# (tests check this list against what the template really generates).
SOLUTION_FOLDERS = {"cloudservice", "deploy", "infra"}
# What each role folder is made from: a folder of layers (common, web, each web server, each
# kind), beside the solution's template rather than in it, so that cookiecutter never copies it.
ROLE_SOURCES = Path(__file__).resolve().parent.parent / "roles"
WEB_SERVERS = ("httpplatformhandler", "wfastcgi")
OS_FAMILIES = ("7", "6")
FIRST_WEB_PORT = 80
NEXT_WEB_PORTS_FROM = 8080
MAX_INSTANCES = 1000
# "It can contain up to 25 roles" (Microsoft's ServiceDefinition schema page for Cloud
# Services (extended support), learn.microsoft.com/azure/cloud-services-extended-support/schema-csdef-file).
MAX_ROLES = 25

AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
CLOUD_STORAGE_PLACEHOLDER = (
    "DefaultEndpointsProtocol=https;AccountName=REPLACE-WITH-STORAGE-ACCOUNT;"
    "AccountKey=REPLACE-WITH-STORAGE-KEY;EndpointSuffix=core.windows.net"
)


class AnswerError(ValueError):
    """An answer that cannot be used; str() is the one-line message for the user."""

    def __init__(self, field_name: str, problem: str, allowed: str):
        super().__init__(f"{field_name}: {problem}; {allowed}")


@dataclass(frozen=True)
class Setting:
    """A configuration setting: declared in the .csdef, valued in each .cscfg,
    and seen by the role's processes as an environment variable of the same name."""

    name: str
    cloud: str
    local: str
    meaning: str


# QueueName's value: the role's own queue, named after the role (queue_name_for).
THE_ROLES_QUEUE = "(the role's queue)"

# Every role's settings, then every web role's, then those of its kind (KINDS).
COMMON_SETTINGS = (
    Setting(
        "StorageConnectionString",
        cloud=CLOUD_STORAGE_PLACEHOLDER,
        local=AZURITE_CONNECTION_STRING,
        meaning="connection string of the storage account (Azurite when run locally)",
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        cloud="",
        local="",
        meaning="Application Insights connection string; empty sends no telemetry",
    ),
)
WEB_SETTINGS = (
    Setting(
        "SECRET_KEY",
        cloud="REPLACE-WITH-A-LONG-RANDOM-SECRET",
        local="",
        meaning="the secret that signs sessions, cookies or tokens; locally a per-solution key from .local-secret-key",
    ),
    # The endpoints are plain http until a certificate is added: the site must work
    # over http as generated, and turn strict once https is there.
    Setting(
        "HTTPS_ONLY",
        cloud="false",
        local="false",
        meaning="'true' once the role has an https endpoint: redirects http to https "
        "(all but /health) and sends HSTS",
    ),
)
DJANGO_SETTINGS = (
    Setting(
        "ALLOWED_HOSTS",
        cloud="REPLACE-WITH-YOUR-DNS-LABEL.REPLACE-WITH-YOUR-REGION.cloudapp.azure.com",
        local="127.0.0.1,localhost",
        meaning="comma-separated host names the site answers to",
    ),
    Setting(
        "CSRF_TRUSTED_ORIGINS",
        cloud="https://REPLACE-WITH-YOUR-DNS-LABEL.REPLACE-WITH-YOUR-REGION.cloudapp.azure.com",
        local="http://127.0.0.1,http://localhost",
        meaning="comma-separated origins trusted for unsafe (POST) requests",
    ),
    Setting("DEBUG", cloud="false", local="false", meaning="'true' shows Django's debug pages"),
)
# The worker's code takes the cloud value of each as its default (queue_consumer.py).
WORKER_SETTINGS = (
    Setting(
        "StorageQueueEndpoint",
        cloud="",
        local="",
        meaning="the account's queue endpoint (https://ACCOUNT.queue.core.windows.net), used with "
        "the managed identity when StorageConnectionString is empty",
    ),
    Setting("QueueName", cloud=THE_ROLES_QUEUE, local=THE_ROLES_QUEUE, meaning="the queue this worker reads"),
    Setting(
        "MaxDequeueCount",
        cloud="5",
        local="5",
        meaning="tries before a message moves to the poison queue (QueueName-poison)",
    ),
    Setting(
        "VisibilityTimeoutSeconds",
        cloud="30",
        local="30",
        meaning="how long a received message stays hidden from other workers",
    ),
    Setting(
        "MaxIdleBackoffSeconds",
        # Short locally, so that a worker run here sees a new message within seconds;
        # in the cloud every poll is a storage transaction, billed.
        cloud="60",
        local="2",
        meaning="the longest wait between polls of an empty queue",
    ),
    Setting(
        "MessageEncoding",
        cloud="text",
        local="text",
        meaning="'text' (plain UTF-8) or 'base64' (what Azure Functions writes)",
    ),
)


@dataclass(frozen=True)
class Kind:
    """A role kind. Its files are the folder ``roles/<name>/`` (its requirements.txt among
    them); these are the facts about it that the rest of the template reads."""

    name: str  # as the roles answer gives it
    default_role_name: str  # for a bare kind in the roles answer
    summary: str  # in the roles question and the README's table of kinds
    # Web kinds: where the server finds the application ("module:attribute"); an ASGI
    # application is served by uvicorn (which wfastcgi, WSGI only, cannot stand in for),
    # a WSGI one by waitress or wfastcgi.
    application: str | None = None
    settings: tuple[Setting, ...] = ()  # after the common and the web ones
    asgi: bool = False
    # debugpy's switch that lets breakpoints stop in the kind's templates (.vscode/launch.json).
    template_debugging: str | None = None

    @property
    def web(self) -> bool:
        return self.application is not None


KINDS = {
    kind.name: kind
    for kind in (
        Kind("django", "DjangoWebRole", "a Django site", "website.wsgi:application", DJANGO_SETTINGS,
             template_debugging="django"),
        Kind("flask", "FlaskWebRole", "a Flask app", "wsgi:app", template_debugging="jinja"),
        Kind("bottle", "BottleWebRole", "a Bottle app", "wsgi:app"),
        Kind("wsgi", "WebRole", "a WSGI app with no framework", "wsgi:application"),
        Kind("fastapi", "FastApiWebRole", "a FastAPI app (ASGI)", "asgi:app", asgi=True),
        Kind("worker", "WorkerRole", "a queue worker", settings=WORKER_SETTINGS),
    )
}


@dataclass
class Endpoint:
    """An endpoint of an adopted role besides a web role's HttpIn, as its old .csdef had it."""

    element: str  # InputEndpoint, InternalEndpoint or InstanceInputEndpoint
    attributes: dict[str, str]  # name, protocol, port, ... as written in the .csdef
    # Its child elements, each {"element", "attributes", "children"}: an InstanceInputEndpoint's
    # AllocatePublicPortFrom, an InternalEndpoint's FixedPort or FixedPortRange.
    children: list[dict] = field(default_factory=list)


@dataclass
class Certificate:
    """A certificate of an adopted role: declared in the .csdef, its thumbprint in each .cscfg."""

    name: str
    store_location: str
    store_name: str
    cloud_thumbprint: str
    local_thumbprint: str
    thumbprint_algorithm: str = "sha1"
    permission_level: str | None = None


@dataclass
class AdoptedCode:
    """The team's own code of an adopted role (hooks/adopt.py): how it starts, and its files."""

    entry_point: str  # "module:attribute" of the WSGI application, or the worker's script
    factory: bool = False  # the entry point is called to make the application
    settings_module: str | None = None  # DJANGO_SETTINGS_MODULE
    python_path: list[str] = field(default_factory=list)  # role folders the imports also start from
    folder: str | None = None  # the old role folder, when it is read (not on a cruft update)
    files: list[str] = field(default_factory=list)  # the team's files, copied from folder
    kept: list[str] = field(default_factory=list)  # the template's files that theirs replace
    sources: list[str] = field(default_factory=list)  # the template's files it gets: "layer/path"
    requirements: list[str] = field(default_factory=list)  # added to theirs when missing
    https_port: int = 443  # a web role's https endpoint, where HTTPS_ONLY sends plain http


@dataclass
class Role:
    name: str
    kind: str
    web: bool
    port: int | None = None
    wsgi_application: str | None = None
    asgi: bool = False
    app_server: str | None = None  # what serves the application: waitress or uvicorn
    template_debugging: str | None = None  # the kind's (Kind.template_debugging)
    queue_name: str | None = None
    settings: list[Setting] = field(default_factory=list)
    # What an adopted role brings from its old .csdef and .cscfg files; a new role has none
    # of it (its VM size and cloud instances are then the vm_size and instance_count answers).
    vm_size: str | None = None
    instances: int | None = None
    endpoints: list[Endpoint] = field(default_factory=list)
    local_resources: list[dict[str, str]] = field(default_factory=list)  # LocalStorage attributes
    certificates: list[Certificate] = field(default_factory=list)
    adopted: AdoptedCode | None = None
    worker_script: str = "worker.py"  # what a worker's entry point runs, relative to its folder


def split_role_answer(answer: str) -> list[tuple[str | None, str]]:
    """``"Api:flask, worker"`` -> ``[("Api", "flask"), (None, "worker")]``."""
    pairs = []
    for item in re.split(r"[\s,]+", answer.strip()):
        if not item:
            continue
        name, colon, kind = item.rpartition(":")
        if (colon and (not name or not kind or ":" in name)) or (not colon and not re.fullmatch(r"[\w-]+", item)):
            raise AnswerError(
                "roles",
                f"'{item}' is not a Name:kind pair",
                "write Name:kind or a bare kind, separated by spaces or commas",
            )
        pairs.append((name or None, kind.lower()))
    if not pairs:
        raise AnswerError("roles", "no roles given", f"give at least one of {', '.join(KINDS)}")
    if len(pairs) > MAX_ROLES:
        raise AnswerError(
            "roles",
            f"{len(pairs)} roles given, and a cloud service holds at most {MAX_ROLES} roles",
            f"give at most {MAX_ROLES} (Azure's limit per service definition)",
        )
    return pairs


def check_device_name(field_name: str, name: str) -> None:
    if name.upper() in WINDOWS_DEVICE_NAMES:
        raise AnswerError(
            field_name,
            f"'{name}' is a reserved device name on Windows",
            "choose a name other than CON, PRN, AUX, NUL, COM1-9 or LPT1-9",
        )


def check_role_name(name: str) -> None:
    if not ROLE_NAME.match(name):
        raise AnswerError(
            "roles",
            f"'{name}' is not a valid role name",
            "start with a letter; use letters, digits, '_' and '-'; at most 63 characters",
        )
    check_device_name("roles", name)
    if name.lower() in SOLUTION_FOLDERS:
        raise AnswerError(
            "roles",
            f"'{name}' is already a folder of the solution",
            f"choose a name other than {', '.join(sorted(SOLUTION_FOLDERS))}",
        )


def same_name_key(name: str) -> str:
    """What two role names must differ in: not only case (they are folders, and Windows folds
    case) nor only '-' and '_' (queue names and the Container Apps names fold those)."""
    return re.sub(r"[-_]", "", name.lower())


def name_roles(pairs: list[tuple[str | None, str]]) -> list[tuple[str, str]]:
    """Give bare kinds their default names (numbered from 2 when repeated) and check
    that every name is valid and unique, ignoring case, '-' and '_'."""
    for _, kind in pairs:
        if kind not in KINDS:
            raise AnswerError("roles", f"unknown role kind '{kind}'", f"kinds are {', '.join(KINDS)}")
    taken: set[str] = set()
    for name, _ in pairs:
        if name is None:
            continue
        check_role_name(name)
        if same_name_key(name) in taken:
            raise AnswerError(
                "roles",
                f"the role name '{name}' is used twice (names are compared ignoring case, '-' and '_')",
                "give every role its own name",
            )
        taken.add(same_name_key(name))

    named = []
    for name, kind in pairs:
        if name is None:
            default = name = KINDS[kind].default_role_name
            number = 1
            while same_name_key(name) in taken:
                number += 1
                name = f"{default}{number}"
            taken.add(same_name_key(name))
        named.append((name, kind))
    return named


def queue_name_for(role_name: str) -> str:
    """A valid storage queue name (3-63 characters: lower-case letters, digits, single
    hyphens) that leaves room for the '-poison' suffix."""
    name = re.sub(r"[^a-z0-9]+", "-", role_name.lower()).strip("-")
    if len(name) < 3:
        name = f"{name}-queue"
    return name[: 63 - len("-poison")].rstrip("-")


def settings_for(role: Role) -> list[Setting]:
    settings = [*COMMON_SETTINGS, *(WEB_SETTINGS if role.web else ()), *KINDS[role.kind].settings]
    return [
        replace(setting, cloud=role.queue_name, local=role.queue_name) if setting.cloud == THE_ROLES_QUEUE else setting
        for setting in settings
    ]


def plan_roles(answer: str) -> list[Role]:
    roles = []
    next_port = NEXT_WEB_PORTS_FROM
    for name, kind in name_roles(split_role_answer(answer)):
        role = Role(name=name, kind=kind, web=KINDS[kind].web)
        if role.web:
            role.wsgi_application = KINDS[kind].application
            role.asgi = KINDS[kind].asgi
            role.template_debugging = KINDS[kind].template_debugging
            role.app_server = "uvicorn" if role.asgi else "waitress"
            if not any(r.web for r in roles):
                role.port = FIRST_WEB_PORT
            else:
                role.port, next_port = next_port, next_port + 1
        else:
            role.queue_name = queue_name_for(name)
            same = next((r.name for r in roles if r.queue_name == role.queue_name), None)
            if same is not None:
                raise AnswerError("roles", f"the workers '{same}' and '{name}' would read one queue, "
                                  f"'{role.queue_name}'", "names that differ in more than case and punctuation "
                                  f"within their first {63 - len('-poison')} characters")
        role.settings = settings_for(role)
        roles.append(role)
    return roles


def check_service_name(value: str) -> None:
    if not SERVICE_NAME.match(value):
        raise AnswerError(
            "service_name",
            f"'{value}' is not a valid service name",
            "3-63 letters, digits and hyphens, starting with a letter and ending with a letter or digit",
        )
    # The solution folder takes this name.
    check_device_name("service_name", value)


def check_one_line(field_name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise AnswerError(field_name, "the answer has a line break", "write a single line")


def check_choice(field_name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise AnswerError(field_name, f"'{value}' is not offered", f"choose one of {', '.join(allowed)}")


def parse_instance_count(value: object) -> int:
    text = str(value).strip()
    allowed = f"give a whole number from 1 to {MAX_INSTANCES}"
    if not text.isascii() or not text.isdigit():
        raise AnswerError("instance_count", f"'{value}' is not a whole number of instances", allowed)
    if int(text) < 1:
        raise AnswerError("instance_count", f"'{value}' instances: a role needs at least 1", allowed)
    if int(text) > MAX_INSTANCES:
        raise AnswerError("instance_count", f"'{value}' instances is more than {MAX_INSTANCES}", allowed)
    return int(text)


def check_vm_size(value: str) -> str:
    size = value.strip()
    if not VM_SIZE.match(size):
        raise AnswerError(
            "vm_size",
            f"'{value}' is not an ARM VM size",
            "use a name such as Standard_D1_v2, Standard_A2_v2 or Standard_D2s_v3 (legacy 'Small' is"
            " Standard_A1_v2)",
        )
    return size


def check_answer(field_name: str, answers: dict) -> None:
    """Check one answer as soon as it is given, on its own or with those before it
    (local_extensions.py runs this after each question). An ASGI role that the web server
    cannot serve is refused as the roles answer, however it was found."""
    value = answers[field_name]
    if field_name == "service_name":
        check_service_name(str(value))
    elif field_name in ("description", "author_name"):
        check_one_line(field_name, str(value))
    elif field_name == "roles":
        plan_roles(str(value))
    elif field_name == "vm_size":
        check_vm_size(str(value))
    elif field_name == "instance_count":
        parse_instance_count(value)
    elif field_name == "os_family":
        check_choice("os_family", str(value).strip(), OS_FAMILIES)
    elif field_name == "python_version":
        check_choice("python_version", str(value), tuple(answers["_python_builds"]))
    elif field_name == "web_server":
        check_choice("web_server", str(value), WEB_SERVERS)
        check_web_server_serves(plan_roles(str(answers["roles"])), str(value))
    elif field_name == "install_packages":
        parse_flag("install_packages", value)
    else:
        raise KeyError(f"no check for the answer {field_name}")


def check_web_server_serves(roles: list[Role], web_server: str) -> None:
    asgi = [role for role in roles if role.asgi]
    if asgi and web_server == "wfastcgi":
        raise AnswerError(
            "roles",
            f"'{asgi[0].name}' is a {asgi[0].kind} role, an ASGI application, which wfastcgi (WSGI only) cannot serve",
            "answer web_server=httpplatformhandler (uvicorn behind HttpPlatformHandler), or leave the role out",
        )


def parse_flag(field_name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes", "y", "on"}:
        return True
    if text in {"0", "false", "f", "no", "n", "off"}:
        return False
    raise AnswerError(field_name, f"'{value}' is not yes or no", "answer true/false or yes/no")


# The answers make_plan reads: equal answers make an equal plan.
PLANNED_ANSWERS = (
    "adopt_from", "__adoption", "service_name", "description", "author_name", "roles", "python_version",
    "_python_builds", "web_server", "vm_size", "instance_count", "os_family", "install_packages",
)


def adopt_roles(answers: dict, roles: list[Role]) -> dict:
    """Make the planned roles that the old service has (adopt_from) its roles, in place; return
    what the plan adds: MIGRATION.md and the summary to print."""
    import local_extensions  # the template's root is on sys.path under cookiecutter, cruft and the tests

    adopt = local_extensions.hook_module("adopt")
    folder, record = str(answers["adopt_from"]).strip(), answers.get("__adoption") or ""
    if record and not Path(folder).is_dir():
        # A later generation (`cruft update`) without the old folder: the record of the first one.
        return adopt.adopt_planned_roles(adopt.from_record(record), roles, answers)
    return adopt.adopt_planned_roles(local_extensions.adoption(folder), roles, answers)


def virtual_network_name(service_name: str) -> str:
    """The service's virtual network, <service_name>-vnet, within Azure's 64 characters."""
    return f"{service_name[:VIRTUAL_NETWORK_NAME_LENGTH - len('-vnet')].rstrip('-')}-vnet"


def make_plan(answers: dict) -> dict:
    """Check every answer; return what the post-generation hook needs, parsed."""
    check_service_name(answers["service_name"])
    check_one_line("description", answers["description"])
    check_one_line("author_name", answers["author_name"])
    adopting = bool(str(answers.get("adopt_from") or "").strip())
    roles = plan_roles(answers["roles"])
    check_choice("python_version", answers["python_version"], tuple(answers["_python_builds"]))
    check_choice("web_server", answers["web_server"], WEB_SERVERS)
    check_web_server_serves(roles, answers["web_server"])
    vm_size = check_vm_size(answers["vm_size"])
    check_choice("os_family", str(answers["os_family"]).strip(), OS_FAMILIES)
    adoption = adopt_roles(answers, roles) if adopting else {}
    return {
        "roles": [asdict(role) for role in roles],
        # An adopted role's own Python files, which the solution's lint gates leave out.
        "team_code": [f"{role.name}/{name}" for role in roles if role.adopted
                      for name in role.adopted.files if name.endswith(".py")],
        **adoption,
        # Answers as the files use them: spaces around a VM size are dropped, and an
        # author of spaces alone is none (no copyright line).
        "cleaned_answers": {"vm_size": vm_size, "author_name": answers["author_name"].strip(),
                            "os_family": str(answers["os_family"]).strip()},
        "virtual_network": virtual_network_name(answers["service_name"]),
        "instance_count": parse_instance_count(answers["instance_count"]),
        "install_packages": parse_flag("install_packages", answers["install_packages"]),
        "python_build": answers["_python_builds"][answers["python_version"]],
    }
