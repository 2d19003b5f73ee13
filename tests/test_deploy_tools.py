"""From a generated solution to a deployment: ``python -m cloudservice prepare``, ``check``,
``package`` and ``deploy``, and the files in ``deploy/``.

``prepare`` runs against the real PyPI; the Python NuGet package comes from a server on
127.0.0.1 (nuget.org is out of reach here, and the test must see each download).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import TEMPLATE, find_uv
from helpers import CSCFG_NS, DEFAULT_NAMES, KIND_COMBINATIONS, KINDS, csdef_roles

WINDOWS_WHEEL = re.compile(r"-(?:[^-]+\.)?(?:win_amd64|any)(?:\.[^-]+)?\.whl$")
# A package on PyPI that has never had a wheel, only its C source.
SOURCE_ONLY = "pycrypto"


def bake_solution(cookies, **answers) -> Path:
    answers.setdefault("install_packages", False)
    result = cookies.bake(extra_context=answers, template=str(TEMPLATE))
    assert result.exit_code == 0, result.exception
    return result.project_path


def tool(solution: Path, *arguments: str) -> subprocess.CompletedProcess:
    """``python -m cloudservice ...`` in the solution, with the Python running the tests
    (the tool needs only the standard library and pip)."""
    return subprocess.run(
        [sys.executable, "-m", "cloudservice", *arguments],
        cwd=solution, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip


def roles_of(answer: str) -> list[tuple[str, str]]:
    """(name, kind) of each role of a roles answer that names every role or none twice."""
    pairs = []
    for item in answer.replace(",", " ").split():
        name, _, kind = item.rpartition(":")
        pairs.append((name or DEFAULT_NAMES[kind], kind))
    return pairs


def cloud_instances(solution: Path) -> dict[str, int]:
    root = ElementTree.parse(solution / "ServiceConfiguration.Cloud.cscfg").getroot()
    return {role.get("name"): int(role.find(f"{CSCFG_NS}Instances").get("count"))
            for role in root.findall(f"{CSCFG_NS}Role")}  # fmt: skip


def python_version(solution: Path) -> str:
    text = (solution / "ServiceDefinition.csdef").read_text(encoding="utf-8")
    build = re.search(r'name="PYTHON_BUILD" value="(\d+\.\d+)\.\d+"', text)
    return build[1]


# prepare ---------------------------------------------------------------------------------


def offline_resolve(solution: Path, role: str, *packages: str) -> subprocess.CompletedProcess:
    """Resolve the role's requirements for Windows x64 from its wheelhouse alone, with uv
    (which evaluates environment markers for the target platform, as the VM's pip will)."""
    wheelhouse = solution / role / "bin" / "wheelhouse"
    extra = solution.parent / f"{role}-also.txt"
    extra.write_text("".join(f"{package}\n" for package in packages), encoding="utf-8")
    return subprocess.run(
        [find_uv(), "pip", "compile", "--quiet", "--no-header", "--python-platform", "x86_64-pc-windows-msvc",
         "--python-version", python_version(solution), "--no-index", "--find-links", str(wheelhouse),
         "--only-binary", ":all:", "--offline", "--no-cache", str(solution / role / "requirements.txt"),
         str(extra)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def wheels(folder: Path) -> dict[str, int]:
    """The wheels in a folder, with the time each was last written."""
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.whl")}


def test_prepare_downloads_windows_wheels_that_cover_every_role(cookies):
    solution = bake_solution(cookies, roles=" ".join(KINDS))
    first = tool(solution, "prepare", "--no-python")
    assert first.returncode == 0, first.stdout + first.stderr
    roles = [name for name, _ in roles_of(" ".join(KINDS))]
    wheelhouses = {name: solution / name / "bin" / "wheelhouse" for name in roles}

    for name, folder in wheelhouses.items():
        names = sorted(wheels(folder))
        assert names, name
        assert [wheel for wheel in names if not WINDOWS_WHEEL.search(wheel)] == [], name
        assert [path.name for path in folder.iterdir() if path.suffix != ".whl"] == [".prepared.json"]
        # What the start-up task installs from the wheelhouse besides requirements.txt.
        server = {"WorkerRole": [], DEFAULT_NAMES["fastapi"]: ["uvicorn"]}.get(name, ["waitress"])
        resolved = offline_resolve(solution, name, *server)
        assert resolved.returncode == 0, f"{name}:\n{resolved.stderr}"
    # Django needs tzdata on Windows only: pip on Linux would not download it unasked.
    assert list(wheelhouses["DjangoWebRole"].glob("tzdata-*.whl"))

    written = {name: wheels(folder) for name, folder in wheelhouses.items()}
    again = tool(solution, "prepare", "--no-python")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {name: wheels(folder) for name, folder in wheelhouses.items()} == written


def test_wfastcgi_roles_get_a_pure_python_wheel_of_it(cookies):
    solution = bake_solution(cookies, roles="Site:flask", web_server="wfastcgi", python_version="3.13")
    completed = tool(solution, "prepare", "--no-python")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    wheelhouse = solution / "Site" / "bin" / "wheelhouse"
    assert [p.name for p in wheelhouse.glob("wfastcgi-*.whl")] == ["wfastcgi-3.0.0-py2.py3-none-any.whl"]
    assert offline_resolve(solution, "Site", "wfastcgi").returncode == 0
    assert list(wheelhouse.glob("markupsafe-*-cp313-cp313-win_amd64.whl"))


def test_a_requirement_without_a_windows_wheel_stops_prepare(cookies):
    solution = bake_solution(cookies, roles="Shop:flask Jobs:worker")
    with (solution / "Jobs" / "requirements.txt").open("a", encoding="utf-8") as requirements:
        requirements.write(f"{SOURCE_ONLY}\n")
    completed = tool(solution, "prepare", "--no-python")
    assert completed.returncode == 1
    message = completed.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"cloudservice prepare: Jobs/requirements.txt: {SOURCE_ONLY} has no wheel for Windows x64"
        f" and CPython {python_version(solution)}: PyPI has only its source"
    ), message
    assert "role VMs have no compiler" in message


class NuGet(http.server.BaseHTTPRequestHandler):
    """Serves one file, /python.<build>.nupkg, and counts the downloads."""

    package: bytes = b""
    downloads: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        if not self.path.endswith(".nupkg"):
            self.send_error(404)
            return
        self.downloads.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.package)))
        self.end_headers()
        self.wfile.write(self.package)

    def log_message(self, *args):
        pass


@pytest.fixture
def nuget(tmp_path):
    """A server on 127.0.0.1 with a package laid out like CPython's on nuget.org."""
    package = tmp_path / "python.nupkg"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("python.nuspec", "<package />")
        archive.writestr("tools/python.exe", "MZ")
        archive.writestr("tools/Lib/os.py", "")
    handler = type("Handler", (NuGet,), {"package": package.read_bytes(), "downloads": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.downloads
    server.shutdown()
    server.server_close()


def test_prepare_unpacks_python_once(cookies, nuget):
    address, downloads = nuget
    solution = bake_solution(cookies, roles="Jobs:worker Other:worker")
    for role in ("Jobs", "Other"):  # no wheels to fetch: this test is about Python
        (solution / role / "requirements.txt").write_text("# nothing\n", encoding="utf-8")
    build = re.search(
        r'name="PYTHON_BUILD" value="([^"]+)"',
        (solution / "ServiceDefinition.csdef").read_text(encoding="utf-8"),
    )[1]
    url = f"{address}/python.{build}.nupkg"
    completed = tool(solution, "prepare", "--python-url", url)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert downloads == [f"/python.{build}.nupkg"], "one download serves both roles"
    for role in ("Jobs", "Other"):
        home = solution / role / "bin" / "python"
        assert (home / "tools" / "python.exe").read_text() == "MZ"
        assert (home / ".python-build").read_text().strip() == build
    again = tool(solution, "prepare", "--python-url", url)
    assert again.returncode == 0, again.stderr
    assert len(downloads) == 1
    assert f"Jobs: Python {build} is already in Jobs/bin/python" in again.stdout
    missing = tool(solution, "prepare", "--role", "Jobs", "--python-url", f"{address}/gone.zip")
    assert missing.returncode == 0, "the build that is there is left alone, wherever the URL points"


# check -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(cookies_session):
    """A solution with every kind of role, which the check tests copy and break."""
    return bake_solution(cookies_session, roles="Site:django Api:flask Blog:bottle Jobs:worker")


@pytest.fixture
def broken(pristine, tmp_path):
    copy = tmp_path / pristine.name
    shutil.copytree(pristine, copy)
    return copy


def replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


CSDEF = "ServiceDefinition.csdef"
CLOUD = "ServiceConfiguration.Cloud.cscfg"
LOCAL = "ServiceConfiguration.Local.cscfg"
PARAMETERS = "deploy/main.parameters.json"


def rename_service_in_local(root: Path) -> None:
    replace(root / LOCAL, 'serviceName="MyCloudService"', 'serviceName="Other"')


def rename_role_in_cloud(root: Path) -> None:
    replace(root / CLOUD, '<Role name="Api">', '<Role name="API">')


def drop_a_setting_value(root: Path) -> None:
    replace(root / CLOUD, '<Setting name="QueueName" value="jobs" />', "")


def add_an_undeclared_setting(root: Path) -> None:
    replace(
        root / LOCAL,
        '<Setting name="QueueName"',
        '<Setting name="Colour" value="blue" />\n<Setting name="QueueName"',
    )


def reuse_port_80(root: Path) -> None:
    replace(root / CSDEF, 'protocol="http" port="8080"', 'protocol="http" port="80"')


def drop_the_network(root: Path) -> None:
    text = (root / CLOUD).read_text(encoding="utf-8")
    (root / CLOUD).write_text(
        re.sub(r"<NetworkConfiguration>.*</NetworkConfiguration>", "", text, flags=re.S), encoding="utf-8"
    )


def drop_an_instance_address(root: Path) -> None:
    text = (root / CLOUD).read_text(encoding="utf-8")
    (root / CLOUD).write_text(
        re.sub(r'<InstanceAddress roleName="Blog">.*?</InstanceAddress>', "", text, flags=re.S),
        encoding="utf-8",
    )


def use_a_classic_vm_size(root: Path) -> None:
    replace(
        root / CSDEF,
        '<WorkerRole name="Jobs" vmsize="Standard_D1_v2">',
        '<WorkerRole name="Jobs" vmsize="Small">',
    )


def drop_the_vm_size(root: Path) -> None:
    replace(root / CSDEF, '<WorkerRole name="Jobs" vmsize="Standard_D1_v2">', '<WorkerRole name="Jobs">')


def drop_the_namespace(root: Path) -> None:
    replace(root / CLOUD, ' xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"', "")


def use_os_family_4(root: Path) -> None:
    replace(root / CLOUD, 'osFamily="7"', 'osFamily="4"')


def add_the_remote_desktop_certificate(root: Path) -> None:
    certificate = (
        '<Certificates><Certificate name="Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption"'
        ' thumbprint="FEDCBA9876543210FEDCBA9876543210FEDCBA98" thumbprintAlgorithm="sha1" /></Certificates>'
    )
    replace(root / CLOUD, '<Role name="Jobs">', f'<Role name="Jobs">{certificate}')


def give_a_certificate_without_key_vault(root: Path) -> None:
    replace(
        root / CSDEF,
        "</WorkerRole>",
        '<Certificates><Certificate name="Signing" storeLocation="LocalMachine" storeName="My" /></Certificates>'
        "</WorkerRole>",
    )
    replace(
        root / CLOUD,
        '<Role name="Jobs">',
        '<Role name="Jobs"><Certificates><Certificate name="Signing"'
        ' thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" thumbprintAlgorithm="sha1" /></Certificates>',
    )


def import_remote_access(root: Path) -> None:
    replace(
        root / CSDEF,
        "<ConfigurationSettings>",
        '<Imports><Import moduleName="RemoteAccess" /></Imports>\n<ConfigurationSettings>',
    )


def add_a_plugin_setting(root: Path) -> None:
    setting = '<Setting name="Microsoft.WindowsAzure.Plugins.RemoteAccess.Enabled" value="true" />'
    replace(root / CLOUD, '<Setting name="QueueName"', f'{setting}\n<Setting name="QueueName"')


def drop_the_python_pin(root: Path) -> None:
    """The last role (Jobs) loses PYTHON_BUILD from its runtime environment."""
    text = (root / CSDEF).read_text(encoding="utf-8")
    start = text.rindex('<Variable name="PYTHON_BUILD"')
    end = text.index("/>", start) + len("/>")
    (root / CSDEF).write_text(text[:start] + text[end:], encoding="utf-8")


def delete(relative: str):
    def delete(root: Path) -> None:
        (root / relative).unlink()

    return delete


def uninstall_the_handler(root: Path) -> None:
    script = root / "Api" / "bin" / "WebServer.ps1"
    text = script.read_text(encoding="utf-8")
    script.write_text(re.sub("httpplatformhandler", "PlatformModule", text, flags=re.I), encoding="utf-8")


def name_a_missing_application(root: Path) -> None:
    replace(root / "Blog" / "web.config", "wsgi:app", "wsgi:application")


def change_a_size_in_the_parameters(root: Path) -> None:
    path = root / PARAMETERS
    parameters = json.loads(path.read_text(encoding="utf-8"))
    parameters["parameters"]["roles"]["value"][3]["vmSize"] = "Standard_A2_v2"
    path.write_text(json.dumps(parameters), encoding="utf-8")


def rename_the_network_in_the_parameters(root: Path) -> None:
    replace(root / PARAMETERS, '"MyCloudService-vnet"', '"other-vnet"')


RULES = [
    (
        rename_service_in_local,
        f'{LOCAL}: serviceName="Other" differs from the name "MyCloudService" in {CSDEF}',
    ),
    (rename_role_in_cloud, f'{CLOUD}: has no <Role name="Api">, which {CSDEF} defines'),
    (drop_a_setting_value, f"{CLOUD}: role Jobs gives no value to the setting QueueName"),
    (
        add_an_undeclared_setting,
        f"{LOCAL}: role Jobs has the setting Colour, which {CSDEF} does not declare for it",
    ),
    (
        reuse_port_80,
        f"{CSDEF}: the input endpoints Site/HttpIn and Api/HttpIn both use port 80;"
        " every public port of a service must differ",
    ),
    (
        drop_the_network,
        f"{CLOUD}: has no <NetworkConfiguration><VirtualNetworkSite name=...>;"
        " Cloud Services (extended support) deploys into a virtual network",
    ),
    (
        drop_an_instance_address,
        f'{CLOUD}: has no <InstanceAddress roleName="Blog"> with a subnet under'
        " NetworkConfiguration/AddressAssignments",
    ),
    (
        use_a_classic_vm_size,
        f'{CSDEF}: role Jobs has the classic vmsize="Small"; Cloud Services (extended support)'
        ' needs vmsize="Standard_A1_v2", the ARM size of Small',
    ),
    (
        drop_the_vm_size,
        f"{CSDEF}: role Jobs has no vmsize, which classic Cloud Services took as Small; Cloud Services"
        ' (extended support) needs vmsize="Standard_A1_v2", the ARM size of Small',
    ),
    (
        drop_the_namespace,
        f"{CLOUD}: the root element <ServiceConfiguration> has no namespace; it needs"
        ' xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"',
    ),
    (
        use_os_family_4,
        f'{CLOUD}: osFamily="4" is Windows Server 2012 R2, a retired Guest OS family; Cloud Services'
        " (extended support) runs 5 (Windows Server 2016), 6 (Windows Server 2019) or 7 (Windows Server 2022)",
    ),
    (
        add_the_remote_desktop_certificate,
        f"{CLOUD}: role Jobs has the certificate Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption"
        " of the classic remote desktop plugin; Cloud Services (extended support) gives remote desktop"
        " through the RDP extension: remove the certificate",
    ),
    (
        give_a_certificate_without_key_vault,
        f"{PARAMETERS}: certificates has no Key Vault secret for the certificate Signing of role Jobs in"
        f" {CLOUD} (Cloud Services (extended support) installs certificates only from Key Vault): add"
        ' {"thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567", "certificateUrl":'
        ' "https://<vault>.vault.azure.net/secrets/<name>/<version>"}',
    ),
    (
        import_remote_access,
        f'{CSDEF}: role Site imports the plugin "RemoteAccess", which Cloud Services'
        " (extended support) does not support; use an extension instead",
    ),
    (
        add_a_plugin_setting,
        f"{CLOUD}: role Jobs has the plugin setting Microsoft.WindowsAzure.Plugins.RemoteAccess.Enabled;"
        " Cloud Services (extended support) has no plugins: remove it",
    ),
    (
        drop_the_python_pin,
        f'{CSDEF}: role Jobs has no <Variable name="PYTHON_BUILD" value="..."> in its runtime environment',
    ),
    (delete("Jobs/bin/LaunchWorker.ps1"), "Jobs/bin/LaunchWorker.ps1: not found; the role needs it"),
    (delete("Jobs/worker.py"), "Jobs/worker.py: not found; the role needs it"),
    (delete("Site/bin/ps.cmd"), "Site/bin/ps.cmd: not found; the role needs it"),
    (delete("Api/web.config"), "Api/web.config: not found; the role needs it"),
    (
        uninstall_the_handler,
        "Api/web.config: IIS runs the site with HttpPlatformHandler, but no startup"
        " task script of the role installs HttpPlatformHandler",
    ),
    (
        name_a_missing_application,
        "Blog/web.config: names the WSGI application wsgi:application, but wsgi defines no application",
    ),
    (
        change_a_size_in_the_parameters,
        f'{PARAMETERS}: role Jobs has vmSize "Standard_A2_v2", but {CSDEF} has vmsize="Standard_D1_v2"',
    ),
    (
        rename_the_network_in_the_parameters,
        f'{PARAMETERS}: virtualNetworkName is "other-vnet", but {CLOUD}'
        ' names the virtual network "MyCloudService-vnet"',
    ),
]


LINE_OF = dict(RULES)


@pytest.mark.parametrize(
    "answers",
    [
        {"roles": "Site:django Api:flask Blog:bottle Jobs:worker"},
        {"roles": "django flask bottle worker", "web_server": "wfastcgi", "python_version": "3.14"},
        {
            "roles": "Flask:flask Site:django Api-v2:bottle Queue:worker W:worker",
            "service_name": "Orders-Service-2",
        },
    ],
    ids=["every-kind", "wfastcgi", "tricky-names"],
)
def test_check_passes_on_a_fresh_solution(cookies, answers):
    solution = bake_solution(cookies, **answers)
    completed = tool(solution, "check")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    roles = len(roles_of(answers["roles"]))
    assert completed.stdout.startswith(f"OK: {solution.name}: {roles} roles (")
    assert len(completed.stdout.splitlines()) == 1


@pytest.mark.parametrize(("break_it", "line"), RULES, ids=[rule.__name__ for rule, _ in RULES])
def test_check_reports_each_rule(broken, break_it, line):
    break_it(broken)
    completed = tool(broken, "check")
    assert completed.returncode == 1
    found = completed.stdout.splitlines()
    assert found.count(line) == 1, completed.stdout
    assert len(found) == len(set(found)), completed.stdout


def test_check_reports_every_problem_of_a_file_in_one_run(broken):
    """A bad attribute early in a file does not hide what comes after it, and a problem
    found by one rule is not reported again by another."""
    replace(broken / CLOUD, '<Instances count="2" />', '<Instances count="two" />')
    add_a_plugin_setting(broken)
    use_os_family_4(broken)
    drop_the_vm_size(broken)
    completed = tool(broken, "check")
    assert completed.returncode == 1
    found = completed.stdout.splitlines()
    assert found[0] == f'{CLOUD}: <Instances count="two"> is not a whole number'
    for rule in (add_a_plugin_setting, use_os_family_4, drop_the_vm_size):
        assert found.count(LINE_OF[rule]) == 1, completed.stdout
    assert len([line for line in found if "RemoteAccess.Enabled" in line]) == 1, completed.stdout
    assert not [line for line in found if line.startswith(PARAMETERS)], completed.stdout
    assert completed.stderr.strip() == f"{len(found)} problems found."


# package ---------------------------------------------------------------------------------


PACKAGE_COMBINATIONS = [
    *KIND_COMBINATIONS,
    {
        "roles": "Flask:flask Site:django Api-v2:bottle Queue:worker W:worker",
        "service_name": "Orders-Service-2",
    },
    {"roles": "Django:django,Bottle:bottle,Worker:worker,Web_1:flask", "web_server": "wfastcgi"},
    {"roles": "a1:worker B_2:flask", "service_name": "abc"},
]


def expected_cspack(service: str, roles: list[tuple[str, str]]) -> str:
    words = ["cspack.exe", "ServiceDefinition.csdef"]
    for name, kind in roles:
        words.append(f"/role:{name};{name}")
        if kind != "worker":
            words.append(f"/sites:{name};Web;{name}")
        words.append(f"/rolePropertiesFile:{name};deploy\\RoleProperties.txt")
    words.append(f"/out:{service}.cspkg")
    return " ".join(words)


@pytest.mark.parametrize("answers", PACKAGE_COMBINATIONS, ids=lambda answers: "-".join(answers.values()))
def test_package_dry_run_prints_the_cspack_command(cookies, monkeypatch, answers):
    monkeypatch.setenv("CSPACK", "cspack.exe")  # as if it were on the PATH, whatever the OS
    solution = bake_solution(cookies, **answers)
    roles = roles_of(answers["roles"])
    assert [name for _, name in csdef_roles(solution)] == [name for name, _ in roles]
    # Nothing is prepared yet: refused, as package would refuse, with the command all the same.
    refused = tool(solution, "package", "--dry-run")
    assert refused.returncode == 1
    assert refused.stdout == expected_cspack(solution.name, roles) + "\n"
    assert refused.stderr.splitlines() == [
        *(f"{name} has no wheelhouse" for name, _ in roles),
        "cloudservice package: run python -m cloudservice prepare first (or give --allow-unprepared)",
    ]
    completed = tool(solution, "package", "--dry-run", "--allow-unprepared")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == refused.stdout
    for name, _ in roles:
        assert f"warning: {name} has no wheelhouse" in completed.stderr


def test_package_dry_run_refuses_a_service_that_check_refuses(broken, monkeypatch):
    monkeypatch.setenv("CSPACK", "cspack.exe")
    shutil.rmtree(broken / "Blog")
    use_os_family_4(broken)
    for arguments in (["package", "--dry-run"], ["package"]):
        completed = tool(broken, *arguments)
        assert completed.returncode == 1, arguments
        assert completed.stdout == "", arguments
        assert "Blog: the folder of the role Blog is missing" in completed.stderr.splitlines()
        assert LINE_OF[use_os_family_4] in completed.stderr.splitlines()
        assert completed.stderr.strip().endswith("cloudservice package: fix these first (python -m cloudservice check)")


def test_package_dry_run_gives_cspack_every_site_and_virtual_application(broken, monkeypatch):
    monkeypatch.setenv("CSPACK", "cspack.exe")
    (broken / "Docs").mkdir()
    (broken / "Blog" / "archive").mkdir()
    replace(
        broken / CSDEF,
        '<Site name="Web">\n        <Bindings>\n          <Binding name="HttpIn" endpointName="HttpIn" />\n'
        "        </Bindings>\n      </Site>\n    </Sites>\n    <Startup>\n"
        '      <Task commandLine="ps.cmd ConfigureCloudService.ps1" executionContext="elevated" taskType="simple">\n'
        "        <Environment>\n"
        '          <Variable name="PYTHON_BUILD"',
        '<Site name="Web">\n        <VirtualApplication name="docs" physicalDirectory="Docs" />\n'
        '        <Bindings>\n          <Binding name="HttpIn" endpointName="HttpIn" />\n'
        "        </Bindings>\n      </Site>\n"
        '      <Site name="Archive" physicalDirectory="Blog\\archive">\n        <Bindings>\n'
        '          <Binding name="HttpIn" endpointName="HttpIn" hostHeader="archive.example" />\n'
        "        </Bindings>\n      </Site>\n    </Sites>\n    <Startup>\n"
        '      <Task commandLine="ps.cmd ConfigureCloudService.ps1" executionContext="elevated" taskType="simple">\n'
        "        <Environment>\n"
        '          <Variable name="PYTHON_BUILD"',
    )
    completed = tool(broken, "package", "--dry-run", "--allow-unprepared")
    assert completed.returncode == 0, completed.stderr
    sites = [word for word in completed.stdout.split() if word.startswith("/sites:")]
    assert sites == [
        "/sites:Site;Web;Site",
        "/sites:Site;Web/docs;Docs",
        "/sites:Site;Archive;Blog\\archive",
        "/sites:Api;Web;Api",
        "/sites:Blog;Web;Blog",
    ]
    # Without its own folder the second site would be packaged from the role folder.
    replace(broken / CSDEF, ' physicalDirectory="Blog\\archive"', "")
    refused = tool(broken, "package", "--dry-run")
    assert refused.returncode == 1
    assert (
        f"{CSDEF}: role Site has the sites Web and Archive without physicalDirectory; only one site can be"
        f" served from the role folder: give the others a physicalDirectory (relative to {CSDEF})"
    ) in refused.stderr.splitlines()


def test_package_says_what_it_needs_without_cspack(cookies, monkeypatch, tmp_path):
    monkeypatch.setenv("CSPACK", str(tmp_path / "cspack.exe"))  # not there
    solution = bake_solution(cookies, roles="Jobs:worker")
    refused = tool(solution, "package")
    assert refused.returncode == 1
    assert "run python -m cloudservice prepare first" in refused.stderr
    unprepared = tool(solution, "package", "--allow-unprepared")
    assert unprepared.returncode == 1
    assert "packaging needs cspack.exe, from the Azure Cloud Services build tools" in unprepared.stderr
    assert f"CSPACK names {tmp_path / 'cspack.exe'}, which is not there." in unprepared.stderr
    assert not (solution / f"{solution.name}.cspkg").exists()


# deploy ----------------------------------------------------------------------------------


def bicep_errors(source: bytes) -> list[str]:
    import tree_sitter_bicep
    from tree_sitter import Language, Parser

    tree = Parser(Language(tree_sitter_bicep.language())).parse(source)
    nodes, found = [tree.root_node], []
    while nodes:
        node = nodes.pop()
        if node.is_error or node.is_missing:
            found.append(f"{node.start_point[0] + 1}: {source[node.start_byte : node.end_byte][:60]!r}")
        nodes.extend(node.children)
    return found


def bicep_parameters(source: bytes) -> dict[str, bool]:
    """Each parameter that the Bicep file declares, and whether it has a default."""
    import tree_sitter_bicep
    from tree_sitter import Language, Parser

    tree = Parser(Language(tree_sitter_bicep.language())).parse(source)
    declared = {}
    for node in tree.root_node.children:
        if node.type == "parameter_declaration":
            name = next(child for child in node.children if child.type == "identifier")
            declared[source[name.start_byte : name.end_byte].decode()] = any(
                c.type == "=" for c in node.children
            )
    return declared


@pytest.mark.parametrize(
    "answers",
    [
        {"roles": "Api:flask Jobs:worker", "vm_size": "Standard_A2_v2", "instance_count": "3"},
        {
            "roles": "django flask bottle worker worker",
            "instance_count": "1",
            "service_name": "Orders-Service-2",
        },
    ],
    ids=["two-roles", "five-roles"],
)
def test_the_deploy_template_parses_and_matches_the_service(cookies, answers):
    solution = bake_solution(cookies, **answers)
    source = (solution / "deploy" / "main.bicep").read_bytes()
    assert bicep_errors(source) == []
    parameters = json.loads((solution / "deploy" / "main.parameters.json").read_text(encoding="utf-8"))
    values = {name: entry["value"] for name, entry in parameters["parameters"].items()}
    declared = bicep_parameters(source)
    assert set(values) <= set(declared)
    given_by_deploy = {"location", "packageUrl", "configurationUrl"}
    assert {name for name, default in declared.items() if not default} <= set(values) | given_by_deploy

    csdef = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    sizes = {role.get("name"): role.get("vmsize") for role in csdef if role.get("vmsize")}
    instances = cloud_instances(solution)
    assert [(r["name"], r["vmSize"], r["instanceCount"]) for r in values["roles"]] == [
        (name, sizes[name], instances[name]) for _, name in csdef_roles(solution)
    ]
    assert set(sizes.values()) == {answers.get("vm_size", "Standard_D1_v2")}
    assert set(instances.values()) == {int(answers["instance_count"])}
    cloud = (solution / "ServiceConfiguration.Cloud.cscfg").read_text(encoding="utf-8")
    assert f'<VirtualNetworkSite name="{values["virtualNetworkName"]}" />' in cloud
    assert cloud.count(f'<Subnet name="{values["subnetName"]}" />') == len(values["roles"])
    assert values["cloudServiceName"] == solution.name
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,61}[a-z0-9]", values["dnsLabel"])


def test_deploy_dry_run_prints_the_az_commands(cookies, tmp_path):
    solution = bake_solution(cookies, roles="Api:flask Jobs:worker")
    completed = tool(
        solution,
        "deploy",
        "--dry-run",
        "--resource-group",
        "shop-rg",
        "--location",
        "westeurope",
        "--storage-account",
        "shopdeploys",
    )
    assert completed.returncode == 0, completed.stderr
    commands = completed.stdout.splitlines()
    assert [command.split(" --")[0] for command in commands] == [
        "az storage container create",
        "az storage blob upload",
        "az storage blob upload",
        "az storage blob generate-sas",
        "az storage blob generate-sas",
        "az deployment group create",
    ]
    folder = re.search(r"--name=(mycloudservice/\d{8}T\d{6}Z)/MyCloudService\.cspkg", commands[1])[1]
    for command in commands[:5]:
        assert "--account-name=shopdeploys" in command and "--auth-mode=login" in command
    assert f"--file={solution / 'MyCloudService.cspkg'}" in commands[1]
    assert f"--name={folder}/ServiceConfiguration.Cloud.cscfg" in commands[2]
    for command in commands[3:5]:
        assert "--as-user" in command and "--permissions=r" in command and "--https-only" in command
        assert re.search(r"--expiry=\d{4}-\d\d-\d\dT\d\d:\d\dZ", command)
    deployment = commands[5]
    assert "--resource-group=shop-rg" in deployment
    assert f"--template-file={solution / 'deploy' / 'main.bicep'}" in deployment
    assert f"--parameters=@{solution / 'deploy' / 'main.parameters.json'}" in deployment
    assert "sig=" not in completed.stdout
    # Nothing to deploy yet, and the Cloud settings are still placeholders: said, not fatal.
    assert "MyCloudService.cspkg: not found" in completed.stderr
    assert "still has a REPLACE-WITH placeholder" in completed.stderr

    refused = tool(
        solution,
        "deploy",
        "--resource-group",
        "shop-rg",
        "--location",
        "westeurope",
        "--storage-account",
        "shopdeploys",
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("cloudservice deploy: nothing was deployed")


FAKE_AZ = """
import json, os, sys
arguments = sys.argv[1:]
record = {"argv": arguments}
for argument in arguments:
    if argument.startswith("--parameters=@") and argument.endswith("urls.json"):
        with open(argument[len("--parameters=@"):], encoding="utf-8") as urls:
            record["urls"] = json.load(urls)
with open(os.environ["FAKE_AZ_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(record) + "\\n")
if arguments[:3] == ["storage", "blob", "generate-sas"]:
    name = next(a for a in arguments if a.startswith("--name="))[len("--name="):]
    print(f"https://shopdeploys.blob.core.windows.net/c/{name}?se=soon&sig=SECRET")
elif arguments[:3] == ["deployment", "group", "create"]:
    print("mycloudservice.westeurope.cloudapp.azure.com")
"""


@pytest.fixture
def fake_az(tmp_path, monkeypatch):
    """An ``az`` on the PATH that records its calls and answers like the Azure CLI: this
    machine cannot reach Azure, and the test is about what deploy asks of az."""
    folder = tmp_path / "fake-az"
    folder.mkdir()
    (folder / "fake_az.py").write_text(FAKE_AZ, encoding="utf-8")
    if sys.platform == "win32":
        (folder / "az.cmd").write_text(f'@"{sys.executable}" "%~dp0fake_az.py" %*\r\n', encoding="utf-8")
    else:
        launcher = folder / "az"
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{folder / "fake_az.py"}" "$@"\n')
        launcher.chmod(0o755)
    log = tmp_path / "az-calls.jsonl"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_AZ_LOG", str(log))
    return lambda: [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_deploy_uploads_and_deploys_with_urls_that_stay_off_the_command_line(cookies, fake_az):
    solution = bake_solution(cookies, roles="Api:flask Jobs:worker")
    cloud = solution / "ServiceConfiguration.Cloud.cscfg"
    cloud.write_text(cloud.read_text(encoding="utf-8").replace("REPLACE-WITH", "given"), encoding="utf-8")
    (solution / "MyCloudService.cspkg").write_bytes(b"PK")
    completed = tool(
        solution,
        "deploy",
        "--resource-group",
        "shop-rg",
        "--location",
        "westeurope",
        "--storage-account",
        "shopdeploys",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip().endswith(
        "Deployed MyCloudService: http://mycloudservice.westeurope.cloudapp.azure.com/"
    )
    calls = fake_az()
    assert [call["argv"][:3] for call in calls] == [
        ["storage", "container", "create"],
        ["storage", "blob", "upload"],
        ["storage", "blob", "upload"],
        ["storage", "blob", "generate-sas"],
        ["storage", "blob", "generate-sas"],
        ["deployment", "group", "create"],
    ]
    assert not any("sig=" in argument for call in calls for argument in call["argv"])
    urls = calls[-1]["urls"]["parameters"]
    assert urls["location"] == {"value": "westeurope"}
    assert urls["packageUrl"]["value"].endswith("/MyCloudService.cspkg?se=soon&sig=SECRET")
    assert urls["configurationUrl"]["value"].endswith("/ServiceConfiguration.Cloud.cscfg?se=soon&sig=SECRET")
    urls_file = next(a for a in calls[-1]["argv"] if a.endswith("urls.json"))[len("--parameters=@") :]
    assert not Path(urls_file).exists(), "the file with the SAS URLs is gone"


def test_the_readme_walks_to_a_deployment(cookies):
    solution = bake_solution(cookies, roles="Api:flask Jobs:worker")
    readme = (solution / "README.md").read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("## ")]
    walk = ["## Prepare, check and package", "## Deploy", "## Moving to Azure Container Apps",
            "## Keep in step with the template"]
    start = headings.index(walk[0])
    assert headings[start : start + len(walk)] == walk
    for command in (
        "cloudservice prepare",
        "cloudservice check",
        "cloudservice package",
        "cloudservice deploy",
    ):
        assert command in readme
    assert "2027-03-31" in readme and "April 2026" in readme
