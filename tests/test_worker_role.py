"""Worker roles: baked with awkward names, alone and in pairs, their own tests pass against
a real Azurite in a uv-made environment holding only the role's requirements."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from helpers import CSCFG_NS

# (answer, the worker roles it makes)
WORKER_SOLUTIONS = [
    ("Queue:worker", ["Queue"]),
    ("W:worker", ["W"]),
    ("Orders:worker worker Api:flask", ["Orders", "WorkerRole"]),
]
AZURITE_CAN_RUN = bool(shutil.which("node") and shutil.which("npm"))


@pytest.fixture(params=WORKER_SOLUTIONS, ids=[answer for answer, _ in WORKER_SOLUTIONS])
def solution(request, bake):
    answer, workers = request.param
    result = bake(roles=answer)
    assert result.exit_code == 0, result.exception
    return result.project_path, workers


def local_setting(solution, role: str, name: str) -> str:
    cscfg = ElementTree.parse(solution / "ServiceConfiguration.Local.cscfg").getroot()
    setting = cscfg.find(
        f"{CSCFG_NS}Role[@name='{role}']/{CSCFG_NS}ConfigurationSettings/{CSCFG_NS}Setting[@name='{name}']"
    )
    return setting.get("value")


def test_worker_tests_pass_against_azurite(solution, run_role_tests):
    folder, workers = solution
    for role in workers:
        completed = run_role_tests(folder, role)
        report = f"{role}:\n{completed.stdout}\n{completed.stderr}"
        assert completed.returncode == 0, report
        summary = completed.stdout.strip().splitlines()[-1]
        assert " passed" in summary, report
        if AZURITE_CAN_RUN:
            assert "skipped" not in summary, report


def test_each_worker_reads_its_own_queue_by_default(solution):
    folder, workers = solution
    queues = []
    for role in workers:
        source = (folder / role / "queue_consumer.py").read_text(encoding="utf-8")
        default = re.search(r'^DEFAULT_QUEUE_NAME = "([^"]*)"$', source, re.MULTILINE).group(1)
        assert default == local_setting(folder, role, "QueueName")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", default) and 3 <= len(default) <= 56
        queues.append(default)
    assert len(set(queues)) == len(queues), "two workers share a queue"


def test_worker_roles_pass_bandit(solution):
    folder, workers = solution
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "-ll", "-q", "-r", *workers],
        cwd=folder, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_worker_guidance_names_the_queue(solution):
    folder, workers = solution
    for role in workers:
        readme = (folder / role / "README.md").read_text(encoding="utf-8")
        glance = readme.split("## At a glance", 1)[1].split("\n## ", 1)[0]
        queue = local_setting(folder, role, "QueueName")
        assert f"`{queue}`" in glance and f"`{queue}-poison`" in glance
        assert f"python -m pytest {role}" in glance


DEFAULTS = {  # the worker's constant for an unset setting -> the setting
    "DEFAULT_QUEUE_NAME": "QueueName",
    "DEFAULT_MAX_DEQUEUE_COUNT": "MaxDequeueCount",
    "DEFAULT_VISIBILITY_TIMEOUT": "VisibilityTimeoutSeconds",
    "DEFAULT_MAX_IDLE_BACKOFF": "MaxIdleBackoffSeconds",
    "DEFAULT_MESSAGE_ENCODING": "MessageEncoding",
}


def test_an_unset_setting_means_its_cloud_value(solution):
    """The worker's defaults and the cloud configuration come from one table (hooks/plan.py)."""
    import ast

    root, workers = solution
    cloud = ElementTree.parse(root / "ServiceConfiguration.Cloud.cscfg").getroot()
    for role in workers:
        tree = ast.parse((root / role / "queue_consumer.py").read_text(encoding="utf-8"))
        constants = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                     if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in DEFAULTS}
        assert set(constants) == set(DEFAULTS)
        for constant, setting in DEFAULTS.items():
            value = cloud.find(f"{CSCFG_NS}Role[@name='{role}']/{CSCFG_NS}ConfigurationSettings/"
                               f"{CSCFG_NS}Setting[@name='{setting}']").get("value")
            assert str(constants[constant]) == value, (role, setting)
