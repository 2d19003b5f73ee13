"""``python -m cloudservice containerapps``: the same roles on Azure Container Apps.

Cloud Services (extended support) retires on 2027-03-31. This command writes what the
Azure Developer CLI (``azd up``) needs to run every role, unchanged, on Azure Container
Apps, from the same service model as every other command:

- ``azure.yaml``: one azd service per role, built from ``<Role>/Dockerfile`` in Azure
  (remote build: no local Docker needed);
- ``infra/main.bicep``: the resource group of the azd environment and its outputs;
- ``infra/resources.bicep``: Log Analytics and Application Insights, a Container Apps
  environment, a container registry, a user-assigned identity, a storage account with
  every worker's queue and its poison queue, and one Container App per role;
- ``infra/main.parameters.json``: the values azd fills in.

How a role maps: a web role becomes an app with external ingress, health probes on its
load balancer probe's path and at least as many replicas as its Cloud instance count; a
worker role becomes an app without ingress that scales from zero on the length of its
queue, read with the managed identity. Every setting ServiceDefinition.csdef declares
for the role becomes an environment variable of the same name, valued from
ServiceConfiguration.Cloud.cscfg, except what Container Apps supplies: storage is reached
with the managed identity (``StorageQueueEndpoint``, ``AZURE_CLIENT_ID``, an empty
``StorageConnectionString``), Application Insights comes from the resource, Django's host
settings derive from the app's own name. Secrets (keys, passwords, connection strings)
are Container Apps secrets fed from secure parameters, which azd asks for once.

Run it again after changing ServiceDefinition.csdef or the Cloud .cscfg;
``python -m cloudservice check`` reports where the files and the model disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cloudservice.model import (
    DEFINITION_FILE,
    SOLUTION,
    ModelError,
    RoleDefinition,
    Service,
    ServiceConfiguration,
)

if TYPE_CHECKING:
    from cloudservice import check

CONFIGURATION = "Cloud"
AZURE_YAML = "azure.yaml"
MAIN_BICEP = "infra/main.bicep"
RESOURCES_BICEP = "infra/resources.bicep"
PARAMETERS_JSON = "infra/main.parameters.json"
FILES = (AZURE_YAML, MAIN_BICEP, RESOURCES_BICEP, PARAMETERS_JSON)
APPS_API = "2025-01-01"
# The port web roles listen on in their container ($PORT; the Dockerfile's default).
CONTAINER_PORT = 8000
# What a web role's replica takes on at once before another is added: waitress serves
# four requests at a time and queues the rest.
CONCURRENT_REQUESTS = 10
# Messages waiting per worker replica before another is added (KEDA's default).
QUEUE_LENGTH_PER_REPLICA = 5
# A worker stops taking messages on SIGTERM and finishes the one in hand, which may take
# up to its visibility timeout; this much more is left for the rest of its shutdown.
SHUTDOWN_MARGIN_SECONDS = 30
DEFAULT_VISIBILITY_TIMEOUT = 30
# How far each app may scale out, unless the azd environment's maxReplicas says otherwise.
DEFAULT_MAX_REPLICAS = 10
DEFAULT_HEALTH_PATH = "/health"
PLACEHOLDER_IMAGE = "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"
# Settings whose value Container Apps supplies instead of the .cscfg.
APPINSIGHTS = "APPLICATIONINSIGHTS_CONNECTION_STRING"
STORAGE_CONNECTION = "StorageConnectionString"
QUEUE_ENDPOINT = "StorageQueueEndpoint"
CLIENT_ID = "AZURE_CLIENT_ID"
# Django derives these from CONTAINER_APP_NAME and CONTAINER_APP_ENV_DNS_SUFFIX when unset.
DERIVED_BY_THE_APP = ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")
SECRET_WORDS = {"secret", "password", "key", "token", "credential", "credentials"}
APP_NAME_LENGTH = 32


class Raw(str):
    """A Bicep expression, written as it is (a plain str is written as a string literal)."""


@dataclass(frozen=True)
class Comment:
    """A ``// comment`` line in a Bicep object, before the entry that follows it."""

    text: str


@dataclass(frozen=True)
class Env:
    name: str
    value: str | None = None  # a Bicep expression
    secret: str | None = None  # the Container Apps secret it comes from


@dataclass(frozen=True)
class Secret:
    name: str  # the Container Apps secret name
    setting: str  # the setting it holds
    value: str  # a Bicep expression
    parameter: str | None  # the secure parameter that feeds it, if any


@dataclass(frozen=True)
class App:
    """One role as a Container App."""

    role: str  # the role name: also the azd service name
    web: bool
    stem: str  # the role's name in Bicep names: <stem>App, <stem>Exists, <stem>Queue, ...
    name: str  # the Container App's name
    min_replicas: int
    queue: str | None
    grace_seconds: int | None
    health_path: str
    env: tuple[Env, ...]
    secrets: tuple[Secret, ...]

    @property
    def symbol(self) -> str:
        return f"{self.stem}App"

    @property
    def exists_parameter(self) -> str:
        return f"{self.stem}Exists"

    @property
    def exists_variable(self) -> str:
        """azd's variable that says whether the service's resource exists already."""
        return f"SERVICE_{re.sub(r'[^A-Z0-9]', '_', self.role.upper())}_RESOURCE_EXISTS"


@dataclass(frozen=True)
class Plan:
    service_name: str
    apps: tuple[App, ...]

    @property
    def secure_parameters(self) -> list[tuple[str, str]]:
        """(parameter, what it holds) of every secure parameter."""
        return [
            (secret.parameter, f"{secret.setting} of {app.role}")
            for app in self.apps
            for secret in app.secrets
            if secret.parameter
        ]

    @property
    def lowest_max_replicas(self) -> int:
        """maxReplicas may not be below any app's minimum."""
        return max(app.min_replicas for app in self.apps)

    @property
    def default_max_replicas(self) -> int:
        """10, or the lowest allowed where an app keeps more instances (ARM checks the default)."""
        return max(DEFAULT_MAX_REPLICAS, self.lowest_max_replicas)


# The model, as Container Apps ---------------------------------------------------------


def words(name: str) -> list[str]:
    """The words of a name: ``SECRET_KEY`` -> SECRET, KEY; ``StorageConnectionString`` ->
    Storage, Connection, String."""
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", name)


def camel(name: str, first_upper: bool = False) -> str:
    parts = [word.lower() for word in words(name)] or ["x"]
    text = "".join(part.capitalize() for part in parts)
    return text if first_upper else parts[0] + text[len(parts[0]) :]


def kebab(name: str) -> str:
    return "-".join(word.lower() for word in words(name))


def is_secret(setting: str) -> bool:
    parts = [word.lower() for word in words(setting)]
    return bool(set(parts) & SECRET_WORDS) or "connectionstring" in "".join(parts)


def uses_identity(role: RoleDefinition) -> bool:
    """Roles that reach storage do it with the managed identity: every worker, and any
    role that declares a storage connection string."""
    return not role.web or STORAGE_CONNECTION in role.settings


def app_name(role: str, taken: set[str]) -> str:
    """A Container App name: 2 to 32 lower-case letters, digits and single hyphens."""
    base = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", role.lower()))[:APP_NAME_LENGTH]
    base = base.strip("-")
    if len(base) < 2:
        base += "-app"
    name, number = base, 2
    while name in taken:
        suffix = f"-{number}"
        name, number = base[: APP_NAME_LENGTH - len(suffix)].rstrip("-") + suffix, number + 1
    return name


class SettingValueError(ModelError):
    """A setting whose value Container Apps needs in another form."""


def whole_number(configuration: ServiceConfiguration, role: str, setting: str, text: str) -> int:
    if not text.strip().isdigit():
        raise SettingValueError(
            configuration.path, f'role {role} has {setting}="{text}"; it must be a whole number'
        )
    return int(text)


def health_path(service: Service, role: RoleDefinition) -> str:
    probes = {probe.name: probe for probe in service.definition.probes}
    for endpoint in role.endpoints:
        probe = probes.get(endpoint.probe or "")
        if probe is not None and probe.protocol.lower() == "http" and probe.path:
            return probe.path
    return DEFAULT_HEALTH_PATH


def plan_app(
    service: Service, cloud: ServiceConfiguration, role: RoleDefinition, taken: set[str]
) -> App:
    values = cloud.role(role.name).settings
    env: list[Env] = []
    secrets: list[Secret] = []
    supplied = {
        STORAGE_CONNECTION: Raw("''"),
        QUEUE_ENDPOINT: Raw("'https://${storage.name}.queue.${environment().suffixes.storage}'"),
        CLIENT_ID: Raw("identity.properties.clientId"),
    }
    for setting in role.settings:
        if setting in DERIVED_BY_THE_APP:
            continue
        if setting == APPINSIGHTS:
            secret = Secret(
                kebab(setting), setting, "applicationInsights.properties.ConnectionString", None
            )
        elif setting in supplied and uses_identity(role):
            env.append(Env(setting, value=supplied[setting]))
            continue
        elif is_secret(setting):
            parameter = camel(role.name) + camel(setting, first_upper=True)
            secret = Secret(kebab(setting), setting, parameter, parameter)
        else:
            if setting not in values:
                raise ModelError(
                    cloud.path, f"role {role.name} gives no value to the setting {setting}"
                )
            env.append(Env(setting, value=bicep_string(values[setting])))
            continue
        secrets.append(secret)
        env.append(Env(setting, secret=secret.name))
    declared = {item.name for item in env}
    if uses_identity(role):
        env += [Env(name, value=value) for name, value in supplied.items() if name not in declared]
    if role.web and "PORT" not in declared:
        env.append(Env("PORT", value=bicep_string(str(CONTAINER_PORT))))
    instances = cloud.role(role.name).instances
    queue = None if role.web else values.get("QueueName") or None
    grace = None
    if not role.web:
        visibility = values.get("VisibilityTimeoutSeconds", str(DEFAULT_VISIBILITY_TIMEOUT))
        grace = (
            whole_number(cloud, role.name, "VisibilityTimeoutSeconds", visibility)
            + SHUTDOWN_MARGIN_SECONDS
        )
    name = app_name(role.name, taken)
    taken.add(name)
    return App(
        role=role.name,
        web=role.web,
        stem=camel(role.name),
        name=name,
        # A worker with a queue sleeps at zero replicas until a message comes; one without
        # has nothing to wake it, so it keeps its instances.
        min_replicas=0 if queue else instances,
        queue=queue,
        grace_seconds=grace,
        health_path=health_path(service, role) if role.web else DEFAULT_HEALTH_PATH,
        env=tuple(env),
        secrets=tuple(secrets),
    )


def make_plan(service: Service) -> Plan:
    """The Container Apps form of the service, from the .csdef and the Cloud .cscfg."""
    cloud = service.configuration(CONFIGURATION)
    taken: set[str] = set()
    apps = tuple(plan_app(service, cloud, role, taken) for role in service.roles)
    if not apps:
        raise ModelError(service.definition.path, "defines no role")
    return Plan(service_name=service.name, apps=apps)


# Writing Bicep ------------------------------------------------------------------------


# Bicep's escapes in a string: \\ \' \n \r \t \$ and \u{hex}.
ESCAPED = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
UNESCAPED = {"n": "\n", "r": "\r", "t": "\t"}


def bicep_string(text: str) -> Raw:
    escaped = "".join(ESCAPED.get(char, char) for char in text).replace("${", "\\${")
    return Raw(f"'{escaped}'")


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def bicep_key(key: str) -> str:
    """An identifier as it is, other keys quoted; a Raw key (an interpolation such as
    '${identity.id}') is quoted without escaping."""
    if isinstance(key, Raw):
        return f"'{key}'"
    return key if IDENTIFIER.match(key) else str(bicep_string(key))


def bicep(value: object, indent: int = 0) -> str:
    """A Python value as Bicep: dict -> object, list -> array, Raw -> expression."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return bicep_string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(key, Comment):
                lines.append(f"{inner}// {key.text}")
            else:
                lines.append(f"{inner}{bicep_key(key)}: {bicep(item, indent + 1)}")
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return (
            "[\n" + "\n".join(f"{inner}{bicep(item, indent + 1)}" for item in value) + f"\n{pad}]"
        )
    raise TypeError(f"no Bicep form for {value!r}")


def description(text: str) -> str:
    return f"@description({bicep_string(text)})"


def resource(
    symbol: str,
    type_version: str,
    body: dict,
    comment: str | None = None,
    condition: str | None = None,
    existing: bool = False,
) -> str:
    head = f"resource {symbol} '{type_version}'"
    head += " existing =" if existing else " ="
    if condition:
        head += f" if ({condition})"
    lines = [f"// {line}" for line in (comment or "").splitlines()]
    return "\n".join([*lines, f"{head} {bicep(body)}"]) + "\n"


def role_assignment(
    symbol: str,
    scope: str,
    principal: str,
    role_id: str,
    comment: str,
    principal_type: str | None = None,
    condition: str | None = None,
    name_from: str | None = None,
) -> str:
    """A role assignment; its name must be known when the deployment starts, so it is made
    from ``name_from`` (the identity's resource ID) rather than a runtime principal ID."""
    properties = {
        "roleDefinitionId": Raw(
            f"subscriptionResourceId('Microsoft.Authorization/roleDefinitions', {role_id})"
        ),
        "principalId": Raw(principal),
    }
    if principal_type:
        properties["principalType"] = principal_type
    return resource(
        symbol,
        "Microsoft.Authorization/roleAssignments@2022-04-01",
        {
            "name": Raw(f"guid({scope}.id, {name_from or principal}, {role_id})"),
            "scope": Raw(scope),
            "properties": properties,
        },
        comment=comment,
        condition=condition,
    )


def container_app(app: App) -> str:
    existing = resource(
        app.stem + "Existing",
        f"Microsoft.App/containerApps@{APPS_API}",
        {"name": app.name},
        comment="The app as azd last deployed it, if it exists: provisioning keeps its image.",
        condition=app.exists_parameter,
        existing=True,
    )
    env = []
    for item in app.env:
        if item.secret:
            env.append({"name": item.name, "secretRef": item.secret})
        else:
            env.append({"name": item.name, "value": Raw(item.value or "''")})
    container: dict = {
        "name": app.name,
        "image": Raw(
            f"{app.exists_parameter} ? {app.stem}Existing"
            ".properties.template.containers[0].image : placeholderImage"
        ),
        "resources": {"cpu": Raw("json('0.5')"), "memory": "1Gi"},
        "env": env,
    }
    configuration: dict = {"activeRevisionsMode": "Single"}
    template: dict = {"containers": [container]}
    if app.web:
        configuration["ingress"] = {
            "external": True,
            "targetPort": CONTAINER_PORT,
            "transport": "auto",
            # Plain http is redirected to https.
            "allowInsecure": False,
        }
        container["probes"] = [
            probe("Startup", app.health_path, period=3, failures=10),
            probe("Liveness", app.health_path, period=30, failures=3),
            probe("Readiness", app.health_path, period=10, failures=3),
        ]
        template["scale"] = {
            Comment(
                f"At least the {app.min_replicas} instances of ServiceConfiguration.Cloud.cscfg."
            ): None,
            "minReplicas": app.min_replicas,
            "maxReplicas": Raw("maxReplicas"),
            "rules": [
                {
                    "name": "http-requests",
                    "http": {"metadata": {"concurrentRequests": str(CONCURRENT_REQUESTS)}},
                }
            ],
        }
    else:
        scale: dict = {
            Comment("No replica runs while the queue is empty.")
            if app.queue
            else Comment("Without a queue nothing wakes the app from zero."): None,
            "minReplicas": app.min_replicas,
            "maxReplicas": Raw("maxReplicas"),
        }
        if app.queue:
            scale["rules"] = [
                {
                    "name": "queue-length",
                    "azureQueue": {
                        "accountName": Raw("storage.name"),
                        "queueName": app.queue,
                        "queueLength": QUEUE_LENGTH_PER_REPLICA,
                        "identity": Raw("identity.id"),
                    },
                }
            ]
        template["scale"] = scale
        template[
            Comment(
                "SIGTERM, then this long to finish the message in hand (VisibilityTimeoutSeconds"
                f" is {app.grace_seconds - SHUTDOWN_MARGIN_SECONDS})."
            )
        ] = None
        template["terminationGracePeriodSeconds"] = app.grace_seconds
    configuration["registries"] = [
        {"server": Raw("containerRegistry.properties.loginServer"), "identity": Raw("identity.id")}
    ]
    if app.secrets:
        configuration["secrets"] = [
            {"name": secret.name, "value": Raw(secret.value)} for secret in app.secrets
        ]
    kind = "web role" if app.web else "worker role"
    what = (
        "external https ingress, scaled on concurrent requests"
        if app.web
        else f"no ingress, scaled from zero on the length of the queue {app.queue}"
        if app.queue
        else "no ingress"
    )
    body = {
        "name": app.name,
        "location": Raw("location"),
        "tags": Raw("union(tags, { 'azd-service-name': " + bicep_string(app.role) + " })"),
        "identity": {
            "type": "UserAssigned",
            "userAssignedIdentities": {Raw("${identity.id}"): {}},
        },
        "dependsOn": [Raw("acrPull")] + ([Raw("queueDataContributor")] if app.queue else []),
        "properties": {
            "managedEnvironmentId": Raw("containerAppsEnvironment.id"),
            "configuration": configuration,
            "template": template,
        },
    }
    return (
        existing
        + "\n"
        + resource(
            app.symbol,
            f"Microsoft.App/containerApps@{APPS_API}",
            body,
            comment=f"{app.role}, the {kind}: {what}.",
        )
    )


def probe(kind: str, path: str, period: int, failures: int) -> dict:
    return {
        "type": kind,
        "httpGet": {"path": path, "port": CONTAINER_PORT},
        "periodSeconds": period,
        "failureThreshold": failures,
    }


# The checkov findings this design accepts, each with its reason (written into the resource).
REGISTRY_SKIPS = {
    "CKV_AZURE_139": "azd's remote build and the apps reach the registry over the internet;"
    " a private one needs the Premium tier and a virtual network",
    "CKV_AZURE_163": "image scanning is Microsoft Defender for Containers' job, switched on"
    " per subscription, not a registry setting",
    "CKV_AZURE_166": "quarantine needs the Premium tier; azd pushes only images it built",
}
STORAGE_SKIPS = {
    "CKV_AZURE_35": "the apps reach the queues over the public endpoint, with the identity;"
    " denying it needs a virtual network for the Container Apps environment",
    "CKV_AZURE_206": "the queues hold work in flight, which locally redundant storage keeps"
    " within the region; choose Standard_GRS for more",
    "CKV_AZURE_43": "checkov cannot evaluate the name: 'st' and uniqueString's 13 lower-case"
    " letters and digits, within the rules",
}


def checkov_skips(skips: dict[str, str]) -> dict:
    return {Comment(f"checkov:skip={check}: {reason}"): None for check, reason in skips.items()}


def resources_bicep(plan: Plan) -> str:
    queue_apps = [app for app in plan.apps if app.queue]
    parts = [
        f"// The Azure Container Apps resources of {plan.service_name}, in the azd environment's\n"
        "// resource group. Written by `python -m cloudservice containerapps` from\n"
        f"// {DEFINITION_FILE} and ServiceConfiguration.{CONFIGURATION}.cscfg: change those and"
        " run it again.\n",
        description("Azure region of every resource.") + "\nparam location string\n",
        description("Tags of every resource.") + "\nparam tags object\n",
        description(
            "Object ID of the user or service principal running azd, who may then send and"
            " read queue messages; empty for none."
        )
        + "\nparam principalId string\n",
        description("The most replicas each app may scale out to.")
        + f"\n@minValue({plan.lowest_max_replicas})\nparam maxReplicas int\n",
    ]
    for app in plan.apps:
        parts.append(
            description(f"Whether {app.role}'s app exists already (its deployed image is kept).")
            + f"\nparam {app.exists_parameter} bool\n"
        )
    for parameter, holds in plan.secure_parameters:
        parts.append(f"@secure()\n{description(holds)}\nparam {parameter} string\n")
    parts.append(
        "var resourceToken = uniqueString(subscription().id, resourceGroup().id, location)\n"
        "// What an app runs until `azd deploy` puts the role's own image there.\n"
        f"var placeholderImage = {bicep_string(PLACEHOLDER_IMAGE)}\n"
        "var acrPullRole = '7f951dda-4ed3-4680-a7ca-43fe172d538d'\n"
        "// Read, add, update and delete messages, and create the queue if it is missing.\n"
        "var queueDataContributorRole = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'\n"
    )
    parts.append(
        resource(
            "logAnalytics",
            "Microsoft.OperationalInsights/workspaces@2023-09-01",
            {
                "name": Raw("'log-${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
                "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30},
            },
            comment="Logs of every app (az containerapp logs show reads them).",
        )
    )
    parts.append(
        resource(
            "applicationInsights",
            "Microsoft.Insights/components@2020-02-02",
            {
                "name": Raw("'appi-${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
                "kind": "web",
                "properties": {
                    "Application_Type": "web",
                    "WorkspaceResourceId": Raw("logAnalytics.id"),
                },
            },
        )
    )
    parts.append(
        resource(
            "identity",
            "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31",
            {
                "name": Raw("'id-${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
            },
            comment="The apps' identity: it pulls their images and reads and writes the queues.",
        )
    )
    parts.append(
        resource(
            "containerRegistry",
            "Microsoft.ContainerRegistry/registries@2023-07-01",
            {
                **checkov_skips(REGISTRY_SKIPS),
                "name": Raw("'cr${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
                "sku": {"name": "Basic"},
                "properties": {"adminUserEnabled": False, "anonymousPullEnabled": False},
            },
            comment="azd builds each role's image here (remote build); the apps pull it with"
            " the identity.",
        )
    )
    parts.append(
        role_assignment(
            "acrPull",
            "containerRegistry",
            "identity.properties.principalId",
            "acrPullRole",
            "The apps pull their images with the identity.",
            principal_type="ServicePrincipal",
            name_from="identity.id",
        )
    )
    parts.append(
        resource(
            "storage",
            "Microsoft.Storage/storageAccounts@2023-05-01",
            {
                **checkov_skips(STORAGE_SKIPS),
                "name": Raw("'st${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
                "kind": "StorageV2",
                "sku": {"name": "Standard_LRS"},
                "properties": {
                    "minimumTlsVersion": "TLS1_2",
                    "supportsHttpsTrafficOnly": True,
                    "allowBlobPublicAccess": False,
                    Comment("Identity only: no account key to leak."): None,
                    "allowSharedKeyAccess": False,
                },
            },
            comment="The queues, used with the identity instead of the account key.",
        )
    )
    if queue_apps:
        parts.append(
            resource(
                "queueService",
                "Microsoft.Storage/storageAccounts/queueServices@2023-05-01",
                {"parent": Raw("storage"), "name": "default"},
            )
        )
        for app in queue_apps:
            stem = app.stem
            parts.append(
                resource(
                    f"{stem}Queue",
                    "Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01",
                    {"parent": Raw("queueService"), "name": app.queue},
                    comment=f"{app.role}'s queue, and the queue its failed messages move to.",
                )
            )
            parts.append(
                resource(
                    f"{stem}PoisonQueue",
                    "Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01",
                    {"parent": Raw("queueService"), "name": f"{app.queue}-poison"},
                )
            )
    parts.append(
        role_assignment(
            "queueDataContributor",
            "storage",
            "identity.properties.principalId",
            "queueDataContributorRole",
            "The apps use the queues, and the workers' scale rules count their messages."
            if queue_apps
            else "The apps may use the account's queues.",
            principal_type="ServicePrincipal",
            name_from="identity.id",
        )
    )
    parts.append(
        role_assignment(
            "developerQueueDataContributor",
            "storage",
            "principalId",
            "queueDataContributorRole",
            "You may put messages on the queues (az storage message put --auth-mode login).",
            condition="!empty(principalId)",
        )
    )
    parts.append(
        resource(
            "containerAppsEnvironment",
            f"Microsoft.App/managedEnvironments@{APPS_API}",
            {
                "name": Raw("'cae-${resourceToken}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
                "properties": {
                    "appLogsConfiguration": {
                        "destination": "log-analytics",
                        "logAnalyticsConfiguration": {
                            "customerId": Raw("logAnalytics.properties.customerId"),
                            "sharedKey": Raw("logAnalytics.listKeys().primarySharedKey"),
                        },
                    },
                },
            },
        )
    )
    for app in plan.apps:
        parts.append(container_app(app))
    parts.append(
        description("The login server of the registry azd pushes images to.")
        + "\noutput registryEndpoint string = containerRegistry.properties.loginServer\n"
    )
    parts.append(
        description("The storage account that holds the queues.")
        + "\noutput storageAccountName string = storage.name\n"
    )
    return "\n".join(parts)


def main_bicep(plan: Plan) -> str:
    parts = [
        f"// {plan.service_name} on Azure Container Apps, for the Azure Developer CLI: `azd up`"
        " makes\n"
        "// the resource group of the azd environment and everything in resources.bicep, then\n"
        "// builds and deploys every role. Written by `python -m cloudservice containerapps`.\n",
        "targetScope = 'subscription'\n",
        "@minLength(1)\n@maxLength(64)\n"
        + description("Name of the azd environment; it names the resource group.")
        + "\nparam environmentName string\n",
        "@minLength(1)\n"
        + description("Azure region of every resource.")
        + "\nparam location string\n",
        description(
            "Object ID of the user or service principal running azd (azd fills it in); it may"
            " then use the queues."
        )
        + "\nparam principalId string = ''\n",
        description("The most replicas each app may scale out to.")
        + f"\n@minValue({plan.lowest_max_replicas})\n"
        + f"param maxReplicas int = {plan.default_max_replicas}\n",
    ]
    for app in plan.apps:
        parts.append(
            description(f"Whether {app.role}'s app exists already (azd's {app.exists_variable}).")
            + f"\nparam {app.exists_parameter} bool = false\n"
        )
    for parameter, holds in plan.secure_parameters:
        parts.append(
            f"@secure()\n{description(holds + '; azd asks for it once and keeps it')}\n"
            f"param {parameter} string\n"
        )
    parts.append("var tags = {\n  'azd-env-name': environmentName\n}\n")
    parts.append(
        resource(
            "rg",
            "Microsoft.Resources/resourceGroups@2024-03-01",
            {
                "name": Raw("'rg-${environmentName}'"),
                "location": Raw("location"),
                "tags": Raw("tags"),
            },
        )
    )
    parameters: dict = {
        "location": Raw("location"),
        "tags": Raw("tags"),
        "principalId": Raw("principalId"),
        "maxReplicas": Raw("maxReplicas"),
    }
    for app in plan.apps:
        parameters[app.exists_parameter] = Raw(app.exists_parameter)
    for parameter, _ in plan.secure_parameters:
        parameters[parameter] = Raw(parameter)
    parts.append(
        "module resources 'resources.bicep' = "
        + bicep({"name": "resources", "scope": Raw("rg"), "params": parameters})
        + "\n"
    )
    outputs = [
        ("AZURE_LOCATION", "location"),
        ("AZURE_TENANT_ID", "tenant().tenantId"),
        ("AZURE_RESOURCE_GROUP", "rg.name"),
        ("AZURE_CONTAINER_REGISTRY_ENDPOINT", "resources.outputs.registryEndpoint"),
        ("AZURE_STORAGE_ACCOUNT_NAME", "resources.outputs.storageAccountName"),
    ]
    parts.append("".join(f"output {name} string = {value}\n" for name, value in outputs))
    return "\n".join(parts)


def parameters_json(plan: Plan) -> str:
    parameters = {
        "environmentName": {"value": "${AZURE_ENV_NAME}"},
        "location": {"value": "${AZURE_LOCATION}"},
        "principalId": {"value": "${AZURE_PRINCIPAL_ID}"},
    }
    for app in plan.apps:
        parameters[app.exists_parameter] = {"value": "${" + app.exists_variable + "=false}"}
    document = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
    }
    return json.dumps(document, indent=2) + "\n"


def yaml_string(text: str) -> str:
    """A YAML scalar: plain when that is unambiguous, else single-quoted."""
    if re.fullmatch(r"[A-Za-z.][A-Za-z0-9_./-]*", text) and text.lower() not in {
        "yes",
        "no",
        "true",
        "false",
        "on",
        "off",
        "null",
        "y",
        "n",
    }:
        return text
    return "'" + text.replace("'", "''") + "'"


def azure_yaml(plan: Plan) -> str:
    lines = [
        "# yaml-language-server:"
        " $schema=https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json",
        f"# {plan.service_name} on Azure Container Apps: `azd up` provisions infra/ and deploys"
        " every role.",
        "# Written by `python -m cloudservice containerapps` from ServiceDefinition.csdef.",
        "",
        f"name: {yaml_string(azd_name(plan.service_name))}",
        "services:",
    ]
    for app in plan.apps:
        lines += [
            f"  {yaml_string(app.role)}:",
            f"    project: {yaml_string('./' + app.role)}",
            "    host: containerapp",
            "    language: python",
            "    docker:",
            "      path: Dockerfile",
            "      context: .",
            "      # Built in the registry: no Docker needed on your machine.",
            "      remoteBuild: true",
        ]
    return "\n".join(lines) + "\n"


def azd_name(service_name: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", service_name.lower())).strip("-")


def render(service: Service) -> dict[str, str]:
    """Every file this command writes, relative path -> text."""
    plan = make_plan(service)
    return {
        AZURE_YAML: azure_yaml(plan),
        MAIN_BICEP: main_bicep(plan),
        RESOURCES_BICEP: resources_bicep(plan),
        PARAMETERS_JSON: parameters_json(plan),
    }


def write(service: Service) -> list[Path]:
    """(Re)write the files: all are rendered first, then each replaces its old version in
    one step, so an error leaves every file as it was."""
    texts = render(service)
    written = []
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, text in texts.items():
            target = service.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            staged.append((Path(temporary), target))
        for temporary, target in staged:
            os.replace(temporary, target)
            written.append(target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return written


# Reading what is there, for check ----------------------------------------------------


TOKEN = re.compile(
    r"(?P<comment>//[^\n]*|/\*.*?\*/)"
    r"|(?P<multiline>'''.*?''')"
    r"|(?P<string>'(?:\\.|[^'\\\n])*')"
    r"|(?P<newline>\n)"
    r"|(?P<space>[ \t\r]+)"
    r"|(?P<punct>[{}\[\]():,])"
    r"|(?P<word>[^\s{}\[\]():,']+)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokens(source: str) -> list[Token]:
    found = []
    for match in TOKEN.finditer(source):
        kind = match.lastgroup or ""
        if kind in ("comment", "space"):
            continue
        if kind == "punct":
            kind = match.group()
        elif kind == "multiline":
            kind = "string"
        found.append(Token(kind, match.group(), match.start(), match.end()))
    return found


class BicepReader:
    """Just enough of Bicep to read resource bodies: objects, arrays and string literals
    become dicts, lists and strs; any other expression is kept as Raw text."""

    def __init__(self, source: str):
        self.source = source
        self.tokens = tokens(source)
        self.at = 0

    def peek(self, offset: int = 0) -> Token | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def kind(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.kind if token else ""

    def skip_separators(self) -> None:
        while self.kind() in ("newline", ","):
            self.at += 1

    def value(self) -> object:
        token = self.peek()
        ends = ("newline", ",", "}", "]", "")
        if token and token.kind == "{":
            return self.object()
        if (
            token
            and token.kind == "["
            and not (self.kind(1) == "word" and self.peek(1).text == "for")
        ):
            return self.array()
        if token and token.kind == "string" and self.kind(1) in ends:
            self.at += 1
            return unquote(token.text)
        return self.expression()

    def expression(self) -> Raw:
        start, depth = self.at, 0
        while self.at < len(self.tokens):
            kind = self.kind()
            if depth == 0 and kind in ("newline", ",", "}", "]"):
                break
            if kind in ("(", "[", "{"):
                depth += 1
            elif kind in (")", "]", "}"):
                depth -= 1
            self.at += 1
        if self.at == start:
            return Raw("")
        return Raw(self.source[self.tokens[start].start : self.tokens[self.at - 1].end])

    def object(self) -> dict:
        self.at += 1  # {
        found: dict = {}
        while True:
            self.skip_separators()
            token = self.peek()
            if token is None or token.kind == "}":
                self.at += 1
                return found
            key = unquote(token.text) if token.kind == "string" else token.text
            self.at += 1
            if self.kind() == ":":
                self.at += 1
            found[key] = self.value()

    def array(self) -> list:
        self.at += 1  # [
        found = []
        while True:
            self.skip_separators()
            if self.kind() in ("]", ""):
                self.at += 1
                return found
            found.append(self.value())

    def resources(self) -> list[tuple[str, str, bool, object]]:
        """(symbol, type@version, existing, body) of every resource declaration."""
        found = []
        while self.at < len(self.tokens):
            token = self.peek()
            if (
                token.kind == "word"
                and token.text == "resource"
                and self.kind(1) == "word"
                and self.kind(2) == "string"
                and (self.at == 0 or self.tokens[self.at - 1].kind == "newline")
            ):
                symbol, type_version = self.peek(1).text, unquote(self.peek(2).text)
                self.at += 3
                existing = self.kind() == "word" and self.peek().text == "existing"
                while self.kind() not in ("{", "[", "newline", ""):
                    self.at += 1  # existing, =, if (...)
                    if self.kind() == "(":
                        self.expression_in_parentheses()
                if self.kind() in ("{", "["):
                    found.append((symbol, type_version, existing, self.value()))
                continue
            self.at += 1
        return found

    def expression_in_parentheses(self) -> None:
        depth = 0
        while self.at < len(self.tokens):
            kind = self.kind()
            depth += kind == "("
            depth -= kind == ")"
            self.at += 1
            if depth == 0:
                return


def unquote(text: str) -> str:
    if text.startswith("'''"):
        return text[3:-3]

    def unescaped(match: re.Match) -> str:
        escape = match.group(1)
        if escape.startswith("u{"):
            return chr(int(escape[2:-1], 16))
        return UNESCAPED.get(escape, escape)

    return re.sub(r"\\(u\{[0-9A-Fa-f]+\}|.)", unescaped, text[1:-1], flags=re.DOTALL)


def read_resources(source: str) -> list[tuple[str, str, bool, object]]:
    return BicepReader(source).resources()


def read_services(text: str) -> dict[str, str | None]:
    """The services of azure.yaml and their projects (the subset of YAML azd files use)."""
    services: dict[str, str | None] = {}
    inside, service_indent, current = False, None, None
    for line in text.splitlines():
        stripped = line.split(" #")[0].rstrip()
        if not stripped.strip() or stripped.lstrip().startswith("#"):
            continue
        indent = len(stripped) - len(stripped.lstrip())
        if indent == 0:
            inside = stripped.startswith("services:")
            service_indent = current = None
            continue
        if not inside:
            continue
        if service_indent is None:
            service_indent = indent
        key, _, rest = stripped.strip().partition(":")
        key = key.strip().strip("'\"")
        if indent == service_indent:
            current = key
            services[current] = None
        elif current is not None and key == "project":
            services[current] = rest.strip().strip("'\"")
    return services


def problems(service: Service) -> Iterator[tuple[str, str]]:
    """(file, problem) for every way azure.yaml and infra/ disagree with the model."""
    try:
        plan = make_plan(service)
    except SettingValueError as error:
        yield error.source.name, error.problem
        return
    except ModelError:
        return  # check's other rules report the service files
    regenerate = "; run python -m cloudservice containerapps"
    root = service.root
    try:
        services = read_services((root / AZURE_YAML).read_text(encoding="utf-8"))
    except FileNotFoundError:
        yield AZURE_YAML, "not found" + regenerate
        services = None
    if services is not None:
        for app in plan.apps:
            if app.role not in services:
                yield AZURE_YAML, f"has no service for the role {app.role}" + regenerate
            elif (services[app.role] or "").rstrip("/") not in (f"./{app.role}", app.role):
                yield (
                    AZURE_YAML,
                    (f"the service {app.role} has project {services[app.role]}, not ./{app.role}"),
                )
        for name in services:
            if name not in {app.role for app in plan.apps}:
                yield AZURE_YAML, f"has a service {name}, a role {DEFINITION_FILE} lacks"
    if not (root / "infra" / "main.bicep").is_file():
        yield "infra/main.bicep", "not found" + regenerate
        return
    declared = []
    for path in sorted((root / "infra").glob("*.bicep")):
        relative = path.relative_to(root).as_posix()
        for symbol, type_version, existing, body in read_resources(path.read_text("utf-8")):
            if not existing and isinstance(body, dict):
                declared.append((relative, symbol, type_version.partition("@")[0], body))
    if not declared:
        yield "infra", "has no Bicep resources" + regenerate
        return
    queues = {
        body.get("name")
        for _, _, kind, body in declared
        if kind == "Microsoft.Storage/storageAccounts/queueServices/queues"
    }
    apps = {}
    for relative, _, kind, body in declared:
        if kind == "Microsoft.App/containerApps":
            tagged = re.search(r"'azd-service-name':\s*'([^']*)'", str(body.get("tags", "")))
            tags = body.get("tags")
            name = tags.get("azd-service-name") if isinstance(tags, dict) else None
            apps[name or (tagged.group(1) if tagged else None)] = (relative, body)
    apps_file = next(iter(apps.values()))[0] if apps else RESOURCES_BICEP
    for app in plan.apps:
        if app.role not in apps:
            yield (
                apps_file,
                (
                    f"has no Container App tagged azd-service-name '{app.role}' for the role"
                    f" {app.role}" + regenerate
                ),
            )
            continue
        file, body = apps[app.role]
        yield from app_problems(file, app, body)
        if app.queue:
            for queue in (app.queue, f"{app.queue}-poison"):
                if queue not in queues:
                    yield file, f"has no storage queue {queue} for the role {app.role}" + regenerate
    for name, (file, _) in apps.items():
        if name not in {app.role for app in plan.apps}:
            yield file, f"has a Container App for {name}, a role {DEFINITION_FILE} lacks"


def dig(value: object, *keys: object) -> object:
    for key in keys:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and len(value) > key:
            value = value[key]
        else:
            return None
    return value


def app_problems(file: str, app: App, body: dict) -> Iterator[tuple[str, str]]:
    cloud = f"ServiceConfiguration.{CONFIGURATION}.cscfg"
    env = dig(body, "properties", "template", "containers", 0, "env")
    names = (
        [item.get("name") for item in env if isinstance(item, dict)]
        if isinstance(env, list)
        else []
    )
    for item in app.env:
        if item.name not in names:
            yield file, f"the app of {app.role} has no environment variable {item.name}"
    values = {item.get("name"): item.get("value") for item in env or [] if isinstance(item, dict)}
    for item in app.env:
        wanted = unquote(item.value) if item.value and item.value.startswith("'") else None
        found = values.get(item.name)
        if wanted is not None and "${" not in wanted and isinstance(found, str) and found != wanted:
            yield (
                file,
                (
                    f"the app of {app.role} sets {item.name} to '{found}', but"
                    f" {cloud} has '{wanted}'"
                ),
            )
    expected = {item.name for item in app.env}
    for name in names:
        if name not in expected:
            yield (
                file,
                (
                    f"the app of {app.role} sets {name}, which {DEFINITION_FILE} does not declare"
                    " for the role"
                ),
            )
    scale = dig(body, "properties", "template", "scale") or {}
    minimum = dig(scale, "minReplicas")
    if str(minimum) != str(app.min_replicas):
        if app.web:
            reason = f"{cloud} has {app.min_replicas} instances of {app.role}"
        else:
            reason = f"{app.role} should be {app.min_replicas}"
        yield file, f"the app of {app.role} has minReplicas {minimum}, but {reason}"
    rules = dig(scale, "rules")
    queues = [
        dig(rule, "azureQueue", "queueName") or dig(rule, "custom", "metadata", "queueName")
        for rule in (rules if isinstance(rules, list) else [])
    ]
    queues = [queue for queue in queues if queue]
    if app.queue and app.queue not in queues:
        yield (
            file,
            (
                f"the app of {app.role} scales on no rule for its queue {app.queue}"
                + (f" (it has {', '.join(queues)})" if queues else "")
            ),
        )


def drift(solution: check.Solution) -> Iterator[check.Problem]:
    """check's rule: azure.yaml and infra/ describe the roles the service files do."""
    from cloudservice.check import Problem  # check imports this module

    for file, text in problems(solution.service):
        yield Problem(file, text)


# The command ---------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "containerapps",
        help="write azure.yaml and infra/ for Azure Container Apps (azd up)",
        description=f"(Re)write {', '.join(FILES)} from {DEFINITION_FILE} and"
        f" ServiceConfiguration.{CONFIGURATION}.cscfg, for the Azure Developer CLI to run every"
        " role on Azure Container Apps. Run it again after changing the service files.",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    service = Service.load(SOLUTION)
    for written in write(service):
        print(f"wrote {written.relative_to(service.root).as_posix()}")
    print(
        "Next: azd auth login, then azd up (README.md, 'Moving to Azure Container Apps').",
        file=sys.stderr,
    )
    return 0
