"""A copy of this solution that a test may change: its files, without what local runs,
prepare and package leave behind."""

from __future__ import annotations

import shutil
from pathlib import Path

from cloudservice.model import SOLUTION, Service

LEFT_BEHIND = {".venv", ".azurite", ".local-resources", "__pycache__", ".pytest_cache"}
PREPARED = {"python", "wheelhouse"}  # in <Role>/bin


def ignored(folder: str, names: list[str]) -> set[str]:
    ignore = {name for name in names if name in LEFT_BEHIND or name.endswith(".cspkg")}
    if Path(folder).name == "bin":
        ignore |= PREPARED & set(names)
    return ignore


def copy_solution(destination: Path) -> Service:
    shutil.copytree(SOLUTION, destination, ignore=ignored)
    return Service.load(destination)


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in a file of the copy; the text must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
