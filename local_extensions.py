"""Cookiecutter's side of the template: answers checked as they are given, kept as written.

Cookiecutter makes the solution folder from ``service_name`` before it runs the
pre-generation hook. An empty name would leave it failing on the output folder itself
(``Error: "." directory already exists``), and a name like ``a/b`` would create folders
that nothing removes. So cookiecutter.json has, after each free-text question, a private
``__<question>_checked`` entry that passes the answer through the ``check_answer`` filter
below: a bad answer stops cookiecutter at once, with the hook's own one-line error (and,
in an interactive run, the command that asks again with the other answers as defaults).
The last entry, ``__answers_checked``, runs every check once more on the whole set.

The checks themselves are the pre-generation hook's, loaded from its file; the hook runs
them again whichever way cookiecutter is started (``--replay`` included).

Cookiecutter renders each answer as a Jinja template, so ``{{ x }}`` in a description
stopped it with a dump of the whole context and ``{# ... #}`` vanished. An answer is text:
``preprocess`` below keeps it as written. Rendered are the template's own sources (the hooks
and the checks, which hold ``OWN_SOURCE_MARKS``, and the solution folder's name) and an
answer made from others and nothing else, such as ``{{ cookiecutter.service_name }}-api``,
as cookiecutter allows, when those others are answered already (else it too is kept as written).

The hooks are rendered with two functions from here: ``template_files()`` (what
cookiecutter copies into the solution, so that the post-generation hook renders those
files and no others) and ``solution_as_typed()`` (the solution's path as the user can
``cd`` to it).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from jinja2.ext import Extension

PRE_GEN_HOOK = Path(__file__).resolve().parent / "hooks" / "pre_gen_project.py"
ADOPT = Path(__file__).resolve().parent / "hooks" / "adopt.py"
MODULE_NAME = "pre_gen_project_checks"
SOLUTION_TEMPLATE = "{{cookiecutter.service_name}}"
JINJA_SYNTAX = ("{{", "{%", "{#")
OWN_SOURCE_MARKS = ("{{ cookiecutter | jsonify }}", "{{ cookiecutter | check_answer")
ANSWER_OF_COOKIECUTTER = re.compile(r"\{\{[^{}]*\bcookiecutter\.[^{}]*\}\}")
ANSWER_NAME = re.compile(r"\bcookiecutter\.(\w+)")


@functools.cache
def pre_gen_hook():
    spec = importlib.util.spec_from_file_location(MODULE_NAME, PRE_GEN_HOOK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def command_line(arguments: list[str]) -> str:
    """Quoted for the shell of this system."""
    return subprocess.list2cmdline(arguments) if os.name == "nt" else shlex.join(arguments)


def cli_parameters() -> dict | None:
    """The options of the ``cookiecutter`` command being run; None under the Python API."""
    try:
        import click
    except ImportError:
        return None
    context = click.get_current_context(silent=True)
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
    return command_line([*program, *options, parameters["template"], *(f"{k}={v}" for k, v in given.items())])


def check_answer(answers: dict, field_name: str) -> str:
    """Check the answer just given; "yes", or exit with ``ERROR: <field>: ...; ...``."""
    hook = pre_gen_hook()
    try:
        if field_name == "adopt_from":
            adoption(answers["adopt_from"])
        else:
            hook.check_answer(field_name, answers[field_name])
    except hook.AnswerError as error:
        message = f"ERROR: {error}"
        rerun = rerun_command(answers, field_name)
        if rerun:
            message += f"\nTo answer again, with your other answers as the defaults:\n  {rerun}"
        raise SystemExit(message) from None
    return "yes"


def check_answers(answers: dict) -> str:
    """Return "yes" for good answers; exit with ``ERROR: <field>: ...; ...`` otherwise."""
    hook = pre_gen_hook()
    try:
        check_output_folder(answers)
        hook.make_plan(answers)
    except hook.AnswerError as error:
        raise SystemExit(f"ERROR: {error}") from None
    return "yes"


def template_files() -> str:
    """JSON list of the files in the solution's template folder, relative to it: what
    cookiecutter copies into the solution. Cookiecutter renders the hooks with the
    template's folder as the current directory (cruft too)."""
    root = Path.cwd() / SOLUTION_TEMPLATE
    if not root.is_dir():
        raise RuntimeError(f"{root} is not there: the hooks must be rendered in the template's folder")
    return json.dumps(sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()))


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


@functools.cache
def adopt_module():
    """hooks/adopt.py, which reads an old cloud service, raising the AnswerError of the hook's
    module loaded here (the tests load the hook under other names too)."""
    spec = importlib.util.spec_from_file_location("adopt", ADOPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["adopt"] = module
    spec.loader.exec_module(module)
    module.pre_gen_hook = pre_gen_hook
    return module


ANALYSED: dict[Path, object] = {}


def adoption(answer: object):
    """The analysis of the old solution an adopt_from answer names (read once a run, whichever
    answer asks first); None for a new service. Raises the hook's AnswerError, naming the
    folder as given, for one that cannot be adopted."""
    folder = str(answer).strip()
    if not folder:
        return None
    if Path(folder).resolve() not in ANALYSED:
        ANALYSED[Path(folder).resolve()] = adopt_module().analyse(Path(folder))
    return ANALYSED[Path(folder).resolve()]


def adopted(answer: object, field_name: str, default: str) -> str:
    """The default of an answer: the old solution's (adopt_from), else the template's."""
    found = adoption(answer)
    return default if found is None else found.answers()[field_name]


def output_folder() -> Path | None:
    """The folder cookiecutter writes the solution into: the command's --output-dir, or the
    output_dir given to cookiecutter() through the Python API (as pytest-cookies does)."""
    parameters = cli_parameters()
    if parameters is not None and "output_dir" in parameters:
        return Path(parameters["output_dir"] or ".")
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "cookiecutter" and "output_dir" in frame.f_locals:
            return Path(frame.f_locals["output_dir"] or ".")
        frame = frame.f_back
    return None


def check_output_folder(answers: dict) -> None:
    """Stop before anything is written when the new solution's folder and the old one overlap."""
    folder, output = str(answers.get("adopt_from", "")).strip(), output_folder()
    if folder and output is not None:
        adopt_module().check_output_folder(Path(folder), output / str(answers["service_name"]))


class AnswerChecks(Extension):
    """The ``check_answer`` and ``check_answers`` filters, the hooks' two functions, and
    answers kept as written."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["check_answer"] = check_answer
        environment.filters["check_answers"] = check_answers
        environment.filters["adopted"] = adopted
        environment.globals["template_files"] = template_files
        environment.globals["solution_as_typed"] = solution_as_typed

    def preprocess(self, source, name, filename=None):
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
