"""Cookiecutter's side of the template: the answers checked, the role plan made once.

Everything here runs inside cookiecutter's own process (or cruft's). The checks and the
plan are hooks/plan.py's, loaded from its file (``hook_module``, which the tests and the
benchmarks use too).

Cookiecutter makes the solution folder from ``service_name`` before anything else could
stop it. An empty name would leave it failing on the output folder itself
(``Error: "." directory already exists``), and a name like ``a/b`` would create folders
that nothing removes. So cookiecutter.json has, after each free-text question, a private
``__<question>_checked`` entry that passes the answer through the ``check_answer`` filter
below: a bad answer stops cookiecutter at once with one line,
``ERROR: <field>: <what is wrong>; <what is allowed>`` (and, in an interactive run, the
command that asks again with the other answers as defaults). The last entry,
``__answers_checked``, makes the whole plan. Answers that skip the questions (a replay, an
edited replay file, cruft's stored answers) are checked when the solution folder's name is
rendered, which is before cookiecutter writes anything. The post-generation hook gets the
plan through the ``role_plan`` filter: it is made once per set of answers.

Cookiecutter runs the post-generation hook in a Python process of its own, which would
first import Jinja and compile every template again. So ``work_left_for_the_hook`` renders
the solution's files here, in cookiecutter's process, when cookiecutter renders that hook's
source, with hooks/finish.py's code, and prints the guidance too when nothing is to be
installed: the hook then renders to nothing but comments. The hook itself installs and
prints (and under cruft, which does not say where the solution is, writes the files itself
with the same code).

Cookiecutter renders each answer as a Jinja template, so ``{{ x }}`` in a description
stopped it with a dump of the whole context and ``{# ... #}`` vanished. An answer is text:
``preprocess`` below keeps it as written. Rendered are the template's own sources (the
post-generation hook and the checks, which hold ``OWN_SOURCE_MARKS``, and the solution
folder's name) and an answer made from others and nothing else, such as
``{{ cookiecutter.service_name }}-api``, as cookiecutter allows, when those others are
answered already (else it too is kept as written).

``adopt_from``, the first question, names an old Visual Studio cloud service to adopt
(hooks/adopt.py): it is read once a run (``adoption``), the later questions' defaults come
from it (the ``adopted`` filter), ``__adoption`` keeps its record for cruft, and the new
solution's folder may not overlap it (``check_output_folder``).

Cookiecutter compiles each of those strings (and the hook's source) as a template again on
every run; ``compiling_once`` keeps the compiled code of those with Jinja syntax in the user's
cache folder, beside the solution's compiled templates.

The post-generation hook is rendered with four more functions from here: ``template_files()``
(what cookiecutter copies into the solution, so that the hook renders those files and no
others), ``role_sources()`` (the folder each role is made from), ``hooks_folder()`` (where
its process finds hooks/finish.py) and ``solution_as_typed()`` (the solution's path as the
user can ``cd`` to it).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

from jinja2.ext import Extension

HOOKS = Path(__file__).resolve().parent / "hooks"
# Where the user ran cookiecutter, which a relative adopt_from starts from: cookiecutter renders
# the post-generation hook in the template's folder, and the old folder must be the same there.
USER_FOLDER = Path.cwd()
SOLUTION_TEMPLATE = "{{cookiecutter.service_name}}"
# Rendered in front of the solution folder's name: the answers are checked (and the plan
# made) before cookiecutter creates that folder, however it was started.
CHECKED_FIRST = "{{ cookiecutter | checked_before_writing }}"
JINJA_SYNTAX = ("{{", "{%", "{#")
OWN_SOURCE_MARKS = ("{{ cookiecutter | jsonify }}", "{{ cookiecutter | check_answer", "{{ cookiecutter | role_plan")
ANSWER_OF_COOKIECUTTER = re.compile(r"\{\{[^{}]*\bcookiecutter\.[^{}]*\}\}")
ANSWER_NAME = re.compile(r"\bcookiecutter\.(\w+)")


def hook_module(name: str):
    """hooks/<name>.py as a module, loaded once per process (it is not on sys.path)."""
    module_name = f"cloudservice_template_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, HOOKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up while the class is built
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return sys.modules[module_name]


@functools.lru_cache(maxsize=4)
def plan_as_json(planned_answers: str) -> str:
    """The role plan of these answers (JSON of the answers make_plan reads), as JSON."""
    return json.dumps(hook_module("plan").make_plan(json.loads(planned_answers)))


def role_plan(answers: dict) -> str:
    """The role plan as JSON, made once per set of answers; exit with
    ``ERROR: <field>: ...; ...`` for bad ones."""
    plan = hook_module("plan")
    planned = json.dumps({name: answers.get(name) for name in plan.PLANNED_ANSWERS}, sort_keys=True)
    try:
        check_output_folder(answers)
        return plan_as_json(planned)
    except plan.AnswerError as error:
        raise SystemExit(f"ERROR: {error}") from None


def cli_parameters() -> dict | None:
    """The options of the ``cookiecutter`` command being run; None under the Python API."""
    click = sys.modules.get("click")  # imported by the command, never under the Python API
    context = None if click is None else click.get_current_context(silent=True)
    return None if context is None else context.params


def rerun_command(answers: dict, refused: str) -> str | None:
    """In an interactive run: the command that asks the questions again, every answer given
    so far (but the refused one) offered as the default. Cookiecutter keeps no replay of a
    refused run, so this is the way not to type them again."""
    parameters = cli_parameters()
    if parameters is None or parameters.get("no_input") or "template" not in parameters:
        return None
    given = {
        key: ("yes" if value else "no") if isinstance(value, bool) else str(value)
        for key, value in answers.items()
        if not key.startswith("_") and key != refused and not (key == "adopt_from" and not value)
    }
    # The user's own options stay as typed; their key=value answers give way to the ones above.
    options = [
        argument for argument in sys.argv[1:]
        if argument != parameters["template"] and not (
            not argument.startswith("-") and argument.partition("=")[0] in answers)
    ]
    # Started as `python -m cookiecutter` (no `cookiecutter` on PATH, perhaps): the same way.
    program = ["cookiecutter"] if Path(sys.argv[0]).stem == "cookiecutter" else [sys.executable, "-m", "cookiecutter"]
    command = [*program, *options, parameters["template"], *(f"{k}={v}" for k, v in given.items())]
    return hook_module("finish").command_line(command)


def check_answer(answers: dict, field_name: str) -> str:
    """Check the answer just given; "yes", or exit with ``ERROR: <field>: ...; ...``."""
    plan = hook_module("plan")
    try:
        if field_name == "adopt_from":
            stored_record(answers["adopt_from"]) or adoption(answers["adopt_from"])
        else:
            plan.check_answer(field_name, answers)
    except plan.AnswerError as error:
        message = f"ERROR: {error}"
        rerun = rerun_command(answers, field_name)
        if rerun:
            message += f"\nTo answer again, with your other answers as the defaults:\n  {rerun}"
        raise SystemExit(message) from None
    return "yes"


def check_answers(answers: dict) -> str:
    """Return "yes" for good answers (their plan made); exit with ``ERROR: <field>: ...; ...``
    otherwise."""
    role_plan(answers)
    return "yes"


def checked_before_writing(answers: dict) -> str:
    """Nothing, once the answers are checked: rendered in front of the solution folder's name.
    (An answer that reads exactly like that name, given while questions remain, is not
    checked here: it is not the folder's name.)"""
    if all(name in answers for name in hook_module("plan").PLANNED_ANSWERS):
        role_plan(answers)
    return ""


def work_left_for_the_hook(answers: dict) -> bool:
    """Do here, as cookiecutter renders the post-generation hook, what that hook would do in
    a process of its own: write the solution's files (hooks/finish.py's ``finish_files``)
    and, when no packages are to be installed, its ``last_steps`` too. True when the hook
    has work left: the install, or everything under cruft, which gives no output folder."""
    if "_output_dir" not in answers:
        return True
    import datetime

    from cookiecutter.exceptions import FailedHookException

    hook = hook_module("finish")
    solution = Path(answers["_output_dir"], answers["service_name"])
    plan = json.loads(role_plan(answers))
    year = f"{datetime.datetime.now(datetime.UTC):%Y}"
    try:
        hook.finish_files(solution, answers, plan, json.loads(template_files()), year, Path(role_sources()))
    except OSError as error:  # the disk's or the system's refusal, not the template's fault: no traceback of ours
        said = f"{error.strerror}: {error.filename}" if error.strerror and error.filename else error.strerror or error
        raise FailedHookException(f"writing the solution's files failed: {said}") from None
    except Exception as error:  # as a failed hook: cookiecutter removes the folder it made
        raise FailedHookException(f"writing the solution's files failed: {error!r}") from error
    if plan["install_packages"]:
        return True
    hook.last_steps(solution, plan, solution_as_typed(answers["service_name"]), answers["web_server"],
                    Path(role_sources()))
    return False


@functools.lru_cache(maxsize=4)
def files_under(root: Path) -> str:
    return json.dumps(sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()))


def template_files() -> str:
    """JSON list of the files in the solution's template folder, relative to it: what
    cookiecutter copies into the solution. Cookiecutter renders the hooks with the
    template's folder as the current directory (cruft too)."""
    root = Path.cwd() / SOLUTION_TEMPLATE
    if not root.is_dir():
        raise RuntimeError(f"{root} is not there: the hooks must be rendered in the template's folder")
    return files_under(root)


def hooks_folder() -> str:
    """This template's hooks/ folder, where the hook's process finds hooks/finish.py."""
    return str(HOOKS)


def role_sources() -> str:
    """The folder of the layers each role is made from (hooks/plan.py's ``ROLE_SOURCES``)."""
    return str(hook_module("plan").ROLE_SOURCES)


def solution_as_typed(service_name: str) -> str:
    """The solution's path as the user can ``cd`` to it from where they ran cookiecutter
    (the output folder they typed, joined with the name); empty when not known."""
    parameters = cli_parameters()
    if parameters is None or parameters.get("output_dir") is None:
        return ""
    return os.path.normpath(os.path.join(parameters["output_dir"], service_name))


def jinja_string(text: str) -> str:
    """A Jinja expression whose value is ``text``: a string literal with no quote,
    backslash or brace left in it (Jinja decodes the escapes as Python's unicode-escape)."""
    escaped = []
    for char in text:
        if char.isascii() and char.isprintable() and char not in "\"\\{}":
            escaped.append(char)
        elif ord(char) <= 0xFFFF:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(f"\\U{ord(char):08x}")
    return '{{ "' + "".join(escaped) + '" }}'


ANALYSED: dict[Path, object] = {}


def adoption(answer: object):
    """The analysis of the old solution an adopt_from answer names (read once a run, whichever
    answer asks first); None for a new service. Raises the hook's AnswerError, naming the
    folder as given, for one that cannot be adopted."""
    folder = str(answer).strip()
    if not folder:
        return None
    path = old_folder(folder)
    if path not in ANALYSED:
        ANALYSED[path] = hook_module("adopt").analyse(path)
    return ANALYSED[path]


def old_folder(answer: str) -> Path:
    """The folder an adopt_from answer names, from where the user ran cookiecutter."""
    return (USER_FOLDER / answer).resolve()


def adopted(answer: object, field_name: str, default: str) -> str:
    """The default of an answer: the old solution's (adopt_from), else the template's."""
    found = adoption(answer)
    return default if found is None else found.answers()[field_name]


def adoption_record(answer: object) -> str:
    """cookiecutter.json's ``__adoption``: the old service as later generations need it, kept in
    the answers (cruft's .cruft.json) so that they never need the old folder; empty for a new service."""
    stored = stored_record(answer)
    if stored:
        return stored
    found = adoption(answer)
    return "" if found is None else hook_module("adopt").record(found)


def stored_record(answer: object) -> str:
    """Under cruft (update, diff, check), when the old folder is gone: the ``__adoption`` that the
    solution's .cruft.json keeps from its first generation (cruft renders private answers again)."""
    folder = str(answer).strip()
    project = cruft_project()
    if not folder or old_folder(folder).is_dir() or project is None:
        return ""
    try:
        state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
        return str(state["context"]["cookiecutter"].get("__adoption") or "")
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def cruft_project() -> Path | None:
    """The solution that the running ``cruft update``, ``diff`` or ``check`` works on (its
    --project-dir, else the current folder); None when cruft is not what runs."""
    if Path(sys.argv[0]).stem != "cruft" or len(sys.argv) < 2 or sys.argv[1] not in ("update", "diff", "check"):
        return None
    arguments = sys.argv[2:]
    for index, argument in enumerate(arguments):
        if argument in ("-p", "--project-dir") and index + 1 < len(arguments):
            return Path(arguments[index + 1])
        if argument.startswith("--project-dir="):
            return Path(argument.partition("=")[2])
    return Path()


def output_folder(answers: dict) -> Path | None:
    """The folder cookiecutter writes the solution into: the command's --output-dir while the
    questions are asked, and ``_output_dir`` once cookiecutter has added it to the answers
    (before it renders the solution folder's name, under the Python API too)."""
    if "_output_dir" in answers:
        return Path(answers["_output_dir"])
    parameters = cli_parameters()
    if parameters is not None and "output_dir" in parameters:
        return Path(parameters["output_dir"] or ".")
    return None


def check_output_folder(answers: dict) -> None:
    """Stop before anything is written when the new solution's folder overlaps the old one or
    one of its role folders."""
    folder, output = str(answers.get("adopt_from", "")).strip(), output_folder(answers)
    if folder and output is not None:
        found = adoption(folder) if old_folder(folder).is_dir() else None  # under cruft, perhaps gone
        roles = [] if found is None else found.roles
        solution = USER_FOLDER / output / str(answers["service_name"])
        hook_module("adopt").check_output_folder(old_folder(folder), solution, roles)


# What a string's compiled code depends on, besides its source and Jinja's version: the
# environment's syntax (Jinja's own lexer is keyed by these) and how it compiles.
COMPILE_OPTIONS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline",
    "optimized", "is_async", "autoescape", "finalize",
)


def compiled_strings_key(environment) -> str:
    """Everything but its source that a string compiles with in ``environment``: Jinja's and
    cookiecutter's versions, this file (its filters and ``preprocess``), the options, the
    extensions, and how each filter and test is called (which the compiled code spells out)."""
    import hashlib

    import cookiecutter
    import jinja2

    called = sorted(
        (kind, name, repr(getattr(function, "jinja_pass_arg", None)))
        for kind, functions in (("filter", environment.filters), ("test", environment.tests))
        for name, function in functions.items()
    )
    return repr((
        jinja2.__version__, cookiecutter.__version__, type(environment).__qualname__,
        hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        [repr(getattr(environment, option)) for option in COMPILE_OPTIONS],
        sorted(environment.extensions), called,
    ))


def compiling_once(environment):
    """``environment.compile``, keeping what it compiles from a string in the user's cache
    folder, beside the solution's compiled templates (hooks/finish.py's
    ``compiled_templates_cache``). Cookiecutter compiles every default, choice, file name and
    the hook as a template on every run, about 1 ms each: some 40 strings, the largest part of
    what our questions cost beyond cookiecutter's own. Kept are the strings with Jinja syntax: the template's own
    (cookiecutter.json's, the folder name, the hook) and answers made from others. Text
    without it, such as a choice or the path of a folder being made (a new one at each bake),
    is compiled as usual and leaves nothing behind, so that the cache does not grow with each
    bake. Templates loaded by name (Jinja caches those itself) and anything but plain
    compiling go straight through."""
    compile_now = environment.compile
    cache = hook_module("finish").compiled_templates_cache()
    if cache is None:
        return compile_now
    fixed = []  # compiled_strings_key, made at the first string: extensions set options after __init__

    def compile(source, name=None, filename=None, raw=False, defer_init=False):
        if (not isinstance(source, str) or not any(delimiter in source for delimiter in JINJA_SYNTAX)
                or name is not None or filename is not None or raw or defer_init):
            return compile_now(source, name, filename, raw, defer_init)
        if not fixed:
            fixed.append(compiled_strings_key(environment))
        bucket = cache.get_bucket(environment, f"{fixed[0]}\n{source}", None, source)
        if bucket.code is None:
            bucket.code = compile_now(source)
            cache.set_bucket(bucket)
        return bucket.code

    return compile


class AnswerChecks(Extension):
    """The ``check_answer``, ``check_answers`` and ``role_plan`` filters, the post-generation
    hook's functions, answers kept as written, and the template's strings compiled once."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["check_answer"] = check_answer
        environment.filters["check_answers"] = check_answers
        environment.filters["role_plan"] = role_plan
        environment.filters["work_left_for_the_hook"] = work_left_for_the_hook
        environment.filters["checked_before_writing"] = checked_before_writing
        environment.filters["adopted"] = adopted
        environment.filters["adoption_record"] = adoption_record
        environment.globals["template_files"] = template_files
        environment.globals["solution_as_typed"] = solution_as_typed
        environment.globals["role_sources"] = role_sources
        environment.globals["hooks_folder"] = hooks_folder
        environment.compile = compiling_once(environment)

    def preprocess(self, source, name, filename=None):
        if source == SOLUTION_TEMPLATE:
            return CHECKED_FIRST + self.answer_as_written(source)
        return self.answer_as_written(source)

    @staticmethod
    def answer_as_written(source: str) -> str:
        if not any(delimiter in source for delimiter in JINJA_SYNTAX):
            return source
        if any(mark in source for mark in OWN_SOURCE_MARKS):
            return source
        if not any(delimiter in ANSWER_OF_COOKIECUTTER.sub("", source) for delimiter in JINJA_SYNTAX):
            # The solution folder's name, or an answer made from others: rendered when those
            # are known already (answers are asked in order), else kept as written.
            known = " and ".join(f"cookiecutter.{name} is defined" for name in sorted(set(ANSWER_NAME.findall(source))))
            return f"{{% if {known} %}}{source}{{% else %}}{jinja_string(source)}{{% endif %}}"
        return jinja_string(source)
