"""Bake the template with every supported set of answers and check the solution it writes."""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from conftest import TEMPLATE
from helpers import (
    CSCFG_NS,
    CSDEF_NS,
    DEFAULT_NAMES,
    KIND_COMBINATIONS,
    KINDS,
    SCHEMAS,
    csdef_roles,
    hook_module,
    jinja_residue,
    ruff_errors,
    schema_errors,
    text_files,
    untidy,
)

SUPPORTED_COMBINATIONS = [
    *KIND_COMBINATIONS,
    {"python_version": "3.11"},
    {"python_version": "3.13"},
    {"python_version": "3.14"},
    {"web_server": "wfastcgi", "roles": "django flask bottle worker"},
    {"os_family": "6"},
    {"vm_size": "Standard_A2_v2", "instance_count": "3"},
    {"instance_count": "1"},
    {"service_name": "abc"},
    # The longest service name: the virtual network's name is shortened to Azure's 64 characters.
    {"service_name": "Long" + "x" * 59},
    {"service_name": "Orders-Service-2", "description": "Takes orders", "author_name": "Ada Lovelace"},
    # Role names that are not Python identifiers, or that are the frameworks' own names.
    {"roles": "Flask:flask Site:django Api-v2:bottle Queue:worker W:worker"},
    {"roles": "Django:django,Bottle:bottle,Worker:worker,Web_1:flask"},
    # The longest role names (63 characters), and separators that run together.
    {"roles": " ".join(f"{kind.capitalize()}{'x' * (63 - len(kind))}:{kind}" for kind in KINDS) + " A_b__c:wsgi"},
    # Several roles of one kind, named and numbered.
    {"roles": "Shop:flask Admin:flask flask flask"},
    {"roles": "worker worker WorkerRole3:worker worker"},
    {"roles": "Orders:worker Billing:worker Emails:worker"},
]

UNSUPPORTED_COMBINATIONS = [
    ({"service_name": "1service"}, "service_name"),
    ({"service_name": "my_service"}, "service_name"),
    ({"service_name": "ab"}, "service_name"),
    ({"service_name": "service-"}, "service_name"),
    ({"service_name": "x" * 64}, "service_name"),
    ({"roles": ""}, "roles"),
    ({"roles": " , "}, "roles"),
    ({"roles": "Web:rails"}, "roles"),
    ({"roles": "Web:tornado"}, "roles"),
    # wfastcgi cannot serve an ASGI application.
    ({"roles": "Api:fastapi Jobs:worker", "web_server": "wfastcgi"}, "roles"),
    ({"roles": "Web:flask:extra"}, "roles"),
    ({"roles": ":flask"}, "roles"),
    ({"roles": "Web:"}, "roles"),
    ({"roles": "1Web:flask"}, "roles"),
    ({"roles": "My.Web:flask"}, "roles"),
    ({"roles": "Web$:flask"}, "roles"),
    ({"roles": "R" + "x" * 63 + ":worker"}, "roles"),
    ({"roles": "Web:flask Web:bottle"}, "roles"),
    ({"roles": "Web:flask web:worker"}, "roles"),
    ({"roles": "My-Jobs:worker My_Jobs:worker"}, "roles"),
    ({"roles": "CON:flask"}, "roles"),
    ({"roles": "nul:worker"}, "roles"),
    ({"roles": "Com1:worker"}, "roles"),
    ({"roles": "lpt9:django"}, "roles"),
    ({"roles": "cloudservice:worker"}, "roles"),
    ({"roles": "Deploy:flask"}, "roles"),
    ({"instance_count": "0"}, "instance_count"),
    ({"instance_count": "two"}, "instance_count"),
    ({"instance_count": "-1"}, "instance_count"),
    ({"instance_count": "1.5"}, "instance_count"),
    ({"vm_size": "Small"}, "vm_size"),
    ({"vm_size": ""}, "vm_size"),
    ({"vm_size": "Standard D1 v2"}, "vm_size"),
    ({"description": "two\nlines"}, "description"),
    ({"author_name": "Ada\nLovelace"}, "author_name"),
    ({"os_family": "5"}, "os_family"),
    ({"os_family": "Windows"}, "os_family"),
    # The solution folder takes the service's name: no Windows device names, in any case.
    *(({"service_name": name}, "service_name") for name in ("con", "CON", "Prn", "aux", "nul", "com1", "LPT9")),
    # Azure's limit: a service definition holds at most 25 roles.
    ({"roles": "worker " * 26}, "roles"),
    # Answers are text: Jinja syntax in them is kept as written, so these are just bad names.
    ({"service_name": "{{ x }}"}, "service_name"),
    ({"roles": "}}{{"}, "roles"),
    ({"roles": "{% raw %}:flask"}, "roles"),
    ({"vm_size": "{{ vm_size }}"}, "vm_size"),
    ({"instance_count": "{# 2 #}"}, "instance_count"),
]


# Cookiecutter's own checks of the answers (cookiecutter.json's __*_checked entries),
# answered in advance: the answers then reach the pre-generation hook unchecked.
SKIP_EARLY_CHECKS = {
    key: "yes" for key in json.loads((TEMPLATE / "cookiecutter.json").read_text()) if key.endswith("_checked")
}


def combination_id(answers: dict) -> str:
    return "-".join(f"{key}={value!r:.40}" for key, value in answers.items()) or "defaults"


DEFAULT_ROLES = "FlaskWebRole:flask WorkerRole:worker"
# Where bare kinds repeat or meet a taken name, the numbering is spelled out.
EXPECTED_ROLE_NAMES = {
    "Shop:flask Admin:flask flask flask": ["Shop", "Admin", "FlaskWebRole", "FlaskWebRole2"],
    "worker worker WorkerRole3:worker worker": ["WorkerRole", "WorkerRole2", "WorkerRole3", "WorkerRole4"],
}


def planned_roles(answers: dict) -> list[str]:
    answer = answers.get("roles", DEFAULT_ROLES)
    if answer in EXPECTED_ROLE_NAMES:
        return EXPECTED_ROLE_NAMES[answer]
    items = answer.replace(",", " ").split()
    return [item.partition(":")[0] if ":" in item else DEFAULT_NAMES[item] for item in items]


@pytest.fixture(params=SUPPORTED_COMBINATIONS, ids=combination_id)
def baked(request, bake):
    result = bake(**request.param)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return request.param, result.project_path


def test_default_answers_bake(bake):
    result = bake()
    assert result.exit_code == 0, result.exception
    solution = result.project_path
    assert solution.name == "MyCloudService"
    assert csdef_roles(solution) == [("WebRole", "FlaskWebRole"), ("WorkerRole", "WorkerRole")]


@pytest.mark.parametrize("author", ["Ada Lovelace", "", "   ", " Ada "])
def test_copyright_line_names_the_year_and_the_author(bake, author):
    """The year comes from cookiecutter's `now` tag; with no author (spaces are none) there
    is no copyright line. It is the one place the author's name goes, as the question says."""
    solution = bake(author_name=author).project_path
    readme = (solution / "README.md").read_text(encoding="utf-8")
    copyright_lines = [line for line in readme.splitlines() if line.startswith("Copyright")]
    year = datetime.datetime.now(datetime.UTC).year
    assert copyright_lines == ([f"Copyright (c) {year} {author.strip()}"] if author.strip() else [])
    if author.strip():
        holding = [path for path, text in text_files(solution) if author.strip() in text]
        assert holding == [solution / "README.md"]
    question = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]["author_name"]
    assert "copyright line" in question and "README.md" in question and "licence" not in question


def test_solution_files(baked):
    answers, solution = baked
    roles = planned_roles(answers)
    expected = {
        "README.md", ".gitignore", ".gitattributes", "pyproject.toml", "requirements-dev.txt",
        "ServiceDefinition.csdef", "ServiceConfiguration.Cloud.cscfg", "ServiceConfiguration.Local.cscfg",
        "cloudservice", *roles,
    }
    present = {path.name for path in solution.iterdir()}
    assert expected <= present
    assert not {"roles", "_roles", ".role-plan.json"} & present
    for role in roles:
        for name in ("README.md", "requirements.txt", "conftest.py", "tests", "bin/ps.cmd",
                     "bin/ConfigureCloudService.ps1"):
            assert (solution / role / name).exists(), f"{role}/{name}"


def test_no_jinja_residue(baked):
    _, solution = baked
    assert jinja_residue(solution) == []


def test_the_files_are_as_the_solutions_pre_commit_hooks_leave_them(baked):
    _, solution = baked
    assert untidy(solution) == []


def test_generated_python_passes_ruff(baked):
    _, solution = baked
    assert ruff_errors(solution) == ""


def test_generated_python_passes_bandit(baked):
    _, solution = baked
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "--severity-level", "medium", "--quiet", "--recursive", "."],
        cwd=solution, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_quality_gates_are_configured(baked):
    """pre-commit and the solution's own CI (each role's tests on Windows and Linux, and
    the PowerShell scripts parsed by PowerShell itself) name every role."""
    answers, solution = baked
    workflow = (solution / ".github" / "workflows" / "tests.yml").read_text()
    assert "os: [windows-latest, ubuntu-latest]" in workflow
    assert "python -m cloudservice test" in workflow
    assert "[System.Management.Automation.Language.Parser]::ParseFile" in workflow
    for role in planned_roles(answers):
        assert f"-r {role}/requirements.txt" in workflow
    hooks = (solution / ".pre-commit-config.yaml").read_text()
    assert "id: ruff-check" in hooks and "id: bandit" in hooks


def test_service_model_agrees(baked):
    answers, solution = baked
    roles = planned_roles(answers)
    service = answers.get("service_name", "MyCloudService")
    csdef = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    assert csdef.get("name") == service
    assert [name for _, name in csdef_roles(solution)] == roles

    ports = [int(e.get("port")) for e in csdef.iter(f"{CSDEF_NS}InputEndpoint")]
    assert len(ports) == len(set(ports)), "two web roles share a public port"
    assert not list(csdef.iter(f"{CSDEF_NS}Import")), "CSES has no RemoteAccess/Diagnostics imports"

    for configuration in ("Cloud", "Local"):
        cscfg = ElementTree.parse(solution / f"ServiceConfiguration.{configuration}.cscfg").getroot()
        assert cscfg.get("serviceName") == service
        assert [r.get("name") for r in cscfg.findall(f"{CSCFG_NS}Role")] == roles
        for role in csdef.iter():
            if role.tag not in (f"{CSDEF_NS}WebRole", f"{CSDEF_NS}WorkerRole"):
                continue
            declared = [s.get("name") for s in role.iter(f"{CSDEF_NS}Setting")]
            valued = [
                s.get("name")
                for s in cscfg.find(f"{CSCFG_NS}Role[@name='{role.get('name')}']").iter(f"{CSCFG_NS}Setting")
            ]
            assert declared == valued, f"{configuration}: settings of {role.get('name')}"

    cloud = ElementTree.parse(solution / "ServiceConfiguration.Cloud.cscfg").getroot()
    assert cloud.get("osFamily") == answers.get("os_family", "7")
    assert cloud.get("osVersion") == "*"
    counts = {int(i.get("count")) for i in cloud.iter(f"{CSCFG_NS}Instances")}
    assert counts == {int(answers.get("instance_count", "2"))}
    addressed = [a.get("roleName") for a in cloud.iter(f"{CSCFG_NS}InstanceAddress")]
    assert addressed == roles


def test_service_model_matches_microsoft_schemas(baked):
    if not SCHEMAS.is_dir():
        pytest.skip(f"Microsoft's schemas are not at {SCHEMAS}; schema validation skipped")
    _, solution = baked
    assert schema_errors(solution / "ServiceDefinition.csdef", "ServiceDefinitionSchema24.xsd") == []
    for configuration in ("Cloud", "Local"):
        document = solution / f"ServiceConfiguration.{configuration}.cscfg"
        assert schema_errors(document, "ServiceConfigurationSchema24.xsd") == []


def test_role_tests_pass(baked, run_role_tests):
    answers, solution = baked
    for role in planned_roles(answers):
        completed = run_role_tests(solution, role)
        assert completed.returncode == 0, f"{role}:\n{completed.stdout}\n{completed.stderr}"
        assert " passed" in completed.stdout


def cookiecutter_command(output_dir, *answers: str, overwrite: bool = False) -> subprocess.CompletedProcess:
    """Run the ``cookiecutter`` command as a user would, without installing packages."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(output_dir)]
    command += ["--overwrite-if-exists"] if overwrite else []
    command += [str(TEMPLATE), "install_packages=no", *answers]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("answers", "field"),
    [*UNSUPPORTED_COMBINATIONS, ({"service_name": ""}, "service_name"), ({"service_name": "a/b"}, "service_name")],
    ids=[combination_id(a) for a, _ in UNSUPPORTED_COMBINATIONS] + ["service_name=''", "service_name='a/b'"],
)
def test_bad_answer_is_one_error_line_and_writes_nothing(tmp_path, answers, field):
    """The whole output is one line naming the field and what is allowed; cookiecutter
    stops before it creates the solution folder."""
    completed = cookiecutter_command(tmp_path, *(f"{key}={value}" for key, value in answers.items()))
    assert completed.returncode == 1
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"ERROR: {field}: ")
    assert "; " in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_answers_that_skip_the_questions_are_refused_before_anything_is_written(bake):
    """Answers that reach generation unchecked (as from a replay) are checked as the solution
    folder's name is rendered, before cookiecutter creates it."""
    result = bake(roles="CON:flask", **SKIP_EARLY_CHECKS)
    assert isinstance(result.exception, SystemExit)
    assert str(result.exception) == ("ERROR: roles: 'CON' is a reserved device name on Windows; "
                                     "choose a name other than CON, PRN, AUX, NUL, COM1-9 or LPT1-9")
    assert result.project_path is None or not result.project_path.exists()


@pytest.mark.parametrize("checked_by", ["the questions", "the folder name"])
def test_bad_answer_leaves_existing_files_alone(tmp_path, checked_by):
    """A refused answer never touches a solution that is already there, even with
    --overwrite-if-exists."""
    assert cookiecutter_command(tmp_path).returncode == 0
    solution = tmp_path / "MyCloudService"
    before = {p: p.read_bytes() for p in solution.rglob("*") if p.is_file()}
    skip_early_check = [f"{key}=yes" for key in SKIP_EARLY_CHECKS] if checked_by == "the folder name" else []
    completed = cookiecutter_command(tmp_path, "roles=CON:flask", *skip_early_check, overwrite=True)
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "ERROR: roles: 'CON' is a reserved device name on Windows; "
        "choose a name other than CON, PRN, AUX, NUL, COM1-9 or LPT1-9"]
    after = {p: p.read_bytes() for p in solution.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("over_a_solution", [False, True], ids=["new folder", "over the solution"])
def test_an_edited_replay_file_is_refused_and_writes_nothing(tmp_path, over_a_solution):
    """cookiecutter --replay-file with a replay whose answers were edited by hand: one error
    line, exit 1, and nothing written or changed."""
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {json.dumps(str(tmp_path / 'replays'))}\n", encoding="utf-8")
    made = tmp_path / "made"
    command = [sys.executable, "-m", "cookiecutter", "--config-file", str(config)]
    first = subprocess.run([*command, "--no-input", "-o", str(made), str(TEMPLATE), "install_packages=no"],
                           capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    (replay,) = (tmp_path / "replays").glob("*.json")
    context = json.loads(replay.read_text(encoding="utf-8"))
    context["cookiecutter"]["roles"] = "Web:flask Jobs:worker JOBS:worker"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(context), encoding="utf-8")
    output = made if over_a_solution else tmp_path / "fresh"
    output.mkdir(exist_ok=True)
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    replayed = subprocess.run([*command, "--replay-file", str(edited), "-f", "-o", str(output), str(TEMPLATE)],
                              capture_output=True, text=True, check=False)
    assert replayed.returncode == 1
    assert replayed.stderr.splitlines() == [
        "ERROR: roles: the role name 'JOBS' is used twice (names are compared ignoring case, '-' and '_'); "
        "give every role its own name"]
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "answers",
    [{"install_packages": "maybe"}, {"python_version": "3.9"}, {"web_server": "gunicorn"}],
    ids=combination_id,
)
def test_a_value_outside_the_choices_is_one_error_line(tmp_path, answers):
    """Given on the command line too (where cookiecutter's own check of a choice would end in
    a traceback): one line that names the answer and what it may be, and nothing written."""
    (field, value), = answers.items()
    completed = cookiecutter_command(tmp_path, f"{field}={value}")
    assert completed.returncode == 1
    builds = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_python_builds"]
    allowed = {"install_packages": "answer true/false or yes/no",
               "python_version": f"choose one of {', '.join(builds)}",
               "web_server": f"choose one of {', '.join(hook_module('plan').WEB_SERVERS)}"}[field]
    assert completed.stderr.splitlines()[0].startswith(f"ERROR: {field}: '{value}' is not")
    assert completed.stderr.splitlines()[0].endswith(f"; {allowed}")
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_default_solution_installs_and_all_its_tests_pass(bake):
    """What a user does first: generate with the default answers (installing the packages),
    then run every role's tests and the tool's own with the solution's environment."""
    result = bake(install_packages=True)
    assert result.exit_code == 0, result.exception
    solution = result.project_path
    python = solution / (".venv/Scripts/python.exe" if os.name == "nt" else ".venv/bin/python")
    assert python.exists(), "the post-generation hook did not create .venv"
    completed = subprocess.run([str(python), "-m", "cloudservice", "test", "--", "-q"], cwd=solution,
                               capture_output=True, text=True, check=False, timeout=900)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    summary = completed.stdout.rpartition("Summary:")[2].split()
    assert summary == ["FlaskWebRole", "passed", "WorkerRole", "passed", "cloudservice", "passed"]


def solution_files(solution) -> dict:
    return {path.relative_to(solution).as_posix(): path.read_bytes()
            for path in sorted(solution.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    "again",
    [[], ["roles=Api:bottle Site:django Jobs:worker", "web_server=wfastcgi", "description=Takes orders"]],
    ids=["same answers", "other answers"],
)
def test_generating_again_with_overwrite(tmp_path, again):
    """`cookiecutter -f` over a solution writes what a fresh generation with those answers
    writes, and leaves alone the files the template does not write."""
    output, fresh = tmp_path / "output", tmp_path / "fresh"
    assert cookiecutter_command(output).returncode == 0
    solution = output / "MyCloudService"
    (solution / "NOTES.md").write_text("The team's notes.\n")
    (solution / "FlaskWebRole" / "webapp" / "templates" / "about.html").write_text("{{ page.title }}\n")
    key = (solution / ".local-secret-key").read_bytes()

    for _ in range(2):
        completed = cookiecutter_command(output, *again, overwrite=True)
        assert completed.returncode == 0, completed.stderr
        assert completed.stderr == ""
        former = "Not roles of these answers, left as they were: FlaskWebRole/, WorkerRole/"
        assert (former in completed.stdout) == bool(again)
    assert cookiecutter_command(fresh, *again).returncode == 0

    regenerated = solution_files(solution)
    expected = solution_files(fresh / "MyCloudService")
    del expected[".local-secret-key"]
    assert {name: regenerated.get(name) for name in expected} == expected
    assert regenerated[".local-secret-key"] == key
    assert regenerated["NOTES.md"] == b"The team's notes.\n"
    assert regenerated["FlaskWebRole/webapp/templates/about.html"] == b"{{ page.title }}\n"
    assert not {"roles", "_roles", ".role-plan.json"} & {path.name for path in solution.iterdir()}


@pytest.mark.parametrize(
    ("first", "then"),
    [(["roles=Web:flask Jobs:worker"], ["roles=Web:django Jobs:worker"]),
     (["roles=Web:django"], ["roles=Web:wsgi", "web_server=wfastcgi"])],
    ids=["kind changed", "kind and web server changed"],
)
def test_generating_again_names_the_files_of_the_former_kind(tmp_path, first, then):
    """Files of the role's former kind (or web server) are left, and named; the team's are not."""
    output, fresh = tmp_path / "output", tmp_path / "fresh"
    assert cookiecutter_command(output, *first).returncode == 0
    before = set(solution_files(output / "MyCloudService"))
    (output / "MyCloudService" / "Web" / "notes.txt").write_text("The team's notes.\n")
    completed = cookiecutter_command(output, *then, overwrite=True)
    assert completed.returncode == 0, completed.stderr
    assert cookiecutter_command(fresh, *then).returncode == 0
    left = sorted(before - set(solution_files(fresh / "MyCloudService")))
    assert left, "the kinds were meant to differ"
    assert (
        "Files the template writes for another role kind or web server, left as they were:"
        f" {', '.join(left)} (delete what is no longer wanted)."
    ) in completed.stdout


FREE_TEXT_WITH_JINJA = ["{{ x }}", "a }}{{ b", "{% raw %}c", "d {% endraw %}", "e {# not a comment #} f",
                        "{%- if 1 %}g{% endif -%}", "\\u00e9 {{ 'é' }}",
                        # Answers that name one not given yet, or none at all.
                        "{{ cookiecutter.vm_size }}", "h {{ cookiecutter.nothing | lower }}"]


@pytest.mark.parametrize("text", FREE_TEXT_WITH_JINJA)
def test_jinja_syntax_in_text_answers_is_kept_as_written(tmp_path, text):
    completed = cookiecutter_command(tmp_path, f"description={text}", f"author_name={text}")
    assert completed.returncode == 0, completed.stderr
    readme = (tmp_path / "MyCloudService" / "README.md").read_text(encoding="utf-8").splitlines()
    year = datetime.datetime.now(datetime.UTC).year
    assert readme[2] == text
    assert readme[-1] == f"Copyright (c) {year} {text}"


def test_an_answer_made_from_another_is_rendered(tmp_path):
    """What cookiecutter allows: an answer that names another answer."""
    completed = cookiecutter_command(tmp_path, "service_name=Shop", "description={{ cookiecutter.service_name }} sells")
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "Shop" / "README.md").read_text().splitlines()[2] == "Shop sells"


def test_answers_are_trimmed_alike(bake):
    """Spaces around vm_size are dropped as they are around instance_count; an author of
    spaces alone is no author."""
    result = bake(vm_size=" Standard_A2_v2 ", instance_count=" 3 ", author_name="   ")
    assert result.exit_code == 0, result.exception
    csdef = ElementTree.parse(result.project_path / "ServiceDefinition.csdef").getroot()
    assert {role.get("vmsize") for role in csdef} - {None} == {"Standard_A2_v2"}
    parameters = json.loads((result.project_path / "deploy" / "main.parameters.json").read_text())
    assert {role["vmSize"] for role in parameters["parameters"]["roles"]["value"]} == {"Standard_A2_v2"}
    readme = (result.project_path / "README.md").read_text()
    assert "Copyright" not in readme
    assert readme.endswith("patch.\n")


def interactive(cwd, typed: list[str], *arguments: str) -> subprocess.CompletedProcess:
    """Run cookiecutter asking its questions, the answers typed on its standard input."""
    command = [sys.executable, "-m", "cookiecutter", *arguments]
    return subprocess.run(command, cwd=cwd, input="".join(f"{line}\n" for line in typed),
                          capture_output=True, text=True, check=False, timeout=300)


def test_interactive_answer_is_refused_as_soon_as_it_is_given(tmp_path):
    completed = interactive(tmp_path, ["", "con", "A service", "Ada"], str(TEMPLATE))
    assert completed.returncode == 1
    assert "[2/11]" in completed.stdout and "[3/11]" not in completed.stdout
    assert completed.stderr.splitlines()[0] == (
        "ERROR: service_name: 'con' is a reserved device name on Windows; "
        "choose a name other than CON, PRN, AUX, NUL, COM1-9 or LPT1-9")
    assert list(tmp_path.iterdir()) == []


def test_a_web_server_that_cannot_serve_a_role_is_refused_as_soon_as_it_is_chosen(tmp_path):
    """An ASGI role and wfastcgi: refused after the web server's question (the 7th), not the last."""
    completed = interactive(tmp_path, ["", "", "", "", "Api:fastapi", "", "wfastcgi"], str(TEMPLATE))
    assert completed.returncode == 1
    assert "[7/11]" in completed.stdout and "[8/11]" not in completed.stdout
    error, intro, _ = completed.stderr.splitlines()
    assert error.startswith("ERROR: roles: 'Api' is a fastapi role, an ASGI application, which wfastcgi")
    assert intro == "To answer again, with your other answers as the defaults:"
    assert list(tmp_path.iterdir()) == []


def test_a_refused_interactive_run_says_how_to_answer_again(tmp_path):
    """The printed command asks again with every answer given so far as the default."""
    author = "Ada \"the\" O'Brien"
    completed = interactive(tmp_path, ["", "Shop", "Takes orders", author, "Web:flask CON:worker"], str(TEMPLATE))
    assert completed.returncode == 1
    error, intro, command = completed.stderr.splitlines()
    assert error.startswith("ERROR: roles: 'CON' is a reserved device name")
    assert intro == "To answer again, with your other answers as the defaults:"
    again = [sys.executable, "-m", "cookiecutter", str(TEMPLATE),
             "service_name=Shop", "description=Takes orders", f"author_name={author}"]
    quoted = subprocess.list2cmdline(again) if os.name == "nt" else shlex.join(again)
    assert command == f"  {quoted}"
    assert list(tmp_path.iterdir()) == []

    # Enter takes each answer given before; only the refused one is typed again.
    completed = interactive(tmp_path, ["", "", "", "", "Web:flask Jobs:worker", "", "", "", "", "", "no"], *again[3:])
    assert completed.returncode == 0, completed.stderr
    readme = (tmp_path / "Shop" / "README.md").read_text().splitlines()
    assert readme[2] == "Takes orders"
    assert readme[-1].endswith(author)
    assert csdef_roles(tmp_path / "Shop") == [("WebRole", "Web"), ("WorkerRole", "Jobs")]


def test_os_family_question_names_both_families(tmp_path):
    completed = interactive(tmp_path, ["", "", "", "", "", "", "", "", "", "6", "no"], str(TEMPLATE))
    assert completed.returncode == 0, completed.stderr
    prompt = " ".join(completed.stdout.split())
    assert "Guest OS family of the role VMs (7 = Windows Server 2022, recommended; " \
           "6 = Windows Server 2019) (7):" in prompt
    cloud = ElementTree.parse(tmp_path / "MyCloudService" / "ServiceConfiguration.Cloud.cscfg").getroot()
    assert cloud.get("osFamily") == "6"


@pytest.mark.parametrize("text", ["{{ x }}", "a }}{{ b", "{% raw %}c", "e {# c #} f"])
def test_jinja_syntax_typed_interactively_is_kept(tmp_path, text):
    completed = interactive(tmp_path, ["", "", text, text, "", "", "", "", "", "", "no"], str(TEMPLATE))
    assert completed.returncode == 0, completed.stderr
    readme = (tmp_path / "MyCloudService" / "README.md").read_text().splitlines()
    assert readme[2] == text
    assert readme[-1].endswith(f" {text}")


def test_a_failed_install_is_reported_last(tmp_path):
    """The guidance first, then the end of the installer's output and the warning with the
    commands to retry: what a user reads last is what went wrong."""
    environment = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CACHE": "1", "PIP_NO_INDEX": "1"}
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE)]
    completed = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, check=False)
    assert completed.returncode == 0, completed.stdout
    lines = completed.stdout.splitlines()
    assert lines[0] == "Installing every role's packages into .venv ... failed (see the end)"
    assert lines[1:3] == ["", "FlaskWebRole (flask)"]
    said = next(i for i, line in enumerate(lines) if line.endswith("said (last lines):"))
    warning = lines.index("WARNING: installing the packages failed; the solution itself is complete.")
    assert said > max(i for i, line in enumerate(lines) if "-m cloudservice run" in line)
    assert 1 <= warning - said - 1 <= 15
    assert all(line.startswith("  | ") for line in lines[said + 1:warning])
    assert lines[warning + 1] == f"  Retry in {tmp_path / 'MyCloudService'} with:"
    assert len(lines) == warning + 4 and all(line.startswith("    ") for line in lines[-2:])


def test_next_steps_work_as_printed_and_installs(tmp_path):
    """Run from where cookiecutter ran, the printed commands (cd, install, the tool) work."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", "out", str(TEMPLATE),
               "install_packages=no"]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    steps = lines[lines.index(next(line for line in lines if line.endswith("Next:"))) + 1:]
    cd, *commands = [shlex.split(step.strip(), posix=os.name != "nt") for step in steps]
    assert cd == ["cd", os.path.join("out", "MyCloudService")]
    where = tmp_path / cd[1]
    *install, run, test = commands
    assert run[1:] == ["-m", "cloudservice", "run"] and test[1:] == ["-m", "cloudservice", "test"]
    assert run[0] == (".venv\\Scripts\\python" if os.name == "nt" else ".venv/bin/python")
    for command in install:
        subprocess.run(command, cwd=where, check=True, capture_output=True)
    check = subprocess.run([str(where / run[0]), "-m", "cloudservice", "check"], cwd=where,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_next_steps_say_install_when_this_run_did_not_over_an_earlier_venv(tmp_path):
    """Generating again with a new role and install_packages=no: the .venv of an earlier run
    lacks the new role's packages, so the install is still among the next steps."""
    assert cookiecutter_command(tmp_path).returncode == 0
    earlier = tmp_path / "MyCloudService" / (".venv/Scripts/python.exe" if os.name == "nt" else ".venv/bin/python")
    earlier.parent.mkdir(parents=True)
    earlier.write_text("")  # where an earlier run's interpreter would be
    completed = cookiecutter_command(tmp_path, "roles=FlaskWebRole:flask Shop:bottle", overwrite=True)
    assert completed.returncode == 0, completed.stderr
    steps = completed.stdout.split("Next:\n", 1)[1]
    assert "-r Shop/requirements.txt" in steps


def test_one_cloud_address_everywhere(bake):
    """The guidance, the READMEs, the .cscfg and the Bicep name the service's address alike:
    <dnsLabel>.<region>.cloudapp.azure.com."""
    solution = bake(service_name="Shop", roles="Site:django Api:flask").project_path
    found = set()
    for path, text in text_files(solution):
        if path.name in ("README.md", "main.bicep") or path.suffix == ".cscfg":
            found |= set(re.findall(r"[\w<>.-]*\.cloudapp\.azure\.com", text))
    assert found == {"<dnsLabel>.<region>.cloudapp.azure.com",
                     "shop.<region>.cloudapp.azure.com",
                     "REPLACE-WITH-YOUR-DNS-LABEL.REPLACE-WITH-YOUR-REGION.cloudapp.azure.com"}


def test_solution_readme_set_up_works_where_only_python3_exists(bake):
    readme = (bake().project_path / "README.md").read_text()
    assert "\npython3 -m venv .venv\n" in readme
    assert "\nuv venv --seed .venv\n" in readme, "prepare needs pip in .venv"
    assert "\npython -m venv" not in readme and "`uv venv`" not in readme


def test_solution_readme_lints_its_own_code_as_its_workflow_does(bake):
    solution = bake(roles="Web:flask Jobs:worker").project_path
    readme = (solution / "README.md").read_text()
    workflow = (solution / ".github" / "workflows" / "tests.yml").read_text()
    (scan,) = [line.strip() for line in workflow.splitlines() if "-m bandit" in line]
    assert scan == ('python -m bandit --severity-level medium --quiet --recursive Web Jobs cloudservice'
                    ' --exclude "*/bin/*"')
    assert f"\n.venv/bin/{scan}\n" in readme
    assert "--recursive ." not in readme
