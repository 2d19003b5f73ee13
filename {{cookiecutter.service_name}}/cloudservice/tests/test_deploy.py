from __future__ import annotations

import argparse
import datetime
import json

from cloudservice import deploy
from cloudservice.model import SOLUTION, Service

NOW = datetime.datetime(2026, 3, 1, 9, 30, 5, tzinfo=datetime.UTC)


def plan(**options) -> deploy.Plan:
    args = argparse.Namespace(
        resource_group="rg", location="westeurope", storage_account="acct",
        container=deploy.DEFAULT_CONTAINER, package=None, auth_mode="login",
    )  # fmt: skip
    for name, value in options.items():
        setattr(args, name, value)
    return deploy.make_plan(Service.load(SOLUTION), args, NOW)


def test_uploads_go_to_a_folder_of_their_own_with_urls_that_expire():
    made = plan()
    service = made.service.name
    assert made.folder == f"{service.lower()}/20260301T093005Z"
    assert made.expiry == "2026-03-01T11:30Z"
    assert made.package == SOLUTION / f"{service}.cspkg"
    assert made.upload(made.package) == [
        "az", "storage", "blob", "upload", "--account-name=acct", "--auth-mode=login",
        f"--container-name={deploy.DEFAULT_CONTAINER}",
        f"--name={service.lower()}/20260301T093005Z/{service}.cspkg",
        f"--file={made.package}", "--overwrite", "--output=none",
    ]  # fmt: skip
    url = made.read_url(made.configuration)
    assert "--as-user" in url and "--permissions=r" in url and "--https-only" in url
    assert "--as-user" not in plan(auth_mode="key").read_url(made.configuration)


def test_the_urls_reach_az_in_a_file():
    made = plan()
    command = made.deploy("urls.json")
    assert f"--template-file={SOLUTION / 'deploy' / 'main.bicep'}" in command
    assert f"--parameters=@{SOLUTION / 'deploy' / 'main.parameters.json'}" in command
    assert "--parameters=@urls.json" in command
    assert len(made.deployment) <= 64
    parameters = deploy.urls_parameters("westeurope", "https://a/p?sig=1&se=2", "https://a/c?sig=3")
    assert json.loads(json.dumps(parameters))["parameters"] == {
        "location": {"value": "westeurope"},
        "packageUrl": {"value": "https://a/p?sig=1&se=2"},
        "configurationUrl": {"value": "https://a/c?sig=3"},
    }


def test_placeholders_in_the_cloud_configuration_are_found():
    cloud = Service.load(SOLUTION).configuration("Cloud")
    found = deploy.placeholders(cloud)
    placeholder_settings = [
        (role.name, name)
        for role in cloud.roles
        for name, value in role.settings.items()
        if "REPLACE-WITH" in value
    ]
    assert len(found) == len(placeholder_settings)
    assert not any("REPLACE-WITH-" in line for line in found), "values are not shown"
