"""The Container Apps files: how the model maps to them, and how check finds drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cloudservice import containerapps
from cloudservice.model import ModelError, Service
from cloudservice.tests.solution_copy import copy_solution, edit


@pytest.fixture
def solution_copy(tmp_path: Path) -> Service:
    return copy_solution(tmp_path / "solution")


def test_each_role_maps_to_an_app(solution: Service):
    plan = containerapps.make_plan(solution)
    cloud = solution.configuration("Cloud")
    assert [app.role for app in plan.apps] == [role.name for role in solution.roles]
    for role, app in zip(solution.roles, plan.apps, strict=True):
        values = cloud.role(role.name).settings
        env = {item.name: item for item in app.env}
        assert app.web == role.web
        assert "ALLOWED_HOSTS" not in env and "CSRF_TRUSTED_ORIGINS" not in env
        assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"].secret
        assert env["StorageConnectionString"].value == "''"
        assert {"StorageQueueEndpoint", "AZURE_CLIENT_ID"} <= set(env)
        for name in set(role.settings) - set(containerapps.DERIVED_BY_THE_APP):
            assert name in env
        if "SECRET_KEY" in role.settings:
            assert env["SECRET_KEY"].secret and env["SECRET_KEY"].value is None
        if role.web:
            assert app.min_replicas == cloud.role(role.name).instances
            assert app.queue is None and app.grace_seconds is None
            assert env["PORT"].value == "'8000'"
        elif "QueueName" in values:  # the template's queue consumer: it sleeps until a message
            assert app.min_replicas == 0
            assert app.queue == values["QueueName"]
            assert app.grace_seconds > int(values["VisibilityTimeoutSeconds"])
            assert env["QueueName"].value == f"'{values['QueueName']}'"
        else:  # a worker of the team's own (adopt_from): nothing wakes it, it keeps its instances
            assert app.min_replicas == cloud.role(role.name).instances and app.queue is None


def test_the_default_of_max_replicas_is_within_its_bounds(solution_copy: Service):
    cloud = solution_copy.root / "ServiceConfiguration.Cloud.cscfg"
    text = cloud.read_text(encoding="utf-8")
    twelve = re.sub(r'<Instances count="\d+"', '<Instances count="12"', text)
    cloud.write_text(twelve, encoding="utf-8")
    service = Service.load(solution_copy.root)
    main = containerapps.render(service)[containerapps.MAIN_BICEP]
    lowest = int(re.search(r"@minValue\((\d+)\)\nparam maxReplicas", main).group(1))
    default = int(re.search(r"param maxReplicas int = (\d+)", main).group(1))
    assert lowest == containerapps.make_plan(service).lowest_max_replicas
    assert default >= max(lowest, containerapps.DEFAULT_MAX_REPLICAS)


def test_names_and_words():
    assert containerapps.camel("Orders-api_2") == "ordersApi2"
    assert containerapps.camel("SECRET_KEY", first_upper=True) == "SecretKey"
    assert containerapps.kebab("StorageConnectionString") == "storage-connection-string"
    assert containerapps.is_secret("SECRET_KEY") and containerapps.is_secret("DbPassword")
    assert containerapps.is_secret("ReportsConnectionString")
    assert not containerapps.is_secret("QueueName") and not containerapps.is_secret(
        "MaxIdleBackoffSeconds"
    )
    taken: set[str] = set()
    names = []
    for role in ("Web_Site", "web-site", "A" * 40, "W"):
        names.append(containerapps.app_name(role, taken))
        taken.add(names[-1])
    assert names == ["web-site", "web-site-2", "a" * 32, "w-app"]
    assert containerapps.bicep_string("it's ${x}") == "'it\\'s \\${x}'"


def test_a_string_reads_back_as_it_was_written():
    text = "a 'quote', a \\ and ${x}\non two lines,\ta tab, \u00e9"
    written = containerapps.bicep_string(text)
    assert "\n" not in written and containerapps.unquote(written) == text
    assert containerapps.unquote("'caf\\u{E9}'") == "caf\u00e9"


def test_the_container_apps_files_agree_with_the_service_files(solution: Service):
    assert list(containerapps.problems(solution)) == []


def test_a_bad_cscfg_leaves_every_file_as_it_was(solution_copy: Service):
    before = {name: (solution_copy.root / name).read_bytes() for name in containerapps.FILES}
    cloud = solution_copy.root / "ServiceConfiguration.Cloud.cscfg"
    text = cloud.read_text(encoding="utf-8")
    broken = re.sub(r'<Instances count="\d+"', '<Instances count="two"', text, count=1)
    cloud.write_text(broken, encoding="utf-8")
    with pytest.raises(ModelError, match="is not a whole number"):
        containerapps.write(solution_copy)
    assert {
        name: (solution_copy.root / name).read_bytes() for name in containerapps.FILES
    } == before
    assert not [p for p in (solution_copy.root / "infra").iterdir() if p.name.startswith(".")]


def test_drift_names_a_missing_and_an_extra_service(solution_copy: Service):
    root, role = solution_copy.root, solution_copy.roles[0]
    yaml_text = (root / "azure.yaml").read_text(encoding="utf-8")
    edit(root / "azure.yaml", f"  {role.name}:\n", "  Retired:\n")
    assert [f"{file}: {text}" for file, text in containerapps.problems(solution_copy)] == [
        f"azure.yaml: has no service for the role {role.name};"
        " run python -m cloudservice containerapps",
        "azure.yaml: has a service Retired, a role ServiceDefinition.csdef lacks",
    ]
    (root / "azure.yaml").write_text(yaml_text, encoding="utf-8")
    assert list(containerapps.problems(solution_copy)) == []


# The settings of the template's queue consumer, which the tests of a worker's queue read.
QUEUE_SETTINGS = {"QueueName", "VisibilityTimeoutSeconds", "MaxDequeueCount", "MessageEncoding"}


@pytest.fixture
def worker(solution_copy: Service):
    """A worker role of the copy with the template's queue consumer."""
    found = next((r for r in solution_copy.roles if set(r.settings) >= QUEUE_SETTINGS), None)
    if found is None:
        pytest.skip("this solution has no worker role with the template's queue consumer")
    return found


def test_a_worker_setting_that_is_no_number_is_refused(solution_copy: Service, worker):
    before = {name: (solution_copy.root / name).read_bytes() for name in containerapps.FILES}
    edit(
        solution_copy.root / "ServiceConfiguration.Cloud.cscfg",
        'name="VisibilityTimeoutSeconds" value="30"',
        'name="VisibilityTimeoutSeconds" value="half a minute"',
    )
    with pytest.raises(ModelError, match="VisibilityTimeoutSeconds"):
        containerapps.write(solution_copy)
    assert {
        name: (solution_copy.root / name).read_bytes() for name in containerapps.FILES
    } == before
    assert list(containerapps.problems(solution_copy)) == [
        (
            "ServiceConfiguration.Cloud.cscfg",
            f'role {worker.name} has VisibilityTimeoutSeconds="half a minute"; it must be a whole'
            " number",
        )
    ]


def test_drift_names_each_missing_and_extra_piece_of_a_worker(solution_copy: Service, worker):
    root = solution_copy.root
    queue = solution_copy.configuration("Cloud").role(worker.name).settings["QueueName"]
    edit(root / "infra/resources.bicep", f"  name: '{queue}-poison'", "  name: 'elsewhere'")
    edit(
        root / "infra/resources.bicep",
        "name: 'MaxDequeueCount'\n              value: '5'",
        "name: 'MaxDequeueCount'\n              value: '9'",
    )
    edit(root / "infra/resources.bicep", "name: 'MessageEncoding'", "name: 'MessageFormat'")
    found = [f"{file}: {text}" for file, text in containerapps.problems(solution_copy)]
    assert found == [
        f"infra/resources.bicep: the app of {worker.name} has no environment variable"
        " MessageEncoding",
        f"infra/resources.bicep: the app of {worker.name} sets MaxDequeueCount to '9', but"
        " ServiceConfiguration.Cloud.cscfg has '5'",
        f"infra/resources.bicep: the app of {worker.name} sets MessageFormat, which"
        " ServiceDefinition.csdef does not declare for the role",
        f"infra/resources.bicep: has no storage queue {queue}-poison for the role {worker.name};"
        " run python -m cloudservice containerapps",
    ]
    containerapps.write(solution_copy)
    assert list(containerapps.problems(solution_copy)) == []


def test_missing_files_are_reported(solution_copy: Service):
    (solution_copy.root / "azure.yaml").unlink()
    for path in (solution_copy.root / "infra").iterdir():
        path.unlink()
    assert list(containerapps.problems(solution_copy)) == [
        ("azure.yaml", "not found; run python -m cloudservice containerapps"),
        ("infra/main.bicep", "not found; run python -m cloudservice containerapps"),
    ]


def test_the_reader_reads_what_the_writer_writes(solution: Service):
    source = containerapps.render(solution)[containerapps.RESOURCES_BICEP]
    declared = containerapps.read_resources(source)
    apps = [
        body
        for _, kind, existing, body in declared
        if kind.startswith("Microsoft.App/containerApps") and not existing
    ]
    assert len(apps) == len(solution.roles)
    parameters = json.loads(containerapps.render(solution)[containerapps.PARAMETERS_JSON])
    assert parameters["parameters"]["environmentName"] == {"value": "${AZURE_ENV_NAME}"}
