"""How fast and how cheap the template and what it generates are: ``python3 benchmarks/run.py``.

Measures, in one run on this machine, several runs each, medians:

1. bake: the default solution against a one-file template (cookiecutter's floor), and
   a 12-role solution against the default (bake.py);
2. install: the default solution's packages the hook's way (uv) against venv + pip,
   warm caches (install.py);
3. worker: the generated worker against Azurite, against a naive loop and against its
   ceiling (a bare loop of the worker's batch size and delete threads, on the same Azurite);
   requests per message; requests per minute of an idle worker after a minute
   (measure_worker.py);
4. local run: ``python -m cloudservice run`` until every role is ready (local_run.py);
5. containers: each role kind's image, built with podman from a local base image, cold
   and after a code-only change, its size against the base, and
   ``python -m cloudservice run --containers`` until every role is ready (containers.py).

Prints a table of each figure against its goal and writes everything measured to
benchmarks/results/latest.json. It uses the test tools' .venv (made by tests/run.py)
and Node.js with npm for Azurite. ``--runs N`` sets the timed runs of every figure (by
default 15 for bake, 5 for run, 3 for install, worker and containers); ``--only bake,run`` picks parts
(install comes along with worker and run, which need the solution it installs).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "latest.json"
# Timed runs of each figure, per part: fewer where one run takes long (about 65 s a
# worker round of its three ways, 25 s an install round), so that the whole takes well under 10 minutes
# (containers adds about 5 more: one cold build per role kind). A bake round takes about 6 s, and
# this machine's speed drifts from one minute to the next: 15 rounds keep its medians steady.
RUNS = {"bake": 15, "install": 3, "worker": 3, "run": 5, "containers": 3}


def test_runner():
    """tests/run.py, which keeps the test tools' .venv up to date."""
    spec = importlib.util.spec_from_file_location("template_test_runner", ROOT / "tests" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> dict:
    import psutil

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "system": platform.platform(),
        "node": node_version(),
    }


def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def load() -> list[float] | None:
    """The system's load averages (1, 5, 15 minutes), where the system keeps them."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def measure(parts: list[str], runs: dict[str, int], work: Path, results: dict) -> None:
    """Fill ``results`` part by part (what was measured is kept if a later part fails)."""
    import bake
    import install
    import local_run
    from common import snapshot_template, venv_python

    def log(text: str) -> None:
        print(text, flush=True)

    template = snapshot_template(work / "template")
    if "bake" in parts:
        log("Bake times ...")
        results["bake"] = bake.measure(template, work, runs["bake"], log)
    if {"install", "worker", "run"} & set(parts):
        log("Installing the default solution's packages ...")
        results["install"], solution = install.measure(template, work, runs["install"], log)
    if "worker" in parts:
        log("The worker against Azurite ...")
        output = work / "worker.json"
        command = [str(venv_python(solution / ".venv")), str(HERE / "measure_worker.py"),
                   str(solution), str(output), "--runs", str(runs["worker"])]
        subprocess.run(command, check=True)
        results["worker"] = json.loads(output.read_text(encoding="utf-8"))
    if "run" in parts:
        log("python -m cloudservice run ...")
        results["run"] = local_run.measure(solution, runs["run"], log)
    if "containers" in parts:
        import containers

        log("The roles' container images ...")
        results["containers"] = containers.measure(template, work, runs["containers"], log)


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older Python
        sys.exit("benchmarks/run.py: Python 3.11 or newer is needed")
    sys.dont_write_bytecode = True  # this process writes no caches into the repository
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, help=f"timed runs of every figure (default: {RUNS})")
    parser.add_argument("--only", default=",".join(RUNS), help=f"comma-separated parts of {tuple(RUNS)}")
    args = parser.parse_args()
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    if unknown := set(parts) - set(RUNS):
        parser.error(f"unknown parts: {sorted(unknown)}; choose from {tuple(RUNS)}")
    runs = {part: args.runs or default for part, default in RUNS.items()}

    runner = test_runner()
    runner.install_tools()
    if Path(sys.prefix).resolve() != runner.VENV.resolve():
        # Go on in the test tools' .venv, which has cookiecutter, uv and psutil.
        command = [str(runner.venv_bin("python")), __file__, *sys.argv[1:]]
        return subprocess.run(command, check=False).returncode

    import report

    # Measure what a user's machine does: Python caches the bytecode of what it imports.
    bytecode_switched_off = os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    started = time.perf_counter()
    load_before = load()
    work = Path(tempfile.mkdtemp(prefix="cloudservice-benchmarks-"))
    results: dict = {}
    failure = None
    try:
        measure(parts, runs, work, results)
    except Exception as error:  # keep and show what was measured before it
        failure = f"{type(error).__name__}: {error}"
        traceback.print_exc()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    document = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python3 benchmarks/run.py " + " ".join(sys.argv[1:]),
        "runs": runs,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load(),
        "bytecode_caching": "on in every measured process"
        + (" (PYTHONDONTWRITEBYTECODE was set here and was removed for them)" if bytecode_switched_off else ""),
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "failure": failure,
    }
    document["table"] = report.rows(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print()
    print(report.table(document["table"]))
    print()
    print(report.footer(document))
    print(f"Everything measured: {RESULTS.relative_to(ROOT)}")
    if failure:
        print(f"INCOMPLETE: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
