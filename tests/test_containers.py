"""Every role kind in a real container, with podman.

One solution with a role of each kind is baked and every role's image built from its
Dockerfile, FROM a local base image (container_base.py; no registry is reachable here).
Each web role then answers on a published port, the worker handles a message put on a
real Azurite queue, each container stops within 5 s of SIGTERM, no image runs as root or
holds the tests, bin/ or .venv. Last, ``python -m cloudservice run --containers`` once,
end to end, like test_local_run.py does for ``run``.

podman, runc and debootstrap come with tests/run.py (apt, as root); Azurite needs Node.js.
Without them these tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import container_base
import pytest
from conftest import TEMPLATE, venv_python
from helpers import DEFAULT_NAMES, WEB_KINDS, azurite_usual_ports, module_from_file
from test_local_run import Run, accepts_connections, get, local_settings, require_node, set_local_setting

ROLES = DEFAULT_NAMES
APP = {"CONTAINER_APP_NAME": "shop", "CONTAINER_APP_ENV_DNS_SUFFIX": "calm-sea-1a2b3c.westeurope.azurecontainerapps.io"}
APP_ADDRESS = "shop.calm-sea-1a2b3c.westeurope.azurecontainerapps.io"
PROBE_HOST = "10.0.0.4:8000"  # what a probe sends: the replica's own address
READY_WITHIN = 60
STOP_WITHIN = 5
BUILD_WITHIN = 900  # a cold build of every image, on two busy cores
# Run inside the worker image, which has azure-storage-queue: put one message on a queue,
# or print the number of messages on it.
QUEUE_SCRIPT = """
import sys
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

queue = QueueClient.from_connection_string(sys.argv[1], sys.argv[2])
if len(sys.argv) > 3:
    try:
        queue.create_queue()
    except ResourceExistsError:
        pass
    queue.send_message(sys.argv[3])
else:
    print(queue.get_queue_properties().approximate_message_count)
"""
# Run inside every image: who runs it, and what the role folder holds.
INSPECT_SCRIPT = """
import json, os
found = [os.path.relpath(os.path.join(top, name)) for top, folders, files in os.walk(".")
         for name in folders + files]
print(json.dumps({"uid": os.getuid(), "files": found}))
"""


def require_podman() -> None:
    try:
        container_base.check_tools()
    except container_base.Unavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error}; CI must run the container tests")
        pytest.skip(str(error))


def podman(environment: dict[str, str], *arguments: str, timeout: float = 120) -> str:
    completed = subprocess.run(
        ["podman", *arguments], env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert completed.returncode == 0, f"podman {' '.join(arguments)}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout.strip()


def image_id(environment: dict[str, str], image: str) -> str | None:
    completed = subprocess.run(["podman", "image", "inspect", image], env=environment, capture_output=True,
                               text=True, check=False)
    return json.loads(completed.stdout)[0]["Id"] if completed.returncode == 0 else None


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    """podman's environment, with the tests' containers.conf."""
    require_podman()
    return container_base.podman_environment(tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="module")
def base_image(environment) -> str:
    return container_base.ensure_base_image(environment)


@pytest.fixture(scope="module")
def images(cookies_session, environment, base_image) -> dict[str, str]:
    """Every role kind's image, built at once from one baked solution, by kind."""
    result = cookies_session.bake(
        extra_context={"roles": " ".join(ROLES), "install_packages": False}, template=str(TEMPLATE)
    )
    assert result.exit_code == 0, result.exception
    solution = result.project_path

    def build(kind: str) -> str:
        image = f"localhost/azure-py-cloudservice-test-{kind}:latest"
        before = image_id(environment, image)
        podman(environment, "build", *container_base.BUILD_OPTIONS, "--build-arg", f"PYTHON_IMAGE={base_image}",
               "--tag", image, str(solution / ROLES[kind]), timeout=BUILD_WITHIN)
        if before not in (None, image_id(environment, image)):  # the last run's image, untagged now
            subprocess.run(["podman", "image", "rm", before], env=environment, capture_output=True, check=False)
        return image

    # One build at a time across pytest's workers: the second finds every layer built.
    with container_base.locked(container_base.cache_folder() / "build.lock"), ThreadPoolExecutor(4) as pool:
        return dict(zip(ROLES, pool.map(build, ROLES), strict=True))


@pytest.fixture
def containers(environment):
    """``start(*run_arguments)``: a detached container of this test, removed afterwards."""
    names = []

    def start(*arguments: str) -> str:
        names.append(f"cloudservice-test-{uuid.uuid4().hex[:12]}")
        podman(environment, "run", "--detach", "--name", names[-1], *arguments)
        return names[-1]

    yield start
    for name in names:
        subprocess.run(["podman", "rm", "--force", name], env=environment, capture_output=True, check=False)


def stop_and_time(environment: dict[str, str], name: str) -> tuple[float, int]:
    """SIGTERM, as Container Apps sends it (SIGKILL after 10 s): seconds taken, exit code."""
    started = time.monotonic()
    podman(environment, "stop", "--time", "10", name, timeout=60)
    took = time.monotonic() - started
    return took, int(podman(environment, "inspect", "--format", "{{.State.ExitCode}}", name))


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until(condition, seconds: float, what: str, logs=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError):
            if condition():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}\n{logs()}")
        time.sleep(0.2)


@pytest.mark.parametrize("kind", WEB_KINDS)
def test_web_role_serves_from_its_container_and_stops_on_sigterm(kind, images, environment, containers):
    port = free_port()
    name = containers(
        "--publish", f"127.0.0.1:{port}:8000",
        "--env", f"SECRET_KEY={secrets.token_urlsafe(50)}",
        # Django: no ALLOWED_HOSTS, so the Container Apps address is the one it answers to.
        "--env", "ALLOWED_HOSTS=", "--env", "CSRF_TRUSTED_ORIGINS=",
        *[f"--env={variable}={value}" for variable, value in APP.items()],
        images[kind],
    )
    url = f"http://127.0.0.1:{port}/"
    logs = lambda: podman(environment, "logs", name)  # noqa: E731
    wait_until(lambda: status(url + "health") == 200, READY_WITHIN, f"{kind} answers /health", logs)

    assert status(url, host=APP_ADDRESS) == 200, logs()
    assert status(url + "health", host=PROBE_HOST) == 200, logs()
    if kind == "django":
        assert status(url, host=PROBE_HOST) == 400, "only /health answers any host"

    took, exit_code = stop_and_time(environment, name)
    assert took < STOP_WITHIN, f"{kind} took {took:.1f} s to stop on SIGTERM\n{logs()}"
    assert exit_code == 0, logs()


@pytest.fixture(scope="module")
def azurite_storage(tmp_path_factory):
    """A real Azurite, the solution's own cloudservice/azurite.py starting it."""
    require_node()
    azurite = module_from_file(TEMPLATE / "{{cookiecutter.service_name}}" / "cloudservice" / "azurite.py",
                               "template_azurite")
    with azurite.running(tmp_path_factory.mktemp("azurite")) as storage:
        yield storage


def test_worker_handles_a_queue_message_in_its_container_and_stops_with_0(
    images, environment, containers, azurite_storage
):
    queue = f"containers-{uuid.uuid4().hex[:12]}"
    connection = azurite_storage.connection_string

    def queue_script(*arguments: str) -> str:
        return podman(environment, "run", "--rm", "--network", "host", images["worker"],
                      "python", "-c", QUEUE_SCRIPT, connection, queue, *arguments)

    name = containers(
        "--network", "host",  # Azurite listens on this machine's 127.0.0.1
        "--env", f"StorageConnectionString={connection}",
        "--env", f"QueueName={queue}",
        "--env", "MaxIdleBackoffSeconds=1",
        images["worker"],
    )
    logs = lambda: podman(environment, "logs", name)  # noqa: E731
    content = f"hello from a container {uuid.uuid4().hex}"
    queue_script(content)

    wait_until(lambda: re.search(rf"says '{content}'.*\n.* handled in", logs()), READY_WITHIN,
               "the worker handled the message", logs)
    assert queue_script() == "0"

    took, exit_code = stop_and_time(environment, name)
    assert took < STOP_WITHIN, f"the worker took {took:.1f} s to stop on SIGTERM\n{logs()}"
    assert exit_code == 0, logs()
    assert logs().rstrip().endswith("INFO Stopped")


@pytest.mark.parametrize("kind", ROLES)
def test_image_runs_as_a_user_and_holds_only_the_role(kind, images, environment):
    user = podman(environment, "image", "inspect", "--format", "{{.Config.User}}", images[kind])
    assert user not in ("", "0", "root"), user
    inspected = json.loads(podman(environment, "run", "--rm", images[kind], "python", "-c", INSPECT_SCRIPT))
    assert inspected["uid"] != 0
    files = inspected["files"]
    top = {path.split("/")[0] for path in files}
    assert not {"tests", "bin", ".venv", "conftest.py", "web.config", "Dockerfile"} & top, sorted(top)
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]
    assert {"requirements.txt", "README.md"} <= top
    assert ("worker.py" if kind == "worker" else "serve.py") in top


@pytest.fixture(scope="module")
def installed_solution(cookies_session) -> Path:
    require_node()
    result = cookies_session.bake(
        extra_context={"roles": " ".join(ROLES), "install_packages": True}, template=str(TEMPLATE)
    )
    assert result.exit_code == 0, result.exception
    assert venv_python(result.project_path / ".venv").exists(), "the packages were not installed"
    return result.project_path


def test_run_containers_serves_every_role_and_ctrl_c_removes_them(
    installed_solution, base_image, environment, tmp_path, monkeypatch
):
    solution = installed_solution
    set_local_setting(solution, ROLES["worker"], "MaxIdleBackoffSeconds", "2")
    worker_settings = local_settings(solution, ROLES["worker"])
    # The run's builds get this machine's network and certificates through containers.conf.
    podman_environment = container_base.podman_environment(tmp_path, host_builds=True)
    monkeypatch.setenv("CONTAINERS_CONF", podman_environment["CONTAINERS_CONF"])

    with azurite_usual_ports():
        run_in_containers(solution, base_image, worker_settings, podman_environment)


BUILD_ONE_IMAGE = """
import sys
from cloudservice import containers, model

service = model.Service.load()
containers.build_images("podman", service, [service.role(sys.argv[1])], sys.argv[2])
"""


def test_a_rebuild_removes_the_image_it_replaces(installed_solution, base_image, tmp_path, monkeypatch):
    """run --containers builds again at every run: the image a tag named before is removed,
    so that code changes leave no untagged images behind."""
    solution = installed_solution
    podman_environment = container_base.podman_environment(tmp_path, host_builds=True)
    monkeypatch.setenv("CONTAINERS_CONF", podman_environment["CONTAINERS_CONF"])
    role, image = ROLES["flask"], "localhost/mycloudservice-flaskwebrole:local"
    build = [str(venv_python(solution / ".venv")), "-c", BUILD_ONE_IMAGE, role, base_image]
    ids = []
    for change in ("first", "second"):
        with (solution / role / "wsgi.py").open("a", encoding="utf-8") as code:
            code.write(f"# {change} change\n")
        completed = subprocess.run(build, cwd=solution, capture_output=True, text=True, check=False,
                                   timeout=BUILD_WITHIN)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        ids.append(image_id(podman_environment, image))
    assert None not in ids and ids[0] != ids[1]
    assert image_id(podman_environment, ids[0]) is None, "the replaced image is still there"


def run_in_containers(solution: Path, base_image: str, worker_settings: dict, podman_environment: dict) -> None:
    service = Run(solution, "--containers", "--base-image", base_image)
    try:
        service.wait_for(r"^Building the images of ", 60)
        service.wait_for(r"^Azurite: ", BUILD_WITHIN)
        urls = service.urls(len(WEB_KINDS))
        assert sorted(urls) == sorted(ROLES[kind] for kind in WEB_KINDS)
        for url in urls.values():
            assert get(url) == 200, url
            assert get(url + "health") == 200, url
        running = podman(podman_environment, "ps", "--format", "{{.Names}}").split()
        [worker] = [name for name in running if name.startswith("mycloudservice-workerrole-0-")]

        # The role has the environment run gives it, its local resource folder mounted.
        printed = podman(podman_environment, "exec", worker, "python", "-c",
                         "import os; print(os.environ['ROLE_INSTANCE_ID'], os.environ['EMULATED'],"
                         " os.path.isdir(os.environ['DIAGNOSTIC_STORE']))")
        assert printed == f"{ROLES['worker']}_IN_0 true True"

        content = f"hello from run --containers {uuid.uuid4().hex}"
        podman(podman_environment, "run", "--rm", "--network", "host", "mycloudservice-workerrole:local",
               "python", "-c", QUEUE_SCRIPT, worker_settings["StorageConnectionString"],
               worker_settings["QueueName"], content)
        service.wait_for(rf"^\S+ {ROLES['worker']}\s+\|.*{re.escape(content)}", READY_WITHIN)

        started = service.started()
        since = time.monotonic()
        service.interrupt()
        service.assert_stops_cleanly(started, since)
        for url in urls.values():
            assert not accepts_connections(url), url
        left = podman(podman_environment, "ps", "--all", "--format", "{{.Names}}").split()
        assert not [name for name in left if name.startswith("mycloudservice-")], left
    finally:
        service.kill_everything()
        left = podman(podman_environment, "ps", "--all", "--quiet", "--filter", "name=^mycloudservice-").split()
        if left:
            podman(podman_environment, "rm", "--force", *left)


def test_an_adopted_web_role_serves_the_teams_app_from_its_container(tmp_path, environment, base_image, containers):
    """adopt_from: the old service's own WSGI application, in the image its new solution builds
    for Container Apps, answers /health (the template's) and / (the team's)."""
    old = TEMPLATE / "tests" / "fixtures" / "old-solutions" / "plain-wsgi" / "StatusService"
    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE),
         "install_packages=no", f"adopt_from={old}"], capture_output=True, text=True, check=False, timeout=300)
    assert completed.returncode == 0, completed.stderr
    (solution,) = tmp_path.iterdir()
    image = "localhost/azure-py-cloudservice-test-adopted:latest"
    podman(environment, "build", *container_base.BUILD_OPTIONS, "--build-arg", f"PYTHON_IMAGE={base_image}",
           "--tag", image, str(solution / "Api"), timeout=BUILD_WITHIN)
    port = free_port()
    name = containers("--publish", f"127.0.0.1:{port}:8000", "--env", "SECRET_KEY=adopted", image)
    url = f"http://127.0.0.1:{port}/"
    logs = lambda: podman(environment, "logs", name)  # noqa: E731
    wait_until(lambda: status(url + "health") == 200, READY_WITHIN, "the adopted role answers /health", logs)
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a local URL
        assert response.headers["Content-Type"] == "application/json", logs()
    took, exit_code = stop_and_time(environment, name)
    assert took < STOP_WITHIN and exit_code == 0, logs()
    subprocess.run(["podman", "image", "rm", image], env=environment, capture_output=True, check=False)
