"""The roles' container images, with podman, FROM the tests' local base image
(tests/container_base.py; no registry is reachable here), in a solution with one role
of each kind and its packages installed:

- build time per role kind: cold (``--no-cache``: every layer of the Dockerfile, the
  packages included; once per kind) and after a code-only change (a comment appended to
  the role's entry point, so only the code layer is rebuilt; ``runs`` times);
- image size per kind against the base image;
- ``python -m cloudservice run --containers`` (images cached) until every web role
  answers 200 on / and /health and the worker reads its queue.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import ROOT, load_hook, median, output_hidden, venv_python
from cookiecutter.main import cookiecutter

sys.path.insert(0, str(ROOT / "tests"))
import container_base  # noqa: E402 - the tests' helper, on the path just above

KIND_TABLE = load_hook(ROOT, "plan").KINDS  # the template's table of role kinds
KINDS = {kind.name: kind.default_role_name for kind in KIND_TABLE.values()}
WEB_ROLES = sum(kind.web for kind in KIND_TABLE.values())  # the solution has one role of each kind
# The file a code-only change touches: the module of a web kind's application, the worker's script.
ENTRY_POINTS = {
    kind.name: kind.application.partition(":")[0].replace(".", "/") + ".py" if kind.web else "worker.py"
    for kind in KIND_TABLE.values()
}
URL_LINE = re.compile(r"^(?P<label>[\w.-]+): (?P<url>http://127\.0\.0\.1:\d+/)$")
READY_WITHIN = 300
MB = 1_000_000


def podman(environment: dict[str, str], *arguments: str) -> str:
    completed = subprocess.run(["podman", *arguments], env=environment, capture_output=True, text=True,
                               check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"podman {' '.join(arguments[:2])} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout.strip()


def build(environment: dict[str, str], base: str, folder: Path, image: str, *options: str) -> float:
    started = time.perf_counter()
    podman(environment, "build", *container_base.BUILD_OPTIONS, *options, "--build-arg", f"PYTHON_IMAGE={base}",
           "--tag", image, str(folder))
    return time.perf_counter() - started


def size(environment: dict[str, str], image: str) -> int:
    return int(podman(environment, "image", "inspect", "--format", "{{.Size}}", image))


def answers(url: str) -> bool:
    try:
        for path in ("", "health"):
            with urllib.request.urlopen(url + path, timeout=1) as response:
                if response.status != 200:
                    return False
    except (OSError, urllib.error.URLError):
        return False
    return True


def run_until_ready(solution: Path, base: str, environment: dict[str, str]) -> tuple[float, float]:
    """Seconds from the start of ``run --containers`` until its images are built (all
    layers cached) and until every role is ready; then Ctrl+C."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(venv_python(solution / ".venv")), "-m", "cloudservice", "run", "--containers", "--base-image", base],
        cwd=solution, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        encoding="utf-8", errors="replace", start_new_session=True,
    )
    urls: list[str] = []
    built: list[float] = []
    worker_reading = threading.Event()
    output: list[str] = []

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if line.startswith("Azurite: "):  # the next step once every image is built
                built.append(time.perf_counter() - started)
            elif match := URL_LINE.match(line.rstrip("\n")):
                urls.append(match["url"])
            elif "Reading the queue" in line:
                worker_reading.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not (len(urls) == WEB_ROLES and worker_reading.is_set() and all(answers(url) for url in urls)):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("run --containers was not ready:\n" + "".join(output[-40:]))
            time.sleep(0.05)
        return built[0], time.perf_counter() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def measure(template: Path, work: Path, runs: int, log=print) -> dict:
    container_base.check_tools()
    environment = container_base.podman_environment(work / "podman")
    log("  the base image (made once, then cached) ...")
    base = container_base.ensure_base_image(environment)
    folder = work / "containers-solution"
    folder.mkdir()
    with output_hidden():
        solution = Path(cookiecutter(str(template), no_input=True, output_dir=str(folder), default_config=True,
                                     extra_context={"roles": " ".join(KINDS), "install_packages": True}))
    results: dict = {"base_image": base, "base_size_mb": size(environment, base) / MB, "kinds": {}}
    for kind, role in KINDS.items():
        image = f"localhost/cloudservice-benchmark-{kind}:latest"
        log(f"  {kind}: cold build")
        cold = build(environment, base, solution / role, image, "--no-cache")
        rebuilds = []
        for round_number in range(runs):
            entry_point = solution / role / ENTRY_POINTS[kind]
            with entry_point.open("a", encoding="utf-8") as code:
                code.write(f"# a code-only change, {round_number}\n")
            rebuilds.append(build(environment, base, solution / role, image))
        log(f"  {kind}: cold {cold:.1f} s, after a code change {median(rebuilds):.2f} s")
        results["kinds"][kind] = {
            "cold_build_s": cold,
            "code_change_rebuild_s": median(rebuilds),
            "code_change_rebuild_samples_s": rebuilds,
            "size_mb": size(environment, image) / MB,
            "above_base_mb": (size(environment, image) - size(environment, base)) / MB,
        }
        podman(environment, "rmi", image)
    run_environment = container_base.podman_environment(work / "podman", host_builds=True)
    log("  run --containers: once untimed (builds its images), then timed")
    run_until_ready(solution, base, run_environment)
    samples = [run_until_ready(solution, base, run_environment) for _ in range(runs)]
    results["run_built_s"] = median(built for built, _ in samples)
    results["run_ready_s"] = median(ready for _, ready in samples)
    results["run_samples_s"] = [{"built": built, "ready": ready} for built, ready in samples]
    return results
