"""``run --containers``: how each role instance is put in its container (the images
themselves are built and run by the template's own tests, with podman)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from cloudservice.containers import image_name, in_container, in_containers
from cloudservice.model import SOLUTION
from cloudservice.run import OUTPUT_ENVIRONMENT, RECYCLE, plan


@pytest.fixture
def launches(service_copy):
    """run's launches of every role of a copy of the service."""
    for role in service_copy.roles:
        if role.web:
            (service_copy.root / role.name).mkdir()
            shutil.copy(SOLUTION / role.name / "web.config", service_copy.root / role.name)
    return plan(service_copy, service_copy.configuration("Local"), list(service_copy.roles))


def test_image_names_are_lower_case_and_one_per_role(solution):
    names = [image_name(solution, role) for role in solution.roles]
    for role, name in zip(solution.roles, names, strict=True):
        repository, _, tag = name.partition(":")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", repository) and tag == "local"
        assert repository.startswith(f"{solution.name.lower()}-")
        assert repository.replace("-", "").endswith(re.sub(r"[-_]", "", role.name.lower()))
    assert len(set(names)) == len(names)


def test_each_instance_runs_in_its_image_with_its_variables_passed_by_name(service_copy, launches):
    images = {role.name: f"image-of-{role.name}" for role in service_copy.roles}
    contained = in_containers(service_copy, launches, "podman", images, OUTPUT_ENVIRONMENT)
    for launch, container in zip(launches, contained, strict=True):
        arguments = container.arguments()
        run = arguments[arguments.index("podman"):]
        assert run[:6] == ["podman", "run", "--rm", "--name", container.name, "--network"]
        assert run[-1] == images[launch.instance.role.name]
        passed = {run[i + 1] for i, argument in enumerate(run) if argument == "--env"}
        assert passed == {*container.environment, *OUTPUT_ENVIRONMENT}
        for value in launch.environment.values():
            assert not value or value not in run, "values come from the environment only"
        assert container.url == launch.url
        if launch.port is not None:
            assert container.environment["HOST"] == "127.0.0.1"
            assert container.environment["PORT"] == str(launch.port)
            assert arguments[0] == "podman"
        else:
            assert arguments[:2] == [sys.executable, str(RECYCLE)], "workers are recycled"
    assert len({container.name for container in contained}) == len(contained)


def test_local_resource_folders_are_mounted_where_the_variables_say(service_copy, launches):
    for launch in launches:
        folder = launch.environment["DIAGNOSTIC_STORE"]
        environment, volumes = in_container(service_copy, launch.environment)
        inside = PurePosixPath(environment["DIAGNOSTIC_STORE"])
        assert inside.is_relative_to("/mnt/solution/.local-resources")
        assert volumes == ["--volume", f"{Path(folder).resolve()}:{inside}"]
        changed = {name for name, value in environment.items() if value != launch.environment[name]}
        assert changed == {"DIAGNOSTIC_STORE"}


def test_without_podman_or_docker_the_run_says_what_to_install(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "cloudservice", "run", "--containers"],
        cwd=SOLUTION,
        env={"PATH": str(tmp_path), "SYSTEMROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "cloudservice run: neither podman nor docker is on PATH: install one of them"
        " (https://podman.io or https://docs.docker.com/get-docker/) and run this again"
    ]


def test_a_base_image_needs_containers():
    completed = subprocess.run(
        [sys.executable, "-m", "cloudservice", "run", "--base-image", "python:3.13-slim"],
        cwd=SOLUTION,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "--base-image is for the images of --containers" in completed.stderr
