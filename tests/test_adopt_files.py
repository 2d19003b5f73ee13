"""What an adopted role brings into the service files, and the post hook's adoption steps.

The role plan's adopted fields (per-role VM size and instances, extra endpoints, local
storage, certificates, the team's settings) rendered into ServiceDefinition.csdef and both
.cscfg files, read back with the solution's own model and validated against Microsoft's
schemas; merging requirements and copying the team's files, called directly.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import TEMPLATE
from helpers import SCHEMAS, hook_module, module_from_file, new_service_answers, schema_errors

import local_extensions as extension  # noqa: E402 - tests/helpers.py puts the template's root on sys.path

plan = hook_module("plan")
post = hook_module("finish")
SOLUTION_TEMPLATE = TEMPLATE / "{{cookiecutter.service_name}}"
SERVICE_FILES = ["ServiceDefinition.csdef", "ServiceConfiguration.Cloud.cscfg", "ServiceConfiguration.Local.cscfg",
                 "deploy/main.parameters.json", "README.md"]
THUMBPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def adopted_plan() -> list[plan.Role]:
    portal, jobs, new = plan.plan_roles("Portal:flask Jobs:worker Extra:bottle")
    portal.vm_size, portal.instances = "Standard_A2_v2", 3
    portal.endpoints = [
        plan.Endpoint("InputEndpoint", {"name": "HttpsIn", "protocol": "https", "port": "443",
                                       "certificate": "SslCert"}),
        plan.Endpoint("InternalEndpoint", {"name": "Cache", "protocol": "tcp", "port": "6379"}),
    ]
    portal.local_resources = [{"name": "Uploads", "sizeInMB": "512", "cleanOnRoleRecycle": "true"}]
    portal.certificates = [plan.Certificate("SslCert", "LocalMachine", "My", cloud_thumbprint=THUMBPRINT,
                                           local_thumbprint="F" * 40, permission_level="elevated")]
    portal.settings.append(plan.Setting("PaymentsUrl", cloud="https://pay.example/?a=1&b=2", local="http://127.0.0.1",
                                       meaning="the team's own setting"))
    portal.settings.append(plan.Setting("Greeting", cloud='"Hello",\r\n\tworld', local="one\ntwo",
                                       meaning="the team's own setting"))
    jobs.vm_size, jobs.instances = "Standard_D2_v2", 1
    jobs.endpoints = [
        plan.Endpoint("InputEndpoint", {"name": "Telnet", "protocol": "tcp", "port": "2323"}),
        plan.Endpoint("InstanceInputEndpoint", {"name": "Debug", "protocol": "tcp", "localPort": "5678"}, [
            {"element": "AllocatePublicPortFrom", "attributes": {}, "children": [
                {"element": "FixedPortRange", "attributes": {"min": "10000", "max": "10100"}, "children": []}]}]),
    ]
    return [portal, jobs, new]


@pytest.fixture(scope="module")
def solution(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("adopted") / "Contoso"
    for name in [*SERVICE_FILES, "cloudservice/model.py"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOLUTION_TEMPLATE / name, folder / name)
    answers = {**new_service_answers(TEMPLATE), "service_name": "Contoso"}
    context = {"cookiecutter": answers, "roles": [asdict(role) for role in adopted_plan()], "instance_count": 2,
               "python_build": "3.12.10", "year": "2026", "virtual_network": "Contoso-vnet", "team_code": []}
    post.render_solution(folder, context, SERVICE_FILES, plan.ROLE_SOURCES)
    return folder


@pytest.fixture(scope="module")
def service(solution):
    model = module_from_file(solution / "cloudservice" / "model.py", "adopted_model")
    return model, model.Service.load(solution)


def test_each_role_keeps_its_vm_size_and_cloud_instances(service, solution):
    model, loaded = service
    assert {role.name: role.vm_size for role in loaded.roles} == {
        "Portal": "Standard_A2_v2", "Jobs": "Standard_D2_v2", "Extra": "Standard_D1_v2"}
    cloud, local = loaded.configuration("Cloud"), loaded.configuration("Local")
    assert {role.name: role.instances for role in cloud.roles} == {"Portal": 3, "Jobs": 1, "Extra": 2}
    assert {role.name: role.instances for role in local.roles} == {"Portal": 1, "Jobs": 1, "Extra": 1}
    parameters = json.loads((solution / "deploy" / "main.parameters.json").read_text())
    assert [(r["name"], r["vmSize"], r["instanceCount"]) for r in parameters["parameters"]["roles"]["value"]] == [
        ("Portal", "Standard_A2_v2", 3), ("Jobs", "Standard_D2_v2", 1), ("Extra", "Standard_D1_v2", 2)]
    readme = (solution / "README.md").read_text()
    assert "Portal on `Standard_A2_v2` machines, 3 instances;" in readme
    assert "Extra on `Standard_D1_v2` machines, 2 instances." in readme


def test_endpoints_are_kept_with_their_ports_and_https_is_bound_to_the_site(service):
    _, loaded = service
    portal, jobs, extra = loaded.roles
    assert [(e.name, e.kind, e.protocol, e.port) for e in portal.endpoints] == [
        ("HttpIn", "InputEndpoint", "http", 80), ("HttpsIn", "InputEndpoint", "https", 443),
        ("Cache", "InternalEndpoint", "tcp", 6379)]
    assert portal.sites[0].endpoints == ("HttpIn", "HttpsIn")
    assert [(e.name, e.kind, e.protocol) for e in jobs.endpoints] == [
        ("Telnet", "InputEndpoint", "tcp"), ("Debug", "InstanceInputEndpoint", "tcp")]
    assert [(e.name, e.port) for e in extra.endpoints] == [("HttpIn", 8080)]


def test_local_storage_and_certificates_are_carried(service):
    _, loaded = service
    portal, jobs, _ = loaded.roles
    assert [(s.name, s.size_mb, s.clean_on_role_recycle) for s in portal.local_storage] == [
        ("DiagnosticStore", 4096, False), ("Uploads", 512, True)]
    assert [s.name for s in jobs.local_storage] == ["DiagnosticStore"]
    assert portal.certificates == ("SslCert",)
    assert loaded.configuration("Cloud").role("Portal").certificates == {"SslCert": THUMBPRINT}
    assert loaded.configuration("Local").role("Portal").certificates == {"SslCert": "F" * 40}
    assert loaded.configuration("Cloud").role("Jobs").certificates == {}


def test_the_teams_settings_have_their_values_in_each_configuration(service):
    _, loaded = service
    assert "PaymentsUrl" in loaded.role("Portal").settings
    assert loaded.configuration("Cloud").role("Portal").settings["PaymentsUrl"] == "https://pay.example/?a=1&b=2"
    assert loaded.configuration("Local").role("Portal").settings["PaymentsUrl"] == "http://127.0.0.1"


def test_a_value_keeps_its_line_breaks_and_tabs(service):
    _, loaded = service
    assert loaded.configuration("Cloud").role("Portal").settings["Greeting"] == '"Hello",\r\n\tworld'
    assert loaded.configuration("Local").role("Portal").settings["Greeting"] == "one\ntwo"


def test_an_endpoints_child_elements_are_kept(solution):
    from xml.etree import ElementTree

    namespace = {"d": "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition"}
    definition = ElementTree.parse(solution / "ServiceDefinition.csdef")
    ranges = definition.findall(".//d:InstanceInputEndpoint[@name='Debug']/d:AllocatePublicPortFrom/d:FixedPortRange",
                                namespace)
    assert [dict(found.attrib) for found in ranges] == [{"min": "10000", "max": "10100"}]


def test_the_files_validate_against_microsofts_schemas(solution):
    if not SCHEMAS.is_dir():
        pytest.skip(f"Microsoft's schemas are not at {SCHEMAS}; schema validation skipped")
    assert schema_errors(solution / "ServiceDefinition.csdef", "ServiceDefinitionSchema24.xsd") == []
    for name in ("Cloud", "Local"):
        assert schema_errors(solution / f"ServiceConfiguration.{name}.cscfg", "ServiceConfigurationSchema24.xsd") == []


class TestRequirements:
    def test_theirs_are_kept_and_the_missing_ones_added_in_a_marked_block(self):
        theirs = "Flask==0.10.1\r\n# storage\r\nazure_storage_queue>=12\r\n"
        merged = post.merge_requirements(theirs, ["flask>=3", "waitress>=3", "azure-storage-queue>=12.9"])
        assert merged == theirs + "\r\n" + post.REQUIREMENTS_MARK + "\r\nwaitress>=3\r\n"

    @pytest.mark.parametrize("theirs", ["bottle", "bottle\n", "-r base.txt\n--index-url https://x\n"])
    def test_without_a_final_newline_or_options_only(self, theirs):
        merged = post.merge_requirements(theirs, ["waitress"])
        assert merged.startswith(theirs) and merged.endswith(post.REQUIREMENTS_MARK + "\nwaitress\n")
        assert post.merge_requirements(merged, ["waitress"]) == merged

    @pytest.mark.parametrize("theirs", [
        "# Gepflegt von J\u00fcrgen M\u00fcller\r\nbottle\r\n".encode("cp1252"),
        "\ufeff# gepflegt von J\u00fcrgen\nbottle\n".encode("utf-8"),
        "# J\u00fcrgen\r\nbottle\r\n".encode("utf-16"),
        b"\xfe\xff" + "# J\u00fcrgen\nbottle".encode("utf-16-be"),
    ], ids=["cp1252", "utf-8 with BOM", "utf-16", "utf-16-be without a final newline"])
    def test_their_file_keeps_its_bytes_and_encoding(self, theirs):
        assert post.merge_requirements_file(theirs, ["Bottle>=0.13"]) == theirs
        merged = post.merge_requirements_file(theirs, ["waitress>=3"])
        assert merged.startswith(theirs)
        if theirs[:2] in (b"\xff\xfe", b"\xfe\xff"):
            assert merged.decode("utf-16").endswith(post.REQUIREMENTS_MARK + "\nwaitress>=3\n".replace(
                "\n", "\r\n" if b"\r" in theirs else "\n"))
        else:
            assert merged[len(theirs):].decode("ascii").strip().splitlines() == [post.REQUIREMENTS_MARK, "waitress>=3"]

    def test_no_requirements_of_theirs_is_not_called_theirs(self):
        merged = post.merge_requirements("", ["waitress"])
        assert merged == post.NO_TEAM_REQUIREMENTS_MARK + "\nwaitress\n"
        assert post.merge_requirements(merged, ["waitress"]) == merged

    @pytest.mark.parametrize(("line", "name"), [
        ("Django==1.11 # pinned", "django"), ("zope.interface>=5", "zope-interface"),
        ("Azure_Storage", "azure-storage"), ("waitress[testing]", "waitress"),
        ("# waitress", None), ("-e .", None), ("", None)])
    def test_requirement_names(self, line, name):
        assert post.requirement_name(line) == name


def test_the_teams_files_are_copied_byte_for_byte_over_the_templates(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    files = {"app.py": b"print('hi')\r\n", "static/logo.png": bytes(range(256)), "README.md": b"theirs\n"}
    for name, data in files.items():
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_bytes(data)
    (new / "README.md").parent.mkdir(parents=True)
    (new / "README.md").write_text("the template's\n")
    (new / "serve.py").write_text("the template's\n")
    before = {name: (old / name).stat().st_mtime_ns for name in files}
    post.copy_team_files(old, list(files), new)
    assert {name: (new / name).read_bytes() for name in files} == files
    assert {name: (new / name).stat().st_mtime_ns for name in files} == before
    assert (new / "serve.py").read_text() == "the template's\n"
    assert {name: (old / name).read_bytes() for name in files} == files


def test_the_copies_of_read_only_files_can_be_written_and_copied_again(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "pkg").mkdir(parents=True)
    (old / "pkg" / "app.py").write_text("x = 1\n")
    (old / "pkg" / "app.py").chmod(0o444)  # a read-only checkout
    post.copy_team_files(old, ["pkg/app.py"], new)
    assert (new / "pkg" / "app.py").stat().st_mode & 0o200
    (new / "pkg" / "app.py").chmod(0o444)  # as an older version copied it
    post.copy_team_files(old, ["pkg/app.py"], new)
    assert (new / "pkg" / "app.py").read_text() == "x = 1\n" and (new / "pkg" / "app.py").stat().st_mode & 0o200
    assert not (old / "pkg" / "app.py").stat().st_mode & 0o222


class TestAnswersFromTheOldService:
    """local_extensions: adopt_from is the first question; the later defaults read it."""

    FIXTURES = TEMPLATE / "tests" / "fixtures" / "old-solutions"

    def test_adopt_from_is_the_first_question_and_the_defaults_read_it(self):
        config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
        assert list(config)[:2] == ["adopt_from", "__adopt_from_checked"]
        assert config["adopt_from"] == ""
        for field in ("service_name", "roles", "vm_size", "instance_count", "os_family"):
            assert config[field].startswith(f"{{{{ cookiecutter.adopt_from | adopted('{field}', "), field

    def test_defaults_are_the_old_services_or_the_templates(self):
        expected = json.loads((self.FIXTURES / "ptvs-2015" / "expected.json").read_text())
        folder, want = self.FIXTURES / "ptvs-2015" / expected["solution"], expected["answers"]
        for field, value in want.items():
            assert extension.adopted(str(folder), field, "default") == value
            assert extension.adopted("  ", field, "default") == "default"

    def test_the_old_service_is_read_once_a_run(self):
        folder = str(self.FIXTURES / "plain-wsgi" / "StatusService")
        assert extension.adoption(folder) is extension.adoption(folder + "/")

    def test_a_folder_that_cannot_be_adopted_is_one_error_line(self, tmp_path):
        with pytest.raises(SystemExit) as stopped:
            extension.check_answer({"adopt_from": str(tmp_path / "gone")}, "adopt_from")
        assert str(stopped.value) == (f"ERROR: adopt_from: '{tmp_path / 'gone'}' does not exist; "
                                      "give the folder that holds ServiceDefinition.csdef")
        assert extension.check_answer({"adopt_from": ""}, "adopt_from") == "yes"

    def test_the_solution_may_not_be_written_over_the_old_one(self):
        folder = self.FIXTURES / "plain-wsgi" / "StatusService"
        answers = {**new_service_answers(TEMPLATE), "adopt_from": str(folder), "service_name": "StatusService",
                   "_output_dir": str(folder.parent)}  # as cookiecutter adds it before writing
        with pytest.raises(SystemExit, match="^ERROR: adopt_from: .* overlaps it; "):
            extension.check_answers(answers)
        extension.check_output_folder({**answers, "service_name": "Status"})

    def test_os_family_is_a_checked_free_text_answer(self):
        assert extension.check_answer({"os_family": " 6 "}, "os_family") == "yes"
        with pytest.raises(SystemExit, match="^ERROR: os_family: '5' is not offered; choose one of 7, 6$"):
            extension.check_answer({"os_family": "5"}, "os_family")
