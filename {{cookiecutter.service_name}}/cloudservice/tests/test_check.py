from __future__ import annotations

import ast
import json
import re
from pathlib import PureWindowsPath

import pytest

from cloudservice import check
from cloudservice.tests.solution_copy import copy_solution, edit


@pytest.fixture
def copy(tmp_path):
    return copy_solution(tmp_path / "solution")


def lines(root) -> list[str]:
    _, problems = check.problems(root)
    return [str(problem) for problem in problems]


def test_this_solution_passes(copy):
    assert lines(copy.root) == []
    solution, _ = check.problems(copy.root)
    assert check.summary(solution).startswith(f"OK: {copy.name}: ")


def test_a_setting_without_a_value_and_one_not_declared(copy):
    role = copy.roles[0]
    cscfg = copy.root / "ServiceConfiguration.Local.cscfg"
    edit(cscfg, '<Setting name="StorageConnectionString"', '<Setting name="Renamed"')
    assert lines(copy.root) == [
        f"ServiceConfiguration.Local.cscfg: role {role.name} gives no value to the setting"
        " StorageConnectionString",
        f"ServiceConfiguration.Local.cscfg: role {role.name} has the setting Renamed, which"
        " ServiceDefinition.csdef does not declare for it",
    ]


def test_a_setting_that_no_variable_reads(copy):
    """Declared and valued, but never passed to the role's processes on the VMs."""
    role = copy.roles[-1]
    definition = copy.root / "ServiceDefinition.csdef"
    text = definition.read_text(encoding="utf-8")
    element = "WebRole" if role.web else "WorkerRole"
    start = text.index(f'<{element} name="{role.name}"')
    end = text.index(f"</{element}>", start)
    variable = re.compile(r'<Variable name="APPLICATIONINSIGHTS_CONNECTION_STRING">.*?</Variable>')
    definition.write_text(text[:start] + variable.sub("", text[start:end]) + text[end:], "utf-8")
    assert lines(copy.root) == [
        f"ServiceDefinition.csdef: role {role.name} declares the setting"
        " APPLICATIONINSIGHTS_CONNECTION_STRING, but no <Variable> of its <Runtime><Environment>"
        ' reads it (<RoleInstanceValue xpath="/RoleEnvironment/CurrentInstance/'
        "ConfigurationSettings/ConfigurationSetting"
        "[@name='APPLICATIONINSIGHTS_CONNECTION_STRING']/@value\" />): its"
        " processes on the VMs would not see it"
    ]


def test_deploy_parameters_must_match_the_cloud_instances(copy):
    path = copy.root / check.DEPLOY_PARAMETERS
    parameters = json.loads(path.read_text(encoding="utf-8"))
    parameters["parameters"]["roles"]["value"][0]["instanceCount"] = 7
    path.write_text(json.dumps(parameters), encoding="utf-8")
    (problem,) = lines(copy.root)
    assert problem.startswith(f"deploy/main.parameters.json: role {copy.roles[0].name} has")
    assert "instanceCount 7, but ServiceConfiguration.Cloud.cscfg has" in problem


def test_an_unreadable_definition_is_one_problem(copy):
    (copy.root / "ServiceDefinition.csdef").write_text("<ServiceDefinition", encoding="utf-8")
    (problem,) = lines(copy.root)
    assert problem.startswith("ServiceDefinition.csdef: is not well-formed XML")


@pytest.mark.parametrize(
    ("command_line", "base", "files"),
    [
        (
            "ps.cmd ConfigureCloudService.ps1",
            "bin",
            ["bin/ps.cmd", "bin/ConfigureCloudService.ps1"],
        ),
        (
            "bin\\ps.cmd ConfigureCloudService.ps1",
            "",
            ["bin/ps.cmd", "bin/ConfigureCloudService.ps1"],
        ),
        (
            "bin\\ps.cmd LaunchWorker.ps1 worker.py",
            "",
            ["bin/ps.cmd", "bin/LaunchWorker.ps1", "worker.py"],
        ),
        (
            'bin\\ps.cmd LaunchWorker.ps1 "jobs\\my jobs.py"',
            "",
            ["bin/ps.cmd", "bin/LaunchWorker.ps1", "jobs/my jobs.py"],
        ),
    ],
)
def test_files_a_command_line_runs(command_line, base, files):
    assert check.command_files(command_line, PureWindowsPath(base)) == files


def test_top_level_names_follow_blocks_and_skip_functions():
    tree = ast.parse(
        "import os.path\nfrom x import y as z\napp = make()\n"
        "try:\n    import a\nexcept ImportError:\n    b = 1\n"
        "if True:\n    c: int = 2\ndef f():\n    hidden = 3\nclass K: ...\n"
    )
    assert check.top_level_names(tree) == {"os", "z", "app", "a", "b", "c", "f", "K"}
    assert check.top_level_names(ast.parse("from x import *")) is None


def test_application_problems(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "wsgi.py").write_text("application = object()\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    assert check.application_problem(tmp_path, "pkg.wsgi:application") is None
    assert "defines no app" in check.application_problem(tmp_path, "pkg.wsgi:app")
    assert "has no module nothere" in check.application_problem(tmp_path, "nothere:app")
    assert "does not parse" in check.application_problem(tmp_path, "broken:app")
    assert check.application_problem(tmp_path, "nothere:app", "ASGI") == (
        "names the ASGI application nothere:app, but the role has no module nothere"
    )


# A service as the Visual Studio Python tools made them for classic Cloud Services: no
# vmsize on the web role, the diagnostics and remote desktop plugins with their settings
# and certificate, a retired Guest OS, no virtual network, a virtual application, and one
# certificate of its own.
CLASSIC_DEFINITION = """<?xml version="1.0" encoding="utf-8"?>
<ServiceDefinition name="Bookshop" schemaVersion="2015-04.2.6"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition">
  <WebRole name="Storefront">
    <Sites>
      <Site name="Web">
        <VirtualApplication name="manual" physicalDirectory="Manual" />
        <Bindings>
          <Binding name="Endpoint1" endpointName="Endpoint1" />
          <Binding name="Endpoint2" endpointName="Endpoint2" />
        </Bindings>
      </Site>
    </Sites>
    <Startup>
      <Task commandLine="ps.cmd ConfigureCloudService.ps1" executionContext="elevated" />
    </Startup>
    <Endpoints>
      <InputEndpoint name="Endpoint1" protocol="http" port="80" />
      <InputEndpoint name="Endpoint2" protocol="https" port="443" certificate="Storefront" />
    </Endpoints>
    <Imports>
      <Import moduleName="Diagnostics" />
      <Import moduleName="RemoteAccess" />
      <Import moduleName="RemoteForwarder" />
    </Imports>
    <Certificates>
      <Certificate name="Storefront" storeLocation="LocalMachine" storeName="My" />
    </Certificates>
  </WebRole>
  <WorkerRole name="Orders" vmsize="ExtraLarge">
    <Imports>
      <Import moduleName="Diagnostics" />
    </Imports>
    <ConfigurationSettings>
      <Setting name="Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString" />
    </ConfigurationSettings>
    <Runtime>
      <EntryPoint>
        <ProgramEntryPoint commandLine="bin\\ps.cmd LaunchWorker.ps1 worker.py"
            setReadyOnProcessStart="true" />
      </EntryPoint>
    </Runtime>
  </WorkerRole>
</ServiceDefinition>
"""

CLASSIC_CONFIGURATION = """<?xml version="1.0" encoding="utf-8"?>
<ServiceConfiguration serviceName="Bookshop" osFamily="{os_family}" osVersion="*"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration">
  <Role name="Storefront">
    <Instances count="{count}" />
    <ConfigurationSettings>
      <Setting name="Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString"
          value="UseDevelopmentStorage=true" />
      <Setting name="Microsoft.WindowsAzure.Plugins.RemoteAccess.Enabled" value="true" />
      <Setting name="Microsoft.WindowsAzure.Plugins.RemoteAccess.AccountUsername" value="ops" />
      <Setting name="Microsoft.WindowsAzure.Plugins.RemoteForwarder.Enabled" value="true" />
    </ConfigurationSettings>
    <Certificates>
      <Certificate name="Storefront" thumbprint="{thumbprint}" thumbprintAlgorithm="sha1" />
      <Certificate name="Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption"
          thumbprint="FEDCBA9876543210FEDCBA9876543210FEDCBA98" thumbprintAlgorithm="sha1" />
    </Certificates>
  </Role>
  <Role name="Orders">
    <Instances count="1" />
    <ConfigurationSettings>
      <Setting name="Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString"
          value="UseDevelopmentStorage=true" />
    </ConfigurationSettings>
  </Role>
</ServiceConfiguration>
"""
THUMBPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def write_classic_service(root):
    """The classic service with the files its roles run, and deploy files that agree."""
    files = {
        "ServiceDefinition.csdef": CLASSIC_DEFINITION,
        "ServiceConfiguration.Cloud.cscfg": CLASSIC_CONFIGURATION.format(
            os_family="4", count="two", thumbprint=THUMBPRINT
        ),
        "ServiceConfiguration.Local.cscfg": CLASSIC_CONFIGURATION.format(
            os_family="4", count="1", thumbprint=THUMBPRINT
        ),
        "deploy/main.bicep": "// the resources\n",
        "deploy/main.parameters.json": json.dumps(
            {
                "parameters": {
                    "roles": {
                        "value": [
                            {"name": "Storefront", "vmSize": "Small", "instanceCount": 2},
                            {"name": "Orders", "vmSize": "ExtraLarge", "instanceCount": 1},
                        ]
                    }
                }
            }
        ),
        "Storefront/requirements.txt": "flask\nwfastcgi\n",
        "Storefront/web.config": '<configuration><appSettings><add key="WSGI_HANDLER"'
        ' value="app.wsgi_app" /></appSettings></configuration>',
        "Storefront/app.py": "wsgi_app = object()\n",
        "Storefront/bin/ps.cmd": "@echo off\n",
        "Storefront/bin/ConfigureCloudService.ps1": "# installs FastCgi and wfastcgi\n",
        "Storefront/Manual/index.html": "<p>manual</p>\n",
        "Orders/requirements.txt": "azure-storage-queue\n",
        "Orders/worker.py": "print('working')\n",
        "Orders/bin/ps.cmd": "@echo off\n",
        "Orders/bin/LaunchWorker.ps1": "# runs the worker\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_classic_service_gets_every_problem_once(tmp_path):
    root = write_classic_service(tmp_path)
    found = lines(root)
    cloud, local = "ServiceConfiguration.Cloud.cscfg", "ServiceConfiguration.Local.cscfg"
    csdef = "ServiceDefinition.csdef"
    plugin_settings = (
        "role Storefront has the plugin settings"
        " Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString,"
        " Microsoft.WindowsAzure.Plugins.RemoteAccess.Enabled,"
        " Microsoft.WindowsAzure.Plugins.RemoteAccess.AccountUsername,"
        " Microsoft.WindowsAzure.Plugins.RemoteForwarder.Enabled; Cloud Services (extended"
        " support) has no plugins: remove them"
    )
    rdp = (
        "role Storefront has the certificate"
        " Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption of the classic remote"
        " desktop plugin; Cloud Services (extended support) gives remote desktop through the"
        " RDP extension: remove the certificate"
    )
    expected = [
        # The bad count hides nothing after it in the file.
        f'{cloud}: <Instances count="two"> is not a whole number',
        f'{cloud}: osFamily="4" is Windows Server 2012 R2, a retired Guest OS family; Cloud'
        " Services (extended support) runs 5 (Windows Server 2016), 6 (Windows Server 2019)"
        " or 7 (Windows Server 2022)",
        f"{csdef}: role Storefront has no vmsize, which classic Cloud Services took as Small;"
        ' Cloud Services (extended support) needs vmsize="Standard_A1_v2", the ARM size of'
        " Small",
        f'{csdef}: role Orders has the classic vmsize="ExtraLarge"; Cloud Services (extended'
        ' support) needs vmsize="Standard_A8_v2", the ARM size of ExtraLarge',
        f"{cloud}: {plugin_settings}",
        f"{local}: {plugin_settings}",
        f"{cloud}: {rdp}",
        f"{local}: {rdp}",
        f"deploy/main.parameters.json: certificates has no Key Vault secret for the"
        f" certificate Storefront of role Storefront in {cloud} (Cloud Services (extended"
        ' support) installs certificates only from Key Vault): add {"thumbprint":'
        f' "{THUMBPRINT}", "certificateUrl":'
        ' "https://<vault>.vault.azure.net/secrets/<name>/<version>"}',
    ]
    orders_diagnostics = [
        f"{csdef}: role Orders declares the plugin setting"
        " Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString; Cloud Services (extended"
        " support) has no plugins: remove it",
        *(
            f"{file}: role Orders has the plugin setting"
            " Microsoft.WindowsAzure.Plugins.Diagnostics.ConnectionString; Cloud Services"
            " (extended support) has no plugins: remove it"
            for file in (cloud, local)
        ),
    ]
    for line in expected + orders_diagnostics:
        assert found.count(line) == 1, f"{line}\nnot once in:\n" + "\n".join(found)
    assert [line for line in found if "role Orders" in line and "Plugins" in line] == (
        orders_diagnostics
    )
    assert len(found) == len(set(found)), "\n".join(found)
    # Each plugin setting is in the two lines above and nowhere else.
    assert [line for line in found if "RemoteAccess.Enabled" in line] == expected[4:6]
    # The sizes are wrong in the .csdef; the parameters are not blamed for them too.
    assert not [line for line in found if "vmSize" in line], found


def test_a_csdef_without_its_namespace_says_so_and_is_read_on(tmp_path):
    root = write_classic_service(tmp_path)
    csdef = root / "ServiceDefinition.csdef"
    text = csdef.read_text(encoding="utf-8")
    namespace = ' xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition"'
    csdef.write_text(text.replace(namespace, ""), encoding="utf-8")
    found = lines(root)
    assert found[0] == (
        "ServiceDefinition.csdef: the root element <ServiceDefinition> has no namespace; it"
        ' needs xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition"'
    )
    # The roles are still read, so their problems are reported in the same run.
    assert any("role Orders has the classic vmsize" in line for line in found), found


@pytest.mark.parametrize(
    ("family", "problem"),
    [
        ("2", 'osFamily="2" is Windows Server 2008 R2 SP1, a retired Guest OS family'),
        ("3", 'osFamily="3" is Windows Server 2012, a retired Guest OS family'),
        ("4", 'osFamily="4" is Windows Server 2012 R2, a retired Guest OS family'),
        ("9", 'osFamily="9" is not a Guest OS family'),
        ("5", None),
        ("6", None),
        ("7", None),
    ],
)
def test_only_guest_os_families_5_and_newer_pass(copy, family, problem):
    cloud = copy.root / "ServiceConfiguration.Cloud.cscfg"
    text = cloud.read_text(encoding="utf-8")
    cloud.write_text(re.sub(r'osFamily="\d+"', f'osFamily="{family}"', text), encoding="utf-8")
    found = [line for line in lines(copy.root) if "osFamily" in line]
    if problem is None:
        assert found == []
    else:
        assert found == [
            f"ServiceConfiguration.Cloud.cscfg: {problem}; Cloud Services (extended support)"
            " runs 5 (Windows Server 2016), 6 (Windows Server 2019) or 7 (Windows Server 2022)"
        ]


@pytest.mark.parametrize(
    ("classic", "arm"),
    [(name, arm) for name, arm in check.CLASSIC_VM_SIZES.items()],
)
def test_each_classic_size_is_named_with_what_to_use(copy, classic, arm):
    role = copy.roles[-1]
    edit(
        copy.root / "ServiceDefinition.csdef",
        f'<{"WebRole" if role.web else "WorkerRole"} name="{role.name}" vmsize="{role.vm_size}"',
        f'<{"WebRole" if role.web else "WorkerRole"} name="{role.name}" vmsize="{classic}"',
    )
    (problem,) = lines(copy.root)
    use = (
        f'vmsize="{arm}", the ARM size of {classic}'
        if arm
        else f"an ARM size such as Standard_D1_v2 ({classic} has no ARM equivalent)"
    )
    assert problem == (
        f'ServiceDefinition.csdef: role {role.name} has the classic vmsize="{classic}";'
        f" Cloud Services (extended support) needs {use}"
    )


@pytest.mark.parametrize("typo", ["Standard_D1v2", "Standard_D1_V2", "standard_d1", "Standard_D"])
def test_a_misspelt_vm_size_is_named(copy, typo):
    role = copy.roles[-1]
    edit(
        copy.root / "ServiceDefinition.csdef",
        f'<{"WebRole" if role.web else "WorkerRole"} name="{role.name}" vmsize="{role.vm_size}"',
        f'<{"WebRole" if role.web else "WorkerRole"} name="{role.name}" vmsize="{typo}"',
    )
    assert lines(copy.root) == [
        f'ServiceDefinition.csdef: role {role.name} has vmsize="{typo}"; Cloud Services (extended'
        " support) needs an ARM size such as Standard_D1_v2 (Small is Standard_A1_v2)"
    ]


@pytest.mark.parametrize("name", ["N" * 65, "-vnet", "my vnet", "v"])
def test_a_virtual_network_name_azure_refuses_is_named(copy, name):
    cloud = copy.root / "ServiceConfiguration.Cloud.cscfg"
    parameters = copy.root / "deploy" / "main.parameters.json"
    network = re.search(r'<VirtualNetworkSite name="([^"]+)"', cloud.read_text(encoding="utf-8"))[1]
    edit(cloud, f'<VirtualNetworkSite name="{network}"', f'<VirtualNetworkSite name="{name}"')
    edit(parameters, f'"value": "{network}"', f'"value": "{name}"')
    assert lines(copy.root) == [
        f'ServiceConfiguration.Cloud.cscfg: names the virtual network "{name}"; Azure\'s names'
        " of virtual networks have 2-64 letters, digits, '_', '.' and '-', start with a letter"
        " or digit and end with a letter, digit or '_'"
    ]


def test_a_certificate_needs_its_key_vault_secret(copy):
    role = copy.roles[0]
    element = "WebRole" if role.web else "WorkerRole"
    edit(
        copy.root / "ServiceDefinition.csdef",
        f"</{element}>",
        f'<Certificates><Certificate name="Tls" storeLocation="LocalMachine" storeName="My" />'
        f"</Certificates></{element}>",
    )
    cloud = copy.root / "ServiceConfiguration.Cloud.cscfg"
    edit(
        cloud,
        f'<Role name="{role.name}">',
        f'<Role name="{role.name}"><Certificates><Certificate name="Tls"'
        f' thumbprint="{THUMBPRINT.lower()}" thumbprintAlgorithm="sha1" /></Certificates>',
    )
    (problem,) = lines(copy.root)
    assert problem.startswith(
        "deploy/main.parameters.json: certificates has no Key Vault secret for the certificate"
        f" Tls of role {role.name} in ServiceConfiguration.Cloud.cscfg"
    )
    path = copy.root / check.DEPLOY_PARAMETERS
    parameters = json.loads(path.read_text(encoding="utf-8"))
    entry = {"thumbprint": THUMBPRINT, "certificateUrl": "https://v.vault.azure.net/secrets/tls/1"}
    parameters["parameters"]["certificates"]["value"] = [entry]
    path.write_text(json.dumps(parameters), encoding="utf-8")
    assert lines(copy.root) == [
        "deploy/main.parameters.json: keyVaultId is empty, but certificates lists Key Vault"
        " secrets; give the resource ID of the Key Vault that holds them"
    ]
    parameters["parameters"]["keyVaultId"]["value"] = "/subscriptions/s/resourceGroups/g/x/v"
    path.write_text(json.dumps(parameters), encoding="utf-8")
    assert lines(copy.root) == []


# A service shaped like the ones Visual Studio makes for Cloud Services (extended support):
# content copied from a build folder, an instance input endpoint, a reserved IP address and
# a certificate from Key Vault. Nothing in it is wrong for Azure.
CSES_DEFINITION = """<?xml version="1.0" encoding="utf-8"?>
<ServiceDefinition name="Contoso" schemaVersion="2015-04.2.6"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition">
  <WebRole name="Portal" vmsize="Standard_D1_v2">
    <Sites>
      <Site name="Web">
        <Bindings><Binding name="Https" endpointName="Https" /></Bindings>
      </Site>
    </Sites>
    <Endpoints>
      <InputEndpoint name="Https" protocol="https" port="443" certificate="Tls" />
      <InstanceInputEndpoint name="Admin" protocol="tcp" localPort="8172">
        <AllocatePublicPortFrom><FixedPortRange min="10016" max="10020" /></AllocatePublicPortFrom>
      </InstanceInputEndpoint>
    </Endpoints>
    <Certificates>
      <Certificate name="Tls" storeLocation="LocalMachine" storeName="My" />
    </Certificates>
    <Contents>
      <Content destination=".\\">
        <SourceDirectory path="C:\\build\\Contoso\\Release\\PortalContent\\" />
      </Content>
    </Contents>
  </WebRole>
</ServiceDefinition>
"""

CSES_CONFIGURATION = """<?xml version="1.0" encoding="utf-8"?>
<ServiceConfiguration serviceName="Contoso" osFamily="6" osVersion="*" schemaVersion="2015-04.2.6"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration">
  <Role name="Portal">
    <Instances count="2" />
    <Certificates>
      <Certificate name="Tls" thumbprintAlgorithm="sha1"
          thumbprint="3b fc 4e 04 c0 34 e2 1b 85 2a 8d 18 b4 ff 47 95 53 38 fe e9" />
    </Certificates>
  </Role>
  <NetworkConfiguration>
    <VirtualNetworkSite name="contoso-vnet" />
    <AddressAssignments>
      <InstanceAddress roleName="Portal">
        <Subnets><Subnet name="web" /></Subnets>
      </InstanceAddress>
      <ReservedIPs><ReservedIP name="contoso-ip" /></ReservedIPs>
    </AddressAssignments>
  </NetworkConfiguration>
</ServiceConfiguration>
"""


def test_a_service_made_for_extended_support_is_not_blamed_for_what_is_right(tmp_path):
    files = {
        "ServiceDefinition.csdef": CSES_DEFINITION,
        "ServiceConfiguration.Cloud.cscfg": CSES_CONFIGURATION,
        "ServiceConfiguration.Local.cscfg": CSES_CONFIGURATION,
        "deploy/main.bicep": "// the resources\n",
        "deploy/main.parameters.json": json.dumps(
            {
                "parameters": {
                    "roles": {
                        "value": [
                            {"name": "Portal", "vmSize": "Standard_D1_v2", "instanceCount": 2}
                        ]
                    },
                    "virtualNetworkName": {"value": "contoso-vnet"},
                    "subnetName": {"value": "web"},
                    "keyVaultId": {"value": "/subscriptions/s/resourceGroups/g/vaults/contoso"},
                    "certificates": {
                        "value": [
                            {
                                "thumbprint": "3BFC4E04C034E21B852A8D18B4FF47955338FEE9",
                                "certificateUrl": "https://contoso.vault.azure.net/secrets/tls/1",
                            }
                        ]
                    },
                }
            }
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    # What this tool needs of a role that Visual Studio's roles lack: the Python pin and the
    # role folder; and of the service, its description for Container Apps. Nothing else.
    assert lines(tmp_path) == [
        'ServiceDefinition.csdef: role Portal has no <Variable name="PYTHON_BUILD" value="...">'
        " in its runtime environment",
        "Portal: the folder of the role Portal is missing",
        "azure.yaml: not found; run python -m cloudservice containerapps",
        "infra/main.bicep: not found; run python -m cloudservice containerapps",
    ]
    (tmp_path / "deploy" / "main.parameters.json").write_text("[]", encoding="utf-8")
    found = lines(tmp_path)
    assert 'deploy/main.parameters.json: is not a parameters file: no "parameters" object' in found
