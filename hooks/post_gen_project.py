"""Turn the copied template into the finished solution.

1. render every file of the solution with the answers and the role plan;
2. materialise each role into its own folder from the sources of its kind;
   then write azure.yaml and infra/ (Container Apps) with the solution's own generator;
3. install the packages into .venv (when asked, and never fatally);
4. print each role's guidance.

Cookiecutter copies the solution tree without rendering it (``_copy_without_render``)
because most files need the parsed role plan, which only the hooks have: the
pre-generation hook checks the answers and leaves the plan in ``.role-plan.json``.

The tests import this module and call its functions directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

ANSWERS = r"""{{ cookiecutter | jsonify }}"""
# Cookiecutter's `now` tag, rendered as cookiecutter runs this hook: the year of the licence line.
YEAR = "{% now 'utc', '%Y' %}"

PLAN_FILE = ".role-plan.json"
ROLE_SOURCES = "_roles"
CRLF_SUFFIXES = {".cmd", ".ps1"}
GUIDANCE_HEADING = "## At a glance"
# Jinja's delimiters, spelt so that cookiecutter's rendering of this hook leaves them
# alone. A file with none of them is written as it is: compiling it would cost more.
JINJA_SYNTAX = ("{" + "{", "{" + "%", "{" + "#")
NEWLINES = re.compile(r"\r\n|\r")


def role_layers(role: dict) -> list[str]:
    """The source folders a role is made from, later ones overriding earlier ones."""
    return ["common", "web", role["kind"]] if role["web"] else ["common", role["kind"]]


def make_environment(search_path: Path) -> Environment:
    """Strict about undefined names, with block tags that leave no blank lines behind.
    (Plain Jinja: cookiecutter's environment would load local_extensions.py, which this
    process cannot import, and cost the hook about 45 ms of imports.)"""
    return Environment(
        undefined=StrictUndefined,
        loader=FileSystemLoader(str(search_path)),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_file(env: Environment, template_name: str, target: Path, context: dict) -> None:
    """Render one template to ``target``; a file that renders empty is not written."""
    try:
        source = env.loader.get_source(env, template_name)[0]
    except UnicodeDecodeError:  # not text: copy it as it is
        path = Path(env.loader.searchpath[0]) / template_name
        if path != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return
    if any(delimiter in source for delimiter in JINJA_SYNTAX):
        text = env.get_template(template_name).render(**context)
    else:
        text = NEWLINES.sub("\n", source)
    if not text.strip():
        target.unlink(missing_ok=True)
        return
    newline = "\r\n" if target.suffix.lower() in CRLF_SUFFIXES else "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline=newline) as out:
        out.write(text)


def render_solution(solution: Path, context: dict) -> None:
    """Render the solution-level files in place (everything outside the role sources)."""
    env = make_environment(solution)
    for path in sorted(solution.rglob("*")):
        relative = path.relative_to(solution)
        if path.is_file() and relative.parts[0] != ROLE_SOURCES:
            render_file(env, relative.as_posix(), path, context)


def materialise_roles(solution: Path, context: dict) -> None:
    """Write each role's folder from the sources of its kind, then drop the sources."""
    sources = solution / ROLE_SOURCES
    env = make_environment(sources)
    for role in context["roles"]:
        target = solution / role["name"]
        for layer in role_layers(role):
            for path in sorted((sources / layer).rglob("*")):
                if path.is_file():
                    relative = path.relative_to(sources / layer)
                    name = f"{layer}/{relative.as_posix()}"
                    render_file(env, name, target / relative, {**context, "role": role})
    shutil.rmtree(sources)


def write_container_apps_files(solution: Path) -> None:
    """azure.yaml and infra/, written by the solution's own `python -m cloudservice
    containerapps` code from its service files (one generator for both)."""
    sys.path.insert(0, str(solution))
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # leave no __pycache__
    try:
        from cloudservice import containerapps, model

        containerapps.write(model.Service.load(solution))
    finally:
        sys.path.remove(str(solution))
        sys.dont_write_bytecode = previous
        for name in [name for name in sys.modules if name.partition(".")[0] == "cloudservice"]:
            del sys.modules[name]


def run_by_cookiecutter(answers: dict) -> bool:
    """False under cruft, which runs this hook again on every update and diff in
    temporary folders: nothing slow, random or networked may happen there."""
    return "_output_dir" in answers


def write_local_secret(solution: Path) -> None:
    """A per-solution key for local runs; git-ignored, never overwritten."""
    key_file = solution / ".local-secret-key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50) + "\n", encoding="utf-8")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_uv() -> str | None:
    beside_python = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside_python) if beside_python.exists() else shutil.which("uv")


def install_commands(solution: Path, plan: dict, uv: str | None) -> list[list[str]]:
    """The commands that create .venv and install every role's requirements and the
    dev tools, with uv when it is there and venv + pip otherwise."""
    venv = solution / ".venv"
    requirements = []
    for role in plan["roles"]:
        requirements += ["-r", str(Path(role["name"]) / "requirements.txt")]
    requirements += ["-r", "requirements-dev.txt"]
    python = str(venv_python(venv))
    if uv:
        return [
            # --seed adds pip, which `python -m cloudservice prepare` uses to fetch Windows wheels.
            [uv, "venv", "--seed", "--allow-existing", "--python", sys.executable, str(venv)],
            [uv, "pip", "install", "--python", python, *requirements],
        ]
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "--disable-pip-version-check", *requirements],
    ]


def install_packages(solution: Path, plan: dict) -> bool:
    """Run the install; on any failure warn with the command to retry, and go on."""
    commands = install_commands(solution, plan, find_uv())
    print("Installing every role's packages into .venv ...", flush=True)
    for command in commands:
        try:
            completed = subprocess.run(command, cwd=solution, check=False)
            failed = completed.returncode != 0
        except OSError as error:
            print(error, file=sys.stderr)
            failed = True
        if failed:
            retry = " && ".join(subprocess.list2cmdline(c) for c in commands)
            print(
                "WARNING: installing the packages failed; the solution itself is complete.\n"
                f"  Retry in {solution} with:\n    {retry}",
                file=sys.stderr,
            )
            return False
    return True


def role_guidance(readme: Path) -> str:
    """The 'At a glance' section of a role's README."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = lines.index(GUIDANCE_HEADING) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()


def print_guidance(solution: Path, plan: dict) -> None:
    for role in plan["roles"]:
        title = f"{role['name']} ({role['kind']})"
        print(f"\n{title}\n{'-' * len(title)}")
        print(role_guidance(solution / role["name"] / "README.md"))
    print(f"\nThe solution is in {solution}; its README.md says how to run, test and deploy it.")


def main() -> int:
    answers = json.loads(ANSWERS)
    solution = Path.cwd()
    plan_file = solution / PLAN_FILE
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    plan_file.unlink()

    context = {"cookiecutter": answers, "year": YEAR, **plan}
    render_solution(solution, context)
    materialise_roles(solution, context)
    write_container_apps_files(solution)
    if run_by_cookiecutter(answers):
        write_local_secret(solution)
        if plan["install_packages"]:
            install_packages(solution, plan)
    print_guidance(solution, plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
