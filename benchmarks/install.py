"""Installing the default solution's packages: the post-generation hook's way (uv)
against plain venv + pip, with the very commands the hook's ``install_commands``
returns for each (the pip ones are its fallback when uv is missing).

Caches are warm: each way runs once untimed first. Before every run .venv is removed.
The last run is uv's, so the solution is left with the .venv the hook would make.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from common import default_answers, load_hook, median, output_hidden, run_quietly
from cookiecutter.main import cookiecutter


def install_once(solution: Path, commands: list[list[str]]) -> float:
    shutil.rmtree(solution / ".venv", ignore_errors=True)
    started = time.perf_counter()
    for command in commands:
        run_quietly(command, cwd=solution)
    return time.perf_counter() - started


def bake_default(template: Path, work: Path) -> Path:
    folder = work / "default-solution"
    folder.mkdir()
    with output_hidden():
        solution = cookiecutter(str(template), no_input=True, output_dir=str(folder),
                                extra_context={"install_packages": False}, default_config=True)
    return Path(solution)


def measure(template: Path, work: Path, runs: int, log=print) -> tuple[dict, Path]:
    """The figures, and the default solution with its packages installed by uv."""
    planner = load_hook(template, "plan")
    post = load_hook(template, "finish")
    solution = bake_default(template, work)
    plan = planner.make_plan(default_answers(template))
    uv = post.find_uv()
    if uv is None:
        raise RuntimeError("uv is not installed beside this Python or on PATH")
    ways = {
        "pip": post.install_commands(solution, plan, None),
        "uv": post.install_commands(solution, plan, uv),
    }
    samples: dict[str, list[float]] = {way: [] for way in ways}
    for way, commands in ways.items():
        log(f"  install with {way}: once untimed, to warm its cache")
        install_once(solution, commands)
    for round_number in range(runs):
        log(f"  install round {round_number + 1} of {runs}")
        for way, commands in ways.items():  # pip first: uv's .venv is the one left
            samples[way].append(install_once(solution, commands))
    results: dict = {
        way: {"median_s": median(s), "samples_s": s, "commands": ways[way]} for way, s in samples.items()
    }
    results["uv_over_pip"] = results["uv"]["median_s"] / results["pip"]["median_s"]
    results["requirements"] = [str(solution / role["name"] / "requirements.txt") for role in plan["roles"]]
    return results, solution

