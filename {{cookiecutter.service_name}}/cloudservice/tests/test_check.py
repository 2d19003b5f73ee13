from __future__ import annotations

import ast
import json
from pathlib import PureWindowsPath

import pytest

from cloudservice import check
from cloudservice.tests.solution_copy import copy_solution, edit


@pytest.fixture
def copy(tmp_path):
    return copy_solution(tmp_path / "solution")


def lines(root) -> list[str]:
    _, problems = check.problems(root)
    return [str(problem) for problem in problems]


def test_this_solution_passes(copy):
    assert lines(copy.root) == []
    solution, _ = check.problems(copy.root)
    assert check.summary(solution).startswith(f"OK: {copy.name}: ")


def test_a_setting_without_a_value_and_one_not_declared(copy):
    role = copy.roles[0]
    cscfg = copy.root / "ServiceConfiguration.Local.cscfg"
    edit(cscfg, '<Setting name="StorageConnectionString"', '<Setting name="Renamed"')
    assert lines(copy.root) == [
        f"ServiceConfiguration.Local.cscfg: role {role.name} gives no value to the setting"
        " StorageConnectionString",
        f"ServiceConfiguration.Local.cscfg: role {role.name} has the setting Renamed, which"
        " ServiceDefinition.csdef does not declare for it",
    ]


def test_deploy_parameters_must_match_the_cloud_instances(copy):
    path = copy.root / check.DEPLOY_PARAMETERS
    parameters = json.loads(path.read_text(encoding="utf-8"))
    parameters["parameters"]["roles"]["value"][0]["instanceCount"] = 7
    path.write_text(json.dumps(parameters), encoding="utf-8")
    (problem,) = lines(copy.root)
    assert problem.startswith(f"deploy/main.parameters.json: role {copy.roles[0].name} has")
    assert "instanceCount 7, but ServiceConfiguration.Cloud.cscfg has" in problem


def test_an_unreadable_definition_is_one_problem(copy):
    (copy.root / "ServiceDefinition.csdef").write_text("<ServiceDefinition", encoding="utf-8")
    (problem,) = lines(copy.root)
    assert problem.startswith("ServiceDefinition.csdef: is not well-formed XML")


@pytest.mark.parametrize(
    ("command_line", "base", "files"),
    [
        (
            "ps.cmd ConfigureCloudService.ps1",
            "bin",
            ["bin/ps.cmd", "bin/ConfigureCloudService.ps1"],
        ),
        (
            "bin\\ps.cmd ConfigureCloudService.ps1",
            "",
            ["bin/ps.cmd", "bin/ConfigureCloudService.ps1"],
        ),
        (
            "bin\\ps.cmd LaunchWorker.ps1 worker.py",
            "",
            ["bin/ps.cmd", "bin/LaunchWorker.ps1", "worker.py"],
        ),
        (
            'bin\\ps.cmd LaunchWorker.ps1 "jobs\\my jobs.py"',
            "",
            ["bin/ps.cmd", "bin/LaunchWorker.ps1", "jobs/my jobs.py"],
        ),
    ],
)
def test_files_a_command_line_runs(command_line, base, files):
    assert check.command_files(command_line, PureWindowsPath(base)) == files


def test_top_level_names_follow_blocks_and_skip_functions():
    tree = ast.parse(
        "import os.path\nfrom x import y as z\napp = make()\n"
        "try:\n    import a\nexcept ImportError:\n    b = 1\n"
        "if True:\n    c: int = 2\ndef f():\n    hidden = 3\nclass K: ...\n"
    )
    assert check.top_level_names(tree) == {"os", "z", "app", "a", "b", "c", "f", "K"}
    assert check.top_level_names(ast.parse("from x import *")) is None


def test_wsgi_application_problems(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "wsgi.py").write_text("application = object()\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    assert check.wsgi_application_problem(tmp_path, "pkg.wsgi:application") is None
    assert "defines no app" in check.wsgi_application_problem(tmp_path, "pkg.wsgi:app")
    assert "has no module nothere" in check.wsgi_application_problem(tmp_path, "nothere:app")
    assert "does not parse" in check.wsgi_application_problem(tmp_path, "broken:app")
