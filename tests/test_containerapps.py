"""Every solution also deploys to Azure Container Apps with azd: azure.yaml and infra/,
written from the service model, checked against azd's schema, the Bicep grammar,
Microsoft's REST specifications and checkov, for every combination of role kinds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from arm_spec import REFERENCE, Leaf, Specs, leaf_value, resources, syntax_errors
from helpers import CSCFG_NS, CSDEF_NS, KIND_COMBINATIONS, csdef_roles

TEMPLATE = Path(__file__).resolve().parent.parent
AZD_SCHEMA = REFERENCE / "azd" / "azure.yaml.json"
CHECKOV = "checkov==3.3.30"
CSES_API_VERSION = "2024-11-04"  # the cloudServices specification in the reference folder
# Set on the app by Container Apps or derived by the app itself, instead of the .cscfg value.
DERIVED = {"ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}
IDENTITY = {"StorageQueueEndpoint", "AZURE_CLIENT_ID"}


def combination_id(answers: dict) -> str:
    return answers["roles"].replace(" ", "-")


def require_reference(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is absent: Microsoft's reference files are not beside the repository")


_baked: dict[str, Path] = {}


@pytest.fixture
def solution(cookies_session, request) -> Path:
    """One solution per combination, baked once per test process and only read."""
    roles = request.param["roles"]
    if roles not in _baked:
        result = cookies_session.bake(extra_context={"roles": roles, "install_packages": False},
                                      template=str(TEMPLATE))
        assert result.exit_code == 0, result.exception
        _baked[roles] = result.project_path
    return _baked[roles]


by_combination = pytest.mark.parametrize("solution", KIND_COMBINATIONS, ids=combination_id, indirect=True)


def cloud_roles(solution: Path) -> dict[str, tuple[int, dict[str, str]]]:
    """Role name -> (instances, settings) in ServiceConfiguration.Cloud.cscfg."""
    root = ElementTree.parse(solution / "ServiceConfiguration.Cloud.cscfg").getroot()
    return {
        role.get("name"): (
            int(role.find(f"{CSCFG_NS}Instances").get("count")),
            {s.get("name"): s.get("value") for s in role.iter(f"{CSCFG_NS}Setting")},
        )
        for role in root.findall(f"{CSCFG_NS}Role")
    }


def declared_settings(solution: Path) -> dict[str, list[str]]:
    root = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    return {
        role.get("name"): [s.get("name") for s in role.iter(f"{CSDEF_NS}Setting")]
        for role in root if role.tag in (f"{CSDEF_NS}WebRole", f"{CSDEF_NS}WorkerRole")
    }


def infra_resources(solution: Path) -> list:
    found = []
    for path in sorted((solution / "infra").glob("*.bicep")):
        found += resources(path.read_bytes())
    return found


def apps_by_role(solution: Path) -> dict[str, dict]:
    """The body of each Container App, by the role its azd-service-name tag names."""
    apps = {}
    for resource in infra_resources(solution):
        if resource.type == "Microsoft.App/containerApps" and not resource.existing:
            tag = re.search(r"'azd-service-name': '([^']+)'", resource.body["tags"].text)
            apps[tag.group(1)] = resource.body
    return apps


def secure_parameters(source: str) -> set[str]:
    return set(re.findall(r"@secure\(\)\n(?:@description\(.*\)\n)?param (\w+) string", source))


@by_combination
def test_azure_yaml_validates_against_azds_schema_and_names_every_role(solution):
    document = yaml.safe_load((solution / "azure.yaml").read_text(encoding="utf-8"))
    roles = [name for _, name in csdef_roles(solution)]
    assert list(document["services"]) == roles
    assert document["name"] == solution.name.lower()
    for role in roles:
        service = document["services"][role]
        assert service["project"] == f"./{role}"
        assert (service["host"], service["language"]) == ("containerapp", "python")
        assert service["docker"] == {"path": "Dockerfile", "context": ".", "remoteBuild": True}
    require_reference(AZD_SCHEMA)
    import jsonschema

    schema = json.loads(AZD_SCHEMA.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in jsonschema.Draft201909Validator(schema).iter_errors(document)]
    assert errors == []


@by_combination
def test_infra_parses_with_the_bicep_grammar(solution):
    files = sorted((solution / "infra").glob("*.bicep"))
    assert [path.name for path in files] == ["main.bicep", "resources.bicep"]
    for path in files:
        assert syntax_errors(path.read_bytes()) == [], path.name


@by_combination
def test_every_property_of_the_apps_and_environment_is_in_microsofts_specification(solution):
    require_reference(REFERENCE / "azure-specs")
    specs = Specs()
    checked = []
    for resource in infra_resources(solution):
        if resource.type.startswith("Microsoft.App/") and not resource.existing:
            assert resource.api_version == "2025-01-01"
            assert specs.problems(resource.type, resource.api_version, resource.body) == []
            checked.append(resource.type)
    assert sorted(set(checked)) == ["Microsoft.App/containerApps", "Microsoft.App/managedEnvironments"]
    assert checked.count("Microsoft.App/containerApps") == len(csdef_roles(solution))


@by_combination
def test_the_cses_deploy_template_sets_only_properties_of_the_cloudservices_specification(solution):
    require_reference(REFERENCE / "azure-specs")
    source = (solution / "deploy" / "main.bicep").read_bytes()
    assert syntax_errors(source) == []
    cloud_services = [r for r in resources(source) if r.type == "Microsoft.Compute/cloudServices"]
    assert len(cloud_services) == 1
    assert Specs().problems(cloud_services[0].type, CSES_API_VERSION, cloud_services[0].body) == []


def test_the_validator_finds_what_the_specification_lacks():
    require_reference(REFERENCE / "azure-specs")
    source = b"""resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: 'app'
  properties: {
    provisioningState: 'Succeeded'
    configuration: {
      ingres: {}
      activeRevisionsMode: 'single'
    }
    template: {
      scale: {
        minReplicas: '1'
      }
      containers: {}
    }
  }
}
"""
    problems = Specs().problems("Microsoft.App/containerApps", "2025-01-01", resources(source)[0].body)
    assert [problem.split(":")[0] for problem in problems] == [
        "Microsoft.App/containerApps.properties.provisioningState",
        "Microsoft.App/containerApps.properties.configuration.ingres",
        "Microsoft.App/containerApps.properties.configuration.activeRevisionsMode",
        "Microsoft.App/containerApps.properties.template.scale.minReplicas",
        "Microsoft.App/containerApps.properties.template.containers",
    ]


@by_combination
def test_each_role_becomes_an_app_with_its_settings_scale_and_probes(solution):
    apps = apps_by_role(solution)
    cloud = cloud_roles(solution)
    settings = declared_settings(solution)
    resources_source = (solution / "infra" / "resources.bicep").read_text(encoding="utf-8")
    secure = secure_parameters(resources_source)
    queues = {leaf_value(r.body["name"]) for r in infra_resources(solution)
              if r.type == "Microsoft.Storage/storageAccounts/queueServices/queues"}
    assert list(apps) == [name for _, name in csdef_roles(solution)]
    for element, role in csdef_roles(solution):
        app = apps[role]
        configuration, template = app["properties"]["configuration"], app["properties"]["template"]
        container = template["containers"][0]
        instances, values = cloud[role]
        env = {leaf_value(item["name"]): item for item in container["env"]}
        secrets = {leaf_value(s["name"]): leaf_value(s["value"]) for s in configuration.get("secrets", [])}
        assert leaf_value(configuration["activeRevisionsMode"]) == "Single"
        assert leaf_value(app["identity"]["type"]) == "UserAssigned"
        assert leaf_value(configuration["registries"][0]["identity"]) == "identity.id"

        # Every declared setting, by the same name; secrets only through secretRef.
        assert set(env) == set(settings[role]) - DERIVED | IDENTITY | ({"PORT"} if element == "WebRole" else set())
        for name, item in env.items():
            if name == "APPLICATIONINSIGHTS_CONNECTION_STRING":
                assert secrets[leaf_value(item["secretRef"])] == "applicationInsights.properties.ConnectionString"
            elif name == "SECRET_KEY":
                assert "value" not in item
                assert secrets[leaf_value(item["secretRef"])] in secure
            elif name == "StorageConnectionString":
                assert leaf_value(item["value"]) == ""
            elif name in IDENTITY or name == "PORT":
                continue
            else:
                assert leaf_value(item["value"]) == values[name], name
        assert "REPLACE-WITH" not in json.dumps([leaf_value(i.get("value")) for i in env.values()])

        scale = template["scale"]
        if element == "WebRole":
            ingress = configuration["ingress"]
            assert (leaf_value(ingress["external"]), leaf_value(ingress["targetPort"])) == (True, 8000)
            assert {leaf_value(p["type"]): (leaf_value(p["httpGet"]["path"]), leaf_value(p["httpGet"]["port"]))
                    for p in container["probes"]} == {kind: ("/health", 8000)
                                                      for kind in ("Startup", "Liveness", "Readiness")}
            assert leaf_value(scale["minReplicas"]) == instances
            assert leaf_value(scale["maxReplicas"]) == "maxReplicas"
            assert [list(rule) for rule in scale["rules"]] == [["name", "http"]]
            assert int(leaf_value(scale["rules"][0]["http"]["metadata"]["concurrentRequests"])) > 0
        else:
            assert "ingress" not in configuration
            assert "probes" not in container
            assert leaf_value(scale["minReplicas"]) == 0
            [rule] = scale["rules"]
            queue_rule = {key: leaf_value(value) for key, value in rule["azureQueue"].items()}
            assert queue_rule["queueName"] == values["QueueName"]
            assert queue_rule["identity"] == "identity.id"
            assert queue_rule["accountName"] == "storage.name"
            assert queue_rule["queueLength"] > 0
            assert {values["QueueName"], values["QueueName"] + "-poison"} <= queues
            grace = leaf_value(template["terminationGracePeriodSeconds"])
            assert grace > int(values["VisibilityTimeoutSeconds"])
            assert leaf_value(env["StorageQueueEndpoint"]["value"]).startswith("'https://${storage.name}.queue.")
            assert leaf_value(env["AZURE_CLIENT_ID"]["value"]) == "identity.properties.clientId"


@by_combination
def test_every_resource_name_is_known_when_the_deployment_starts(solution):
    """Bicep refuses a name made from runtime values (BCP120), such as an identity's
    principal ID: names are literals, parameters, or made from resource IDs and names."""
    for resource in infra_resources(solution):
        assert ".properties." not in resource.body["name"].text, (resource.symbol, resource.body["name"].text)


@by_combination
def test_main_bicep_follows_azds_conventions(solution):
    main = (solution / "infra" / "main.bicep").read_text(encoding="utf-8")
    assert "targetScope = 'subscription'" in main
    for parameter in ("environmentName", "location", "principalId"):
        assert re.search(rf"^param {parameter} string", main, re.MULTILINE), parameter
    outputs = re.findall(r"^output (\w+) ", main, re.MULTILINE)
    assert {"AZURE_CONTAINER_REGISTRY_ENDPOINT", "AZURE_LOCATION", "AZURE_TENANT_ID"} <= set(outputs)
    parameters = json.loads((solution / "infra" / "main.parameters.json").read_text(encoding="utf-8"))
    values = {name: entry["value"] for name, entry in parameters["parameters"].items()}
    assert values["environmentName"] == "${AZURE_ENV_NAME}"
    assert values["location"] == "${AZURE_LOCATION}"
    assert values["principalId"] == "${AZURE_PRINCIPAL_ID}"
    declared = set(re.findall(r"^param (\w+) ", main, re.MULTILINE))
    assert set(values) <= declared
    for _, role in csdef_roles(solution):
        flag = re.sub(r"[^A-Z0-9]", "_", role.upper())
        assert f"${{SERVICE_{flag}_RESOURCE_EXISTS=false}}" in values.values(), role
    # Secrets are never in the parameters file: azd asks for each once and keeps it.
    assert not secure_parameters(main) & set(values)
    # The Container Apps and the resource group are the only things azd looks up by tag.
    resources_source = (solution / "infra" / "resources.bicep").read_text(encoding="utf-8")
    assert resources_source.count("'azd-service-name'") == len(csdef_roles(solution))


@pytest.fixture(scope="session")
def checkov(tmp_path_factory) -> Path:
    """checkov in a virtual environment of its own (its many dependencies stay away from
    the suite's tools), made with uv once for every run; kept in .venv."""
    from conftest import find_uv, venv_python

    venv = TEMPLATE / ".venv" / "checkov" / CHECKOV.replace("==", "-")
    # Its scripts name the folder it was built in: run it through its Python instead.
    python = venv_python(venv)
    if python.exists():
        return python
    building = Path(str(venv) + f".building-{os.getpid()}")
    uv = find_uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(building)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv_python(building)), CHECKOV],
                   check=True)
    try:
        building.rename(venv)
    except OSError:  # another worker made it first
        shutil.rmtree(building, ignore_errors=True)
    return python


def test_checkov_finds_nothing_failed_and_every_skip_has_a_reason(cookies_session, checkov, tmp_path):
    """One checkov run (it takes half a minute to start) over the infra/ of a solution
    with every kind of role and of one with only a worker."""
    scanned = tmp_path / "scanned"
    for answers in (KIND_COMBINATIONS[-1], {"roles": "worker"}):
        result = cookies_session.bake(extra_context={**answers, "install_packages": False},
                                      template=str(TEMPLATE))
        assert result.exit_code == 0, result.exception
        shutil.copytree(result.project_path / "infra", scanned / combination_id(answers))
    completed = subprocess.run(
        [str(checkov), "-m", "checkov.main", "--directory", str(scanned), "--framework", "bicep",
         "--output", "json", "--skip-download"],
        capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(completed.stdout)
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], completed.stdout[-3000:]
    assert report["summary"]["passed"] > 0
    assert report["summary"]["parsing_errors"] == 0
    skipped = {c["check_id"] for c in report["results"]["skipped_checks"]}
    reasons = {}
    for path in scanned.rglob("*.bicep"):
        reasons.update(re.findall(r"// checkov:skip=(\w+): *(.*)", path.read_text(encoding="utf-8")))
    assert skipped == set(reasons)
    assert all(len(reason) > 20 for reason in reasons.values()), reasons


def tool(solution: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cloudservice", *arguments], cwd=solution,
                          capture_output=True, text=True, check=False, timeout=300)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("solution", [{"roles": "Site:flask Jobs:worker"}], ids=combination_id, indirect=True)
def test_a_new_setting_is_drift_until_containerapps_regenerates(solution, tmp_path):
    """What a team does: declare a setting in the .csdef and value it in the .cscfg files;
    check reports the Container Apps files as behind; the command brings them up to date."""
    copy = tmp_path / solution.name
    shutil.copytree(solution, copy)
    assert tool(copy, "check").returncode == 0
    edit(copy / "ServiceDefinition.csdef", '<Setting name="QueueName" />',
         '<Setting name="QueueName" />\n      <Setting name="ReportFolder" />')
    for configuration in ("Cloud", "Local"):
        edit(copy / f"ServiceConfiguration.{configuration}.cscfg", '<Setting name="QueueName" value="jobs" />',
             '<Setting name="QueueName" value="jobs" />\n      <Setting name="ReportFolder" value="reports" />')
    edit(copy / "ServiceConfiguration.Cloud.cscfg", '<Instances count="2" />', '<Instances count="3" />')
    drift = tool(copy, "check")
    assert drift.returncode == 1
    lines = [line for line in drift.stdout.splitlines() if line.startswith("infra/")]
    assert lines == [
        "infra/resources.bicep: the app of Site has minReplicas 2, but ServiceConfiguration.Cloud.cscfg"
        " has 3 instances of Site",
        "infra/resources.bicep: the app of Jobs has no environment variable ReportFolder",
    ]
    before = {path: path.read_text(encoding="utf-8") for path in (copy / "infra").iterdir()}
    written = tool(copy, "containerapps")
    assert written.returncode == 0, written.stderr
    assert written.stdout.split() == ["wrote", "azure.yaml", "wrote", "infra/main.bicep",
                                      "wrote", "infra/resources.bicep", "wrote", "infra/main.parameters.json"]
    assert before != {path: path.read_text(encoding="utf-8") for path in (copy / "infra").iterdir()}
    assert [line for line in tool(copy, "check").stdout.splitlines() if line.startswith(("infra/", "azure.yaml"))] == []


# Names that Container Apps folds alike (cut to 32 characters, '_' as '-') and short ones.
TRICKY_NAMES = {"roles": "A_b:worker c-d:flask W:worker OrdersProcessingWorkerForTheShopA:worker"
                         " OrdersProcessingWorkerForTheShopB:worker"}


@pytest.mark.parametrize("solution", [KIND_COMBINATIONS[-1], TRICKY_NAMES], ids=combination_id, indirect=True)
def test_the_hook_writes_what_the_command_writes(solution, tmp_path):
    """One generator: the command, run on a fresh solution, changes no byte."""
    copy = tmp_path / solution.name
    shutil.copytree(solution, copy)
    names = ["azure.yaml", *(f"infra/{path.name}" for path in (solution / "infra").iterdir())]
    assert sorted(names) == ["azure.yaml", "infra/main.bicep", "infra/main.parameters.json",
                             "infra/resources.bicep"]
    assert tool(copy, "containerapps").returncode == 0
    for name in names:
        assert (copy / name).read_bytes() == (solution / name).read_bytes(), name
    assert not list(solution.rglob("__pycache__"))


def test_a_role_may_not_take_the_name_of_the_infra_folder(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE),
         "install_packages=no", "roles=Infra:worker"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "ERROR: roles: 'Infra' is already a folder of the solution; choose a name other than"
        " cloudservice, deploy, infra"
    ]
    assert list(tmp_path.iterdir()) == []


WITHOUT_A_WORKER = next(answers for answers in KIND_COMBINATIONS if "worker" not in answers["roles"].split())


@pytest.mark.parametrize("solution", [KIND_COMBINATIONS[-1], WITHOUT_A_WORKER], ids=combination_id, indirect=True)
def test_the_solutions_own_containerapps_tests_pass(solution, tmp_path):
    copy = tmp_path / solution.name
    shutil.copytree(solution, copy)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "cloudservice/tests/test_containerapps.py"],
        cwd=copy, capture_output=True, text=True, check=False, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", completed.stdout)


def test_leaf_values_keep_literals_and_expressions_apart():
    [resource] = resources(b"resource s 'A/b@1' = {\n  name: 'x${y}'\n  n: 3\n  f: true\n  e: a.b\n}\n")
    assert resource.body["n"] == Leaf("integer", "3", 3)
    assert leaf_value(resource.body["name"]) == "'x${y}'"
    assert leaf_value(resource.body["f"]) is True
    assert leaf_value(resource.body["e"]) == "a.b"
