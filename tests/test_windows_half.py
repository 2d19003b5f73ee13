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

# The parameters that main.parameters.json and the README named before deploy/ turned to
# existing networks: a parameter file of an earlier solution must still deploy.
EARLIER_PARAMETERS = {
    "cloudServiceName", "dnsLabel", "virtualNetworkName", "subnetName", "roles", "keyVaultId",
    "certificateUrl", "publicIpName", "upgradeMode", "location", "packageUrl", "configurationUrl",
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
    assert EARLIER_PARAMETERS <= set(parameters)
    for optional in ("publicIpName", "loadBalancerName", "frontendIpName", "rdpUserName", "rdpPassword", "rdpExpiration"):
        assert parameters[optional], f"{optional} needs a default"
    given = json.loads((solution / "deploy" / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(given) <= set(parameters)
    readme = (solution / "README.md").read_text(encoding="utf-8")
    for fact in ("2025-03-31", "April 2026", "**A new service** needs", "### Logs and Remote Desktop",
                 "--rdp-user", "`loadBalancerName`, `frontendIpName`", "LaunchWorker.err.log",
                 "ConfigureCloudService.stdout.log"):
        assert fact in readme, fact


CLOUD_SERVICE_SPEC = (
    TEMPLATE.parent.parent / "shared" / "reference" / "azure-specs" / "specification" / "compute"
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
    names = {line.split(":")[0].strip() for line in properties.splitlines()[1:] if ":" in line and not line.strip().startswith("//")}
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
