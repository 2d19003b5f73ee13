"""Solutions stay linked to the template with cruft: create, then add a role by update."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from conftest import TEMPLATE
from helpers import CSCFG_NS, csdef_roles

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"]


def cruft(*args: str, cwd: Path, scratch: Path | None = None) -> subprocess.CompletedProcess:
    """Run cruft; with ``scratch``, its temporary folders (and the system's) are there."""
    executable = Path(sys.executable).parent / ("cruft.exe" if os.name == "nt" else "cruft")
    environment = dict(os.environ)
    if scratch is not None:
        scratch.mkdir(exist_ok=True)
        environment.update({name: str(scratch) for name in ("TMPDIR", "TEMP", "TMP")})
    completed = subprocess.run([str(executable), *args], cwd=cwd, capture_output=True, text=True, check=False,
                               env=environment)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def commit_all(folder: Path, message: str) -> None:
    subprocess.run([*GIT, "init", "--quiet"], cwd=folder, check=True)
    subprocess.run([*GIT, "add", "--all"], cwd=folder, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", message], cwd=folder, check=True)


def template_repository(destination: Path) -> Path:
    """The template as it is in this working tree, committed to a repository of its own
    (cruft clones templates with git)."""
    ignored = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(TEMPLATE, destination, ignore=ignored)
    commit_all(destination, "template")
    return destination


def cloud_roles(solution: Path, configuration: str) -> list[str]:
    root = ElementTree.parse(solution / f"ServiceConfiguration.{configuration}.cscfg").getroot()
    return [role.get("name") for role in root.findall(f"{CSCFG_NS}Role")]


def test_create_then_add_a_role_with_cruft_update(tmp_path):
    template = template_repository(tmp_path / "template")
    answers = {"service_name": "Shop", "roles": "Web:flask", "install_packages": True}
    scratch = tmp_path / "scratch"
    created = cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path),
                    "--extra-context", json.dumps(answers), cwd=tmp_path, scratch=scratch)
    solution = tmp_path / "Shop"
    # The guidance, once, with the commands to install and run from where cruft ran.
    assert created.stdout.count("Web (flask)") == 1
    assert f"The solution is in {solution};" in created.stdout
    assert str(scratch) not in created.stdout
    assert csdef_roles(solution) == [("WebRole", "Web")]
    assert not (solution / ".venv").exists(), "under cruft the hook must not install"
    web_before = {p.relative_to(solution): p.read_bytes() for p in (solution / "Web").rglob("*") if p.is_file()}
    commit_all(solution, "generated")

    updated = cruft("update", "--skip-apply-ask", "--variables-to-update",
                    json.dumps({"roles": "Web:flask Jobs:worker"}), cwd=solution, scratch=scratch)
    # cruft runs the hook twice, in temporary copies: no guidance naming them.
    assert "Jobs (worker)" not in updated.stdout and "Web (flask)" not in updated.stdout
    assert str(scratch) not in updated.stdout + updated.stderr

    assert csdef_roles(solution) == [("WebRole", "Web"), ("WorkerRole", "Jobs")]
    assert cloud_roles(solution, "Cloud") == cloud_roles(solution, "Local") == ["Web", "Jobs"]
    assert (solution / "Jobs" / "worker.py").exists()
    assert json.loads((solution / ".cruft.json").read_text())["context"]["cookiecutter"]["roles"] == (
        "Web:flask Jobs:worker")
    web_after = {p.relative_to(solution): p.read_bytes() for p in (solution / "Web").rglob("*") if p.is_file()}
    assert web_after == web_before
    assert not list(solution.rglob("*.rej"))
    cruft("check", cwd=solution)


def test_cruft_create_into_the_temporary_folder_prints_the_guidance(tmp_path):
    """Trying the template out in the temporary folder is common; only cruft's own copies,
    each in a new temporary folder of its own, stay quiet."""
    template = template_repository(tmp_path / "template")
    answers = {"service_name": "Shop", "roles": "Web:flask", "install_packages": False}
    created = cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path / "try"),
                    "--extra-context", json.dumps(answers), cwd=tmp_path, scratch=tmp_path)
    assert created.stdout.count("Web (flask)") == 1
    assert csdef_roles(tmp_path / "try" / "Shop") == [("WebRole", "Web")]


def test_an_adopted_solution_takes_template_updates_without_the_old_folder(tmp_path):
    """`cruft update` renders the template again from .cruft.json: the team's files stay as they
    are and the old folder is not needed (its record is in the answers, setting values left out)."""
    fixture = TEMPLATE / "tests" / "fixtures" / "old-solutions" / "ptvs-2015"
    old = tmp_path / "old"
    shutil.copytree(fixture, old)
    template = template_repository(tmp_path / "template")
    scratch = tmp_path / "scratch"
    cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path / "out"), "--extra-context",
          json.dumps({"adopt_from": str(old / "OrdersService")}), cwd=tmp_path, scratch=scratch)
    solution = tmp_path / "out" / "OrdersService"
    assert "AccountKey=b3JkZXJzLWtleQ==" in (solution / "ServiceConfiguration.Cloud.cscfg").read_text()
    assert "AccountKey" not in (solution / ".cruft.json").read_text(), "no setting value in the answers"
    team = {path.relative_to(solution): path.read_bytes() for role in ("FlaskWebRole", "OrdersWorker")
            for path in (solution / role).rglob("*") if path.is_file() and (old / role / path.relative_to(
                solution / role)).is_file() and path.name != "requirements.txt"}
    assert team, "the team's files were copied"
    configuration = (solution / "ServiceConfiguration.Cloud.cscfg").read_bytes()
    commit_all(solution, "adopted")
    shutil.rmtree(old)

    # The template changes a file of the role infrastructure and one of the Flask sample.
    (template / "roles" / "web" / "serve.py").open("a").write("# changed\n")
    (template / "roles" / "flask" / "wsgi.py").open("a").write("# changed\n")
    subprocess.run([*GIT, "commit", "--quiet", "-am", "change"], cwd=template, check=True)
    cruft("update", "--skip-apply-ask", cwd=solution, scratch=scratch)

    assert (solution / "FlaskWebRole" / "serve.py").read_text().endswith("# changed\n")
    assert not (solution / "FlaskWebRole" / "wsgi.py").exists(), "the Flask sample is not an adopted role's"
    assert {path: (solution / path).read_bytes() for path in team} == team
    assert (solution / "ServiceConfiguration.Cloud.cscfg").read_bytes() == configuration
    assert not list(solution.rglob("*.rej"))


def test_bad_answers_are_refused_by_cruft_too_and_change_nothing(tmp_path):
    """cruft create and cruft update run cookiecutter's generation in their own process:
    a bad answer is the same one line, and nothing is written or changed."""
    template = template_repository(tmp_path / "template")
    executable = str(Path(sys.executable).parent / ("cruft.exe" if os.name == "nt" else "cruft"))
    refused = subprocess.run([executable, "create", str(template), "--no-input", "--output-dir", str(tmp_path / "new"),
                              "--extra-context", json.dumps({"roles": "CON:flask"})],
                             cwd=tmp_path, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "ERROR: roles: 'CON' is a reserved device name on Windows; "
        "choose a name other than CON, PRN, AUX, NUL, COM1-9 or LPT1-9")
    assert not (tmp_path / "new").exists()

    scratch = tmp_path / "scratch"
    cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path), "--extra-context",
          json.dumps({"service_name": "Shop", "roles": "Web:flask", "install_packages": False}),
          cwd=tmp_path, scratch=scratch)
    solution = tmp_path / "Shop"
    commit_all(solution, "generated")
    before = {p: p.read_bytes() for p in solution.rglob("*") if p.is_file() and ".git" not in p.parts}
    updated = subprocess.run([executable, "update", "--skip-apply-ask", "--variables-to-update",
                              json.dumps({"roles": "Web:flask web:worker"})],
                             cwd=solution, capture_output=True, text=True, check=False)
    assert updated.returncode != 0
    assert "ERROR: roles: the role name 'web' is used twice" in updated.stdout + updated.stderr
    after = {p: p.read_bytes() for p in solution.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


def test_the_files_are_the_same_whichever_process_writes_them(tmp_path):
    """Under cookiecutter the solution's files are written in cookiecutter's own process; under
    cruft, by the post-generation hook's process: the same code, so the same files."""
    template = template_repository(tmp_path / "template")
    answers = {"service_name": "Shop", "roles": "Web:flask Site:django Api:bottle Jobs:worker",
               "web_server": "wfastcgi", "install_packages": False}
    cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path / "by-cruft"),
          "--extra-context", json.dumps(answers), cwd=tmp_path, scratch=tmp_path / "scratch")
    made = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path / "by-cookiecutter"),
         str(template), *(f"{key}={value}" for key, value in answers.items())],
        capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*")
                if path.is_file() and path.name not in (".cruft.json", ".local-secret-key")}

    by_cruft, by_cookiecutter = files(tmp_path / "by-cruft" / "Shop"), files(tmp_path / "by-cookiecutter" / "Shop")
    assert sorted(by_cruft) == sorted(by_cookiecutter)
    assert [name for name in by_cruft if by_cruft[name] != by_cookiecutter[name]] == []
