"""Baking with adopt_from: every old solution of tests/fixtures/old-solutions/ becomes a new one.

One `cookiecutter` command per fixture (module-scoped, shared by that fixture's tests), run as
a user runs it. A good fixture's solution keeps the team's files byte for byte, names in
MIGRATION.md what expected.json says, passes `python -m cloudservice check` but for what
MIGRATION.md leaves to a person, and validates against Microsoft's schemas; the old folder is
never written to. A bad one stops with its one error line and writes nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import TEMPLATE
from helpers import CSDEF_NS, SCHEMAS, csdef_roles, jinja_residue, schema_errors, tree_hash

FIXTURES = TEMPLATE / "tests" / "fixtures" / "old-solutions"
CASES = sorted(path.parent.name for path in FIXTURES.glob("*/expected.json"))
GOOD = [name for name in CASES if "error" not in json.loads((FIXTURES / name / "expected.json").read_text())]
BAD = [name for name in CASES if name not in GOOD]
# Roles whose requirements install on Python 3.11+ and whose code runs there: their own tests run.
ROLE_TESTS = {"plain-wsgi": ["Api"], "ptvs-2015-gitignored": ["Jobs"]}


def expected(name: str) -> dict:
    return json.loads((FIXTURES / name / "expected.json").read_text())


# `python -m cloudservice check`'s rules, run with this interpreter (the tool's other commands,
# which the command line loads too, need the solution's own packages).
CHECK = ("from pathlib import Path\nfrom cloudservice import check\n"
         "_, found = check.problems(Path.cwd())\nprint(*found, sep='\\n')\nraise SystemExit(1 if found else 0)\n")


def check_solution(solution: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHECK], cwd=solution, capture_output=True, text=True, check=False,
                          timeout=120)


def adopt(output: Path, old: Path | str, *answers: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(output), str(TEMPLATE),
               "install_packages=no", f"adopt_from={old}", *answers]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, cwd=cwd)


class Baked:
    def __init__(self, name: str, output: Path):
        self.name, self.want = name, expected(name)
        self.old = FIXTURES / name / self.want["solution"]
        before = tree_hash(FIXTURES / name)
        self.completed = adopt(output, self.old)
        self.old_unchanged = tree_hash(FIXTURES / name) == before
        self.solution = output / self.want["service_name"]

    def migration(self) -> str:
        return (self.solution / "MIGRATION.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module", params=GOOD)
def baked(request, tmp_path_factory) -> Baked:
    result = Baked(request.param, tmp_path_factory.mktemp(request.param))
    assert result.completed.returncode == 0, result.completed.stderr
    return result


def test_the_roles_are_the_old_services_and_the_old_folder_is_only_read(baked):
    assert baked.old_unchanged
    assert [name for _, name in csdef_roles(baked.solution)] == [role["name"] for role in baked.want["roles"]]


def test_the_teams_files_are_copied_byte_for_byte(baked):
    for role in baked.want["roles"]:
        old, new = FIXTURES / baked.name / role["folder"], baked.solution / role["name"]
        for name in role["files"]:
            if name == "requirements.txt":  # theirs, then the marked block of what the roles need
                assert (new / name).read_bytes().startswith((old / name).read_bytes()), name
            else:
                assert (new / name).read_bytes() == (old / name).read_bytes(), f"{role['name']}/{name}"


def test_migration_names_what_it_must(baked):
    text = baked.migration()
    for phrase in baked.want["migration_names"]:
        assert phrase in text, phrase
    person = text.partition("## Needs a person")[2]
    places = re.findall(r"^- `([^`]+)`(?: line (\d+))?:", person, flags=re.MULTILINE)
    assert [f"{file}:{line}" if line else file for file, line in places] == baked.want["needs_a_person"]


def test_the_summary_names_migration_and_no_setting_value_is_printed(baked):
    output = baked.completed.stdout + baked.completed.stderr
    assert f"See {baked.solution / 'MIGRATION.md'}." in output
    for role in baked.want["roles"]:
        for values in role["settings"].values():
            for value in values.values():
                if len(value) >= 12:  # shorter ones (a queue name) may be words of the output
                    assert value not in output
                    assert value not in baked.migration()


def test_check_passes_but_for_what_migration_leaves_to_a_person(baked):
    completed = check_solution(baked.solution)
    person = baked.migration().partition("## Needs a person")[2]
    named = set(re.findall(r"`([^`]+)`", person))
    problems = [line for line in completed.stdout.splitlines() + completed.stderr.splitlines()
                if ": " in line and not line.startswith("OK:")]
    for problem in problems:
        assert any(name in problem for name in named), problem
    assert completed.returncode == (1 if problems else 0), completed.stdout + completed.stderr


def test_the_service_files_validate_against_microsofts_schemas(baked):
    if not SCHEMAS.is_dir():
        pytest.skip(f"Microsoft's schemas are not at {SCHEMAS}; schema validation skipped")
    assert schema_errors(baked.solution / "ServiceDefinition.csdef", "ServiceDefinitionSchema24.xsd") == []
    for name in ("Cloud", "Local"):
        document = baked.solution / f"ServiceConfiguration.{name}.cscfg"
        assert schema_errors(document, "ServiceConfigurationSchema24.xsd") == []


def test_the_template_wrote_no_jinja_and_none_of_the_kinds_sample_code(baked):
    team = {f"{role['name']}/{name}" for role in baked.want["roles"] for name in role["files"]}
    assert [line for line in jinja_residue(baked.solution) if line.partition(":")[0] not in team] == []
    for role in baked.want["roles"]:
        folder = baked.solution / role["name"]
        samples = ["security_headers.py", "tests/test_served_pages.py", "queue_consumer.py", "webapp", "website"]
        assert [name for name in samples if (folder / name).exists() and name not in role["files"]] == []
        assert (folder / "bin" / "ConfigureCloudService.ps1").is_file()


def test_the_readme_says_what_runs_the_adopted_workers(baked):
    readme = (baked.solution / "README.md").read_text(encoding="utf-8")
    has_workers = "<WorkerRole " in (baked.solution / "ServiceDefinition.csdef").read_text(encoding="utf-8")
    assert ("the team's own worker scripts" in readme) == has_workers
    assert "queue workers on `azure-storage-queue`" not in readme  # the template's worker, which none has


def test_the_lint_gates_pass_with_the_teams_code_left_out(baked):
    """ruff and bandit as the solution's workflow runs them, on the adopted roles: what the template
    wrote passes, and the team's own files are left out (pyproject.toml, the workflow's Lint step)."""
    roles = [role["name"] for role in baked.want["roles"]]
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *roles],
                          cwd=baked.solution, capture_output=True, text=True, check=False)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    workflow = (baked.solution / ".github" / "workflows" / "tests.yml").read_text()
    bandit = shlex.split(next(line.strip() for line in workflow.splitlines() if "python -m bandit" in line))
    assert bandit[:3] == ["python", "-m", "bandit"]
    completed = subprocess.run([sys.executable, *bandit[1:]], cwd=baked.solution, capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_entry_points_are_the_teams(baked):
    definition = ElementTree.parse(baked.solution / "ServiceDefinition.csdef").getroot()
    for role in baked.want["roles"]:
        folder = baked.solution / role["name"]
        if role["kind"] == "worker":
            entry = definition.find(f"{CSDEF_NS}WorkerRole[@name='{role['name']}']/{CSDEF_NS}Runtime/"
                                    f"{CSDEF_NS}EntryPoint/{CSDEF_NS}ProgramEntryPoint").get("commandLine")
            assert entry == "bin\\ps.cmd LaunchWorker.ps1 " + role["entry_point"].replace("/", "\\")
            assert f'CMD ["python", "{role["entry_point"]}"]' in (folder / "Dockerfile").read_text()
        else:
            wsgi = (folder / "role_wsgi.py").read_text()
            assert f'pkgutil.resolve_name("{role["entry_point"]}")' + ("()" if role["wsgi_factory"] else "") in wsgi
            assert "role_wsgi:application" in (folder / "web.config").read_text()
            assert '"role_wsgi:application"' in (folder / "Dockerfile").read_text()


@pytest.mark.parametrize("baked", list(ROLE_TESTS), indirect=True)
def test_the_adopted_roles_own_tests_pass(baked, run_role_tests):
    for role in ROLE_TESTS[baked.name]:
        completed = run_role_tests(baked.solution, role)
        assert completed.returncode == 0, f"{role}:\n{completed.stdout}\n{completed.stderr}"
        assert " passed" in completed.stdout


def test_the_solutions_own_model_and_container_apps_tests_pass(baked, tmp_path):
    """What `python -m cloudservice test` runs of the solution's own tool, on a copy: the
    tests read any service the model describes, the adopted roles' settings included."""
    copy = tmp_path / baked.solution.name
    shutil.copytree(baked.solution, copy)
    tests = ["cloudservice/tests/test_model.py", "cloudservice/tests/test_containerapps.py"]
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                               cwd=copy, capture_output=True, text=True, check=False, timeout=300)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", completed.stdout)


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_one_error_line_and_nothing_is_written(name, tmp_path):
    want = expected(name)
    old = FIXTURES / name / want["solution"]
    before = tree_hash(FIXTURES / name)
    completed = adopt(tmp_path, old)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [want["error"].replace("{folder}", str(old))]
    assert list(tmp_path.iterdir()) == []
    assert tree_hash(FIXTURES / name) == before


def test_the_new_solution_may_not_be_written_into_the_old_one(tmp_path):
    old = FIXTURES / "plain-wsgi" / "StatusService"
    completed = adopt(old.parent, old, "service_name=StatusService", "--overwrite-if-exists")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"ERROR: adopt_from: '{old}' is the output folder or overlaps it; "
        "write the new solution to a folder outside the old one"]


PLAIN = FIXTURES / "plain-wsgi" / "StatusService"


@pytest.mark.parametrize("answer", [".", "./", "../StatusService"])
def test_a_relative_adopt_from_is_the_folder_cookiecutter_ran_in(tmp_path, answer):
    """Cookiecutter renders the post-generation hook in the template's folder; the old folder
    is still the one the user named."""
    old = tmp_path / "old" / "StatusService"
    shutil.copytree(PLAIN.parent, old.parent)
    completed = adopt(tmp_path / "new", answer, cwd=old)
    assert completed.returncode == 0, completed.stderr
    solution = tmp_path / "new" / "StatusService"
    assert (solution / "MIGRATION.md").is_file()
    assert (solution / "Api" / "hello.py").read_bytes() == (old.parent / "Api" / "hello.py").read_bytes()


def test_answers_on_the_command_line_win(tmp_path):
    """A role the old service has is adopted under the kind given; a new name is a new role of
    the template, on a port no adopted endpoint uses; a new instance_count applies to every role."""
    completed = adopt(tmp_path, PLAIN, "roles=Api:wsgi Site:flask", "instance_count=3")
    assert completed.returncode == 0, completed.stderr
    solution = tmp_path / "StatusService"
    definition = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    ports = {role.get("name"): role.find(f"{CSDEF_NS}Endpoints/{CSDEF_NS}InputEndpoint").get("port")
             for role in definition.findall(f"{CSDEF_NS}WebRole")}
    assert ports == {"Api": "8080", "Site": "80"}
    assert (solution / "Api" / "role_wsgi.py").is_file() and not (solution / "Api" / "webapp").exists()
    assert (solution / "Site" / "webapp").is_dir() and not (solution / "Site" / "role_wsgi.py").exists()
    cloud = (solution / "ServiceConfiguration.Cloud.cscfg").read_text()
    assert cloud.count('<Instances count="3" />') == 2
    migration = (solution / "MIGRATION.md").read_text()
    assert "every role has 3 instances in the cloud, the instance_count answer" in migration
    table = [line for line in migration.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert table == ["| Api | wsgi | `hello:application` | Standard_A4_v2 | 3 |",
                     "| Site | flask | new: the template's | Standard_A4_v2 | 3 |"]
    assert "Adopted StatusService: Api (wsgi);" in completed.stdout


def test_an_adopted_web_role_cannot_be_made_a_worker(tmp_path):
    completed = adopt(tmp_path, PLAIN, "roles=Api:worker")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        "ERROR: roles: 'Api' is a web role in the old service; give it a web kind, or another name for a new role"]
    assert list(tmp_path.iterdir()) == []


def test_the_new_solution_may_not_be_written_into_an_old_role_folder(tmp_path):
    old = tmp_path / "old" / "StatusService"
    shutil.copytree(PLAIN.parent, old.parent)
    completed = adopt(old.parent / "Api", old)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"ERROR: adopt_from: the folder of role Api ('{old.parent / 'Api'}') is the output folder or overlaps it; "
        "write the new solution to a folder outside the old one"]
    assert not (old.parent / "Api" / "StatusService").exists()


def test_a_requirements_file_named_the_windows_way_is_the_roles_requirements(tmp_path):
    old = tmp_path / "old" / "StatusService"
    shutil.copytree(PLAIN.parent, old.parent)
    (old.parent / "Api" / "requirements.txt").unlink(missing_ok=True)
    (old.parent / "Api" / "Requirements.txt").write_bytes(b"requests==2.31.0\r\n")
    completed = adopt(tmp_path / "out", old)
    assert completed.returncode == 0, completed.stderr
    solution = tmp_path / "out" / "StatusService"
    assert [path.name for path in (solution / "Api").iterdir() if path.name.lower() == "requirements.txt"] == [
        "requirements.txt"]
    requirements = (solution / "Api" / "requirements.txt").read_bytes().decode()
    assert requirements.startswith("requests==2.31.0\r\n") and "waitress" in requirements
    assert "`Requirements.txt` becomes `requirements.txt`" in (solution / "MIGRATION.md").read_text()


def test_the_teams_files_win_over_the_templates(tmp_path):
    old = tmp_path / "old" / "StatusService"
    shutil.copytree(PLAIN.parent, old.parent)
    (old.parent / "Api" / "README.md").write_bytes(b"# Our API\r\n")
    (old.parent / "Api" / "conftest.py").write_bytes(b"# our fixtures\n")
    completed = adopt(tmp_path / "out", old)
    assert completed.returncode == 0, completed.stderr
    role = tmp_path / "out" / "StatusService" / "Api"
    assert (role / "README.md").read_bytes() == b"# Our API\r\n"
    assert (role / "conftest.py").read_bytes() == b"# our fixtures\n"
    migration = (tmp_path / "out" / "StatusService" / "MIGRATION.md").read_text()
    assert "`Api/README.md`: the role's own `README.md` is kept; the template's is not written" in migration
    assert "`Api/conftest.py`: the role's own `conftest.py` is kept" in migration
    assert "Api (wsgi)\n----------\n(its own README.md; see MIGRATION.md)" in completed.stdout


def test_asked_interactively_the_answers_default_to_the_old_services(tmp_path):
    command = [sys.executable, "-m", "cookiecutter", "--output-dir", str(tmp_path), str(TEMPLATE)]
    typed = [str(PLAIN), *[""] * 9, "no"]
    completed = subprocess.run(command, input="".join(f"{line}\n" for line in typed), capture_output=True,
                               text=True, check=False, timeout=300)
    assert completed.returncode == 0, completed.stderr
    prompts = " ".join(completed.stdout.split())
    for default in ("(StatusService)", "(Api:wsgi)", "(Standard_A4_v2)", "(4)", "(6)"):
        assert default in prompts, default
    cloud = ElementTree.parse(tmp_path / "StatusService" / "ServiceConfiguration.Cloud.cscfg").getroot()
    assert cloud.get("osFamily") == "6"


def test_under_wfastcgi_the_handler_is_role_wsgi(tmp_path):
    old = FIXTURES / "django-2012" / "PollsService"
    completed = adopt(tmp_path, old, "web_server=wfastcgi")
    assert completed.returncode == 0, completed.stderr
    solution = tmp_path / "PollsService"
    web_config = (solution / "DjangoWebRole" / "web.config").read_text()
    assert '<add key="WSGI_HANDLER" value="role_wsgi.application" />' in web_config
    wsgi = (solution / "DjangoWebRole" / "role_wsgi.py").read_text()
    assert 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polls_site.settings")' in wsgi
    checked = check_solution(solution)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_role_whose_imports_start_below_its_folder_is_served(tmp_path):
    """The old web.config's PYTHONPATH names src/: role_wsgi.py puts it on the path, and the
    team's application answers through it (called here as waitress calls it)."""
    old = tmp_path / "old"
    files = {
        "Svc/ServiceDefinition.csdef": '<?xml version="1.0" encoding="utf-8"?>\n<ServiceDefinition name="Svc" '
        'xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition">\n  <WebRole name="Web">'
        '<Sites><Site name="Web" /></Sites></WebRole>\n</ServiceDefinition>\n',
        "Svc/ServiceConfiguration.Cloud.cscfg": '<?xml version="1.0" encoding="utf-8"?>\n<ServiceConfiguration '
        'serviceName="Svc" xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration" '
        'osFamily="5">\n  <Role name="Web"><Instances count="1" /></Role>\n</ServiceConfiguration>\n',
        "Web/web.config": '<configuration><appSettings><add key="WSGI_HANDLER" value="shop.app.application" />'
        '<add key="PYTHONPATH" value="D:\\home\\site\\wwwroot\\src" /></appSettings></configuration>\n',
        "Web/src/shop/__init__.py": "",
        "Web/src/shop/app.py": "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [environ['PATH_INFO'].encode() + b' from the shop']\n",
    }
    for name, text in files.items():
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_text(text, encoding="utf-8")
    completed = adopt(tmp_path / "out", old / "Svc")
    assert completed.returncode == 0, completed.stderr
    role = tmp_path / "out" / "Svc" / "Web"
    call = ("import role_wsgi\nfrom wsgiref.util import setup_testing_defaults\n"
            "for path in ('/health', '/orders'):\n    environ = {'PATH_INFO': path}\n"
            "    setup_testing_defaults(environ)\n"
            "    print(b''.join(role_wsgi.application(environ, lambda *a: None)).decode().strip())\n")
    served = subprocess.run([sys.executable, "-c", call], cwd=role, capture_output=True, text=True, check=False)
    assert served.stdout.splitlines() == ["ok", "/orders from the shop"], served.stderr


def test_a_new_plain_wsgi_role_beside_an_adopted_one_gets_the_templates_sample(tmp_path):
    """A role the old service does not have is a new role: a wsgi one gets the template's own
    frameworkless app, while the adopted one keeps the team's."""
    completed = adopt(tmp_path, PLAIN, "roles=Api:wsgi Extra:wsgi")
    assert completed.returncode == 0, completed.stderr
    (solution,) = tmp_path.iterdir()
    assert (solution / "Extra" / "wsgi.py").is_file() and (solution / "Extra" / "tests").is_dir()
    team = PLAIN.parent / "Api"
    for path in (path for path in team.rglob("*") if path.is_file()):
        assert (solution / "Api" / path.relative_to(team)).read_bytes() == path.read_bytes()
    assert not (solution / "Api" / "tests" / "test_pages.py").exists()
