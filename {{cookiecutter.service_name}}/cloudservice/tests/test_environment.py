from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudservice.environment import (
    KEY_FILE,
    LOCAL_RESOURCES,
    Instance,
    UnresolvedXPath,
    instance_environment,
    resolve,
    role_environment,
)
from cloudservice.model import Endpoint, LocalStorage, ModelError, RoleDefinition


def a_role(**overrides) -> RoleDefinition:
    fields = dict(
        name="Api",
        web=True,
        vm_size="Standard_D1_v2",
        sites=(),
        endpoints=(Endpoint("HttpIn", "InputEndpoint", "http", 80, None, None),),
        settings=("QueueName",),
        local_storage=(LocalStorage("DiagnosticStore", 4096, False),),
        startup=(),
        environment=(),
        entry_point=None,
        imports=(),
        certificates=(),
    )
    return RoleDefinition(**(fields | overrides))


@pytest.fixture
def document():
    instance = Instance(a_role(), index=1, count=2)
    return role_environment(
        "deployment-1",
        instance,
        settings={"QueueName": "orders", "Quote": 'it\'s "here"'},
        ports={"HttpIn": 8080},
        resources={"DiagnosticStore": Path("/data/Api_IN_1/DiagnosticStore")},
    )


@pytest.mark.parametrize(
    ("xpath", "value"),
    [
        ("/RoleEnvironment/Deployment/@emulated", "true"),
        ("/RoleEnvironment/Deployment/@id", "deployment-1"),
        ("/RoleEnvironment/CurrentInstance/@id", "Api_IN_1"),
        ("/RoleEnvironment/CurrentInstance/@roleName", "Api"),
        (
            "/RoleEnvironment/CurrentInstance/ConfigurationSettings"
            "/ConfigurationSetting[@name='QueueName']/@value",
            "orders",
        ),
        (
            "/RoleEnvironment/CurrentInstance/ConfigurationSettings"
            "/ConfigurationSetting[@name='Quote']/@value",
            'it\'s "here"',
        ),
        ("/RoleEnvironment/CurrentInstance/Endpoints/Endpoint[@name='HttpIn']/@port", "8080"),
        (
            "/RoleEnvironment/CurrentInstance/Endpoints/Endpoint[@name='HttpIn']/@address",
            "127.0.0.1",
        ),
        (
            "/RoleEnvironment/CurrentInstance/LocalResources"
            "/LocalResource[@name='DiagnosticStore']/@path",
            str(Path("/data/Api_IN_1/DiagnosticStore")),
        ),
        ("  /RoleEnvironment/Deployment/@id  ", "deployment-1"),
    ],
)
def test_resolves_role_instance_value_xpaths(document, xpath, value):
    assert resolve(xpath, document) == value


@pytest.mark.parametrize(
    ("xpath", "problem"),
    [
        (
            "/RoleEnvironment/CurrentInstance/ConfigurationSettings"
            "/ConfigurationSetting[@name='Missing']/@value",
            "selects nothing",
        ),
        ("/RoleEnvironment/Deployment/@colour", "selects nothing"),
        ("/RoleEnvironment/Deployment", "is not of the form"),
        ("/Elsewhere/Deployment/@id", "is not of the form"),
        ("/RoleEnvironmentX/Deployment/@id", "is not of the form"),
        ("/RoleEnvironment/CurrentInstance/Endpoints/Endpoint[@name=/@port", "is not of the form"),
        ("/RoleEnvironment/CurrentInstance/Endpoints/Endpoint[1]/@port", "is not of the form"),
    ],
)
def test_an_xpath_that_selects_nothing_is_an_error(document, xpath, problem):
    with pytest.raises(UnresolvedXPath, match=re.escape(problem)):
        resolve(xpath, document)


def test_instances_are_named_as_azure_names_them():
    role = a_role()
    assert Instance(role, 0, 1).id == "Api_IN_0"
    assert Instance(role, 0, 1).label == "Api"
    assert Instance(role, 1, 2).label == "Api_IN_1"


def test_every_role_gets_its_environment_from_the_local_configuration(service_copy):
    configuration = service_copy.configuration("Local")
    for role in service_copy.roles:
        instance = Instance(role, 0, 1)
        ports = {endpoint.name: 8000 + n for n, endpoint in enumerate(role.endpoints)}
        environment = instance_environment(service_copy, configuration, instance, "d1", ports)
        assert environment["EMULATED"] == "true"
        assert environment["DEPLOYMENT_ID"] == "d1"
        assert environment["ROLE_NAME"] == role.name
        assert environment["ROLE_INSTANCE_ID"] == f"{role.name}_IN_0"
        store = Path(environment["DIAGNOSTIC_STORE"])
        assert store.is_dir()
        assert store.is_relative_to(service_copy.root / LOCAL_RESOURCES)
        for name, value in configuration.role(role.name).settings.items():
            if name in environment and not (name == "SECRET_KEY" and value == ""):
                assert environment[name] == value, name


def test_a_changed_setting_is_seen_at_the_next_start(service_copy):
    role = service_copy.roles[0]
    setting = next(v.name for v in role.environment if "ConfigurationSetting[" in (v.xpath or ""))
    path = service_copy.root / "ServiceConfiguration.Local.cscfg"
    text = path.read_text(encoding="utf-8")
    start = text.index(f'<Role name="{role.name}">')
    pattern = re.compile(rf'(<Setting name="{setting}" value=")[^"]*(")')
    changed = text[:start] + pattern.sub(r"\g<1>changed\g<2>", text[start:], count=1)
    path.write_text(changed, encoding="utf-8")

    configuration = service_copy.configuration("Local")
    ports = {endpoint.name: 8080 for endpoint in role.endpoints}
    instance = Instance(role, 0, 1)
    environment = instance_environment(service_copy, configuration, instance, "d", ports)
    assert environment[setting] == "changed"


def test_an_empty_secret_key_comes_from_the_local_key_file(service_copy):
    web = [role for role in service_copy.roles if "SECRET_KEY" in role.settings]
    if not web:
        pytest.skip("this solution has no role with a SECRET_KEY setting")
    role = web[0]
    configuration = service_copy.configuration("Local")
    assert configuration.role(role.name).settings["SECRET_KEY"] == ""
    ports = {endpoint.name: 8080 for endpoint in role.endpoints}

    first = instance_environment(service_copy, configuration, Instance(role, 0, 1), "d", ports)
    key = (service_copy.root / KEY_FILE).read_text(encoding="utf-8").strip()
    assert len(key) >= 50
    assert first["SECRET_KEY"] == key
    again = instance_environment(service_copy, configuration, Instance(role, 0, 1), "d", ports)
    assert again["SECRET_KEY"] == key


def test_a_declared_setting_without_a_local_value_is_an_error(service_copy):
    role = service_copy.roles[0]
    undeclared = a_role(name=role.name, settings=(*role.settings, "Forgotten"))
    configuration = service_copy.configuration("Local")
    with pytest.raises(ModelError, match="gives no value to the declared setting.* Forgotten"):
        instance_environment(service_copy, configuration, Instance(undeclared, 0, 1), "d", {})
