"""``python -m cloudservice.fabric``: do on a Windows machine what Azure's fabric does on a role
VM, so that the start-up scripts run for real without Azure (the ``windows`` job of
.github/workflows/tests.yml).

``layout ROLE --root FOLDER`` (any system) lays the role out as on the VM:

- ``FOLDER`` is %RoleRoot%: ``approot`` holds the role folder; a web role's site is a second
  copy in ``sitesroot\\<n>``, n being its place among the role's sites, as the package has it;
- ``RoleModel.xml`` records the sites and their folders, as the fabric's does;
- ``resources\\<name>`` is each local storage resource (DiagnosticStore);
- ``environment.json`` holds the variables of the start-up task and of the role's processes,
  from ServiceDefinition.csdef and ServiceConfiguration.Cloud.cscfg, for instance
  ``<Role>_IN_0``. Placeholder values (``REPLACE-WITH-...``) get test values.

``prove ROLE --root FOLDER`` (Windows, elevated, with IIS for a web role) also starts what the
role needs (Azurite for storage, a stand-in for Application Insights' ingestion endpoint),
runs the start-up task twice, and checks the role: a web role answers /health through IIS,
on the site the fabric would make; a worker handles a message from Azurite. It prints what it
checks and exits with 1 at the first check that fails, after printing the role's logs.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import http.server
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path, PureWindowsPath
from xml.etree import ElementTree

from cloudservice import azurite
from cloudservice.environment import Instance, resolve, role_environment
from cloudservice.model import DEFINITION_NS, SOLUTION, RoleDefinition, Service, Variable

CONFIGURATION = "Cloud"
PLACEHOLDER = "REPLACE-WITH"
ENVIRONMENT_FILE = "environment.json"
ROLE_MODEL = "RoleModel.xml"
# A well-formed key that no Application Insights resource has.
INSTRUMENTATION_KEY = "00000000-0000-0000-0000-000000000000"
# Seconds to wait for a site to answer and for a worker to handle a message.
SITE_WAIT = 120
WORKER_WAIT = 180


class ProofFailed(Exception):
    pass


def test_values(storage: str, ingestion: str) -> dict[str, str]:
    """Values for settings whose cloud value is a placeholder, or that must point at the
    stand-ins of the proof."""
    return {
        "StorageConnectionString": storage,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": (
            f"InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint={ingestion}"
        ),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": "http://127.0.0.1,http://localhost",
    }


def settings_for(service: Service, role: RoleDefinition, values: dict[str, str]) -> dict[str, str]:
    """The role's Cloud settings, with the given values in place of the cloud ones."""
    cloud = service.configuration(CONFIGURATION).role(role.name).settings
    settings = {name: values.get(name, cloud.get(name, "")) for name in role.settings}
    left = [name for name, value in settings.items() if PLACEHOLDER in value]
    if left:
        raise ProofFailed(f"no test value for the setting(s) {', '.join(left)} of {role.name}")
    return settings


def resolve_variables(
    variables: tuple[Variable, ...], document: ElementTree.Element
) -> dict[str, str]:
    return {
        variable.name: (variable.value or "")
        if variable.xpath is None
        else resolve(variable.xpath, document)
        for variable in variables
    }


def layout(service: Service, role: RoleDefinition, root: Path, values: dict[str, str]) -> dict:
    """Lay the role out under ``root`` (its %RoleRoot%) and return what ``environment.json``
    holds: {"startup": {...}, "runtime": {...}}."""
    if (root / ENVIRONMENT_FILE).is_file():
        shutil.rmtree(root)  # an earlier layout
    elif root.exists() and any(root.iterdir()):
        raise ProofFailed(f"{root} is not empty and holds no layout: give a new folder")
    source = service.folder(role)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "tests", "conftest.py")
    shutil.copytree(source, root / "approot", ignore=ignore)
    model = ElementTree.Element("RoleModel", xmlns=DEFINITION_NS, name=role.name)
    sites = ElementTree.SubElement(model, "Sites")
    for index, site in enumerate(role.sites):
        folder = PureWindowsPath("sitesroot", str(index))
        shutil.copytree(source, root.joinpath(*folder.parts), ignore=ignore)
        ElementTree.SubElement(sites, "Site", name=site.name, physicalDirectory=str(folder))
    ElementTree.ElementTree(model).write(root / ROLE_MODEL, encoding="utf-8", xml_declaration=True)
    resources = {}
    for storage in role.local_storage:
        resources[storage.name] = (root / "resources" / storage.name).resolve()
        resources[storage.name].mkdir(parents=True)
    instance = Instance(role, 0, 1)
    ports = {endpoint.name: endpoint.port or 0 for endpoint in role.endpoints}
    document = role_environment(
        str(uuid.uuid4().hex), instance, settings_for(service, role, values), ports, resources
    )
    document.find("Deployment").set("emulated", "false")
    environment = {
        "startup": resolve_variables(role.startup[0].environment, document),
        "runtime": resolve_variables(role.environment, document),
    }
    for variables in environment.values():
        variables["RoleRoot"] = str(root.resolve())
    (root / ENVIRONMENT_FILE).write_text(json.dumps(environment, indent=2), encoding="utf-8")
    return environment


def command_folder(root: Path, role: RoleDefinition) -> Path:
    """Where the fabric runs a start-up task: approot\\bin for a web role, approot for a
    worker."""
    return root / "approot" / "bin" if role.web else root / "approot"


def vm_environment(variables: dict[str, str]) -> dict[str, str]:
    """This machine's environment with the role's variables, less what a role VM does not
    have and the scripts would take for the role's own Python."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in {"PYTHON", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV"}
    }
    return {**kept, **variables}


def run_startup(root: Path, role: RoleDefinition, environment: dict) -> int:
    command = role.startup[0].command_line
    print(f"> {command} (in {command_folder(root, role)})", flush=True)
    completed = subprocess.run(
        ["cmd.exe", "/d", "/c", command],
        cwd=command_folder(root, role),
        env=vm_environment(environment["startup"]),
        check=False,
    )
    return completed.returncode


class Ingestion(http.server.BaseHTTPRequestHandler):
    """Stands in for Application Insights' ingestion endpoint: keeps every envelope posted."""

    envelopes: list[dict] = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        try:
            text = body.decode("utf-8")
            # A JSON array (what Send-Trace posts) or one envelope a line (the SDKs).
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            items = []
        if len(items) == 1 and isinstance(items[0], list):
            items = items[0]
        self.envelopes.extend(items)
        answer = json.dumps(
            {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode("utf-8"))

    def log_message(self, *args):
        pass


@contextmanager
def ingestion_endpoint():
    """An ingestion endpoint on 127.0.0.1: yields (its address, the envelopes it got)."""
    handler = type("Handler", (Ingestion,), {"envelopes": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", handler.envelopes
    finally:
        server.shutdown()
        server.server_close()


def traces(envelopes: list[dict], source: str) -> list[str]:
    """The messages of the traces that a script sent."""
    return [
        envelope["data"]["baseData"]["message"]
        for envelope in envelopes
        if envelope.get("data", {}).get("baseType") == "MessageData"
        and envelope["data"]["baseData"].get("properties", {}).get("source") == source
    ]


def check(condition: bool, what: str) -> None:
    if not condition:
        raise ProofFailed(what)
    print(f"ok: {what}", flush=True)


def log_folder(environment: dict) -> Path:
    return Path(environment["startup"]["DIAGNOSTIC_STORE"]) / "LogFiles"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def show_logs(environment: dict) -> None:
    folder = log_folder(environment)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            print(f"---- {path}\n{read(path)}", flush=True)


def appcmd(*arguments: str, check_exit: bool = True) -> str:
    program = Path(os.environ["SYSTEMROOT"], "System32", "inetsrv", "appcmd.exe")
    completed = subprocess.run(
        [str(program), *arguments], capture_output=True, text=True, check=False
    )
    if check_exit and completed.returncode != 0:
        raise ProofFailed(f"appcmd {' '.join(arguments)}: {completed.stdout}{completed.stderr}")
    return completed.stdout


def make_site(root: Path, role: RoleDefinition) -> int:
    """What the fabric's IIS configurator does after the start-up tasks: an application pool
    and a site on the role's sitesroot folder, bound to its endpoint's port."""
    endpoint = next(endpoint for endpoint in role.endpoints if endpoint.kind == "InputEndpoint")
    site = role.sites[0]
    folder = root / "sitesroot" / "0"
    subprocess.run(
        ["icacls.exe", str(folder), "/grant", "*S-1-5-32-568:(OI)(CI)RX", "/Q"], check=True
    )
    appcmd("delete", "site", "Default Web Site", check_exit=False)
    name = f"{role.name}_{site.name}"
    appcmd("add", "apppool", f"/name:{role.name}")
    appcmd(
        "add",
        "site",
        f"/name:{name}",
        f"/bindings:http/*:{endpoint.port}:",
        f"/physicalPath:{folder}",
    )
    appcmd("set", "app", f"{name}/", f"/applicationPool:{role.name}")
    return endpoint.port


def health(port: int) -> int:
    """The status of /health through IIS, trying until the site answers or SITE_WAIT passes."""
    deadline = time.monotonic() + SITE_WAIT
    status = 0
    while time.monotonic() < deadline:
        try:
            address = f"http://127.0.0.1:{port}/health"
            with urllib.request.urlopen(address, timeout=30) as response:  # noqa: S310  # nosec B310
                return response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            pass
        time.sleep(2)
    return status


def role_python(environment: dict) -> Path:
    build = environment["startup"]["PYTHON_BUILD"]
    return Path(os.environ["PROGRAMDATA"], "CloudService", f"python.{build}", "tools", "python.exe")


SEND_MESSAGE = """
import base64, os, sys
from azure.storage.queue import QueueClient
connection, name = os.environ["StorageConnectionString"], os.environ["QueueName"]
queue = QueueClient.from_connection_string(connection, name)
try:
    queue.create_queue()
except Exception as error:
    if "QueueAlreadyExists" not in str(error):
        raise
text = sys.argv[1]
if os.environ.get("MessageEncoding", "text").lower() == "base64":
    text = base64.b64encode(text.encode("utf-8")).decode("ascii")
queue.send_message(text)
"""


def prove_worker(root: Path, environment: dict, envelopes: list[dict]) -> None:
    """Runs the entry point as the fabric does, sends a message with the role's own Python
    and packages, and waits for the worker to log that it handled it."""
    runtime = vm_environment(environment["runtime"])
    output = log_folder(environment) / "LaunchWorker.log"
    worker = subprocess.Popen(
        ["cmd.exe", "/d", "/c", "bin\\ps.cmd LaunchWorker.ps1 worker.py"],
        cwd=root / "approot",
        env=runtime,
    )
    try:
        subprocess.run(
            [str(role_python(environment)), "-c", SEND_MESSAGE, "proof"], env=runtime, check=True
        )
        deadline = time.monotonic() + WORKER_WAIT
        while (
            "handled in" not in read(output)
            and worker.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(2)
        check(worker.poll() is None, "the worker keeps running")
        check("handled in" in read(output), "the worker handled the message (LaunchWorker.log)")
    finally:
        subprocess.run(["taskkill.exe", "/T", "/F", "/PID", str(worker.pid)], check=False)
        worker.wait()
    started = traces(envelopes, "LaunchWorker.ps1")
    check(
        any("Starting the worker" in message for message in started),
        "LaunchWorker.ps1 sent its start",
    )


def prove_startup(
    root: Path, role: RoleDefinition, environment: dict, envelopes: list[dict], run: int
) -> None:
    check(run_startup(root, role, environment) == 0, f"start-up task, run {run}: exit code 0")
    logs = log_folder(environment)
    done = [
        line
        for line in read(logs / "ConfigureCloudService.log").splitlines()
        if line.endswith(" Done.")
    ]
    check(len(done) == run, f"ConfigureCloudService.log: {run} run(s) done")
    caught = read(logs / "ConfigureCloudService.stderr.log").count("exited with code 0")
    check(caught == run, f"ps.cmd: {run} exit code(s) 0 in ConfigureCloudService.stderr.log")
    check(
        (logs / "ConfigureCloudService.stdout.log").is_file(), "ps.cmd caught the script's output"
    )
    sent = traces(envelopes, "ConfigureCloudService.ps1")
    check(
        sent.count("Done.") == run, f"Application Insights got the start-up task's lines, run {run}"
    )


def prove(service: Service, role: RoleDefinition, root: Path) -> None:
    if os.name != "nt":
        raise ProofFailed("prove runs on Windows only; layout runs anywhere")
    if not ctypes.windll.shell32.IsUserAnAdmin():
        raise ProofFailed("the start-up task runs elevated: run this as an administrator")
    # Only a worker uses storage; a web role's setting points where Azurite would be.
    storage = nullcontext() if role.web else azurite.running(root.parent / f"{root.name}-azurite")
    with storage as emulator, ingestion_endpoint() as (address, envelopes):
        connection = azurite.connection_string() if emulator is None else emulator.connection_string
        environment = layout(service, role, root, test_values(connection, address))
        try:
            prove_startup(root, role, environment, envelopes, 1)
            if role.web:
                web_config = root / "sitesroot" / "0" / "web.config"
                configured = web_config.read_bytes()
                check(
                    b"ConfigureCloudService.ps1" not in configured, "web.config has the VM's paths"
                )
                port = make_site(root, role)
                check(health(port) == 200, f"/health answers 200 through IIS on port {port}")
                prove_startup(root, role, environment, envelopes, 2)
                check(
                    web_config.read_bytes() == configured,
                    "a second run leaves web.config as it was",
                )
                check(health(port) == 200, "/health still answers 200 after the second run")
                if b"wfastcgi" in configured:
                    fastcgi = appcmd("list", "config", "/section:system.webServer/fastCGI")
                    check(
                        fastcgi.count("<application ") == 1,
                        "one FastCGI application after two runs",
                    )
                    check(
                        'signalBeforeTerminateSeconds="30"' in fastcgi,
                        "IIS signals wfastcgi 30 s before it stops python.exe",
                    )
            else:
                prove_startup(root, role, environment, envelopes, 2)
                prove_worker(root, environment, envelopes)
        except (ProofFailed, subprocess.CalledProcessError):
            show_logs(environment)
            raise
        show_logs(environment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudservice.fabric", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("action", choices=("layout", "prove"))
    parser.add_argument("role", help="the role's name")
    parser.add_argument(
        "--root", type=Path, required=True, help="the folder to lay the role out in (%%RoleRoot%%)"
    )
    args = parser.parse_args(argv)
    service = Service.load(SOLUTION)
    role = service.role(args.role)
    try:
        if args.action == "layout":
            values = test_values(azurite.connection_string(), "http://127.0.0.1:9/")
            environment = layout(service, role, args.root.resolve(), values)
            print(json.dumps(environment, indent=2))
        else:
            prove(service, role, args.root.resolve())
            print(f"{role.name}: proved")
    except (ProofFailed, subprocess.CalledProcessError) as error:
        print(f"FAILED: {role.name}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
