"""The Windows half beyond the scripts themselves: deploy/ for a cloud service that exists,
Remote Desktop through ``cloudservice deploy``, and the Windows proof that the solution's
workflow runs (its layout script, run here as far as Linux allows, and the workflows
checked against GitHub's schema).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE
from helpers import REFERENCE, hook_module, jinja_residue

# The parameters that main.parameters.json and the README named before deploy/ turned to
# existing networks: a parameter file of an earlier solution must still deploy.
# (certificateUrl, one certificate, became certificates: a list of {thumbprint, certificateUrl}.)
EARLIER_PARAMETERS = {
    "cloudServiceName", "dnsLabel", "virtualNetworkName", "subnetName", "roles", "keyVaultId",
    "certificates", "publicIpName", "upgradeMode", "location", "packageUrl", "configurationUrl",
}  # fmt: skip


def bake_solution(cookies, **answers) -> Path:
    answers.setdefault("install_packages", False)
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE))
    assert result.exit_code == 0, result.exception
    return result.project_path


def bicep_declarations(source: bytes) -> tuple[dict[str, bool], dict[str, tuple[str, bool]]]:
    """(parameter -> has a default, resource -> (type@version, existing)) of a Bicep file."""
    import tree_sitter_bicep
    from tree_sitter import Language, Parser

    tree = Parser(Language(tree_sitter_bicep.language())).parse(source)
    text = lambda node: source[node.start_byte : node.end_byte].decode()  # noqa: E731
    parameters, resources = {}, {}
    for node in tree.root_node.children:
        if node.type not in ("parameter_declaration", "resource_declaration"):
            continue
        kinds = [child.type for child in node.children]
        name = text(next(child for child in node.children if child.type == "identifier"))
        if node.type == "parameter_declaration":
            parameters[name] = "=" in kinds
        else:
            kind = text(next(child for child in node.children if child.type == "string")).strip("'")
            resources[name] = (kind, "existing" in kinds)
    return parameters, resources


def test_deploy_updates_the_service_in_the_network_and_address_it_has(cookies):
    solution = bake_solution(cookies, roles="Api:flask Jobs:worker")
    parameters, resources = bicep_declarations((solution / "deploy" / "main.bicep").read_bytes())
    assert resources == {
        "virtualNetwork": ("Microsoft.Network/virtualNetworks@2023-09-01", True),
        "subnet": ("Microsoft.Network/virtualNetworks/subnets@2023-09-01", True),
        "publicIp": ("Microsoft.Network/publicIPAddresses@2023-09-01", True),
        "cloudService": ("Microsoft.Compute/cloudServices@2024-11-04", False),
    }
    assert set(parameters) >= EARLIER_PARAMETERS
    optional = ("publicIpName", "loadBalancerName", "frontendIpName", "rdpUserName", "rdpPassword", "rdpExpiration")
    for name in optional:
        assert parameters[name], f"{name} needs a default"
    given = json.loads((solution / "deploy" / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(given) <= set(parameters)
    # The names of the existing resources are there to be changed to the service's own.
    assert {"publicIpName", "loadBalancerName", "frontendIpName", "virtualNetworkName", "subnetName"} <= set(given)
    readme = (solution / "README.md").read_text(encoding="utf-8")
    for fact in ("2025-03-31", "April 2026", "**A new service** needs", "### Logs and Remote Desktop",
                 "--rdp-user", "`loadBalancerName`, `frontendIpName`", "LaunchWorker.err.log",
                 "ConfigureCloudService.stdout.log"):
        assert fact in readme, fact


CLOUD_SERVICE_SPEC = (
    REFERENCE / "azure-specs" / "specification" / "compute"
    / "resource-manager" / "Microsoft.Compute" / "CloudserviceRP" / "stable" / "2024-11-04" / "cloudService.json"
)  # fmt: skip


def test_the_rdp_extension_sets_only_what_the_rest_spec_has():
    if not CLOUD_SERVICE_SPEC.is_file():
        pytest.skip(f"Microsoft's REST spec is not at {CLOUD_SERVICE_SPEC}")
    definitions = json.loads(CLOUD_SERVICE_SPEC.read_text(encoding="utf-8"))["definitions"]
    extension = definitions["CloudServiceExtensionProperties"]["properties"]
    source = (TEMPLATE / "{{cookiecutter.service_name}}" / "deploy" / "main.bicep").read_text(encoding="utf-8")
    block = source[source.index("          name: 'RDPExtension'") : source.index("    osProfile: {")]
    properties = block[block.index("properties: {") :]
    lines = [line.strip() for line in properties.splitlines()[1:]]
    names = {line.split(":")[0] for line in lines if ":" in line and not line.startswith("//")}
    assert names == {"publisher", "type", "typeHandlerVersion", "autoUpgradeMinorVersion", "rolesAppliedTo",
                     "settings", "protectedSettings"}  # fmt: skip
    assert names <= {name for name, spec in extension.items() if not spec.get("readOnly")}
    assert "extensionProfile" in definitions["CloudServiceProperties"]["properties"]


FAKE_AZ = """
import json, os, sys
arguments = sys.argv[1:]
record = {"argv": arguments}
for argument in arguments:
    if argument.startswith("--parameters=@") and argument.endswith("urls.json"):
        with open(argument[len("--parameters=@"):], encoding="utf-8") as urls:
            record["urls"] = json.load(urls)
with open(os.environ["FAKE_AZ_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(record) + "\\n")
if arguments[:3] == ["storage", "blob", "generate-sas"]:
    print("https://acct.blob.core.windows.net/c/blob?sig=SECRET")
elif arguments[:3] == ["deployment", "group", "create"]:
    print("svc.westeurope.cloudapp.azure.com")
"""


def test_deploy_turns_remote_desktop_on_with_the_password_off_the_command_line(cookies, tmp_path):
    """This machine cannot reach Azure: an az on the PATH records what deploy asks of it."""
    solution = bake_solution(cookies, roles="Jobs:worker")
    cloud = solution / "ServiceConfiguration.Cloud.cscfg"
    cloud.write_text(cloud.read_text(encoding="utf-8").replace("REPLACE-WITH", "given"), encoding="utf-8")
    (solution / f"{solution.name}.cspkg").write_bytes(b"PK")
    folder = tmp_path / "fake-az"
    folder.mkdir()
    (folder / "fake_az.py").write_text(FAKE_AZ, encoding="utf-8")
    if sys.platform == "win32":
        (folder / "az.cmd").write_text(f'@"{sys.executable}" "%~dp0fake_az.py" %*\r\n', encoding="utf-8")
    else:
        (folder / "az").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{folder / "fake_az.py"}" "$@"\n')
        (folder / "az").chmod(0o755)
    log = tmp_path / "calls.jsonl"
    environment = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "FAKE_AZ_LOG": str(log),
                   "CLOUDSERVICE_RDP_PASSWORD": "S3cret&<pw"}  # fmt: skip
    arguments = ["--resource-group", "rg", "--location", "westeurope", "--storage-account", "acct"]
    completed = subprocess.run(
        [sys.executable, "-m", "cloudservice", "deploy", *arguments, "--rdp-user", "operator"],
        cwd=solution, env=environment, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert not any("S3cret" in argument for call in calls for argument in call["argv"])
    parameters = calls[-1]["urls"]["parameters"]
    assert parameters["rdpUserName"] == {"value": "operator"}
    assert parameters["rdpPassword"] == {"value": "S3cret&<pw"}

    log.unlink()
    without = subprocess.run(
        [sys.executable, "-m", "cloudservice", "deploy", *arguments],
        cwd=solution, env=environment, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert without.returncode == 0, without.stderr
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert "rdpUserName" not in last["urls"]["parameters"], "no --rdp-user: Remote Desktop off"

    no_password = {**environment, "CLOUDSERVICE_RDP_PASSWORD": ""}
    refused = subprocess.run(
        [sys.executable, "-m", "cloudservice", "deploy", *arguments, "--rdp-user", "operator"],
        cwd=solution, env=no_password, capture_output=True, text=True, check=False, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "--rdp-user needs a password" in refused.stderr


# The Windows proof ---------------------------------------------------------------------------

WORKFLOW_SCHEMA = "vendor.github-workflows"
PROVE = 'python -m cloudservice.fabric prove ${{ matrix.role_name }} --root "${{ runner.temp }}\\role"'


def schema_errors(*workflows: Path) -> str:
    """check-jsonschema's complaints about workflow files, against GitHub's workflow schema
    (which it carries, so nothing is downloaded); empty when they are valid."""
    completed = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", WORKFLOW_SCHEMA, *map(str, workflows)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    return "" if completed.returncode == 0 else completed.stdout + completed.stderr


def load_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "answers",
    [
        {"roles": "Site:django Api:flask Jobs:worker"},
        {"roles": "Jobs:worker W2:worker"},
        {"roles": "bottle", "web_server": "wfastcgi"},
    ],
    ids=["web-and-worker", "workers-only", "web-only"],
)
def test_the_solutions_workflow_proves_every_role_on_windows(cookies, answers, tmp_path):
    solution = bake_solution(cookies, **answers)
    workflow = solution / ".github" / "workflows" / "tests.yml"
    assert schema_errors(workflow) == ""
    assert jinja_residue(workflow.parent) == []
    job = load_yaml(workflow)["jobs"]["roles-on-windows"]
    assert job["runs-on"] == "windows-latest"
    csdef = (solution / "ServiceDefinition.csdef").read_text(encoding="utf-8")
    from xml.etree import ElementTree

    roles = [(role.get("name"), role.tag.endswith("WebRole")) for role in ElementTree.fromstring(csdef)
             if role.tag.endswith(("WebRole", "WorkerRole"))]  # fmt: skip
    assert [entry["role_name"] for entry in job["strategy"]["matrix"]["include"]] == [name for name, _ in roles]
    steps = job["steps"]
    prove = steps[-1]["run"]
    assert prove == PROVE
    names = [step.get("name", step.get("uses", "")) for step in steps]
    has_web, has_worker = any(web for _, web in roles), any(not web for _, web in roles)
    assert ("IIS, which a web role's VM has" in names) == has_web
    assert any(name.startswith("actions/setup-node") for name in names) == has_worker
    conditions = [step["if"] for step in steps if "if" in step]
    assert conditions == (["${{ !matrix.web }}", "${{ matrix.web }}"] if has_web and has_worker else [])

    broken = tmp_path / "broken.yml"
    text = workflow.read_text(encoding="utf-8")
    broken.write_text(text.replace("runs-on: windows-latest", "runs_on: windows-latest"), encoding="utf-8")
    assert schema_errors(broken), "the schema check finds a misspelt key"


def test_the_templates_workflow_bakes_one_solution_per_web_server_and_proves_each_role():
    workflow = TEMPLATE / ".github" / "workflows" / "windows.yml"
    assert schema_errors(workflow) == ""
    job = load_yaml(workflow)["jobs"]["roles-on-windows"]
    matrix = job["strategy"]["matrix"]
    assert matrix["web_server"] == list(hook_module("plan").WEB_SERVERS)
    from helpers import DEFAULT_NAMES, KINDS

    assert matrix["role_name"] == [DEFAULT_NAMES[kind] for kind in KINDS]
    # wfastcgi cannot serve the ASGI kind: neither baked nor proved with it.
    assert {"web_server": "wfastcgi", "role_name": DEFAULT_NAMES["fastapi"]} in matrix["exclude"]
    wsgi_kinds = [kind for kind in KINDS if kind != "fastapi"]
    bake = next(step["run"] for step in job["steps"]
                if step.get("name") == "Bake a solution with every role kind the web server can serve")
    assert f"matrix.web_server == 'wfastcgi' && '{' '.join(wsgi_kinds)}' || '{' '.join(KINDS)}'" in bake
    assert "web_server=${{ matrix.web_server }}" in bake
    prove = job["steps"][-1]
    assert prove["run"] == PROVE
    assert prove["working-directory"].endswith("\\MyCloudService")


def fabric(solution: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cloudservice.fabric", *arguments],
        cwd=solution, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_the_layout_is_the_role_as_on_its_vm(cookies, tmp_path):
    """What runs here of the Windows proof: the role laid out from the model, its site where
    the start-up script's role-model query finds it, and the .csdef's whole environment."""
    import re

    from lxml import etree

    solution = bake_solution(cookies, roles="Site:django Jobs:worker")
    from xml.etree import ElementTree

    definition = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    ns = "{http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition}"
    for role in ("Site", "Jobs"):
        root = tmp_path / role
        completed = fabric(solution, "layout", role, "--root", str(root))
        assert completed.returncode == 0, completed.stderr
        environment = json.loads((root / "environment.json").read_text(encoding="utf-8"))
        assert json.loads(completed.stdout) == environment
        element = next(child for child in definition if child.get("name") == role)
        for where, variables in (("Startup/Task", environment["startup"]), ("Runtime", environment["runtime"])):
            path = "/".join(f"{ns}{part}" for part in [*where.split("/"), "Environment", "Variable"])
            assert list(variables) == [v.get("name") for v in element.iterfind(path)] + ["RoleRoot"]
            assert not [name for name, value in variables.items() if "REPLACE-WITH" in value]
            assert variables["EMULATED"] == "false" and variables["ROLE_INSTANCE_ID"] == f"{role}_IN_0"
            assert variables["RoleRoot"] == str(root.resolve())
            assert Path(variables["DIAGNOSTIC_STORE"]).is_dir()
            assert variables["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith("InstrumentationKey=")
        assert (root / "approot" / "bin" / "ps.cmd").is_file()
        assert not (root / "approot" / "tests").exists()
        script = (root / "approot" / "bin" / "ConfigureCloudService.ps1").read_text(encoding="ascii")
        model = etree.parse(str(root / "RoleModel.xml"))
        if role == "Site":
            assert environment["startup"]["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
            xpath = re.search(r'SelectSingleNode\("([^"]+)", \$namespaces\)', script)[1].replace("$SiteName", "Web")
            namespace = re.search(r"^\$RoleModelNamespace = '([^']+)'", script, re.MULTILINE)[1]
            (site,) = model.xpath(xpath, namespaces={"sd": namespace})
            folder = root.joinpath(*site.get("physicalDirectory").split("\\"))
            assert (folder / "web.config").is_file() and folder == root / "sitesroot" / "0"
        else:
            assert model.xpath("//*[local-name()='Site']") == [] and not (root / "sitesroot").exists()
            assert environment["runtime"]["QueueName"] == "jobs"

    again = fabric(solution, "layout", "Site", "--root", str(tmp_path / "Site"))
    assert again.returncode == 0, "a second layout replaces the first"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    refused = fabric(solution, "layout", "Site", "--root", str(tmp_path / "mine"))
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("is not empty and holds no layout: give a new folder")
    assert [path.name for path in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    if sys.platform != "win32":
        refused = fabric(solution, "prove", "Site", "--root", str(tmp_path / "Site"))
        assert refused.returncode == 1
        assert refused.stderr.strip() == "FAILED: Site: prove runs on Windows only; layout runs anywhere"


def test_the_ingestion_stand_in_keeps_the_traces_each_script_sends(cookies):
    """The proof's stand-in for Application Insights, fed what Send-Trace in Common.ps1
    posts: one JSON array of envelopes per request."""
    import urllib.request

    solution = bake_solution(cookies, roles="Jobs:worker")
    sys.path.insert(0, str(solution))
    try:
        from cloudservice import fabric as module
    finally:
        sys.path.remove(str(solution))
        sys.modules.pop("cloudservice.fabric", None)
    envelope = {
        "name": "Microsoft.ApplicationInsights.00000000000000000000000000000000.Message",
        "time": "2026-12-01T20:00:00.0000000Z", "iKey": module.INSTRUMENTATION_KEY,
        "tags": {"ai.cloud.role": "Jobs", "ai.cloud.roleInstance": "Jobs_IN_0"},
        "data": {"baseType": "MessageData", "baseData": {
            "ver": 2, "message": "Done.", "severityLevel": 1,
            "properties": {"source": "ConfigureCloudService.ps1", "deploymentId": "d"}}},
    }  # fmt: skip
    with module.ingestion_endpoint() as (address, envelopes):
        request = urllib.request.Request(
            f"{address}v2/track", data=json.dumps([envelope, envelope]).encode("utf-8"),
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["itemsAccepted"] == 2
        assert module.traces(envelopes, "ConfigureCloudService.ps1") == ["Done.", "Done."]
        assert module.traces(envelopes, "LaunchWorker.ps1") == []
