"""Adopting an old Visual Studio Python cloud service: hooks/adopt.py's analysis.

Every folder under tests/fixtures/old-solutions/ is an old solution with an expected.json
beside it saying what the analysis must find, or the one error line it must give. The
unit tests below build small solutions of their own to pin each detection rule.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE
from helpers import hook_module, new_service_answers, tree_hash

FIXTURES = TEMPLATE / "tests" / "fixtures" / "old-solutions"
CASES = sorted(path.parent.name for path in FIXTURES.glob("*/expected.json"))
GOOD = [name for name in CASES if "error" not in json.loads((FIXTURES / name / "expected.json").read_text())]
BAD = [name for name in CASES if name not in GOOD]



adopt = hook_module("adopt")


def answer_error():
    return adopt.plan_module().AnswerError


def expected(name: str) -> dict:
    return json.loads((FIXTURES / name / "expected.json").read_text())


# --- the fixtures ---------------------------------------------------------------------------------


def test_every_generation_and_every_bad_input_has_a_fixture():
    assert {"django-2012", "ptvs-2015", "ptvs-2015-gitignored", "preppython-2017", "plain-wsgi",
            "python2-legacy-storage", "different-names"} <= set(GOOD)
    assert {"role-folder-missing", "malformed-xml", "no-wsgi-app", "refused-role-name", "no-csdef"} <= set(BAD)
    kinds = {role["kind"] for name in GOOD for role in expected(name)["roles"]}
    assert kinds == {"django", "flask", "bottle", "wsgi", "worker"}


@pytest.mark.parametrize("name", GOOD)
def test_analysis_finds_what_expected_json_says(name):
    want = expected(name)
    adoption = adopt.analyse(FIXTURES / name / want["solution"])
    assert adoption.service_name == want["service_name"]
    assert adoption.os_family == want["os_family"]
    assert adoption.answers() == want["answers"]
    got = []
    for role in adoption.roles:
        found = {
            "name": role.name, "kind": role.kind, "folder": role.folder.relative_to(FIXTURES / name).as_posix(),
            "entry_point": role.entry_point, "wsgi_factory": role.wsgi_factory, "vm_size": role.vm_size,
            "classic_vm_size": role.classic_vm_size, "instances": role.instances, "files": role.files,
            "settings": {setting.name: setting.values for setting in role.settings},
        }
        if role.settings_module:
            found["settings_module"] = role.settings_module
        if role.python_path:
            found["python_path"] = role.python_path
        got.append(found)
    assert got == want["roles"]


@pytest.mark.parametrize("name", BAD)
def test_bad_solutions_give_the_one_error_line(name):
    want = expected(name)
    folder = FIXTURES / name / want["solution"]
    with pytest.raises(answer_error()) as raised:
        adopt.analyse(folder)
    line = f"ERROR: {raised.value}"
    assert line == want["error"].replace("{folder}", str(folder))
    assert "\n" not in line and line.startswith("ERROR: adopt_from: ")


@pytest.mark.parametrize("name", CASES)
def test_the_analysis_never_writes_into_the_old_solution(name):
    before = tree_hash(FIXTURES / name)
    try:
        adopt.analyse(FIXTURES / name / expected(name)["solution"])
    except answer_error():
        pass
    assert tree_hash(FIXTURES / name) == before


@pytest.mark.parametrize("name", GOOD)
def test_migration_names_what_it_must(name):
    adoption = adopt.analyse(FIXTURES / name / expected(name)["solution"])
    text = adopt.render_migration(adoption)
    missing = [item for item in expected(name)["migration_names"] if item not in text]
    assert missing == [], text
    person = [f"{n.file}:{n.line}" if n.line else n.file for n in adoption.notes if n.section == adopt.PERSON]
    assert person == expected(name)["needs_a_person"]
    assert text.startswith(f"# Migration of {adoption.original_name}\n")
    for title in ("## Carried over", "## Changed, and why", "## Needs a person"):
        assert title in text


@pytest.mark.parametrize("name", GOOD)
def test_setting_values_are_never_shown(name):
    adoption = adopt.analyse(FIXTURES / name / expected(name)["solution"])
    shown = adopt.render_migration(adoption) + adopt.summary(adoption) + repr(adoption)
    values = {value for role in adoption.roles for setting in role.settings for value in setting.values.values()}
    assert [value for value in values if len(value) >= 4 and value in shown] == []


@pytest.mark.parametrize("name", GOOD)
def test_files_to_copy_are_the_teams_own(name):
    for role in adopt.analyse(FIXTURES / name / expected(name)["solution"]).roles:
        for relative in role.files:
            assert (role.folder / relative).is_file()
            parts = relative.lower().split("/")
            assert parts[0] != "bin" and "env" not in parts and "__pycache__" not in parts
            assert not relative.endswith((".pyc", ".pyproj"))
            assert parts[-1] not in {"ps.cmd", "web.config", "wfastcgi.py", "launchworker.ps1"}


def test_errors_are_the_answer_errors_of_the_plan_local_extensions_loads(tmp_path):
    """local_extensions.py catches hooks/plan.py's AnswerError: adopt.py's errors must be that
    class, in a process where nothing else has loaded either module."""
    script = f"""
import sys
from pathlib import Path

sys.path.insert(0, {str(TEMPLATE)!r})
import local_extensions

try:
    local_extensions.hook_module("adopt").analyse(Path({str(tmp_path / "nowhere")!r}))
except local_extensions.hook_module("plan").AnswerError as error:
    print("ERROR:", error)
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("ERROR: adopt_from: ")


def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(answer_error(), match=r"^adopt_from: '.*nowhere' does not exist; give the folder"):
        adopt.analyse(tmp_path / "nowhere")


# --- small solutions for the detection rules -------------------------------------------------------

CSDEF = """<?xml version="1.0" encoding="utf-8"?>
<ServiceDefinition name="{name}" xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition">
{roles}
</ServiceDefinition>
"""
CSCFG = """<?xml version="1.0" encoding="utf-8"?>
<ServiceConfiguration serviceName="{name}" xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"{family}>
{roles}
</ServiceConfiguration>
"""


def write(base: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def solution(tmp_path: Path, roles: str, files: dict[str, str] | None = None, family: str | None = "7",
             name: str = "Svc") -> Path:
    """A cloud project folder Svc/ in tmp_path with this csdef role XML; files are relative to tmp_path."""
    names = re.findall(r'<(?:Web|Worker)Role name="([^"]+)"', roles)
    configured = "\n".join(f'  <Role name="{role}"><Instances count="2" /></Role>' for role in names)
    folder = tmp_path / "Svc"
    write(tmp_path, {
        "Svc/ServiceDefinition.csdef": CSDEF.format(name=name, roles=roles),
        "Svc/ServiceConfiguration.Cloud.cscfg": CSCFG.format(
            name=name, roles=configured, family=f' osFamily="{family}"' if family else ""),
        **(files or {}),
    })
    return folder


WEB = '<WebRole name="{0}" vmsize="Small"><Sites><Site name="Web" /></Sites></WebRole>'
WORKER = '<WorkerRole name="{0}" vmsize="Small" />'
PLAIN_WSGI = "def application(environ, start_response):\n    return []\n"


def only_role(folder: Path):
    (role,) = adopt.analyse(folder).roles
    return role


def planned(folder: Path, **answers: str) -> dict:
    """The role plan of adopting folder with the default answers (and these), as the hook gets it."""
    import local_extensions

    given = {**new_service_answers(TEMPLATE), **adopt.analyse(folder).answers(), "adopt_from": str(folder), **answers}
    return json.loads(local_extensions.role_plan(given))


def web_config_notes(tmp_path: Path, config: str) -> list[str]:
    """The notes on a web role whose old web.config is config."""
    files = {"Web/web.config": config, "Web/wsgi.py": PLAIN_WSGI}
    return [note.text for note in adopt.analyse(solution(tmp_path, WEB.format("Web"), files)).notes]


class TestKind:
    @pytest.mark.parametrize(("files", "kind"), [
        ({"Web/manage.py": "", "Web/site/settings.py": "", "Web/site/wsgi.py": "application = None\n"}, "django"),
        ({"Web/web.config": '<configuration><appSettings><add key="DJANGO_SETTINGS_MODULE" value="s.settings"/>'
                            "</appSettings></configuration>"}, "django"),
        ({"Web/requirements.txt": "Django>=4.2\n", "Web/proj/settings.py": ""}, "django"),
        ({"Web/app.py": "from flask import Flask\napp = Flask(__name__)\n"}, "flask"),
        ({"Web/requirements.txt": "flask\n", "Web/site.py": "app = object()\n"}, "flask"),
        ({"Web/requirements.txt": "Bottle==0.12\n", "Web/wsgi.py": "import bottle\napp = bottle.default_app()\n"},
         "bottle"),
        ({"Web/wsgi.py": PLAIN_WSGI}, "wsgi"),
    ])
    def test_web_role_kinds(self, tmp_path, files, kind):
        assert only_role(solution(tmp_path, WEB.format("Web"), files)).kind == kind

    def test_a_worker_role_is_a_worker_whatever_it_imports(self, tmp_path):
        files = {"Jobs/worker.py": "import flask\n", "Jobs/requirements.txt": "django\n"}
        assert only_role(solution(tmp_path, WORKER.format("Jobs"), files)).kind == "worker"

    def test_a_web_role_with_no_application_is_refused_by_name(self, tmp_path):
        folder = solution(tmp_path, WEB.format("Site"), {"Site/index.html": "<p>hi</p>"})
        with pytest.raises(answer_error(), match="^adopt_from: the web role 'Site' is neither Django"):
            adopt.analyse(folder)

    def test_a_flask_role_without_an_application_is_refused(self, tmp_path):
        folder = solution(tmp_path, WEB.format("Site"), {"Site/requirements.txt": "flask\n", "Site/x.py": "y = 1\n"})
        with pytest.raises(answer_error(), match="'Site' is a Flask role and no WSGI application was found"):
            adopt.analyse(folder)


class TestEntryPoint:
    def test_wsgi_handler_becomes_module_colon_attribute(self, tmp_path):
        files = {"Web/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="pkg.web.app"/>'
                                   "</appSettings></configuration>",
                 "Web/pkg/__init__.py": "", "Web/pkg/web.py": "from flask import Flask\napp = Flask('x')\n"}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.entry_point, role.wsgi_factory) == ("pkg.web:app", False)

    def test_a_called_handler_that_is_a_factory_stays_called(self, tmp_path):
        files = {"Web/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="main.make()"/>'
                                   "</appSettings></configuration>",
                 "Web/main.py": "import flask\n\n\ndef make():\n    return flask.Flask('x')\n"}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.entry_point, role.wsgi_factory) == ("main:make", True)

    def test_a_called_handler_that_is_the_application_is_not_called(self, tmp_path):
        files = {"Web/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="app.wsgi_app()"/>'
                                   "</appSettings></configuration>",
                 "Web/app.py": "import flask\napp = flask.Flask('x')\nwsgi_app = app.wsgi_app\n"}
        folder = solution(tmp_path, WEB.format("Web"), files)
        adoption = adopt.analyse(folder)
        assert (adoption.roles[0].entry_point, adoption.roles[0].wsgi_factory) == ("app:wsgi_app", False)
        assert any("`app.wsgi_app()` calls `wsgi_app`" in note.text for note in adoption.notes)

    def test_plain_wsgi_callable_found_by_its_signature(self, tmp_path):
        files = {"Api/service.py": "def handle(environ, start_response):\n    return []\n"}
        assert only_role(solution(tmp_path, WEB.format("Api"), files)).entry_point == "service:handle"

    def test_django_settings_from_manage_py_and_its_wsgi_module(self, tmp_path):
        files = {"Web/manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "conf.prod")\n',
                 "Web/conf/__init__.py": "", "Web/conf/prod.py": "", "Web/conf/wsgi.py": "application = None\n"}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.settings_module, role.entry_point, role.wsgi_factory) == ("conf.prod", "conf.wsgi:application",
                                                                              False)

    def test_a_requirements_file_that_powershell_wrote_in_utf16(self, tmp_path):
        folder = solution(tmp_path, WEB.format("Web"), {"Web/app.py": "app = object()\n"})
        (tmp_path / "Web" / "requirements.txt").write_bytes("Flask==0.12\r\nazure==4.0.0\r\n".encode("utf-16"))
        adoption = adopt.analyse(folder)
        assert adoption.roles[0].kind == "flask"
        assert any(note.file == "Web/requirements.txt" and note.line == 2 for note in adoption.notes)

    def test_a_flask_package_at_the_roles_top(self, tmp_path):
        files = {"Web/requirements.txt": "-r requirements/base.txt\n", "Web/requirements/base.txt": "Flask\n",
                 "Web/shop/__init__.py": "from flask import Flask\napp = Flask(__name__)\n", "Web/shop/views.py": ""}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.kind, role.entry_point) == ("flask", "shop:app")

    def test_the_old_empty_web_roles_web_config_in_bin(self, tmp_path):
        files = {"Web/bin/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="site.handler"/>'
                 "</appSettings></configuration>", "Web/site.py": "def handler(environ, start_response):\n    pass\n"}
        assert only_role(solution(tmp_path, WEB.format("Web"), files)).entry_point == "site:handler"

    def test_a_django_project_one_folder_down(self, tmp_path):
        files = {"Web/requirements.txt": "Django<2\n", "Web/web.config": '<configuration><appSettings>'
                 '<add key="WSGI_HANDLER" value="site1.wsgi.application"/></appSettings></configuration>',
                 "Web/src/manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site1.settings")\n',
                 "Web/src/site1/__init__.py": "", "Web/src/site1/settings.py": "",
                 "Web/src/site1/wsgi.py": "application = None\n"}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.kind, role.settings_module, role.entry_point, role.python_path) == (
            "django", "site1.settings", "site1.wsgi:application", ["src"])

    def test_the_old_pythonpath_is_a_root_for_the_handler(self, tmp_path):
        files = {"Web/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="api.app"/>'
                 '<add key="PYTHONPATH" value="%RoleRoot%\\approot\\lib;D:\\home\\site\\wwwroot\\code"/>'
                 "</appSettings></configuration>",
                 "Web/requirements.txt": "bottle\n", "Web/code/api.py": "import bottle\napp = bottle.Bottle()\n",
                 "Web/lib/helpers.py": ""}
        role = only_role(solution(tmp_path, WEB.format("Web"), files))
        assert (role.entry_point, role.python_path) == ("api:app", ["lib", "code"])

    @pytest.mark.parametrize(("entry", "files", "script"), [
        ("run.cmd", {"W/run.cmd": "cd app\r\npython app.py\r\n", "W/app/app.py": ""}, "app/app.py"),
        ('bin\\ps.cmd LaunchWorker.ps1 jobs\\run.py', {"W/jobs/run.py": ""}, "jobs/run.py"),
        ("python main.py --loop", {"W/main.py": "", "W/worker.py": ""}, "main.py"),
        ("bin\\ps.cmd LaunchWorker.ps1", {"W/worker.py": ""}, "worker.py"),
        ("bin\\ps.cmd LaunchWorker.ps1", {"W/bin/LaunchWorker.ps1": 'iex "py consume.py"', "W/consume.py": ""},
         "consume.py"),
    ])
    def test_worker_script(self, tmp_path, entry, files, script):
        role = (f'<WorkerRole name="W"><Runtime><EntryPoint><ProgramEntryPoint commandLine="{entry}" '
                'setReadyOnProcessStart="true" /></EntryPoint></Runtime></WorkerRole>')
        assert only_role(solution(tmp_path, role, files)).entry_point == script

    def test_a_worker_that_serves_requests_itself_is_reported(self, tmp_path):
        role = ('<WorkerRole name="W"><Endpoints><InputEndpoint name="Http" protocol="tcp" port="80" />'
                "</Endpoints></WorkerRole>")
        adoption = adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""}))
        assert any(n.section == adopt.PERSON and "worker role with input endpoints" in n.text for n in adoption.notes)

    def test_a_dotnet_role_is_refused(self, tmp_path):
        role = ('<WorkerRole name="Billing"><Runtime><EntryPoint><NetFxEntryPoint assemblyName="Billing.dll" />'
                "</EntryPoint></Runtime></WorkerRole>")
        folder = solution(tmp_path, role, {"Billing/Billing.csproj": "<Project />", "Billing/WorkerRole.cs": ""})
        with pytest.raises(answer_error(), match=r"^adopt_from: role 'Billing' is a .NET role \(<NetFxEntryPoint "):
            adopt.analyse(folder)

    def test_a_worker_without_a_script_is_refused(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/readme.txt": "no code"})
        with pytest.raises(answer_error(), match="the worker role 'W' has no script"):
            adopt.analyse(folder)


class TestRoleFolders:
    def test_inside_the_cloud_project_and_matched_ignoring_case(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("Worker"), {"Svc/WORKER/worker.py": ""})
        assert only_role(folder).folder == folder / "WORKER"

    def test_beside_the_cloud_project_wins_over_inside(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": "", "Svc/W/worker.py": ""})
        assert only_role(folder).folder == tmp_path / "W"

    def test_from_the_ccproj_role_name(self, tmp_path):
        ccproj = ('<Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003"><ItemGroup>'
                  '<ProjectReference Include="..\\src\\queue-jobs\\Jobs.pyproj"><RoleName>W</RoleName>'
                  "</ProjectReference></ItemGroup></Project>")
        folder = solution(tmp_path, WORKER.format("W"), {"Svc/Svc.ccproj": ccproj, "src/queue-jobs/worker.py": ""})
        assert only_role(folder).folder == tmp_path / "src" / "queue-jobs"

    def test_from_a_pyproj_name(self, tmp_path):
        pyproj = ('<Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003"><PropertyGroup>'
                  "<Name>W</Name></PropertyGroup></Project>")
        folder = solution(tmp_path, WORKER.format("W"), {"Jobs/Jobs.pyproj": pyproj, "Jobs/worker.py": ""})
        assert only_role(folder).folder == tmp_path / "Jobs"

    def test_from_physical_directory(self, tmp_path):
        role = ('<WebRole name="Web"><Sites><Site name="Web" physicalDirectory="..\\site" /></Sites></WebRole>')
        files = {"site/wsgi.py": PLAIN_WSGI}
        assert only_role(solution(tmp_path, role, files)).folder == tmp_path / "site"

    def test_team_files_skip_virtualenvs_build_output_and_old_tooling(self, tmp_path):
        files = {"W/worker.py": "", "W/bin/ps.cmd": "", "W/bin/helper.dll": "", "W/whatever/pyvenv.cfg": "",
                 "W/whatever/Lib/x.py": "", "W/pkg/__pycache__/a.cpython-311.pyc": "", "W/pkg/a.py": "",
                 "W/pkg/a.pyc": "", "W/dist/w-1.0-py3-none-any.whl": "", "W/LaunchWorker.ps1": "",
                 "W/W.pyproj": "<Project/>", "W/static/web.config": "<configuration/>", "W/.gitignore": "env/\n",
                 "W/tools/bin/run.py": "", "W/obj/Debug/x.cache": "", "W/wheels/lib-1.0-py3-none-any.whl": "",
                 "W/native/_speedups.pyd": ""}
        adoption = adopt.analyse(solution(tmp_path, WORKER.format("W"), files))
        assert adoption.roles[0].files == [".gitignore", "native/_speedups.pyd", "pkg/a.py", "static/web.config",
                                           "tools/bin/run.py", "wheels/lib-1.0-py3-none-any.whl", "worker.py"]
        (bin_note,) = [note for note in adoption.notes if "bin/" in (note.file or "")]
        assert bin_note.file == "W/bin/helper.dll (old)" and "copy it by hand" in bin_note.text


class TestConfiguration:
    @pytest.mark.parametrize(("classic", "arm"), [
        ("ExtraSmall", "Standard_A1_v2"), ("Small", "Standard_A1_v2"), ("Medium", "Standard_A2_v2"),
        ("Large", "Standard_A4_v2"), ("ExtraLarge", "Standard_A8_v2"), ("A5", "Standard_A2m_v2"),
        ("A6", "Standard_A4m_v2"), ("A7", "Standard_A8m_v2"), ("A8", "Standard_A8m_v2"), ("A9", "Standard_D14_v2"),
        ("A10", "Standard_A8m_v2"), ("A11", "Standard_D14_v2"), ("small", "Standard_A1_v2"),
        ("Standard_D2_v2", "Standard_D2_v2"), (None, "Standard_A1_v2"),
        # ARM sizes as old .csdef files may spell them: Azure compares the names ignoring case.
        ("standard_d2_v2", "Standard_D2_v2"), ("STANDARD_DS2_V2", "Standard_DS2_v2"),
        ("Standard_d2S_V3", "Standard_D2s_v3"),
        ("standard_nc24ads_a100_v4", "Standard_NC24ads_A100_v4"), ("Standard_DC4AS_CC_V5", "Standard_DC4as_cc_v5"),
        ("Standard_D2_v2_Promo", "Standard_D2_v2"), ("standard_m416s_8_v2", "Standard_M416s_8_v2"),
    ])
    def test_vm_sizes(self, classic, arm):
        assert adopt.map_vm_size(classic) == arm
        assert hook_module("plan").check_vm_size(arm) == arm

    @pytest.mark.parametrize("size", ["Huge", "Standard_", "Standard_D2 v2", "Standard_2_v2", "Standard_D2v2"])
    def test_an_unknown_vm_size_is_refused(self, size):
        with pytest.raises(answer_error(), match=f"^adopt_from: the vmsize '{size}' of ServiceDefinition.csdef is not"):
            adopt.map_vm_size(size)

    def test_a_vm_size_spelt_otherwise_is_noted(self, tmp_path):
        roles = ('<WorkerRole name="A" vmsize="standard_d2_v2" /><WorkerRole name="B" vmsize="Standard_D2_v2_Promo" />'
                 '<WorkerRole name="C" vmsize="Standard_D2_v2" />')
        files = {f"{name}/worker.py": "print('working')\n" for name in "ABC"}
        adoption = adopt.analyse(solution(tmp_path, roles, files))
        changed = [note.text for note in adoption.notes if "vmsize" in note.text]
        assert changed == [
            "role A: vmsize `standard_d2_v2` becomes `Standard_D2_v2` (as Azure names it)",
            "role B: vmsize `Standard_D2_v2_Promo` becomes `Standard_D2_v2` (as Azure names it; the Promo sizes are"
            " retired)",
        ]

    @pytest.mark.parametrize(("family", "kept"), [("7", "7"), ("6", "6"), ("4", "7"), ("2", "7"), (None, "7")])
    def test_os_family(self, tmp_path, family, kept):
        adoption = adopt.analyse(solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""}, family=family))
        assert adoption.os_family == kept
        changed = [n.text for n in adoption.notes if n.section == adopt.CHANGED and "osFamily" in n.text]
        assert bool(changed) == (family != kept)

    @pytest.mark.parametrize(("name", "valid"), [
        ("Contoso.Portal", "Contoso-Portal"), ("My_Cloud Service", "My-Cloud-Service"), ("2020Orders", "Orders"),
        ("ab", "ab-service"), ("x" * 70, "x" * 63), ("Plain", "Plain"),
    ])
    def test_service_names_are_made_valid(self, name, valid):
        assert adopt.valid_service_name(name) == valid
        adopt.plan_module().check_service_name(valid)

    def test_settings_keep_their_values_per_cscfg_and_plugins_are_dropped(self, tmp_path):
        role = ('<WorkerRole name="W"><ConfigurationSettings><Setting name="Queue" />'
                '<Setting name="Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString" />'
                "</ConfigurationSettings></WorkerRole>")
        folder = solution(tmp_path, role, {"W/worker.py": ""})
        local = CSCFG.format(name="Svc", family="", roles='<Role name="W"><Instances count="1" />'
                             '<ConfigurationSettings><Setting name="Queue" value="jobs-dev" /></ConfigurationSettings>'
                             "</Role>")
        (folder / "ServiceConfiguration.Local.cscfg").write_text(local)
        adoption = adopt.analyse(folder)
        (setting,) = adoption.roles[0].settings
        assert (setting.name, setting.values) == ("Queue", {"ServiceConfiguration.Local.cscfg": "jobs-dev"})
        assert adoption.roles[0].instances == {"ServiceConfiguration.Cloud.cscfg": 2,
                                               "ServiceConfiguration.Local.cscfg": 1}
        assert any("Plugins.Diagnostics.ConnectionString` dropped" in n.text for n in adoption.notes)
        assert "jobs-dev" not in repr(adoption)

    def test_certificates_carry_their_thumbprints_per_cscfg(self):
        adoption = adopt.analyse(FIXTURES / "ptvs-2015" / "OrdersService")
        (certificate,) = adoption.roles[0].certificates
        assert certificate == {"name": "SiteCertificate", "storeLocation": "LocalMachine", "storeName": "My",
                               "thumbprints": {"ServiceConfiguration.Cloud.cscfg":
                                               "9F1C2B7A8D3E4F506172839A0B1C2D3E4F506172"}}
        assert adoption.roles[0].endpoints[1] == {"kind": "InputEndpoint", "name": "HttpsIn", "protocol": "https",
                                                  "port": "443", "certificate": "SiteCertificate"}

    def test_the_deployed_configuration_is_cloud_or_the_first_not_local(self):
        assert adopt.cloud_configuration(["A.Local.cscfg", "ServiceConfiguration.Cloud.cscfg"]) == \
            "ServiceConfiguration.Cloud.cscfg"
        assert adopt.cloud_configuration(["S.Local.cscfg", "S.Production.cscfg"]) == "S.Production.cscfg"


class TestBadInput:
    def test_malformed_xml_names_file_line_and_column(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})
        (folder / "ServiceDefinition.csdef").write_text('<?xml version="1.0"?>\n<ServiceDefinition name="S">\n'
                                                        '  <WorkerRole name="W" vmsize=Small />\n')
        with pytest.raises(answer_error(), match=r"^adopt_from: ServiceDefinition.csdef is not well-formed XML: "
                                                 r"not well-formed \(invalid token\) at line 3, column 31; "):
            adopt.analyse(folder)

    def test_a_malformed_role_web_config_is_named_with_its_folder(self, tmp_path):
        folder = solution(tmp_path, WEB.format("Web"), {"Web/web.config": "<configuration>\n<appSettings>\n"})
        with pytest.raises(answer_error(), match=r"Web/web.config is not well-formed XML: .* at line 3, column 1"):
            adopt.analyse(folder)

    def test_no_cscfg(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})
        (folder / "ServiceConfiguration.Cloud.cscfg").unlink()
        with pytest.raises(answer_error(), match="holds no .cscfg file"):
            adopt.analyse(folder)

    def test_role_names_used_twice_ignoring_case(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("Jobs") + WORKER.format("JOBS"), {"Jobs/worker.py": ""})
        with pytest.raises(answer_error(), match="the role name 'JOBS' is used twice"):
            adopt.analyse(folder)

    @pytest.mark.parametrize(("role", "words"), [
        ("COM1", "reserved device name"), ("deploy", "already a folder of the solution"),
        ("9Lives", "not a valid role name"),
    ])
    def test_role_names_the_template_refuses(self, tmp_path, role, words):
        folder = solution(tmp_path, WORKER.format(role), {f"{role}/worker.py": ""})
        with pytest.raises(answer_error(), match=f"^adopt_from: role '{role}' .*{words}"):
            adopt.analyse(folder)

    def test_the_output_folder_may_not_overlap_the_old_solution(self, tmp_path):
        adopt.check_output_folder(tmp_path / "old", tmp_path / "new")
        for output in (tmp_path / "old", tmp_path / "old" / "new", tmp_path):
            with pytest.raises(answer_error(), match="overlaps"):
                adopt.check_output_folder(tmp_path / "old", output)

    def test_role_names_that_differ_only_in_dash_and_underscore(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("Web-Api") + WORKER.format("Web_Api"),
                          {"Web-Api/worker.py": "", "Web_Api/worker.py": ""})
        with pytest.raises(answer_error(), match=r"^adopt_from: the role name 'Web_Api' is used twice .*'-' and '_'"):
            adopt.analyse(folder)

    def test_the_output_folder_may_not_be_in_a_role_folder_beside_the_cloud_project(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("Jobs"), {"Jobs/worker.py": ""})
        roles = adopt.analyse(folder).roles
        adopt.check_output_folder(folder, tmp_path / "New", roles)
        with pytest.raises(answer_error(), match=r"^adopt_from: the folder of role Jobs \(.*\) is the output folder "):
            adopt.check_output_folder(folder, tmp_path / "Jobs" / "New", roles)

    @pytest.mark.parametrize("setting", ["ROLE_NAME", "PythonPath", "DIAGNOSTIC_STORE", "RoleRoot",
                                         "CONTAINER_APP_NAME"])
    def test_a_setting_named_as_a_variable_the_role_needs(self, tmp_path, setting):
        role = (f'<WorkerRole name="W"><ConfigurationSettings><Setting name="{setting}" />'
                "</ConfigurationSettings></WorkerRole>")
        with pytest.raises(answer_error(), match=f"^adopt_from: role W: the setting '{setting}' .* would replace"):
            adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""}))

    @pytest.mark.parametrize("setting", ["R&D", "Two words", "9lives", "Caf\u00e9"])
    def test_a_setting_no_environment_variable_can_be_named_after(self, tmp_path, setting):
        escaped = setting.replace("&", "&amp;")
        role = (f'<WorkerRole name="W"><ConfigurationSettings><Setting name="{escaped}" />'
                "</ConfigurationSettings></WorkerRole>")
        with pytest.raises(answer_error(), match=f"^adopt_from: role W: the setting '{re.escape(setting)}' .* cannot "
                                                 "be the name of an environment variable"):
            adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""}))

    def test_two_settings_that_differ_only_in_case(self, tmp_path):
        role = ('<WorkerRole name="W"><ConfigurationSettings><Setting name="Colour" /><Setting name="colour" />'
                "</ConfigurationSettings></WorkerRole>")
        with pytest.raises(answer_error(), match="^adopt_from: role W: the settings 'colour' and 'Colour' .* are one "
                                                 "environment variable on Windows; rename one of them"):
            adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""}))

    @pytest.mark.parametrize("setting", ["PORT", "HTTP_PLATFORM_PORT", "Host"])
    def test_a_setting_named_as_a_variable_the_web_server_is_started_with(self, tmp_path, setting):
        settings = f'<ConfigurationSettings><Setting name="{setting}" /></ConfigurationSettings>'
        web = f'<WebRole name="Web"><Sites><Site name="Web" /></Sites>{settings}</WebRole>'
        with pytest.raises(answer_error(), match=f"^adopt_from: role Web: the setting '{setting}' .* would replace"):
            adopt.analyse(solution(tmp_path, web, {"Web/wsgi.py": PLAIN_WSGI}))
        worker = f'<WorkerRole name="W">{settings}</WorkerRole>'
        (role,) = adopt.analyse(solution(tmp_path, worker, {"W/worker.py": ""})).roles
        assert [setting.name for setting in role.settings] == [setting]

    def test_the_reserved_names_are_the_variables_the_template_gives_every_role(self):
        csdef = (TEMPLATE / "{{cookiecutter.service_name}}" / "ServiceDefinition.csdef").read_text()
        given = set(re.findall(r'<Variable name="([A-Z_]+)"', csdef))
        assert "ROLE_NAME" in given and given <= adopt.RESERVED_VARIABLES

    @pytest.mark.parametrize("web_server", ["httpplatformhandler", "wfastcgi"])
    @pytest.mark.parametrize("web", [True, False])
    def test_every_variable_an_adopted_roles_python_reads_is_reserved_or_the_templates_setting(
            self, web, web_server):
        read = set()
        for layer in adopt.adopted_layers(web, web_server):
            for path in (TEMPLATE / "roles" / layer).rglob("*.py"):
                if "tests" not in path.parts:
                    read |= set(re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z_]+)"', path.read_text()))
        reserved = adopt.RESERVED_VARIABLES | (adopt.WEB_RESERVED_VARIABLES if web else set())
        assert "ROLE_INSTANCE_ID" in read or "APPLICATIONINSIGHTS_CONNECTION_STRING" in read  # found at all
        assert read <= reserved | set(adopt.ADOPTED_TEMPLATE_SETTINGS)

    def test_a_file_it_may_not_read_is_one_error_line(self, tmp_path, monkeypatch):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})

        def refused(root):
            raise PermissionError(13, "Permission denied", str(root / "logs"))

        monkeypatch.setattr(adopt, "team_files", refused)  # as root, no permission stops the walk
        with pytest.raises(answer_error()) as raised:
            adopt.analyse(folder)
        assert str(raised.value) == (f"adopt_from: '{tmp_path / 'W' / 'logs'}' cannot be read: Permission denied; "
                                     "make the old solution's files readable and run again")

    def test_a_refusal_that_names_no_file_is_one_error_line_too(self, tmp_path, monkeypatch):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})

        def refused(root):
            raise OSError("the network share went away")

        monkeypatch.setattr(adopt, "team_files", refused)
        with pytest.raises(answer_error()) as raised:
            adopt.analyse(folder)
        assert str(raised.value) == ("adopt_from: a file cannot be read: the network share went away; "
                                     "make the old solution's files readable and run again")

    def test_a_folder_given_as_dot_is_named_by_its_name(self, tmp_path, monkeypatch):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""}, name="")
        monkeypatch.chdir(folder)
        adoption = adopt.analyse(Path("."))
        assert adoption.service_name == "Svc"
        assert "cloud service `Svc`" in adopt.render_migration(adoption)
        assert json.loads(adopt.record(adoption))["folder"] == "Svc"


class TestReport:
    @pytest.mark.parametrize(("module", "name", "retired"), [
        ("azure.storage", "CloudStorageAccount", True),
        ("azure.storage.queue", "QueueService", True),
        ("azure.storage.queue.queueservice", "QueueService", True),
        ("azure.storage.blob", "BlockBlobService", True),
        ("azure.storage.table", "TableService", True),
        ("azure.cosmosdb.table.tableservice", "TableService", True),
        ("azure.servicebus", "ServiceBusService", True),
        ("azure.servicebus", "Message", True),
        ("azure.servicebus.control_client", "ServiceBusService", True),
        ("azure.common.credentials", "ServicePrincipalCredentials", True),
        ("azure", "*", True),
        ("azure", "storage", True),
        ("azure.storage", "*", False),
        ("azure.storage", "queue", True),
        ("azure.storage.queue", "QueueClient", False),
        ("azure.storage.queue", "*", False),
        ("azure.storage.blob", "BlobServiceClient", False),
        ("azure.servicebus", "ServiceBusClient", False),
        ("azure.identity", "DefaultAzureCredential", False),
        ("azure.core.exceptions", "ResourceNotFoundError", False),
        ("azure.data.tables", "TableServiceClient", False),
        ("requests", "*", False),
    ])
    def test_retired_sdk_imports(self, module, name, retired):
        assert (adopt.retired_advice(module, name) is not None) == retired

    @pytest.mark.parametrize(("requirement", "old"), [
        ("azure-storage-queue==2.1.0", True), ("azure-storage-queue<12", True), ("azure-storage-queue<=11.9", True),
        ("azure-storage-queue<12.0", True), ("azure-storage-queue<12.5", False), ("azure-storage-queue>=12", False),
        ("azure-storage-queue", False), ("azure-storage-queue==12.10.0", False),
    ])
    def test_versions_before_the_new_api(self, requirement, old):
        assert adopt.only_before(requirement, 12) == old

    def test_python2_files_imports_and_requirements_with_file_and_line(self, tmp_path):
        files = {
            "W/worker.py": "import os\nprint 'hello'\n",
            "W/jobs.py": "from azure.storage import (\n    QueueService,\n    BlobService)\n",
            "W/fine.py": "from azure.storage.queue import QueueClient\n",
            "W/requirements.txt": "# pinned\nazure-storage-queue==2.1.0\nazure-storage-blob\n"
                                  "azure-servicebus==0.50.3\n",
        }
        notes = adopt.analyse(solution(tmp_path, WORKER.format("W"), files)).notes
        person: dict[tuple, str] = {}
        for note in notes:
            if note.section == adopt.PERSON:
                person[(note.file, note.line)] = person.get((note.file, note.line), "") + note.text
        assert person[("W/worker.py", 2)].startswith("does not compile under Python 3")
        assert "`azure.storage.QueueService`" in person[("W/jobs.py", 1)]
        assert "`azure.storage.BlobService`" in person[("W/jobs.py", 1)]
        assert "azure-storage-queue==2.1.0" in person[("W/requirements.txt", 2)]
        assert "azure-servicebus==0.50.3" in person[("W/requirements.txt", 4)]
        assert ("W/requirements.txt", 3) not in person
        assert not any(file == "W/requirements.txt" and line == 1 for file, line in person)
        assert not any(file == "W/fine.py" for file, _ in person)

    def test_a_requirements_file_spelled_the_windows_way_is_cited_by_its_new_name(self, tmp_path):
        files = {"W/worker.py": "", "W/Requirements.TXT": "azure-storage-queue==2.1.0\n-e ../shared\n-r Base.txt\n",
                 "W/Base.txt": "azure-servicebus==0.50.3\n"}
        notes = adopt.analyse(solution(tmp_path, WORKER.format("W"), files)).notes
        cited = {(note.file, note.line) for note in notes if note.line is not None}
        assert {("W/requirements.txt", 1), ("W/requirements.txt", 2), ("W/Base.txt", 1)} <= cited
        assert not any(file.startswith("W/Requirements.TXT") for file, _ in cited)
        assert any("`Requirements.TXT` becomes `requirements.txt`" in note.text for note in notes)

    def test_python2_modules_in_code_that_compiles(self, tmp_path):
        files = {"W/worker.py": "import os\nimport urllib2\nfrom Queue import Queue\nimport queue\n",
                 "W/helpers.py": "import commands\n", "W/commands.py": ""}
        notes = adopt.analyse(solution(tmp_path, WORKER.format("W"), files)).notes
        found = [(n.file, n.line, n.text) for n in notes if "a Python 2 module" in n.text]
        assert found == [
            ("W/worker.py", 2, "imports `urllib2`, a Python 2 module: Python 3 has `urllib.request`"),
            ("W/worker.py", 3, "imports `Queue`, a Python 2 module: Python 3 has `queue`"),
        ]

    def test_python2_imports_on_several_lines_are_read_line_by_line(self):
        found = adopt.imports_by_line("import urllib2, os\nfrom azure.storage import (QueueService,\n")
        assert found == [("urllib2", "*", 1), ("os", "*", 1), ("azure.storage", "QueueService", 2)]

    def test_old_web_config_parts_beyond_the_handler_are_reported(self, tmp_path):
        web_config = ('<configuration><appSettings><add key="WSGI_HANDLER" value="wsgi.application"/>'
                      '<add key="FEATURE_FLAGS" value="beta"/></appSettings><system.webServer><handlers />'
                      "<rewrite><rules /></rewrite><staticContent /></system.webServer></configuration>")
        files = {"Web/web.config": web_config, "Web/wsgi.py": PLAIN_WSGI}
        notes = adopt.analyse(solution(tmp_path, WEB.format("Web"), files)).notes
        reported = sorted(note.text.split("`")[1] for note in notes if note.file == "Web/web.config (old)")
        assert reported == ["<rewrite>", "<staticContent>", "FEATURE_FLAGS"]

    def test_start_up_tasks_of_their_own_are_quoted_as_not_carried(self, tmp_path):
        role = ('<WorkerRole name="W"><Startup><Task commandLine="bin\\ps.cmd ConfigureCloudService.ps1" />'
                '<Task commandLine="install-fonts.cmd /quiet" /></Startup></WorkerRole>')
        notes = adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""})).notes
        texts = {n.section: [] for n in notes}
        for n in notes:
            texts[n.section].append(n.text)
        assert any("`bin\\ps.cmd ConfigureCloudService.ps1` replaced" in t for t in texts[adopt.CHANGED])
        assert any("`install-fonts.cmd /quiet` not carried" in t for t in texts[adopt.PERSON])
        assert not any("ConfigureCloudService" in t for t in texts[adopt.PERSON])

    def test_a_2012_setup_script_is_replaced_and_what_else_it_did_left_to_a_person(self, tmp_path):
        role = '<WebRole name="Web"><Startup><Task commandLine="setup.cmd" /></Startup></WebRole>'
        notes = adopt.analyse(solution(tmp_path, role, {"Web/wsgi.py": PLAIN_WSGI})).notes
        about = {note.section for note in notes if "`setup.cmd`" in note.text}
        assert about == {adopt.CHANGED, adopt.PERSON}

    def test_render_lists_each_section_even_when_empty(self, tmp_path):
        adoption = adopt.analyse(solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""}))
        text = adopt.render_migration(adoption)
        assert "| W | worker | `worker.py` | Standard_A1_v2 | 2 |" in text
        assert "## Needs a person\n\n- Nothing.\n" in text


class TestDefinitionParts:
    def test_probes_are_replaced_and_stray_roles_and_extra_sites_reported(self, tmp_path):
        roles = ('<WebRole name="Web"><Sites><Site name="Web" /><Site name="Admin" physicalDirectory="..\\admin">'
                 '<VirtualApplication name="old" physicalDirectory="..\\old" /></Site></Sites></WebRole>'
                 '<LoadBalancerProbes><LoadBalancerProbe name="health" protocol="http" path="/health" />'
                 "</LoadBalancerProbes>")
        folder = solution(tmp_path, roles, {"Web/wsgi.py": PLAIN_WSGI})
        cloud = folder / "ServiceConfiguration.Cloud.cscfg"
        cloud.write_text(cloud.read_text().replace("</ServiceConfiguration>",
                                                   '<Role name="Gone" /></ServiceConfiguration>'))
        notes = adopt.analyse(folder).notes
        texts = [(note.section, note.text) for note in notes]
        assert any(s == adopt.CHANGED and t.startswith('`<LoadBalancerProbe name="health" protocol="http" '
                   'path="/health">` replaced by the template\'s probe') for s, t in texts)
        assert any(s == adopt.PERSON and "role `Gone` is configured but not defined" in t for s, t in texts)
        assert any(s == adopt.PERSON and '`<Site name="Admin"' in t for s, t in texts)
        assert any(s == adopt.PERSON and '`<VirtualApplication name="old"' in t for s, t in texts)
        assert not any("not understood" in t for _, t in texts)

    def test_the_old_toolings_variables_are_not_reported(self, tmp_path):
        role = ('<WorkerRole name="W"><Runtime><Environment><Variable name="EMULATED">'
                '<RoleInstanceValue xpath="/RoleEnvironment/Deployment/@emulated" /></Variable>'
                '<Variable name="PYTHONPATH" value="" /><Variable name="MODE" value="fast" /></Environment>'
                "</Runtime></WorkerRole>")
        notes = adopt.analyse(solution(tmp_path, role, {"W/worker.py": ""})).notes
        variables = [note.text for note in notes if "runtime variable" in note.text]
        assert len(variables) == 1 and variables[0].startswith("role W: runtime variable `MODE` not carried")
        assert "fast" not in variables[0]

    def test_an_existing_network_configuration_is_replaced(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})
        cloud = folder / "ServiceConfiguration.Cloud.cscfg"
        cloud.write_text(cloud.read_text().replace(
            "</ServiceConfiguration>", '<NetworkConfiguration><VirtualNetworkSite name="old" />'
            "</NetworkConfiguration></ServiceConfiguration>"))
        assert any(note.text == "NetworkConfiguration replaced by the template's virtual network"
                   for note in adopt.analyse(folder).notes)


class TestWhatIsNotCarried:
    def test_code_outside_the_role_folder_is_reported(self, tmp_path):
        role = ('<WorkerRole name="W"><Runtime><Environment><Variable name="PYTHONPATH" value="..\\..\\Common" />'
                "</Environment></Runtime></WorkerRole>")
        pyproj = ('<Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003"><PropertyGroup>'
                  "<SearchPath>..\\Common\\;lib</SearchPath></PropertyGroup><ItemGroup>"
                  '<Compile Include="worker.py" /><Compile Include="..\\Common\\util.py"><Link>util.py</Link></Compile>'
                  '<ProjectReference Include="..\\Common\\Common.pyproj" /></ItemGroup></Project>')
        folder = solution(tmp_path, role, {"W/worker.py": "", "W/W.pyproj": pyproj, "W/lib/x.py": "",
                                           "W/requirements.txt": "-e ../Common\nrequests\n-e ./lib\n",
                                           "Common/util.py": ""})
        reported = [note for note in adopt.analyse(folder).notes if "outside the role's folder" in note.text]
        assert [note.text.partition(" is outside")[0] for note in reported] == [
            "`..\\Common\\` (SearchPath of the .pyproj)", "`..\\..\\Common` (PYTHONPATH of ServiceDefinition.csdef)",
            "`..\\Common\\util.py` (Compile of W.pyproj)", "`..\\Common\\Common.pyproj` (ProjectReference of W.pyproj)",
            "`-e ../Common`"]
        assert all(note.section == adopt.PERSON for note in reported)
        assert (reported[-1].file, reported[-1].line) == ("W/requirements.txt", 1)

    def test_absolute_paths_and_the_parent_folder_are_outside_too(self, tmp_path):
        pyproj = ('<Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003"><PropertyGroup>'
                  "<SearchPath>D:\\Shared\\lib;%RoleRoot%\\approot;.</SearchPath></PropertyGroup></Project>")
        requirements = ("-e ..\nrequests>=2\n-e .\nC:\\wheels\\tool-1.0-py3-none-any.whl\n"
                        "file:///opt/libs/x\n\\\\server\\share\\y.whl\n../z.whl\n-r base.txt\n")
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": "", "W/W.pyproj": pyproj,
                                                         "W/requirements.txt": requirements, "W/base.txt": ""})
        reported = [note.text.partition(" is outside")[0] for note in adopt.analyse(folder).notes
                    if "outside the role's folder" in note.text]
        assert reported == ["`D:\\Shared\\lib` (SearchPath of the .pyproj)", "`-e ..`",
                            "`C:\\wheels\\tool-1.0-py3-none-any.whl`", "`file:///opt/libs/x`",
                            "`\\\\server\\share\\y.whl`", "`../z.whl`"]

    def test_handlers_of_the_old_web_config_other_than_pythons_are_reported(self, tmp_path):
        config = ('<configuration><system.webServer><handlers><add name="Python FastCGI" path="*" verb="*" '
                  'modules="FastCgiModule" scriptProcessor="D:\\Python27\\python.exe|D:\\Python27\\wfastcgi.py" />'
                  '<add name="StaticFile" path="*.png" verb="*" modules="StaticFileModule" /></handlers>'
                  "</system.webServer></configuration>")
        handlers = [text for text in web_config_notes(tmp_path, config) if text.startswith("handler ")]
        assert handlers == ['handler `<add name="StaticFile" path="*.png" verb="*" modules="StaticFileModule">` of '
                            "the old web.config not carried: IIS hands every request to Python now; add it to the "
                            "new web.config if the site needs it"]

    def test_what_the_old_definition_said_of_rights_readiness_bindings_and_upgrades_is_reported(self, tmp_path):
        roles = ('<WebRole name="Web"><Sites><Site name="Web"><Bindings><Binding name="B" endpointName="HttpIn" '
                 'hostHeader="shop.example" /></Bindings></Site></Sites></WebRole>'
                 '<WorkerRole name="W"><Runtime executionContext="elevated"><EntryPoint><ProgramEntryPoint '
                 'commandLine="python worker.py" setReadyOnProcessStart="false" /></EntryPoint></Runtime></WorkerRole>')
        folder = solution(tmp_path, roles, {"Web/wsgi.py": PLAIN_WSGI, "W/worker.py": ""})
        definition = folder / "ServiceDefinition.csdef"
        definition.write_text(definition.read_text().replace('name="Svc"', 'name="Svc" upgradeDomainCount="3"', 1))
        texts = [note.text for note in adopt.analyse(folder).notes if note.section == adopt.PERSON]
        assert any(text.startswith('`upgradeDomainCount="3"` of the ServiceDefinition not carried') for text in texts)
        assert any('`<Binding name="B" endpointName="HttpIn" hostHeader="shop.example">` not carried' in text
                   for text in texts)
        assert any('`<Runtime executionContext="elevated">` not carried' in text for text in texts)
        assert any('setReadyOnProcessStart="false"' in text for text in texts)

    def test_a_configuration_of_another_name_is_the_new_cloud_one_and_says_so(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("W"), {"W/worker.py": ""})
        (folder / "ServiceConfiguration.Cloud.cscfg").rename(folder / "ServiceConfiguration.Production.cscfg")
        migration = planned(folder)["migration"]
        assert ("ServiceConfiguration.Production.cscfg is the new ServiceConfiguration.Cloud.cscfg: the old service "
                "had no Cloud one") in migration

    def test_sections_of_the_old_web_config_besides_its_settings_and_web_server_are_reported(self, tmp_path):
        config = ('<configuration><configSections /><appSettings><add key="WSGI_HANDLER" value="wsgi.application" />'
                  '</appSettings><connectionStrings><add name="Db" connectionString="x" /></connectionStrings>'
                  '<system.web><httpRuntime maxRequestLength="51200" /></system.web><location path="admin">'
                  "<system.webServer /></location><system.webServer /></configuration>")
        reported = [text.partition(" of the old web.config")[0] for text in web_config_notes(tmp_path, config)
                    if "of the old web.config not carried: add it" in text]
        assert reported == ["`<connectionStrings>`", "`<system.web>`", '`<location path="admin">`']

    @pytest.mark.parametrize(("command", "arguments"), [
        ("bin\\ps.cmd LaunchWorker.ps1 src\\main.py --queue jobs", "--queue jobs"),
        ("bin\\ps.cmd LaunchWorker.ps1 SRC\\Main.py --queue jobs", "--queue jobs"),
        ("python src\\main.py --queue jobs 2&gt;err.log", "--queue jobs"),
        ("python src\\main.py --queue jobs &amp;&amp; exit /b 0", "--queue jobs"),
        ("cmd /c &quot;python src\\main.py --name &quot;a &amp; b&quot;&quot; | more", '--name "a & b"'),
        ("cmd /c &quot;python src\\main.py --queue jobs&quot;", "--queue jobs"),
        ("python &quot;src\\main.py&quot; --queue jobs", "--queue jobs"),
        ("cmd /c &quot;python &quot;src\\main.py&quot; --queue jobs&quot; &amp; exit", "--queue jobs"),
        ("python src\\main.py &gt;&gt; out.log", None),
        ("bin\\ps.cmd LaunchWorker.ps1 src\\main.py", None),
    ])
    def test_arguments_of_the_worker_script_are_reported(self, tmp_path, command, arguments):
        role = (f'<WorkerRole name="W"><Runtime><EntryPoint><ProgramEntryPoint commandLine="{command}" '
                'setReadyOnProcessStart="true" /></EntryPoint></Runtime></WorkerRole>')
        adoption = adopt.analyse(solution(tmp_path, role, {"W/src/main.py": ""}))
        assert adoption.roles[0].entry_point == "src/main.py"
        reported = [note.text for note in adoption.notes if "the arguments" in note.text]
        assert len(reported) == (arguments is not None)
        if arguments is not None:
            assert f"the arguments `{arguments}`;" in reported[0]

    def test_an_endpoints_child_elements_are_read(self, tmp_path):
        role = ('<WorkerRole name="W"><Endpoints><InstanceInputEndpoint name="Debug" protocol="tcp" localPort="5678">'
                '<AllocatePublicPortFrom><FixedPortRange min="10000" max="10100" /></AllocatePublicPortFrom>'
                "</InstanceInputEndpoint></Endpoints></WorkerRole>")
        (endpoint,) = only_role(solution(tmp_path, role, {"W/worker.py": ""})).endpoints
        assert endpoint["children"] == [{"element": "AllocatePublicPortFrom", "attributes": {}, "children": [
            {"element": "FixedPortRange", "attributes": {"min": "10000", "max": "10100"}, "children": []}]}]

    def test_each_role_keeps_its_own_size_and_the_template_its_diagnostic_store(self, tmp_path):
        roles = (WORKER.format("A") + '<WorkerRole name="B" vmsize="Medium"><LocalResources>'
                 '<LocalStorage name="DiagnosticStore" sizeInMB="8192" /></LocalResources></WorkerRole>')
        adoption = adopt.analyse(solution(tmp_path, roles, {"A/worker.py": "", "B/worker.py": ""}))
        texts = [(note.section, note.text) for note in adoption.notes]
        assert not any("one size" in text for _, text in texts)
        assert any(section == adopt.CHANGED and "DiagnosticStore" in text and "replaced by the template's own" in text
                   for section, text in texts)
        assert not any(section == adopt.CARRIED and "DiagnosticStore" in text for section, text in texts)


class TestForTheGenerationStep:
    @staticmethod
    def planned_web_role(tmp_path, endpoints: str, settings: str = "") -> tuple[dict, str]:
        role = (f'<WebRole name="Web"><Sites><Site name="Web" /></Sites><Endpoints>{endpoints}</Endpoints>'
                f"{settings}</WebRole>")
        plan = planned(solution(tmp_path, role, {"Web/wsgi.py": PLAIN_WSGI}))
        (web,) = plan["roles"]
        return web, plan["migration"]

    @pytest.mark.parametrize(("endpoints", "https_only", "https_port"), [
        ('<InputEndpoint name="HttpsIn" protocol="https" port="443" certificate="Ssl" />', "true", 443),
        ('<InputEndpoint name="HttpIn" protocol="http" port="80" />'
         '<InputEndpoint name="HttpsIn" protocol="https" port="443" certificate="Ssl" />', "false", 443),
        ('<InputEndpoint name="Secure" protocol="https" port="8443" certificate="Ssl" />', "true", 8443),
        ('<InputEndpoint name="HttpIn" protocol="http" port="8080" />', "false", 443),
    ])
    def test_a_role_the_old_service_served_over_https_only_redirects_http_in_the_cloud(
            self, tmp_path, endpoints, https_only, https_port):
        web, migration = self.planned_web_role(tmp_path, endpoints)
        (setting,) = [setting for setting in web["settings"] if setting["name"] == "HTTPS_ONLY"]
        assert (setting["cloud"], setting["local"]) == (https_only, "false")
        assert web["adopted"]["https_port"] == https_port
        assert "HSTS" not in setting["meaning"] and "role_wsgi.py redirects" in setting["meaning"]
        assert ("HTTPS_ONLY is true in the cloud" in migration) == (https_only == "true")
        assert (f"to https on port {https_port}" in migration) == (https_only == "true")

    def test_a_teams_own_https_only_keeps_its_value_and_is_named(self, tmp_path):
        web, migration = self.planned_web_role(
            tmp_path, '<InputEndpoint name="HttpsIn" protocol="https" port="443" certificate="Ssl" />',
            '<ConfigurationSettings><Setting name="HTTPS_ONLY" /></ConfigurationSettings>')
        (setting,) = [setting for setting in web["settings"] if setting["name"] == "HTTPS_ONLY"]
        assert setting["cloud"] != "true"
        assert "its own setting HTTPS_ONLY is now also read by role_wsgi.py" in migration
        assert "HTTPS_ONLY is true in the cloud" not in migration

    def test_a_server_requirement_the_team_has_in_an_included_file_or_pinned_is_not_added_again(self, tmp_path):
        requirements = {"Web/requirements.txt": "-r requirements/base.txt\n",
                        "Web/requirements/base.txt": "flask\nWaitress == 1.0.0\n"}
        role = '<WebRole name="Web"><Sites><Site name="Web" /></Sites></WebRole>'
        plan = planned(solution(tmp_path, role, {"Web/wsgi.py": PLAIN_WSGI, **requirements}))
        (web,) = plan["roles"]
        assert web["adopted"]["requirements"] == []
        assert "the team's `Waitress == 1.0.0` stays in place of the template's `waitress>=" in plan["migration"]
        assert "requirements/base.txt` line 2" in plan["migration"]

    def test_a_role_the_roles_answer_leaves_out_is_only_named_as_left_out(self, tmp_path):
        folder = solution(tmp_path, WORKER.format("A") + WORKER.format("B"), {"A/worker.py": "", "B/worker.py": ""})
        plan = planned(folder, roles="A:worker")
        migration = plan["migration"]
        assert "role B not adopted: the `roles` answer leaves it out" in migration
        assert "role B:" not in migration and "| B |" not in migration and "`B/" not in migration
        assert "| A | worker | `worker.py` |" in migration and "role A:" in migration
        assert plan["adoption_summary"].startswith("Adopted Svc: A (worker);")

    def test_a_setting_spelled_as_the_templates_in_another_case_is_the_templates(self, tmp_path):
        web, migration = self.planned_web_role(
            tmp_path, '<InputEndpoint name="HttpIn" protocol="http" port="80" />',
            '<ConfigurationSettings><Setting name="https_only" /></ConfigurationSettings>')
        names = [setting["name"] for setting in web["settings"]]
        assert "HTTPS_ONLY" in names and "https_only" not in names
        assert "setting `https_only` is spelled `HTTPS_ONLY`" in migration

    def test_their_files_win_over_the_templates(self, tmp_path):
        role = only_role(solution(tmp_path, WORKER.format("W"), {"W/worker.py": "", "W/README.md": ""}))
        notes = adopt.kept_over_template(role, ["Dockerfile", "README.md", "worker.py", "role_environment.py"])
        assert [note.file for note in notes] == ["W/README.md", "W/worker.py"]

    def test_a_file_of_theirs_that_the_template_runs_needs_a_person(self, tmp_path):
        role = only_role(solution(tmp_path, WEB.format("Web"), {"Web/serve.py": "", "Web/wsgi.py": PLAIN_WSGI,
                                                                "Web/README.md": ""}))
        notes = adopt.kept_over_template(role, ["README.md", "serve.py", "role_wsgi.py"])
        assert [(note.file, note.section) for note in notes] == [("Web/README.md", adopt.CHANGED),
                                                                  ("Web/serve.py", adopt.PERSON)]
        assert "the container's entry point" in notes[1].text
