"""Bake once in a new process, as a user's ``cookiecutter`` command does:
``python bake_once.py TEMPLATE OUTPUT_DIR '{"key": "answer", ...}'``."""

from __future__ import annotations

import json
import sys

from cookiecutter.main import cookiecutter

if __name__ == "__main__":
    template, output_dir, answers = sys.argv[1:]
    cookiecutter(
        template,
        no_input=True,
        output_dir=output_dir,
        extra_context=json.loads(answers),
        default_config=True,
    )
