"""Check the answers inside cookiecutter, before it creates anything.

Cookiecutter makes the solution folder from ``service_name`` before it runs the
pre-generation hook. An empty name would leave it failing on the output folder itself
(``Error: "." directory already exists``), and a name like ``a/b`` would create folders
that nothing removes. So cookiecutter.json's last entry, ``__answers_checked``, passes the
answers through the ``check_answers`` filter below as soon as they are all known, and a
bad answer stops cookiecutter with the hook's own one-line error.

The checks themselves are the pre-generation hook's ``make_plan``, loaded from its file;
the hook runs them again whichever way cookiecutter is started (``--replay`` included).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

from jinja2.ext import Extension

PRE_GEN_HOOK = Path(__file__).resolve().parent / "hooks" / "pre_gen_project.py"
MODULE_NAME = "pre_gen_project_checks"


@functools.cache
def pre_gen_hook():
    spec = importlib.util.spec_from_file_location(MODULE_NAME, PRE_GEN_HOOK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def check_answers(answers: dict) -> str:
    """Return "yes" for good answers; exit with ``ERROR: <field>: ...; ...`` otherwise."""
    hook = pre_gen_hook()
    try:
        hook.make_plan(answers)
    except hook.AnswerError as error:
        raise SystemExit(f"ERROR: {error}") from None
    return "yes"


class AnswerChecks(Extension):
    """Adds the ``check_answers`` filter to cookiecutter's Jinja environment."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["check_answers"] = check_answers
