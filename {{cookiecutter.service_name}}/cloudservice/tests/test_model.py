from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cloudservice.model import (
    DEFINITION_NS,
    ModelError,
    Service,
    Variable,
    VirtualPath,
    read_configuration,
    read_definition,
    read_web_config,
)

DEFINITION = f"""<?xml version="1.0" encoding="utf-8"?>
<ServiceDefinition name="Shop" xmlns="{DEFINITION_NS}">
  <LoadBalancerProbes>
    <LoadBalancerProbe name="SiteHealth" protocol="http" path="/health" port="80" />
  </LoadBalancerProbes>
  <WebRole name="Site" vmsize="Standard_D1_v2">
    <Sites>
      <Site name="Web">
        <Bindings><Binding name="HttpIn" endpointName="HttpIn" /></Bindings>
      </Site>
    </Sites>
    <Startup>
      <Task commandLine="ps.cmd Setup.ps1" executionContext="elevated" taskType="simple" />
    </Startup>
    <Runtime>
      <Environment>
        <Variable name="GREETING" value="hello" />
        <Variable name="ROLE_NAME">
          <RoleInstanceValue xpath="/RoleEnvironment/CurrentInstance/@roleName" />
        </Variable>
      </Environment>
    </Runtime>
    <Endpoints>
      <InputEndpoint name="HttpIn" protocol="http" port="80" loadBalancerProbe="SiteHealth" />
      <InternalEndpoint name="Admin" protocol="tcp" />
    </Endpoints>
    <Imports><Import moduleName="Diagnostics" /></Imports>
    <ConfigurationSettings><Setting name="Colour" /></ConfigurationSettings>
    <LocalResources>
      <LocalStorage name="DiagnosticStore" sizeInMB="4096" cleanOnRoleRecycle="false" />
    </LocalResources>
  </WebRole>
  <WorkerRole name="Jobs" vmsize="Standard_A1_v2">
    <Runtime>
      <EntryPoint>
        <ProgramEntryPoint commandLine='bin\\ps.cmd LaunchWorker.ps1 "my jobs.py"' />
      </EntryPoint>
    </Runtime>
  </WorkerRole>
</ServiceDefinition>
"""

CONFIGURATION = """<?xml version="1.0" encoding="utf-8"?>
<ServiceConfiguration serviceName="Shop" osFamily="7" osVersion="*"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration">
  <Role name="Site">
    <Instances count="3" />
    <ConfigurationSettings>
      <Setting name="Colour" value="blue &amp; green" />
    </ConfigurationSettings>
  </Role>
  <Role name="Jobs">
    <Instances count="1" />
  </Role>
  <NetworkConfiguration>
    <VirtualNetworkSite name="shop-vnet" />
    <AddressAssignments>
      <InstanceAddress roleName="Site"><Subnets><Subnet name="front" /></Subnets></InstanceAddress>
    </AddressAssignments>
  </NetworkConfiguration>
</ServiceConfiguration>
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_roles_endpoints_settings_and_environment(tmp_path):
    definition = read_definition(write(tmp_path / "ServiceDefinition.csdef", DEFINITION))
    assert definition.name == "Shop"
    assert [(r.name, r.kind) for r in definition.roles] == [("Site", "web"), ("Jobs", "worker")]
    site, jobs = definition.roles
    assert [(e.name, e.kind, e.protocol, e.port) for e in site.endpoints] == [
        ("HttpIn", "InputEndpoint", "http", 80),
        ("Admin", "InternalEndpoint", "tcp", None),
    ]
    assert site.endpoints[0].probe == "SiteHealth"
    assert definition.probes[0].path == "/health"
    assert site.sites[0].endpoints == ("HttpIn",)
    assert site.settings == ("Colour",)
    assert site.environment == (
        Variable("GREETING", value="hello"),
        Variable("ROLE_NAME", xpath="/RoleEnvironment/CurrentInstance/@roleName"),
    )
    assert site.startup[0].command_line == "ps.cmd Setup.ps1"
    assert site.startup[0].execution_context == "elevated"
    assert site.imports == ("Diagnostics",)
    assert site.local_storage[0].size_mb == 4096
    assert not site.local_storage[0].clean_on_role_recycle
    assert site.entry_point_script() is None
    assert jobs.vm_size == "Standard_A1_v2"
    assert jobs.entry_point_script() == "my jobs.py"
    command = "bin\\ps.cmd LaunchWorker.ps1 src\\jobs\\main.py --once"
    in_a_folder = dataclasses.replace(jobs, entry_point=command)
    assert in_a_folder.entry_point_script() == "src/jobs/main.py"


def test_reads_instances_settings_and_network(tmp_path):
    configuration = read_configuration(
        write(tmp_path / "ServiceConfiguration.Test.cscfg", CONFIGURATION)
    )
    assert configuration.name == "Test"
    assert configuration.service_name == "Shop"
    assert configuration.os_family == "7"
    assert configuration.role("Site").instances == 3
    assert configuration.role("Site").settings == {"Colour": "blue & green"}
    assert configuration.role("Jobs").settings == {}
    assert configuration.virtual_network == "shop-vnet"
    assert configuration.subnets == {"Site": ("front",)}
    with pytest.raises(ModelError, match=r'\.Test\.cscfg: has no <Role name="Api">'):
        configuration.role("Api")


def test_names_the_file_and_the_problem(tmp_path):
    with pytest.raises(ModelError, match=r"^ServiceDefinition.csdef: not found in "):
        read_definition(tmp_path / "ServiceDefinition.csdef")
    with pytest.raises(ModelError, match=r"^broken.cscfg: is not well-formed XML"):
        read_configuration(write(tmp_path / "broken.cscfg", "<ServiceConfiguration>"))
    bad_count = CONFIGURATION.replace('count="3"', 'count="three"')
    with pytest.raises(ModelError, match=r'<Instances count="three"> is not a whole number'):
        read_configuration(write(tmp_path / "ServiceConfiguration.Bad.cscfg", bad_count))
    wrong_root = CONFIGURATION.replace("ServiceConfiguration", "ServiceDefinition")
    with pytest.raises(ModelError, match=r"the root element is <ServiceDefinition>"):
        read_configuration(write(tmp_path / "wrong.cscfg", wrong_root))


def test_finds_a_role_by_name_ignoring_case(tmp_path):
    write(tmp_path / "ServiceDefinition.csdef", DEFINITION)
    service = Service.load(tmp_path)
    assert service.role("jobs").name == "Jobs"
    assert service.folder(service.role("Site")) == tmp_path / "Site"
    with pytest.raises(ModelError, match=r"has no role 'Api'; its roles are Site, Jobs"):
        service.role("Api")


@pytest.mark.parametrize(
    ("web_config", "server", "application", "asgi"),
    [
        (
            "<configuration><system.webServer><httpPlatform processPath='python.exe'"
            " arguments='-m waitress --listen=127.0.0.1:%HTTP_PLATFORM_PORT%"
            " website.wsgi:application' /></system.webServer></configuration>",
            "httpplatformhandler",
            "website.wsgi:application",
            False,
        ),
        (
            "<configuration><system.webServer><httpPlatform processPath='python.exe'"
            " arguments='-m uvicorn --host 127.0.0.1 --port %HTTP_PLATFORM_PORT% asgi:app' />"
            "</system.webServer></configuration>",
            "httpplatformhandler",
            "asgi:app",
            True,
        ),
        (
            '<configuration><appSettings><add key="WSGI_HANDLER" value="wsgi.app" />'
            "</appSettings></configuration>",
            "wfastcgi",
            "wsgi:app",
            False,
        ),
    ],
)
def test_reads_the_application_from_web_config(tmp_path, web_config, server, application, asgi):
    config = read_web_config(write(tmp_path / "web.config", web_config))
    assert (config.server, config.wsgi_application, config.asgi) == (server, application, asgi)


def test_a_web_config_without_an_application_is_an_error(tmp_path):
    with pytest.raises(ModelError, match=r"^web.config: has neither <httpPlatform> nor"):
        read_web_config(write(tmp_path / "web.config", "<configuration />"))


def test_this_solution_is_consistent(solution):
    """The model reads this solution's own files, and every role can be run from them."""
    assert solution.configuration_names() == ["Cloud", "Local"]
    for name in solution.configuration_names():
        configuration = solution.configuration(name)
        assert configuration.service_name == solution.name
        assert [r.name for r in configuration.roles] == [r.name for r in solution.roles]
    for role in solution.roles:
        folder = solution.folder(role)
        if role.web:
            module = solution.web_config(role).wsgi_application.partition(":")[0]
            path = folder.joinpath(*module.split("."))
            assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), module
        else:
            assert (folder / role.entry_point_script()).is_file()


def test_a_missing_namespace_is_named(tmp_path):
    bare = DEFINITION.replace(f' xmlns="{DEFINITION_NS}"', "")
    with pytest.raises(ModelError) as raised:
        read_definition(write(tmp_path / "ServiceDefinition.csdef", bare))
    assert raised.value.problem == (
        f'the root element <ServiceDefinition> has no namespace; it needs xmlns="{DEFINITION_NS}"'
    )
    other = CONFIGURATION.replace("2008/10/ServiceConfiguration", "2008/10/Other")
    with pytest.raises(ModelError, match=r'is in the namespace "http://schemas.microsoft.com/Serv'):
        read_configuration(write(tmp_path / "ServiceConfiguration.Test.cscfg", other))


def test_problems_are_collected_and_the_rest_is_read(tmp_path):
    bare = DEFINITION.replace(f' xmlns="{DEFINITION_NS}"', "").replace('port="80" l', 'port="x" l')
    problems = []
    definition = read_definition(write(tmp_path / "ServiceDefinition.csdef", bare), problems)
    assert [error.problem for error in problems] == [
        f'the root element <ServiceDefinition> has no namespace; it needs xmlns="{DEFINITION_NS}"',
        '<InputEndpoint port="x"> is not a whole number',
    ]
    assert [role.name for role in definition.roles] == ["Site", "Jobs"]
    assert definition.roles[0].endpoints[0].port is None
    assert definition.roles[1].vm_size == "Standard_A1_v2"

    broken = CONFIGURATION.replace('count="3"', 'count="two"')
    broken = broken.replace('<Instances count="1" />', "")
    problems = []
    configuration = read_configuration(
        write(tmp_path / "ServiceConfiguration.Test.cscfg", broken), problems
    )
    assert [str(error) for error in problems] == [
        'ServiceConfiguration.Test.cscfg: <Instances count="two"> is not a whole number',
        'ServiceConfiguration.Test.cscfg: <Role name="Jobs"> has no <Instances count=...>',
    ]
    assert [role.instances for role in configuration.roles] == [None, None]
    assert configuration.subnets == {"Site": ("front",)}


def test_reads_the_virtual_applications_and_directories_of_a_site(tmp_path):
    nested = DEFINITION.replace(
        '<Site name="Web">',
        '<Site name="Web"><VirtualApplication name="api" physicalDirectory="Api">'
        '<VirtualDirectory name="static" physicalDirectory="Api\\Static" />'
        '</VirtualApplication><VirtualDirectory name="files" />',
    )
    site = read_definition(write(tmp_path / "ServiceDefinition.csdef", nested)).roles[0].sites[0]
    assert site.virtual_paths == (
        VirtualPath("api", "VirtualApplication", "Api"),
        VirtualPath("api/static", "VirtualDirectory", "Api\\Static"),
        VirtualPath("files", "VirtualDirectory", None),
    )
    assert site.endpoints == ("HttpIn",)
