"""The Windows start-up scripts and web.config of every generated role.

No PowerShell or IIS runs here, so these tests check what can be checked without them:
every script parses with a real PowerShell grammar, is ASCII with CRLF line ends, holds only
what the answers chose, and agrees with ServiceDefinition.csdef and web.config.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PureWindowsPath
from xml.etree import ElementTree

import pytest
from helpers import CSDEF_NS, KIND_TABLE, WEB_KINDS, powershell_commands, powershell_errors

TEMPLATE = Path(__file__).resolve().parent.parent
PYTHON_BUILDS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))["_python_builds"]
WEB_SERVERS = ("httpplatformhandler", "wfastcgi")
# What ServiceDefinition.csdef tells the start-up scripts, not the application.
PYTHON_VARIABLES = ("PYTHON_BUILD", "PYTHON_PACKAGE_URL")
NUGET_PACKAGE_URL = "https://api.nuget.org/v3-flatcontainer/python/{0}/python.{0}.nupkg"

# One role of each kind, with names that are not Python identifiers or that are framework names.
ROLES = "Api-v2:bottle Site:django W:worker Flask:flask Plain-1:wsgi"
ROLE_APPLICATIONS = {
    name: KIND_TABLE[kind].application
    for name, kind in (pair.split(":") for pair in ROLES.split())
    if KIND_TABLE[kind].web
}
WEB_ROLES = tuple(ROLE_APPLICATIONS)
ALL_ROLES = (*WEB_ROLES, "W")

# Words that belong to one choice only: the scripts of the other choices must not hold them.
WORDS_OF = {
    "httpplatformhandler": re.compile(r"httpPlatform|waitress", re.IGNORECASE),
    "wfastcgi": re.compile(r"wfastcgi|FastCgi", re.IGNORECASE),
    "web": re.compile(r"\bIIS\b|web\.config|appcmd|sitesroot"),
}

# The cmdlets of Windows PowerShell 5.1 that the scripts may call.
CMDLETS = {
    "Add-Type", "ConvertTo-Json", "ForEach-Object", "Get-Command", "Get-Date", "Get-Item",
    "Invoke-RestMethod", "Invoke-WebRequest", "Join-Path", "Move-Item", "New-Item", "New-Object",
    "Out-Null", "Remove-Item", "Select-Object", "Set-StrictMode", "Split-Path", "Start-Process",
    "Start-Sleep", "Test-Path", "Where-Object", "Write-Host",
}  # fmt: skip

BROKEN_SCRIPTS = {
    "unclosed function": "function Install-Python {\n    Write-Host 'x'\n",
    "unterminated string": 'Write-Log "Installing\n',
    "unclosed parenthesis": "if ($python -eq $null { exit 1 }\n",
    "unclosed array": "$arguments = @('-m', 'pip'\n",
    "stray brace": "function Get-Nothing { }\n}\n",
    "dangling operator": "$protocols = $current -bor\n",
}


class Solution:
    def __init__(self, web_server: str, path: Path):
        self.web_server = web_server
        self.path = path

    def role_file(self, role: str, relative: str) -> Path:
        return self.path / role / relative

    def read(self, role: str, relative: str) -> str:
        """The file's text, line ends as they are."""
        return self.role_file(role, relative).read_bytes().decode("ascii")


@pytest.fixture(scope="module", params=WEB_SERVERS)
def solution(request, cookies_session) -> Solution:
    """The solution with every role kind, baked once per web server."""
    result = cookies_session.bake(
        extra_context={"roles": ROLES, "web_server": request.param, "install_packages": False},
        template=str(TEMPLATE),
    )
    assert result.exit_code == 0, result.exception
    return Solution(request.param, result.project_path)


def startup_commands(solution: Solution) -> dict[str, tuple[str, str | None]]:
    """role -> (startup task command line, entry point command line or None)."""
    root = ElementTree.parse(solution.path / "ServiceDefinition.csdef").getroot()
    commands = {}
    for role in root:
        task = role.find(f"{CSDEF_NS}Startup/{CSDEF_NS}Task")
        entry = role.find(f"{CSDEF_NS}Runtime/{CSDEF_NS}EntryPoint/{CSDEF_NS}ProgramEntryPoint")
        if task is not None:
            commands[role.get("name")] = (
                task.get("commandLine"),
                None if entry is None else entry.get("commandLine"),
            )
    return commands


def csdef_variables(solution_path: Path, role: str, where: str) -> dict[str, str | None]:
    """Name -> fixed value (None for a RoleInstanceValue) of the environment variables the
    .csdef gives a role's startup task (where="Startup/Task") or its processes ("Runtime")."""
    root = ElementTree.parse(solution_path / "ServiceDefinition.csdef").getroot()
    element = next(child for child in root if child.get("name") == role)
    path = "/".join(f"{CSDEF_NS}{part}" for part in [*where.split("/"), "Environment", "Variable"])
    return {variable.get("name"): variable.get("value") for variable in element.iterfind(path)}


def role_variables(script: str) -> list[str]:
    """The names in the script's $RoleVariables = @( ... ) list."""
    block = re.search(r"^\$RoleVariables = @\(\r?\n(.*?)^\)", script, re.MULTILINE | re.DOTALL)
    assert block, "ConfigureCloudService.ps1 has no $RoleVariables list"
    return re.findall(r"^\s*'([^']+)'\s*$", block.group(1), re.MULTILINE)


def script_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".ps1", ".cmd"})


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_has_the_files_its_kind_needs(solution, role):
    names = {p.relative_to(solution.path / role).as_posix() for p in script_files(solution.path / role)}
    expected = {"bin/ps.cmd", "bin/Common.ps1", "bin/ConfigureCloudService.ps1"}
    expected.add("bin/LaunchWorker.ps1" if role == "W" else "bin/WebServer.ps1")
    assert names == expected
    assert solution.role_file(role, "web.config").exists() == (role in WEB_ROLES)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_csdef_commands_name_files_that_exist(solution, role):
    """The startup task runs from approot\\bin (web) or approot (worker); ps.cmd runs the
    .ps1 beside it; LaunchWorker.ps1 takes the worker's script relative to approot."""
    task, entry = startup_commands(solution)[role]
    runner_path, script = task.split()
    working_folder = solution.path / role / ("bin" if role in WEB_ROLES else "")
    runner = working_folder.joinpath(*PureWindowsPath(runner_path).parts)
    assert runner.name == "ps.cmd" and runner.is_file(), task
    assert (runner.parent / script).is_file(), task
    if role in WEB_ROLES:
        assert entry is None
    else:
        runner_path, launcher, worker_script = entry.split()
        runner = solution.path.joinpath(role, *PureWindowsPath(runner_path).parts)
        assert runner.is_file() and (runner.parent / launcher).is_file(), entry
        assert solution.role_file(role, worker_script).is_file(), entry


@pytest.mark.parametrize("role", ALL_ROLES)
def test_powershell_scripts_parse(solution, role):
    for path in sorted((solution.path / role).rglob("*.ps1")):
        assert powershell_errors(path.read_text(encoding="ascii")) == [], path.name


@pytest.mark.parametrize("role", ALL_ROLES)
def test_scripts_call_only_defined_functions_and_cmdlets(solution, role):
    """Every .ps1 dot-sources Common.ps1, so it may call the functions of both; a web role's
    ConfigureCloudService.ps1 and the WebServer.ps1 it dot-sources call each other's."""
    common_functions, _ = powershell_commands(solution.read(role, "bin/Common.ps1"))
    together = {"ConfigureCloudService.ps1", "WebServer.ps1"}
    shared = set()
    for name in together:
        if solution.role_file(role, f"bin/{name}").exists():
            shared |= powershell_commands(solution.read(role, f"bin/{name}"))[0]
    for path in sorted((solution.path / role / "bin").glob("*.ps1")):
        functions, called = powershell_commands(path.read_text(encoding="ascii"))
        if path.name in together:
            functions = functions | shared
        assert called - functions - common_functions - CMDLETS == set(), path.name


@pytest.mark.parametrize("role", ALL_ROLES)
def test_scripts_define_no_unused_functions(solution, role):
    defined, called = set(), set()
    for path in sorted((solution.path / role / "bin").glob("*.ps1")):
        functions, commands = powershell_commands(path.read_text(encoding="ascii"))
        defined |= functions
        called |= commands
    assert defined - called == set()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_scripts_are_ascii_with_crlf_line_ends(solution, role):
    for path in script_files(solution.path / role):
        data = path.read_bytes()
        assert data.isascii(), f"{path.name} is not ASCII (a byte order mark is not either)"
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r"), path.name
        assert data.endswith(b"\r\n"), path.name


@pytest.mark.parametrize("role", ALL_ROLES)
def test_scripts_hold_only_what_the_answers_chose(solution, role):
    if role in WEB_ROLES:
        unchosen = [WORDS_OF[ws] for ws in WEB_SERVERS if ws != solution.web_server]
        files = [*script_files(solution.path / role), solution.role_file(role, "web.config")]
    else:
        unchosen = [WORDS_OF["web"], *(WORDS_OF[ws] for ws in WEB_SERVERS)]
        files = script_files(solution.path / role)
    for path in files:
        text = path.read_text(encoding="ascii")
        for words in unchosen:
            assert not words.search(text), f"{path.name}: {words.search(text).group()}"


@pytest.mark.parametrize("role", WEB_ROLES)
def test_web_config_runs_the_roles_application(solution, role):
    config = ElementTree.parse(solution.role_file(role, "web.config")).getroot()
    handlers = config.findall("system.webServer/handlers/add")
    assert len(handlers) == 1
    handler = handlers[0]
    assert (handler.get("path"), handler.get("verb")) == ("*", "*")
    wsgi_application = ROLE_APPLICATIONS[role]
    if solution.web_server == "httpplatformhandler":
        assert handler.get("modules") == "httpPlatformHandler"
        platform = config.find("system.webServer/httpPlatform")
        assert "ConfigureCloudService.ps1" in platform.get("processPath")
        assert "ConfigureCloudService.ps1" in platform.get("stdoutLogFile")
        assert platform.get("stdoutLogEnabled") == "true"
        assert platform.get("arguments") == (
            "-m waitress --listen=127.0.0.1:%HTTP_PLATFORM_PORT% --no-clear-untrusted-proxy-headers "
            f"{wsgi_application}"
        )
        assert config.find("appSettings") is None
    else:
        assert handler.get("modules") == "FastCgiModule"
        assert "ConfigureCloudService.ps1" in handler.get("scriptProcessor")
        settings = {add.get("key"): add.get("value") for add in config.iterfind("appSettings/add")}
        # An attribute path: a trailing "()" would make wfastcgi call the application.
        assert settings["WSGI_HANDLER"] == wsgi_application.replace(":", ".")
        assert {"PYTHONPATH", "WSGI_LOG"} <= settings.keys()
        assert config.find("system.webServer/httpPlatform") is None


@pytest.mark.parametrize("role", WEB_ROLES)
def test_configure_script_finds_what_it_edits_in_web_config(solution, role):
    from lxml import etree

    script = solution.read(role, "bin/WebServer.ps1")
    paths = re.findall(r"SelectSingleNode\((?:'([^']+)'|\"([^\"]+)\")\)", script)
    assert paths
    config = etree.parse(str(solution.role_file(role, "web.config")))
    for path in (single or double for single, double in paths):
        assert len(config.xpath(path)) == 1, path


@pytest.mark.parametrize("role", WEB_ROLES)
def test_site_gets_every_variable_of_the_startup_task(solution, role):
    """IIS worker processes do not inherit the role's environment: the startup task copies
    every variable the .csdef gives it into web.config, except those meant for the scripts."""
    script = solution.read(role, "bin/ConfigureCloudService.ps1")
    variables = csdef_variables(solution.path, role, "Startup/Task")
    assert role_variables(script) == [name for name in variables if name not in PYTHON_VARIABLES]


def test_worker_launcher_logs_and_returns_the_exit_code(solution):
    script = solution.read("W", "bin/LaunchWorker.ps1")
    assert "'LaunchWorker.log'" in script and "'LaunchWorker.err.log'" in script
    assert '-u `"$ScriptPath`"' in script
    assert "exit $exitCode" in script


def test_ps_cmd_runs_the_script_beside_it_and_returns_its_exit_code(solution):
    text = solution.read("W", "bin/ps.cmd")
    assert text.startswith("@echo off\r\n")
    command = next(line for line in text.splitlines() if "powershell.exe" in line)
    for option in ("-NoProfile", "-ExecutionPolicy Bypass", '-File "%SCRIPT%"'):
        assert option in command
    assert 'set "SCRIPT=%~dp0%~1"' in text
    assert 'set "EXIT_CODE=%ERRORLEVEL%"' in text.splitlines()[text.splitlines().index(command) + 1]
    assert text.splitlines()[-1] == "exit /b %EXIT_CODE%"


def test_ps_cmd_keeps_what_powershell_writes_even_when_it_cannot_start(solution):
    """Visual Studio's ps.cmd redirected each script's stdout and stderr into the log folder
    in cmd itself, so a PowerShell that fails to start still leaves its error there."""
    lines = solution.read("W", "bin/ps.cmd").splitlines()
    command = next(line for line in lines if "powershell.exe" in line)
    assert command.endswith(' >> "%STDOUT_LOG%" 2>> "%STDERR_LOG%"'), command
    assert 'set "LOG_FOLDER=%DIAGNOSTIC_STORE%\\LogFiles"' in [line.strip() for line in lines]
    assert 'set "STDOUT_LOG=%LOG_FOLDER%\\%~n1.stdout.log"' in lines
    assert 'set "STDERR_LOG=%LOG_FOLDER%\\%~n1.stderr.log"' in lines
    made = lines.index('if not exist "%LOG_FOLDER%\\" mkdir "%LOG_FOLDER%"')
    assert made < lines.index(command)
    # The exit code is logged too; an echo that ends in a digit before >> would redirect a
    # handle instead, so the redirection comes first.
    logged = [line for line in lines if "exited with code" in line]
    assert logged == ['>> "%STDERR_LOG%" echo %DATE% %TIME% ps.cmd: %SCRIPT% exited with code %EXIT_CODE%']


@pytest.mark.parametrize("python_version", sorted(PYTHON_BUILDS))
def test_scripts_run_the_pinned_python_build(bake, python_version):
    """The build is pinned in one place, ServiceDefinition.csdef, which passes it to the
    startup task and to the worker's launcher; the scripts hold no build of their own."""
    result = bake(roles="Web:flask Jobs:worker", python_version=python_version)
    assert result.exit_code == 0, result.exception
    build = PYTHON_BUILDS[python_version]
    pinned = {"PYTHON_BUILD": build, "PYTHON_PACKAGE_URL": NUGET_PACKAGE_URL.format(build)}
    for role in ("Web", "Jobs"):
        for where in ("Startup/Task", "Runtime"):
            variables = csdef_variables(result.project_path, role, where)
            assert {name: variables.get(name) for name in pinned} == pinned, where
        common = (result.project_path / role / "bin" / "Common.ps1").read_text(encoding="ascii")
        assert "$PythonBuild = $env:PYTHON_BUILD" in common
        assert "$PythonPackageUrl = $env:PYTHON_PACKAGE_URL" in common
        for path in script_files(result.project_path / role):
            assert not re.search(r"\b3\.\d+\.\d+\b", path.read_text(encoding="ascii")), path.name


@pytest.mark.parametrize("name", BROKEN_SCRIPTS)
def test_the_parse_check_detects_broken_scripts(name):
    assert powershell_errors(BROKEN_SCRIPTS[name])


def test_the_parse_check_detects_a_broken_generated_script(solution):
    script = solution.read("Site", "bin/ConfigureCloudService.ps1")
    assert powershell_errors(script) == []
    without_last_brace = script[: script.rindex("}")] + script[script.rindex("}") + 1 :]
    assert powershell_errors(without_last_brace)


def fastcgi_settings(script: str) -> dict[str, str]:
    """The names and values in the script's $FastCgiSettings = [ordered]@{ ... } table."""
    block = re.search(r"^\$FastCgiSettings = \[ordered\]@\{\r?\n(.*?)^\}", script, re.MULTILINE | re.DOTALL)
    assert block, "WebServer.ps1 has no $FastCgiSettings table"
    return dict(re.findall(r"^\s*(\w+) = '([^']*)'\s*$", block.group(1), re.MULTILINE))


@pytest.mark.parametrize("solution", ["wfastcgi"], indirect=True)
@pytest.mark.parametrize("role", WEB_ROLES)
def test_wfastcgi_is_registered_so_that_requests_finish_before_a_recycle(solution, role):
    """IIS signals wfastcgi and waits 30 s before it kills python.exe (as Visual Studio's
    script registered it); requests may take as long as HttpPlatformHandler's two minutes.
    A registration of an earlier start gets the settings too: the script sets each one that
    differs, so a second start changes nothing."""
    script = solution.read(role, "bin/WebServer.ps1")
    assert fastcgi_settings(script) == {
        "signalBeforeTerminateSeconds": "30", "requestTimeout": "120", "activityTimeout": "120",
    }  # fmt: skip
    function = re.search(r"^function Register-FastCgiApplication \{.*?^\}", script, re.MULTILINE | re.DOTALL)[0]
    assert "\"/+[fullPath='$Python',arguments='$Script'$settings]\"" in function
    assert '"/$application.$($setting.Key):$($setting.Value)"' in function
    assert "foreach ($setting in $FastCgiSettings.GetEnumerator())" in function


# A role model as the fabric writes it to %RoleRoot%\RoleModel.xml, for a role whose .csdef
# has a second site before the role's own: IIS serves each from sitesroot\<its index>.
ROLE_MODEL = """<?xml version="1.0" encoding="utf-8"?>
<RoleModel xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition" name="Site">
  <Startup>
    <Task commandLine="ps.cmd ConfigureCloudService.ps1" executionContext="elevated" relativePath="approot\\bin" />
  </Startup>
  <Sites>
    <Site name="Admin" physicalDirectory="sitesroot\\0" />
    <Site name="Web" physicalDirectory="sitesroot\\1" />
  </Sites>
</RoleModel>
"""


@pytest.mark.parametrize("role", WEB_ROLES)
def test_configure_script_finds_the_site_as_the_role_model_records_it(solution, role):
    """The site's folder comes from RoleModel.xml, the site of the .csdef's name, not from
    a fixed sitesroot\\0; without the model, sitesroot\\0 with a line in the log."""
    from lxml import etree

    script = solution.read(role, "bin/ConfigureCloudService.ps1")
    site_name = re.search(r"^\$SiteName = '([^']+)'", script, re.MULTILINE)[1]
    csdef = ElementTree.parse(solution.path / "ServiceDefinition.csdef").getroot()
    element = next(child for child in csdef if child.get("name") == role)
    assert [site.get("name") for site in element.iterfind(f"{CSDEF_NS}Sites/{CSDEF_NS}Site")] == [site_name]
    namespace = re.search(r"^\$RoleModelNamespace = '([^']+)'", script, re.MULTILINE)[1]
    assert "{" + namespace + "}" == CSDEF_NS
    xpath = re.search(r'SelectSingleNode\("([^"]+)", \$namespaces\)', script)[1].replace("$SiteName", site_name)
    model = etree.fromstring(ROLE_MODEL.encode("utf-8"))
    found = model.xpath(xpath, namespaces={"sd": namespace})
    assert [site.get("physicalDirectory") for site in found] == ["sitesroot\\1"]
    assert "$firstSite = Join-Path $roleRoot 'sitesroot\\0'" in script
    function = re.search(r"^function Find-SiteRoot \{.*?^\}", script, re.MULTILINE | re.DOTALL)[0]
    assert function.count("return $firstSite") == 2
    assert function.count("Write-Log") == 3, "each way of finding the site is logged"
    assert "$siteRoot = Invoke-Step 'Find the site' { Find-SiteRoot }" in script


def function_body(script: str, name: str) -> str:
    return re.search(rf"^function {name} \{{.*?^\}}", script, re.MULTILINE | re.DOTALL)[0]


def test_telemetry_is_sent_to_the_connection_strings_endpoint_and_never_fails_a_script(solution):
    """The scripts' lines go to Application Insights' track endpoint, taken from the role's
    APPLICATIONINSIGHTS_CONNECTION_STRING; a failure to send becomes a line of the local log."""
    common = solution.read("W", "bin/Common.ps1")
    send = function_body(common, "Send-Trace")
    body = send[send.index("    try {") :]
    assert body.startswith("    try {\r\n")
    assert re.search(r"\r\n    \} catch \{\r\n        return [^\r\n]+\r\n    \}\r\n\}$", body)
    assert "throw" not in body
    target = function_body(common, "Get-TelemetryTarget")
    assert "$env:APPLICATIONINSIGHTS_CONNECTION_STRING" in target
    assert "$parts['IngestionEndpoint']" in target and "'https://dc.services.visualstudio.com'" in target
    assert "+ '/v2/track'" in target
    for field in ("'Microsoft.ApplicationInsights.{0}.Message'", "baseType = 'MessageData'", "iKey = $target.Key",
                  "'ai.cloud.role' = \"$env:ROLE_NAME\"", "'ai.cloud.roleInstance' = \"$env:ROLE_INSTANCE_ID\""):
        assert field in send, field
    assert "-TimeoutSec 15" in send


@pytest.mark.parametrize("role", ("Site", "W"))
def test_every_way_out_of_the_scripts_sends_their_log(solution, role):
    configure = solution.read(role, "bin/ConfigureCloudService.ps1")
    exits = [line.strip() for line in configure.splitlines() if re.match(r"\s*exit\b", line)]
    assert exits == ["exit $ExitCode"], "only Complete-Run ends the start-up task"
    complete = function_body(configure, "Complete-Run")
    assert "Send-Trace -Entries $LogEntries -Source 'ConfigureCloudService.ps1'" in complete
    assert "Complete-Run -ExitCode 0" in configure and "Complete-Run -ExitCode 1" in configure
    assert '"FAILED: $($_.Exception.Message)" -Severity 3' in configure
    if role == "W":
        launcher = solution.read(role, "bin/LaunchWorker.ps1").splitlines()
        for number, line in enumerate(launcher):
            if re.match(r"\s*exit\b", line):
                assert "Send-Trace" in launcher[number - 1] or "Write-Event" in launcher[number - 1], line
        assert "Read-LogTail -Path $ErrorLog -From $errorsBefore" in "\n".join(launcher)


@pytest.mark.parametrize("kind", WEB_KINDS)
def test_the_role_readme_gives_the_command_line_of_web_config(bake, kind):
    """What the README says HttpPlatformHandler starts is what web.config starts, flags included
    (the flags that leave X-Forwarded-* to forwarded_headers.py among them)."""
    result = bake(roles=f"Site:{kind}", install_packages=False)
    assert result.exit_code == 0, result.exception
    role = result.project_path / "Site"
    platform = ElementTree.parse(role / "web.config").getroot().find("system.webServer/httpPlatform")
    assert f"`python {platform.get('arguments')}`" in (role / "README.md").read_text(encoding="utf-8")


def test_the_asgi_kind_runs_on_uvicorn_behind_httpplatformhandler(bake):
    """FastAPI's role: HttpPlatformHandler starts uvicorn, which leaves X-Forwarded-* to
    forwarded_headers.py; its start-up task installs uvicorn, not waitress."""
    result = bake(roles="Api:fastapi", install_packages=False)
    assert result.exit_code == 0, result.exception
    role = result.project_path / "Api"
    platform = ElementTree.parse(role / "web.config").getroot().find("system.webServer/httpPlatform")
    assert platform.get("arguments") == (
        "-m uvicorn --host 127.0.0.1 --port %HTTP_PLATFORM_PORT% --no-proxy-headers --no-server-header --no-access-log"
        " asgi:app"
    )
    server = (role / "bin" / "WebServer.ps1").read_text(encoding="ascii")
    assert powershell_errors(server) == []
    assert "Invoke-PipInstall -Python $Python -Packages 'uvicorn'" in server
    assert "waitress" not in server
