"""What the benchmarks share: timing, quiet subprocesses, the template and its hooks."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Never part of a template a user bakes from a fresh clone (and not needed to bake).
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", ".ruff_cache", ".pytest_cache", "benchmarks"
)


def median(samples: Iterable[float]) -> float:
    return statistics.median(samples)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_quietly(command: list[str | Path], cwd: Path | None = None, **options) -> None:
    """Run a command, its output hidden unless it fails."""
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
        **options,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{subprocess.list2cmdline([str(p) for p in command])} failed with exit code "
            f"{completed.returncode}:\n{completed.stdout[-4000:]}"
        )


@contextlib.contextmanager
def output_hidden() -> Iterator[None]:
    """Send this process's standard output and error, and that of the processes it
    starts meanwhile (cookiecutter's hooks), to the null device."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w", encoding="utf-8") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)


def snapshot_template(target: Path) -> Path:
    """A copy of the template as a fresh clone would have it: the files git tracks or
    would track, without caches or virtual environments. Every measurement bakes this
    copy, so edits made to the working tree meanwhile change no figure of a run."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode("utf-8").split("\0")
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, target, ignore=NOT_IN_A_CLONE)
        return target
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith("benchmarks/"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def load_hook(template: Path, name: str):
    """hooks/<name>.py of the template as a module, loaded by its local_extensions.py, as
    cookiecutter and the template's tests have it."""
    if str(template) not in sys.path:
        sys.path.insert(0, str(template))
    import local_extensions

    return local_extensions.hook_module(name)


def default_answers(template: Path) -> dict:
    """The answers ``cookiecutter --no-input`` takes: cookiecutter.json as cookiecutter itself
    renders it (its defaults are templates, an adopted service's or the template's own)."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    if str(template) not in sys.path:
        sys.path.insert(0, str(template))  # for its local_extensions
    context = generate_context(context_file=str(template / "cookiecutter.json"))
    return dict(prompt_for_config(context, no_input=True))
