"""Bake times: the default solution against cookiecutter's own floor (a one-file
template made here), and a 12-role solution against the default. The same one-file
template with a hook that only imports shows what the hook process alone costs.

Each bake is timed twice over: in a new process, as a user's ``cookiecutter``
command runs (Python start-up and cookiecutter's imports included), and through the
API in this already warm process. No packages are installed (install_packages=False).

The new processes run as on a user's machine (run.py removes PYTHONDONTWRITEBYTECODE):
Python keeps the bytecode of the template's own modules (local_extensions.py, hooks/) after
the first bake, as it has cookiecutter's, and the compiled templates of earlier bakes are in
the user's cache folder. Two more figures show what those are worth: the default bake with
PYTHONDONTWRITEBYTECODE=1, and a first bake, with an empty cache folder.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import median, output_hidden

BAKE_ONCE = Path(__file__).with_name("bake_once.py")
FLOOR_FILES = {
    "cookiecutter.json": '{"project_slug": "floor"}\n',
    "{{cookiecutter.project_slug}}/README.md": "# {{ cookiecutter.project_slug }}\n",
}
# The same template with a post-generation hook that only imports what this template's hook
# needs to render: what any template with a hook pays before its hook does anything.
HOOK_FILES = {"hooks/post_gen_project.py": "import json\nimport jinja2\n"}
TWELVE_ROLES = " ".join(["django", "flask", "bottle", "worker"] * 3)
RANDOM_SEED = 14  # the order of the cases in each round: the same in every run of the benchmark


def make_floor_template(folder: Path, files: dict[str, str] = FLOOR_FILES) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# Cookiecutter leaves the rendered copy of each hook in the temporary folder, and a crowded
# temporary folder slows bakes down. Each bake gets its output folder as its temporary
# folder, so no figure depends on what earlier runs left there.
def temporary_folder_environment(folder: Path) -> dict[str, str]:
    return {**os.environ, **{name: str(folder) for name in ("TMPDIR", "TEMP", "TMP")}}


# Private answers of the cases below, which bake_in_new_process turns into the environment.
NO_BYTECODE = "__benchmark_no_bytecode"
FIRST_BAKE = "__benchmark_first_bake"


def bake_in_new_process(template: Path, answers: dict, work: Path) -> float:
    output = Path(tempfile.mkdtemp(dir=work))
    environment = temporary_folder_environment(output)
    if answers.get(NO_BYTECODE):
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    if answers.get(FIRST_BAKE):  # an empty cache folder, wherever the system keeps it
        cache = output / "cache"
        environment.update(XDG_CACHE_HOME=str(cache), LOCALAPPDATA=str(cache), HOME=str(cache))
    answers = {name: value for name, value in answers.items() if name not in (NO_BYTECODE, FIRST_BAKE)}
    command = [sys.executable, str(BAKE_ONCE), str(template), str(output), json.dumps(answers)]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"baking {template} with {answers} failed:\n{completed.stderr[-4000:]}")
    shutil.rmtree(output)
    return seconds


def bake_in_this_process(template: Path, answers: dict, work: Path) -> float:
    from cookiecutter.main import cookiecutter

    output = Path(tempfile.mkdtemp(dir=work))
    usual_temporary_folder, tempfile.tempdir = tempfile.tempdir, str(output)
    try:
        with output_hidden():
            started = time.perf_counter()
            cookiecutter(str(template), no_input=True, output_dir=str(output),
                         extra_context=answers, default_config=True)
            seconds = time.perf_counter() - started
    finally:
        tempfile.tempdir = usual_temporary_folder
    shutil.rmtree(output)
    return seconds


def measure(template: Path, work: Path, runs: int, log=print) -> dict:
    floor = make_floor_template(work / "floor-template")
    floor_with_hooks = make_floor_template(work / "floor-with-hooks", FLOOR_FILES | HOOK_FILES)
    cases = {
        "floor": (floor, {}),
        "floor_with_hooks": (floor_with_hooks, {}),
        "default": (template, {"install_packages": False}),
        "twelve_roles": (template, {"install_packages": False, "roles": TWELVE_ROLES}),
    }
    only_new_process = {
        "default_no_bytecode": (template, {"install_packages": False, NO_BYTECODE: True}),
        "default_first_bake": (template, {"install_packages": False, FIRST_BAKE: True}),
    }
    results = {}
    for way, bake in (("new_process", bake_in_new_process), ("in_process", bake_in_this_process)):
        if way == "new_process":
            cases |= only_new_process
        else:
            cases = {case: bake for case, bake in cases.items() if case not in only_new_process}
        samples: dict[str, list[float]] = {case: [] for case in cases}
        for source, answers in cases.values():
            bake(source, answers, work)  # untimed: warms the file cache and the imports
        order = random.Random(RANDOM_SEED)
        for round_number in range(runs):
            log(f"  bake ({way.replace('_', ' ')}) round {round_number + 1} of {runs}")
            # Interleaved, so that drift hits all alike, and in a new order each round, so that
            # no case always follows the same one (the disk still writing back what it wrote).
            for case in order.sample(list(cases), len(cases)):
                source, answers = cases[case]
                samples[case].append(bake(source, answers, work))
        results[way] = {case: {"median_s": median(s), "samples_s": s} for case, s in samples.items()}
        medians = {case: results[way][case]["median_s"] for case in cases}
        results[way]["default_over_floor"] = medians["default"] / medians["floor"]
        for case in only_new_process.keys() & medians.keys():
            results[way][f"{case}_over_floor"] = medians[case] / medians["floor"]
        results[way]["hooks_over_floor"] = medians["floor_with_hooks"] / medians["floor"]
        results[way]["twelve_over_default"] = medians["twelve_roles"] / medians["default"]
        results[way]["seconds_per_extra_role"] = (medians["twelve_roles"] - medians["default"]) / 10
    results["twelve_roles_answer"] = TWELVE_ROLES
    return results
