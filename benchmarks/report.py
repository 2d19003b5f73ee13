"""The table: each figure side by side with what it is compared with, its goal, met or missed."""

from __future__ import annotations

# The benchmark issue's goals: a figure's key -> (comparison, limit, as shown).
GOALS = {
    "bake_default_over_floor": ("<=", 1.5, "<= 1.5x"),
    "bake_twelve_over_default": ("<=", 2.0, "<= 2x"),
    "install_uv_over_pip": ("<=", 1 / 3, "<= 0.33x"),
    "worker_over_naive": (">=", 3.0, ">= 3x"),
    "worker_over_ceiling": (">=", 0.8, ">= 0.8x"),
    "worker_requests_per_message": ("<=", 1.05, "<= 1.05"),
    "idle_requests_per_minute": ("<=", 2.0, "<= 2"),
    "run_ready_seconds": ("<=", 3.0, "<= 3 s"),
    "image_code_change_rebuild_seconds": ("<", 5.0, "< 5 s"),
    "worker_image_above_base_mb": ("<=", 60.0, "<= 60 MB"),
}


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def cpu(figures: dict) -> str:
    """A way's median CPU milliseconds per message: this process's, and Azurite's if known."""
    text = f"{figures['python_cpu_ms_per_message']:.2f}"
    if "azurite_cpu_ms_per_message" in figures:
        text += f" + {figures['azurite_cpu_ms_per_message']:.2f}"
    return text + " ms"


def row(what: str, figure: str, against: str = "", ratio: str = "", goal_key: str = "",
        value: float | None = None) -> dict:
    goal, verdict = "", "info"
    if goal_key:
        sign, limit, goal = GOALS[goal_key]
        met = {"<=": value <= limit, "<": value < limit, ">=": value >= limit}[sign]
        verdict = "met" if met else "MISSED"
    return {"what": what, "figure": figure, "against": against, "ratio": ratio, "goal": goal,
            "result": verdict, "value": value}


def rows(results: dict) -> list[dict]:
    table = []
    if bake := results.get("bake"):
        for way, label in (("new_process", "new process, as `cookiecutter`"), ("in_process", "warm process, API")):
            figures = bake[way]
            goal = way == "new_process"
            table += [
                row(f"Bake default vs one-file template ({label})",
                    seconds(figures["default"]["median_s"]), seconds(figures["floor"]["median_s"]),
                    f"{figures['default_over_floor']:.2f}x",
                    "bake_default_over_floor" if goal else "", figures["default_over_floor"]),
                *(row(f"  {what} ({label})", seconds(figures[case]["median_s"]),
                      seconds(figures["floor"]["median_s"]), f"{figures[f'{case}_over_floor']:.2f}x",
                      value=figures[f"{case}_over_floor"])
                  for case, what in (("default_no_bytecode", "default with PYTHONDONTWRITEBYTECODE=1"),
                                     ("default_first_bake", "default, first bake (empty cache folder)"))
                  if case in figures),
                row(f"  one-file template with a hook that only imports ({label})",
                    seconds(figures["floor_with_hooks"]["median_s"]), seconds(figures["floor"]["median_s"]),
                    f"{figures['hooks_over_floor']:.2f}x", value=figures["hooks_over_floor"]),
                row(f"Bake 12 roles vs default ({label})",
                    seconds(figures["twelve_roles"]["median_s"]), seconds(figures["default"]["median_s"]),
                    f"{figures['twelve_over_default']:.2f}x",
                    "bake_twelve_over_default" if goal else "", figures["twelve_over_default"]),
                row(f"  per extra role ({label})", seconds(figures["seconds_per_extra_role"]),
                    value=figures["seconds_per_extra_role"]),
            ]
    if install := results.get("install"):
        table.append(row("Install: uv (the hook's way) vs venv + pip, warm caches",
                         seconds(install["uv"]["median_s"]), seconds(install["pip"]["median_s"]),
                         f"{install['uv_over_pip']:.2f}x", "install_uv_over_pip", install["uv_over_pip"]))
    if worker := results.get("worker"):
        count = worker["worker"]["messages"]
        table += [
            row(f"Worker vs naive loop, msg/s ({count} messages, no-op handler)",
                f"{worker['worker']['messages_per_second']:.0f}/s",
                f"{worker['naive']['messages_per_second']:.0f}/s",
                f"{worker['worker_over_naive']:.2f}x", "worker_over_naive", worker["worker_over_naive"]),
            row(f"Worker vs ceiling, msg/s (bare loop: receives of {worker['tunables']['BATCH_SIZE']}, "
                f"{worker['tunables']['DELETE_THREADS']} delete threads)",
                f"{worker['worker']['messages_per_second']:.0f}/s",
                f"ceiling {worker['ceiling']['messages_per_second']:.0f}/s, "
                f"naive {worker['naive']['messages_per_second']:.0f}/s",
                f"{worker['worker_over_ceiling']:.2f}x", "worker_over_ceiling", worker["worker_over_ceiling"]),
            row("  CPU per message, Python + Azurite: worker vs ceiling (ratio: ceiling's over worker's)",
                cpu(worker["worker"]), cpu(worker["ceiling"]),
                f"{worker['ceiling_cpu_over_worker_cpu']:.2f}x" if "ceiling_cpu_over_worker_cpu" in worker else "",
                value=worker.get("ceiling_cpu_over_worker_cpu")),
            row("Worker storage requests per message (vs naive loop)",
                f"{worker['worker']['requests_per_message']:.4f}",
                f"{worker['naive']['requests_per_message']:.4f}", "",
                "worker_requests_per_message", worker["worker"]["requests_per_message"]),
            row(f"Idle worker requests/minute after {worker['idle']['idled_before_counting_s']:g} s idle "
                f"(back-off cap {worker['idle']['max_idle_backoff_s']:g} s)",
                f"{worker['idle']['requests_per_minute']:g}", "", "",
                "idle_requests_per_minute", worker["idle"]["requests_per_minute"]),
        ]
    if run := results.get("run"):
        for way, label in (("started_by_run", "Azurite started by run"),
                           ("already_running", "Azurite already running")):
            figures = run[way]
            table.append(row(f"run until web roles answer, worker polled ({label})",
                             seconds(figures["ready_s"]),
                             f"web {seconds(figures['web_roles_answer_s'])}, "
                             f"worker {seconds(figures['worker_polled_s'])}", "",
                             "run_ready_seconds", figures["ready_s"]))
        first = run["first_start_after_install"]
        table.append(row("  first run after the install (writes bytecode)",
                         seconds(first["ready_s"]), value=first["ready_s"]))
    if containers := results.get("containers"):
        for kind, figures in containers["kinds"].items():
            table += [
                row(f"Image build, {kind}: code-only change vs cold (no cache)",
                    seconds(figures["code_change_rebuild_s"]), seconds(figures["cold_build_s"]),
                    f"{figures['code_change_rebuild_s'] / figures['cold_build_s']:.2f}x",
                    "image_code_change_rebuild_seconds", figures["code_change_rebuild_s"]),
                row(f"Image size, {kind}: above its base image", f"{figures['above_base_mb']:.0f} MB",
                    f"base {containers['base_size_mb']:.0f} MB", "",
                    "worker_image_above_base_mb" if kind == "worker" else "", figures["above_base_mb"]),
            ]
        table.append(row("`run --containers` until every role is ready (image layers cached)",
                         seconds(containers["run_ready_s"]),
                         f"images built {seconds(containers['run_built_s'])}", value=containers["run_ready_s"]))
    return table


def table(rows: list[dict]) -> str:
    headings = {"what": "Measure", "figure": "Figure", "against": "Against", "ratio": "Ratio",
                "goal": "Goal", "result": "Result"}
    widths = {key: max(len(heading), *(len(r[key]) for r in rows)) for key, heading in headings.items()}
    lines = ["| " + " | ".join(heading.ljust(widths[key]) for key, heading in headings.items()) + " |",
             "|" + "|".join("-" * (widths[key] + 2) for key in headings) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r[key].ljust(widths[key]) for key in headings) + " |")
    return "\n".join(lines)


def footer(document: dict) -> str:
    m = document["machine"]
    runs = ", ".join(f"{part} {count}" for part, count in document["runs"].items())
    return (
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"node {m['node']}, {m['system']}. Load average before {document['load_average_before']}, "
        f"after {document['load_average_after']}. Timed runs: {runs}; medians. "
        f"Took {document['total_seconds']:.0f} s."
    )
