"""Turn the copied template into the finished solution: what the post-generation hook does.

1. render the files cookiecutter copied with the answers and the role plan;
2. materialise each role into its own folder from its layers (``roles/``);
   then write azure.yaml and infra/ (Container Apps) with the solution's own generator;
3. install the packages into .venv (when asked, and never fatally);
4. print each role's guidance and what to do next; a failed install's warning last.

Cookiecutter copies the solution tree without rendering it (``_copy_without_render``)
because most files need the parsed role plan (hooks/plan.py's ``make_plan``), which
local_extensions.py makes in cookiecutter's own process. Steps 1 and 2 (``finish_files``)
run there too, as cookiecutter renders hooks/post_gen_project.py, and so does step 4 when
nothing is to be installed (``last_steps``): a hook process of its own would cost starting
Python and importing Jinja again. The hook's process installs (steps 3 and 4), and under
cruft, which gives local_extensions.py no output folder, it does every step (``main``).

Generating again over a solution (``cookiecutter -f``) works: only the files the template
has (``template_files``) are rendered, never a file rendered before nor the team's own
(an app's Jinja templates among them), and each role's files are written again from its
sources. Files that the template does not write stay as they are, as cookiecutter keeps
them; cookiecutter itself replaces the template's folders (``cloudservice/``, ``deploy/``, ...)
and files.

The tests import this module and call its functions directly.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import types
from pathlib import Path

# A layer's pieces that files of other layers include (Jinja's include tag), not files of the role.
PARTS = "_parts"
CRLF_SUFFIXES = {".cmd", ".ps1"}
# How much of a failed install's output is shown.
INSTALL_OUTPUT_LINES = 15
GUIDANCE_HEADING = "## At a glance"
# Jinja's delimiters: a file with none of them is written as it is (compiling it would cost more).
JINJA_SYNTAX = ("{{", "{%", "{#")


def role_layers(role: dict, web_server: str) -> list[str]:
    """The source folders a role is made from, later ones overriding earlier ones: a web
    role gets the web server's folder between the web files and its kind's."""
    return ["common", "web", web_server, role["kind"]] if role["web"] else ["common", role["kind"]]


# Block tags that leave no blank lines behind.
TEMPLATE_OPTIONS = {"keep_trailing_newline": True, "trim_blocks": True, "lstrip_blocks": True}
CACHE_FOLDER_NAME = "azure-py-cloudservice"


def cache_folder() -> Path:
    """Where this template and the solutions it makes keep their caches: ``CLOUDSERVICE_CACHE``,
    else the platform's cache folder. The same rule as the solution's
    ``cloudservice/azurite.cache_folder()`` (a test holds them together), which keeps Azurite there."""
    if os.environ.get("CLOUDSERVICE_CACHE"):
        return Path(os.environ["CLOUDSERVICE_CACHE"])
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / CACHE_FOLDER_NAME


def user_cache(name: str) -> Path | None:
    """The cache folder's ``name`` folder, made if need be; None where it cannot be, and the
    bake goes on without it."""
    try:
        folder = cache_folder() / name
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home folder
        return None
    return folder


def compiled_templates_cache():
    """Jinja's compiled templates, kept between bakes: compiling them is most of a bake's own
    time. The files are rendered where cookiecutter copied them, a new folder each time, so
    a template is known by its name and the options above; Jinja compiles it again when its
    source is not the one cached."""
    from jinja2 import FileSystemBytecodeCache

    class CompiledTemplates(FileSystemBytecodeCache):
        def get_cache_key(self, name: str, filename: str | None = None) -> str:
            return super().get_cache_key(f"{name} {sorted(TEMPLATE_OPTIONS.items())}")

        def dump_bytecode(self, bucket) -> None:
            with contextlib.suppress(OSError):  # a cache that cannot be written costs time, never the bake
                super().dump_bytecode(bucket)

    folder = user_cache("templates")
    return None if folder is None else CompiledTemplates(str(folder))


def make_environment(*search_path: Path):
    """Templates found in the folders of ``search_path``, in order; strict about undefined
    names. (Plain Jinja: cookiecutter's environment would load local_extensions.py, which
    this process cannot import, and cost the hook about 45 ms of imports.)"""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        undefined=StrictUndefined,
        loader=FileSystemLoader([str(folder) for folder in search_path]),
        bytecode_cache=compiled_templates_cache(),
        **TEMPLATE_OPTIONS,
    )
    environment.filters["xml_attribute"] = xml_attribute
    return environment


def xml_attribute(value: object) -> str:
    """Text for an XML attribute's double quotes: escaped, its line breaks and tabs as character
    references (an XML parser reads them written as they are as spaces)."""
    from xml.sax.saxutils import escape

    return escape(str(value), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def render_file(env, template_name: str, target: Path, context: dict) -> None:
    """Render one template to ``target``; a file that renders empty is not written."""
    try:
        source, filename, _ = env.loader.get_source(env, template_name)
    except UnicodeDecodeError:  # not text: copy it as it is
        path = Path(env.loader.searchpath[0]) / template_name
        if path != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return
    if any(delimiter in source for delimiter in JINJA_SYNTAX):
        text = env.get_template(template_name).render(**context)
    else:  # as it is: Jinja's loader reads "\r\n" and "\r" as "\n"
        text = source
    if not text.strip():
        target.unlink(missing_ok=True)
        return
    newline = "\r\n" if target.suffix.lower() in CRLF_SUFFIXES else "\n"
    if newline == "\n" and text == source and Path(filename) == target and b"\r" not in target.read_bytes():
        return  # cookiecutter copied it as it is to be
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline=newline) as out:
        out.write(text)


def render_solution(solution: Path, context: dict, template_files: list[str], role_sources: Path) -> None:
    """Render the solution-level files of the template in place (they may import a layer's
    parts, as the README does the web server's)."""
    env = make_environment(solution, role_sources)
    for name in template_files:
        path = solution / name
        if path.is_file():
            render_file(env, name, path, context)


def role_files(sources: Path, layers: list[str]) -> dict[Path, str]:
    """Each file of a role made from ``layers`` (its path in the role) and the template it is
    rendered from: a later layer's file replaces the same path of an earlier one."""
    files = {}
    for layer in layers:
        for path in sorted((sources / layer).rglob("*")):
            relative = path.relative_to(sources / layer)
            if path.is_file() and relative.parts[0] != PARTS:
                files[relative] = f"{layer}/{relative.as_posix()}"
    return files


def materialise_roles(solution: Path, context: dict, sources: Path) -> None:
    """Write each role's folder from its layers in ``sources``."""
    env = make_environment(sources)
    for role in context["roles"]:
        target, role_context = solution / role["name"], {**context, "role": role}
        if role["adopted"]:
            materialise_adopted_role(env, role, target, role_context)
            continue
        for relative, name in role_files(sources, role_layers(role, context["cookiecutter"]["web_server"])).items():
            render_file(env, name, target / relative, role_context)


REQUIREMENTS_MARK = "# Added for this template's role infrastructure (adopt_from); the lines above are the team's."
NO_TEAM_REQUIREMENTS_MARK = "# What the template's role infrastructure needs (adopt_from); the old role had none."
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_name(line: str) -> str | None:
    """The normalised package name a requirements line asks for (None for options and comments)."""
    match = REQUIREMENT_NAME.match(line.split("#", 1)[0])
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def merge_requirements(theirs: str, needed: list[str]) -> str:
    """Their requirements.txt unchanged, then the needed requirements they lack in a marked block.
    Nothing of theirs is removed or re-pinned; their line endings are kept."""
    have = {requirement_name(line) for line in theirs.splitlines()}
    missing = [requirement for requirement in needed if requirement_name(requirement) not in have]
    if not missing:
        return theirs
    newline = "\r\n" if "\r\n" in theirs else "\n"
    start = theirs if not theirs or theirs.endswith(("\n", "\r")) else theirs + newline
    mark = REQUIREMENTS_MARK if theirs.strip() else NO_TEAM_REQUIREMENTS_MARK
    return start + (newline if start else "") + newline.join([mark, *missing]) + newline


def materialise_adopted_role(env, role: dict, target: Path, context: dict) -> None:
    """An adopted role: the template's infrastructure (role["adopted"]["sources"]), the team's
    own files over it, and their requirements.txt with what the infrastructure needs. The old
    folder is read only when the plan names it (not on a cruft update)."""
    adopted = role["adopted"]
    for name in adopted["sources"]:
        render_file(env, name, target / name.partition("/")[2], context)
    theirs, their_file = b"", team_requirements_file(adopted["files"])
    if adopted["folder"] and Path(adopted["folder"]).is_dir():
        folder = Path(adopted["folder"])
        copy_team_files(folder, [name for name in adopted["files"] if name != their_file], target)
        if their_file:
            theirs = (folder / their_file).read_bytes()
    (target / "requirements.txt").write_bytes(merge_requirements_file(theirs, adopted["requirements"])
                                              or NO_REQUIREMENTS.encode("utf-8"))


NO_REQUIREMENTS = "# The role's own code needs no packages beyond the standard library.\n"


def merge_requirements_file(theirs: bytes, needed: list[str]) -> bytes:
    """Their requirements.txt's bytes as they are, with what merge_requirements adds in the
    file's own encoding: UTF-16 with its byte-order mark (PowerShell's ``pip freeze >``), else
    appended as ASCII, which UTF-8 and the Windows code pages read alike."""
    utf16 = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}.get(theirs[:2])
    text = theirs[2:].decode(utf16) if utf16 else theirs.decode("utf-8-sig", errors="replace")
    added = merge_requirements(text, needed)[len(text):]
    if utf16:
        return theirs + added.encode(utf16)
    return theirs + added.encode("ascii", errors="replace")


def team_requirements_file(files: list[str]) -> str | None:
    """The team's requirements.txt among its files, however Windows spelled its name
    (``Requirements.txt``): the new role's requirements.txt is made from it."""
    return next((name for name in files if name.lower() == "requirements.txt"), None)


def write_migration(solution: Path, plan: dict) -> Path | None:
    """MIGRATION.md of an adopted service, at the solution's root."""
    if not plan.get("migration"):
        return None
    path = solution / "MIGRATION.md"
    path.write_text(plan["migration"], encoding="utf-8")
    return path


def copy_team_files(source: Path, files: list[str], target: Path) -> None:
    """An adopted role's own files, byte for byte and with their times, over whatever the
    template wrote at the same path (theirs win); the old folder is only read. The copies can
    be written to, whatever the old files were (a read-only checkout, say)."""
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists() and not os.access(destination, os.W_OK):
            destination.chmod(stat.S_IREAD | stat.S_IWRITE)  # copied read-only by an older version
        shutil.copy2(source / name, destination)
        destination.chmod(destination.stat().st_mode | stat.S_IWRITE)


def compiled_once_finders(*folders: Path) -> dict[str, object]:
    """Import finders for the modules in ``folders`` that compile each module once per source,
    keeping the code in the user's cache folder: the solution is a new folder at each bake,
    where Python's own bytecode would never be found again (and is not to be left behind).
    Compiling the Container Apps generator was half of what writing its files cost. Empty
    where there is no cache folder (Python's own finders then compile as usual)."""
    import hashlib
    import importlib.machinery
    import marshal

    cache = user_cache("modules")
    if cache is None:
        return {}

    class CompiledOnce(importlib.machinery.SourceFileLoader):
        def source_to_code(self, data, path, *, _optimize=-1):
            digest = hashlib.sha256(data).hexdigest()
            cached = cache / f"{digest}-{sys.implementation.cache_tag}-O{sys.flags.optimize}.code"
            with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
                return with_filename(marshal.loads(cached.read_bytes()), str(path))
            code = super().source_to_code(data, path, _optimize=_optimize)
            partial = cached.with_name(f"{cached.name}.{os.getpid()}")
            try:
                partial.write_bytes(marshal.dumps(code))
                os.replace(partial, cached)  # whole or not at all, when bakes run side by side
            except OSError:  # a cache that cannot be written costs time, never the bake
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)
            return code

    return {str(folder): importlib.machinery.FileFinder(str(folder), (CompiledOnce, [".py"])) for folder in folders}


def with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` (a module's, with its functions and classes) as compiled from ``filename``, so
    that a traceback names the file it was loaded from, not the one it was first compiled from."""
    constants = tuple(with_filename(value, filename) if isinstance(value, types.CodeType) else value
                      for value in code.co_consts)
    return code.replace(co_filename=filename, co_consts=constants)


def write_container_apps_files(solution: Path) -> None:
    """azure.yaml and infra/, written by the solution's own `python -m cloudservice
    containerapps` code from its service files (one generator for both)."""
    def imported() -> dict:
        return {name: module for name, module in sys.modules.items() if name.partition(".")[0] == "cloudservice"}

    # Another solution's package, imported before in this process (cookiecutter's, when a
    # program bakes several), is set aside for this one's, and put back after.
    set_aside = imported()
    for name in set_aside:
        del sys.modules[name]
    sys.path.insert(0, str(solution))
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # leave no __pycache__
    finders = compiled_once_finders(solution, solution / "cloudservice")
    sys.path_importer_cache.update(finders)
    try:
        from cloudservice import containerapps, model

        containerapps.write(model.Service.load(solution))
    finally:
        for folder in finders:
            sys.path_importer_cache.pop(folder, None)
        sys.path.remove(str(solution))
        sys.dont_write_bytecode = previous
        for name in imported():
            del sys.modules[name]
        sys.modules.update(set_aside)


def former_roles(solution: Path, plan: dict) -> list[str]:
    """Role folders that a generation with other answers left behind (cookiecutter keeps
    what the template does not write): folders with a role's start-up script, not planned."""
    planned = {role["name"].lower() for role in plan["roles"]}
    return sorted(
        path.name for path in solution.iterdir()
        if path.name.lower() not in planned and (path / "bin" / "ps.cmd").is_file()
    )


def run_by_cookiecutter(answers: dict) -> bool:
    """False under cruft, which runs this hook again on every update and diff in
    temporary folders: nothing slow, random or networked may happen there."""
    return "_output_dir" in answers


def is_scratch_copy(solution: Path) -> bool:
    """Under cruft: is this one of the copies that `cruft update` and `cruft diff` make (twice
    an update), rather than the solution of `cruft create`? Cruft makes each in a temporary
    folder of its own, ``<temporary folder>/tmp<random>/<service>``; `cruft create` writes
    where it is told, which may well be somewhere in the temporary folder too."""
    folder = solution.resolve().parent
    return folder.parent == Path(tempfile.gettempdir()).resolve() and folder.name.startswith(tempfile.gettempprefix())


def write_local_secret(solution: Path) -> None:
    """A per-solution key for local runs; git-ignored, never overwritten."""
    key_file = solution / ".local-secret-key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50) + "\n", encoding="utf-8")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def command_line(command: list[str]) -> str:
    """A command as it is typed in this system's shell."""
    return subprocess.list2cmdline(command) if os.name == "nt" else shlex.join(command)


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


def install_packages(solution: Path, plan: dict) -> str | None:
    """Run the install, its output kept back; None when it worked, else the warning to
    print last: the end of the failed command's output and the commands to retry."""
    commands = install_commands(solution, plan, find_uv())
    print("Installing every role's packages into .venv ...", end="", flush=True)
    for command in commands:
        try:
            completed = subprocess.run(
                command, cwd=solution, check=False, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
            output, failed = completed.stdout, completed.returncode != 0
        except OSError as error:
            output, failed = str(error), True
        if failed:
            print(" failed (see the end)")
            tail = "\n".join(f"  | {line}" for line in output.strip().splitlines()[-INSTALL_OUTPUT_LINES:])
            retry = "\n".join(f"    {command_line(c)}" for c in commands)
            return (
                f"{Path(command[0]).name} said (last lines):\n{tail}\n"
                "WARNING: installing the packages failed; the solution itself is complete.\n"
                f"  Retry in {solution} with:\n{retry}"
            )
    print(" done")
    return None


def role_guidance(readme: Path) -> str:
    """The 'At a glance' section of a role's README."""
    lines = readme.read_text(encoding="utf-8", errors="replace").splitlines() if readme.is_file() else []
    if GUIDANCE_HEADING not in lines:  # an adopted role's own README.md
        return f"(its own {readme.name}; see MIGRATION.md)"
    start = lines.index(GUIDANCE_HEADING) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()


def for_this_system(text: str) -> str:
    """The READMEs name the solution's interpreter `.venv/bin/python`; on Windows it is
    `.venv\\Scripts\\python`."""
    return text.replace(".venv/bin/python", ".venv\\Scripts\\python") if os.name == "nt" else text


def next_steps(solution: Path, plan: dict, typed_path: str, installed: bool) -> list[str]:
    """The commands to type next, from where cookiecutter was run: into the solution,
    the install unless this run did it (a .venv from an earlier run may lack a new
    role's packages), then the tool with the solution's interpreter."""
    steps = [command_line(["cd", typed_path or str(solution)])]
    if not installed:
        steps += [command_line(c) for c in install_commands(Path(), plan, find_uv())]
    python = str(venv_python(Path(".venv"))).removesuffix(".exe")
    return [*steps, *(command_line([python, "-m", "cloudservice", command]) for command in ("run", "test"))]


def files_of_other_answers(solution: Path, plan: dict, web_server: str, sources: Path) -> list[str]:
    """Files in the planned role folders that the template writes only for another kind or
    web server: what generating again over a solution, with a role's kind or the web server
    changed, leaves behind (cookiecutter deletes nothing). An adopted role's folder is the
    team's own and is not looked at."""
    left, every_layers_files = [], None
    for role in plan["roles"]:
        if role["adopted"]:
            continue
        folder = solution / role["name"]
        others = {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}
        others -= set(role_files(sources, role_layers(role, web_server)))
        if others:  # the team's own files, or an earlier generation's: the layers tell which
            if every_layers_files is None:  # read only then: a first generation has no others
                every_layers_files = {path for layer in sources.iterdir() if layer.is_dir()
                                      for path in role_files(sources, [layer.name])}
            left += [f"{role['name']}/{path.as_posix()}" for path in sorted(others & every_layers_files)]
    return left


def print_guidance(solution: Path, plan: dict, typed_path: str, web_server: str, sources: Path,
                   installed: bool = False) -> None:
    for role in plan["roles"]:
        title = f"{role['name']} ({role['kind']})"
        print(f"\n{title}\n{'-' * len(title)}")
        print(for_this_system(role_guidance(solution / role["name"] / "README.md")))
    left = former_roles(solution, plan)
    if left:
        folders = ", ".join(f"{name}/" for name in left)
        print(f"\nNot roles of these answers, left as they were: {folders} (delete what is no longer wanted).")
    left = files_of_other_answers(solution, plan, web_server, sources)
    if left:
        print(f"\nFiles the template writes for another role kind or web server, left as they were: {', '.join(left)}"
              " (delete what is no longer wanted).")
    if plan.get("adoption_summary"):
        print(f"\n{plan['adoption_summary']} See {solution / 'MIGRATION.md'}.")
    print(f"\nThe solution is in {solution}; its README.md says how to run, test and deploy it. Next:")
    for step in next_steps(solution, plan, typed_path, installed):
        print(f"  {step}")


def finish_files(solution: Path, answers: dict, plan: dict, template_files: list[str], year: str,
                 role_sources: Path) -> None:
    """Render the template's files, materialise the roles from ``role_sources``, write the
    Container Apps files."""
    context = {"cookiecutter": {**answers, **plan["cleaned_answers"]}, "year": year,
               **{key: value for key, value in plan.items() if key != "cleaned_answers"}}
    render_solution(solution, context, template_files, role_sources)
    materialise_roles(solution, context, role_sources)
    write_migration(solution, plan)
    write_container_apps_files(solution)


def last_steps(solution: Path, plan: dict, typed_path: str, web_server: str, role_sources: Path) -> None:
    """What a run of cookiecutter ends with, once the files are written: the local secret,
    the install if asked, the guidance, and a failed install's warning last."""
    write_local_secret(solution)
    warning = install_packages(solution, plan) if plan["install_packages"] else None
    print_guidance(solution, plan, typed_path, web_server, role_sources,
                   installed=plan["install_packages"] and warning is None)
    if warning:
        sys.stdout.flush()  # the warning comes last, also when both go to one pipe
        print(f"\n{warning}", file=sys.stderr)


def main(answers: dict, plan: dict, template_files: list[str], role_sources: Path, typed_path: str,
         year: str) -> int:
    """The hook's process: the last steps under cookiecutter (which wrote the files), every
    step under cruft."""
    solution = Path.cwd()
    if run_by_cookiecutter(answers):
        last_steps(solution, plan, typed_path, answers["web_server"], role_sources)
        return 0
    finish_files(solution, answers, plan, template_files, year, role_sources)
    if not is_scratch_copy(solution):  # `cruft create`: no install here
        print_guidance(solution, plan, typed_path, answers["web_server"], role_sources)
    return 0
