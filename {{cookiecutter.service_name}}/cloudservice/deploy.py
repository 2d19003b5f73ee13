"""``python -m cloudservice deploy``: create or update the cloud service in Azure.

With the Azure CLI (``az``, signed in with ``az login``), in a resource group and with a
storage account that exist:

1. upload the package (.cspkg, from ``package``) and ServiceConfiguration.Cloud.cscfg to
   a private blob container, under a folder of their own for this deployment;
2. make a read-only SAS URL for each that expires in two hours (a user delegation SAS,
   signed with the user's Azure AD sign-in, unless ``--auth-mode key``);
3. deploy deploy/main.bicep with deploy/main.parameters.json and those URLs, which
   updates the cloud service (or creates it, where Azure still allows that) in the virtual
   network and behind the public IP address that main.parameters.json names: both must
   exist.

The URLs, and the Remote Desktop password of ``--rdp-user``, reach az in a parameters
file, never on a command line, where they would show in the process list (and ``&`` would
end the command in cmd.exe, which runs az on Windows). ``--dry-run`` prints the az commands
and runs nothing.

Cloud Services (extended support) retires on 2027-03-31, and Azure has refused to
create new ones since about April 2026: updating a service that exists still works.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cloudservice import check
from cloudservice.model import SOLUTION, Service, ServiceConfiguration

CONFIGURATION = "Cloud"
TEMPLATE = Path("deploy", "main.bicep")
PARAMETERS = Path("deploy", "main.parameters.json")
DEFAULT_CONTAINER = "cloudservice-deployments"
SAS_LIFETIME = datetime.timedelta(hours=2)
PLACEHOLDER = "REPLACE-WITH"
# Stands for the parameters file with the SAS URLs, which exists only while deploy runs.
URLS_FILE = "<urls.json>"
PARAMETERS_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
)
AZ_HELP = "https://learn.microsoft.com/cli/azure/install-azure-cli"
RDP_VARIABLE = "CLOUDSERVICE_RDP_PASSWORD"


@dataclass(frozen=True)
class Plan:
    """What a deployment uploads where, and the az commands that do it."""

    service: Service
    resource_group: str
    location: str
    account: str
    container: str
    auth_mode: str
    package: Path
    configuration: Path
    folder: str  # the blob folder of this deployment
    expiry: str  # when the SAS URLs stop working, UTC, as az takes it
    deployment: str  # the name of the ARM deployment

    def blob(self, file: Path) -> str:
        return f"{self.folder}/{file.name}"

    def storage(self) -> list[str]:
        return [f"--account-name={self.account}", f"--auth-mode={self.auth_mode}"]

    def create_container(self) -> list[str]:
        return ["az", "storage", "container", "create", *self.storage(),
                f"--name={self.container}", "--output=none"]  # fmt: skip

    def upload(self, file: Path) -> list[str]:
        return ["az", "storage", "blob", "upload", *self.storage(),
                f"--container-name={self.container}", f"--name={self.blob(file)}",
                f"--file={file}", "--overwrite", "--output=none"]  # fmt: skip

    def read_url(self, file: Path) -> list[str]:
        delegation = ["--as-user"] if self.auth_mode == "login" else []
        return ["az", "storage", "blob", "generate-sas", *self.storage(), *delegation,
                f"--container-name={self.container}", f"--name={self.blob(file)}",
                "--permissions=r", f"--expiry={self.expiry}", "--https-only", "--full-uri",
                "--output=tsv"]  # fmt: skip

    def deploy(self, urls_file: str) -> list[str]:
        root = self.service.root
        return ["az", "deployment", "group", "create",
                f"--resource-group={self.resource_group}", f"--name={self.deployment}",
                f"--template-file={root / TEMPLATE}", f"--parameters=@{root / PARAMETERS}",
                f"--parameters=@{urls_file}", "--query=properties.outputs.fqdn.value",
                "--output=tsv"]  # fmt: skip


def make_plan(service: Service, args: argparse.Namespace, now: datetime.datetime) -> Plan:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return Plan(
        service=service,
        resource_group=args.resource_group,
        location=args.location,
        account=args.storage_account,
        container=args.container,
        auth_mode=args.auth_mode,
        package=(args.package or service.root / f"{service.name}.cspkg").resolve(),
        configuration=service.root / f"ServiceConfiguration.{CONFIGURATION}.cscfg",
        folder=f"{service.name.lower()}/{stamp}",
        expiry=(now + SAS_LIFETIME).strftime("%Y-%m-%dT%H:%MZ"),
        # ARM deployment names have at most 64 characters.
        deployment=f"{service.name[:47]}-{stamp}",
    )


def urls_parameters(
    location: str, package_url: str, configuration_url: str, rdp: tuple[str, str] | None = None
) -> dict:
    """The deployment parameters that change with every deployment; ``rdp`` is the Remote
    Desktop user and password, when the deployment turns Remote Desktop on."""
    values = {
        "location": location,
        "packageUrl": package_url,
        "configurationUrl": configuration_url,
    }
    if rdp is not None:
        values["rdpUserName"], values["rdpPassword"] = rdp
    return {
        "$schema": PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in values.items()},
    }


def placeholders(configuration: ServiceConfiguration) -> list[str]:
    """Settings of the cloud configuration that still hold the template's placeholders."""
    return [
        f"{configuration.path.name}: role {role.name}: the setting {name} still has a"
        f" {PLACEHOLDER} placeholder"
        for role in configuration.roles
        for name, value in role.settings.items()
        if PLACEHOLDER in value
    ]


def show(command: list[str]) -> str:
    """A command as the user's shell would take it."""
    return subprocess.list2cmdline(command) if os.name == "nt" else shlex.join(command)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "deploy",
        help="upload the package and update the cloud service (az CLI)",
        description="Upload the .cspkg and ServiceConfiguration.Cloud.cscfg to a blob"
        " container, make short-lived read-only SAS URLs for them, and deploy"
        " deploy/main.bicep with them: the cloud service, updated in place, in the existing"
        " virtual network and behind the existing public IP address that"
        " deploy/main.parameters.json names. Needs the Azure CLI, signed in (az login).",
    )
    parser.add_argument("--resource-group", required=True, metavar="RG", help="an existing one")
    parser.add_argument("--location", required=True, metavar="REGION", help="such as westeurope")
    parser.add_argument(
        "--storage-account",
        required=True,
        metavar="ACCOUNT",
        help="an existing storage account for the uploads",
    )
    parser.add_argument(
        "--container",
        default=DEFAULT_CONTAINER,
        metavar="NAME",
        help=f"blob container for the uploads, made if missing (default: {DEFAULT_CONTAINER})",
    )
    parser.add_argument(
        "--package",
        type=Path,
        metavar="FILE",
        help="the .cspkg to deploy (default: <service name>.cspkg in the solution folder)",
    )
    parser.add_argument(
        "--auth-mode",
        choices=("login", "key"),
        default="login",
        help="login (default): your Azure AD sign-in, which needs the role Storage Blob Data"
        " Contributor on the account; key: the account key",
    )
    parser.add_argument(
        "--rdp-user",
        metavar="NAME",
        help="turn Remote Desktop to every instance on for this user, until a week after the"
        f" deployment; the password comes from {RDP_VARIABLE} or is asked for."
        " A deployment without it turns Remote Desktop off",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the az commands and run nothing"
    )
    parser.set_defaults(func=run)
    return parser


def refusals(solution: check.Solution, problems: list[check.Problem], plan: Plan) -> list[str]:
    """Why the deployment would fail or deploy something unfinished."""
    reasons = [str(problem) for problem in problems]
    cloud = solution.configurations.get(CONFIGURATION)
    if cloud is not None:
        reasons += placeholders(cloud)
    if not plan.package.is_file():
        reasons.append(f"{plan.package}: not found; make it with python -m cloudservice package")
    return reasons


def az(command: list[str], capture: bool = False) -> str:
    """Run an az command (found on the PATH, az.cmd on Windows); its output if captured."""
    completed = subprocess.run(
        [shutil.which("az"), *command[1:]], capture_output=capture, text=True, check=False
    )
    if completed.returncode != 0:
        detail = (completed.stderr or "").strip() if capture else ""
        what = " ".join(word for word in command if not word.startswith("--"))
        raise RuntimeError(f"{what} failed{': ' + detail if detail else ''}")
    return (completed.stdout or "").strip()


def rdp_password() -> str:
    try:
        password = os.environ.get(RDP_VARIABLE) or getpass.getpass("Remote Desktop password: ")
    except EOFError:
        password = ""
    if not password:
        raise RuntimeError(f"--rdp-user needs a password: set {RDP_VARIABLE} or type one")
    return password


def deploy(plan: Plan, rdp: tuple[str, str] | None = None) -> str:
    """Carry out the plan; return the service's DNS name."""
    print(f"Uploading to {plan.account}/{plan.container}/{plan.folder}/ ...", flush=True)
    az(plan.create_container())
    for file in (plan.package, plan.configuration):
        az(plan.upload(file))
    urls = [az(plan.read_url(file), capture=True) for file in (plan.package, plan.configuration)]
    print(f"Deploying {plan.service.name} to {plan.resource_group} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="cloudservice-deploy-") as scratch:
        urls_file = Path(scratch, "urls.json")
        parameters = urls_parameters(plan.location, *urls, rdp)
        urls_file.write_text(json.dumps(parameters), encoding="utf-8")
        return az(plan.deploy(str(urls_file)), capture=True)


def run(args: argparse.Namespace) -> int:
    solution, problems = check.problems(SOLUTION)
    if solution is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    plan = make_plan(solution.service, args, datetime.datetime.now(datetime.UTC))
    reasons = refusals(solution, problems, plan)
    if args.dry_run:
        for reason in reasons:
            print(f"warning: {reason}", file=sys.stderr)
        commands = [plan.create_container(), plan.upload(plan.package)]
        commands += [plan.upload(plan.configuration), plan.read_url(plan.package)]
        commands += [plan.read_url(plan.configuration), plan.deploy(URLS_FILE)]
        print("\n".join(show(command) for command in commands))
        return 0
    if reasons:
        print("\n".join(reasons), file=sys.stderr)
        print("cloudservice deploy: nothing was deployed", file=sys.stderr)
        return 1
    if shutil.which("az") is None:
        print(
            f"cloudservice deploy: the Azure CLI (az) is needed: {AZ_HELP}; then az login",
            file=sys.stderr,
        )
        return 1
    try:
        rdp = None if args.rdp_user is None else (args.rdp_user, rdp_password())
        fqdn = deploy(plan, rdp)
    except RuntimeError as error:
        print(f"cloudservice deploy: {error}", file=sys.stderr)
        return 1
    print(f"Deployed {plan.service.name}: http://{fqdn}/")
    return 0
