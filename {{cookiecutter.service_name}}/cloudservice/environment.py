"""The environment variables a role instance gets, built the way Azure builds them.

In Azure each ``<Variable>`` of a role's ``Runtime/Environment`` in
ServiceDefinition.csdef takes its value from a ``RoleInstanceValue`` xpath,
evaluated against the instance's role environment: an XML document that holds the
deployment, the instance, its configuration settings (from the .cscfg), its
endpoints and its local resources. Here that document is built for a local
instance (``emulated="true"``, local ports, local folders) and the same xpaths are
evaluated against it, so a role sees locally what it would see in the cloud.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from cloudservice.model import ModelError, RoleDefinition, Service, ServiceConfiguration

LOCAL_RESOURCES = ".local-resources"
KEY_FILE = ".local-secret-key"
LOCAL_ADDRESS = "127.0.0.1"
NAME = r"[A-Za-z_][\w.-]*"
STEP = rf"""/{NAME}(?:\[@{NAME}=(?:'[^']*'|"[^"]*")\])?"""
XPATH = re.compile(rf"/(?P<root>{NAME})(?P<steps>(?:{STEP})*)/@(?P<attribute>{NAME})")


class UnresolvedXPath(ValueError):
    """A RoleInstanceValue xpath that selects no attribute in the role environment."""


@dataclass(frozen=True)
class Instance:
    """One instance of a role: ``<Role>_IN_<index>``, as Azure names them."""

    role: RoleDefinition
    index: int
    count: int

    @property
    def id(self) -> str:
        return f"{self.role.name}_IN_{self.index}"

    @property
    def label(self) -> str:
        """How output names the instance: the role's name, or the instance id when
        the role has several."""
        return self.role.name if self.count == 1 else self.id


def role_environment(
    deployment_id: str,
    instance: Instance,
    settings: Mapping[str, str],
    ports: Mapping[str, int],
    resources: Mapping[str, Path],
) -> ElementTree.Element:
    """The role environment document of a local instance.

    ``ports`` maps each endpoint name to the local port the instance listens on;
    ``resources`` maps each local storage name to its folder.
    """
    root = ElementTree.Element("RoleEnvironment")
    ElementTree.SubElement(root, "Deployment", id=deployment_id, emulated="true")
    current = ElementTree.SubElement(
        root,
        "CurrentInstance",
        id=instance.id,
        roleName=instance.role.name,
        faultDomain=str(instance.index % 2),
        updateDomain=str(instance.index % 5),
    )
    configuration = ElementTree.SubElement(current, "ConfigurationSettings")
    for name, value in settings.items():
        ElementTree.SubElement(configuration, "ConfigurationSetting", name=name, value=value)
    local_resources = ElementTree.SubElement(current, "LocalResources")
    for storage in instance.role.local_storage:
        ElementTree.SubElement(
            local_resources,
            "LocalResource",
            name=storage.name,
            path=str(resources[storage.name]),
            sizeInMB=str(storage.size_mb),
        )
    endpoints = ElementTree.SubElement(current, "Endpoints")
    for endpoint in instance.role.endpoints:
        ElementTree.SubElement(
            endpoints,
            "Endpoint",
            name=endpoint.name,
            address=LOCAL_ADDRESS,
            port=str(ports[endpoint.name]),
            protocol=endpoint.protocol,
        )
    return root


def resolve(xpath: str, document: ElementTree.Element) -> str:
    """The value a RoleInstanceValue xpath selects, such as
    ``/RoleEnvironment/CurrentInstance/ConfigurationSettings/ConfigurationSetting[@name='X']/@value``.

    The xpaths of role environments are element steps, each with at most one
    ``[@name='value']`` predicate, ending in an ``/@attribute`` step. ElementTree
    evaluates the element steps; the attribute is read here.
    """
    match = XPATH.fullmatch(xpath.strip())
    if match is None or match["root"] != document.tag:
        raise UnresolvedXPath(f"{xpath} is not of the form /{document.tag}/.../@attribute")
    steps = match["steps"].lstrip("/")
    element = document.find(steps) if steps else document
    if element is None or match["attribute"] not in element.attrib:
        raise UnresolvedXPath(f"{xpath} selects nothing")
    return element.attrib[match["attribute"]]


def local_resource_folders(root: Path, instance: Instance) -> dict[str, Path]:
    """A folder per local storage resource of the instance, made if missing, under
    ``.local-resources/<instance id>/`` (a folder that git ignores by itself)."""
    base = root / LOCAL_RESOURCES
    base.mkdir(exist_ok=True)
    ignore = base / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Local resources of role instances, made by python -m cloudservice run.\n*\n"
        )
    folders = {}
    for storage in instance.role.local_storage:
        folder = base / instance.id / storage.name
        folder.mkdir(parents=True, exist_ok=True)
        folders[storage.name] = folder.resolve()
    return folders


def local_secret_key(root: Path) -> str:
    """The solution's local SECRET_KEY, from the git-ignored ``.local-secret-key``
    (made on first use), so sessions survive a restart without a key in the .cscfg."""
    key_file = root / KEY_FILE
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50) + "\n", encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


def instance_environment(
    service: Service,
    configuration: ServiceConfiguration,
    instance: Instance,
    deployment_id: str,
    ports: Mapping[str, int],
) -> dict[str, str]:
    """The variables of the role's Runtime/Environment, valued for this local instance.

    Only the settings the .csdef declares exist in the role environment, as in Azure.
    An empty SECRET_KEY is filled from ``.local-secret-key``.
    """
    role = instance.role
    values = configuration.role(role.name).settings
    missing = [name for name in role.settings if name not in values]
    if missing:
        raise ModelError(
            configuration.path,
            f"role {role.name} gives no value to the declared setting(s) {', '.join(missing)}",
        )
    settings = {name: values[name] for name in role.settings}
    document = role_environment(
        deployment_id, instance, settings, ports, local_resource_folders(service.root, instance)
    )
    variables = {}
    for variable in role.environment:
        if variable.xpath is None:
            variables[variable.name] = variable.value or ""
            continue
        try:
            variables[variable.name] = resolve(variable.xpath, document)
        except UnresolvedXPath as error:
            raise ModelError(
                service.definition.path,
                f"role {role.name}, variable {variable.name}: {error} in the local role environment"
                " (is every setting it names declared in the .csdef?)",
            ) from None
    if variables.get("SECRET_KEY") == "":
        variables["SECRET_KEY"] = local_secret_key(service.root)
    return variables
