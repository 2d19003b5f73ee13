"""The web roles of generated solutions, one of each web kind in KINDS, for each web server.

One solution per web server holds roles with awkward names, and two Django roles. For each
role: its own tests pass in an environment of its requirements and the solution's tools; a real waitress
serves it with the cloud's settings and with the local ones (the home page naming the instance
that answered, every response with the security headers, the Content-Security-Policy among
them, and the page keeping to that policy); placeholders left in the cloud
settings stop it with a message; proxy headers are believed only as far as the web server
warrants; Django's deployment checklist passes with the cloud settings; the code passes ruff
and bandit; the README's guidance holds; the requirements have Windows wheels for every
Python on offer.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import TEMPLATE, find_uv
from helpers import CSCFG_NS, KIND_TABLE, WSGI_APPLICATIONS

WEB_SERVERS = ("httpplatformhandler", "wfastcgi")
# Names that are a framework's own or no Python identifier, one as long as names go (63
# characters, which must still fit the lines they are written into), two roles of one kind.
LONGEST_NAME = "Administration-Console-For-The-Orders-And-Billing-Departments-6"
ROLES = {"Flask": "flask", "Site": "django", "Api-v2": "bottle", "Plain": "wsgi", "Fast_Api": "fastapi",
         LONGEST_NAME: "django"}
# One static file of each kind.
STATIC_FILES = {
    "django": "/static/pages/site.css",
    "flask": "/static/site.css",
    "bottle": "/static/site.css",
    "wsgi": "/static/site.css",
    "fastapi": "/static/site.css",
}
# Served by uvicorn; wfastcgi cannot serve them, so its solution has none.
ASGI_KINDS = {kind.name for kind in KIND_TABLE.values() if kind.asgi}
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
# Settings the platform gives every role, besides those in the .cscfg files.
PLATFORM_VARIABLES = ("EMULATED", "DEPLOYMENT_ID", "ROLE_NAME", "ROLE_INSTANCE_ID", "DIAGNOSTIC_STORE")
# Variables of this process that would change how a role behaves.
ROLE_VARIABLES = ("HTTP_PLATFORM_PORT", "WSGI_LOG", "DJANGO_SETTINGS_MODULE", "FLASK_DEBUG")
START_WITHIN = 30  # seconds


@pytest.fixture(scope="module", params=WEB_SERVERS)
def solution(request, cookies_session) -> Path:
    answers = {
        "roles": " ".join(f"{name}:{kind}" for name, kind in ROLES.items()
                          if request.param != "wfastcgi" or kind not in ASGI_KINDS),
        "web_server": request.param,
        "install_packages": False,
    }
    result = cookies_session.bake(extra_context=answers, template=str(TEMPLATE))
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


# Each role of each web server's solution (the wfastcgi one has no ASGI role).
EACH_ROLE = pytest.mark.parametrize(
    ("solution", "role"),
    [pytest.param(server, role, id=f"{server}-{role}") for server in WEB_SERVERS for role in ROLES
     if server != "wfastcgi" or ROLES[role] not in ASGI_KINDS],
    indirect=["solution"],
)


def roles_in(solution: Path) -> list[str]:
    return [role for role in ROLES if (solution / role).is_dir()]


def behind_httpplatformhandler(solution: Path) -> bool:
    return "HTTP_PLATFORM_PORT" in (solution / "Site" / "forwarded_headers.py").read_text()


def configured_settings(solution: Path, role: str, configuration: str) -> dict[str, str]:
    """The role's settings in ServiceConfiguration.<configuration>.cscfg."""
    root = ElementTree.parse(solution / f"ServiceConfiguration.{configuration}.cscfg").getroot()
    for element in root.iter(f"{CSCFG_NS}Role"):
        if element.get("name") == role:
            return {s.get("name"): s.get("value") for s in element.iter(f"{CSCFG_NS}Setting")}
    raise LookupError(f"{role} is not in ServiceConfiguration.{configuration}.cscfg")


def with_real_values(settings: dict[str, str], host: str, scheme: str) -> dict[str, str]:
    """The settings with what a user would put in place of each placeholder."""
    real = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": host,
        "CSRF_TRUSTED_ORIGINS": f"{scheme}://{host}",
        "StorageConnectionString": "DefaultEndpointsProtocol=https;AccountName=myservicestore;"
        "AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
    }
    filled = {}
    for name, value in settings.items():
        if "REPLACE-WITH-" in value:
            assert name in real, f"the test knows no real value for the placeholder of {name}"
            value = real[name]
        filled[name] = value
    return filled


def role_environment(solution: Path, role: str, settings: dict[str, str], emulated: bool) -> dict:
    """The environment the platform (or ``python -m cloudservice run``) gives a role's process."""
    environ = {k: v for k, v in os.environ.items() if k not in (*ROLE_VARIABLES, *PLATFORM_VARIABLES)}
    store = solution / ".test-store" / role
    (store / "LogFiles").mkdir(parents=True, exist_ok=True)
    environ.update(
        EMULATED="true" if emulated else "false",
        DEPLOYMENT_ID="test-deployment",
        ROLE_NAME=role,
        ROLE_INSTANCE_ID=f"{role}_IN_0",
        DIAGNOSTIC_STORE=str(store),
    )
    environ.update(settings)
    return environ


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def web_config_arguments(solution: Path, role: str, port: int) -> list[str]:
    """The command line that web.config gives HttpPlatformHandler, after python.exe."""
    platform = ElementTree.parse(solution / role / "web.config").getroot().find(
        "system.webServer/httpPlatform"
    )
    return shlex.split(platform.get("arguments").replace("%HTTP_PLATFORM_PORT%", str(port)))


# The command line that ``python -m cloudservice run`` starts a web role with, from the
# solution's own run.plan, on the given port; without its interpreter, the first argument.
RUN_ARGUMENTS = """
import dataclasses, json, sys
from cloudservice import run
from cloudservice.model import Service

service = Service.load()
role, port = sys.argv[1], int(sys.argv[2])
launch = run.plan(service, service.configuration(run.CONFIGURATION), service.roles_named([role]), 1)[0]
print(json.dumps(dataclasses.replace(launch, port=port).arguments()[1:]))
"""


def run_arguments(solution: Path, role: str, port: int) -> list[str]:
    printed = subprocess.run([sys.executable, "-c", RUN_ARGUMENTS, role, str(port)], cwd=solution,
                             capture_output=True, text=True, check=True).stdout
    return json.loads(printed)


class Waitress:
    """waitress serving one role from its folder: started as HttpPlatformHandler starts it
    on the VMs (``behind_iis``), or as a local run does."""

    def __init__(self, python: Path, solution: Path, role: str, environ: dict, behind_iis: bool):
        self.port = free_port()
        if behind_iis:
            arguments = web_config_arguments(solution, role, self.port)
            environ = {**environ, "HTTP_PLATFORM_PORT": str(self.port)}
        else:
            arguments = run_arguments(solution, role, self.port)
        self.log = solution / ".test-store" / f"{role}-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(python), *arguments],
                cwd=solution / role, env=environ, stdout=log, stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"waitress exited with {self.process.returncode}:\n{self.output()}")
            try:
                get(self.port, "/health")
                return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"waitress did not answer within {START_WITHIN} s:\n{self.output()}")

    def wait_for_exit(self) -> int:
        try:
            return self.process.wait(timeout=START_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"waitress kept running:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def serve(solution, role_python):
    """``serve(role, settings, emulated=False)``: a running waitress, stopped after the test;
    started as in the cloud, or with ``emulated`` as ``python -m cloudservice run`` does."""
    started = []

    def serve(role: str, settings: dict[str, str], emulated: bool = False, wait: bool = True) -> Waitress:
        python = role_python(solution / role / "requirements.txt")
        environ = role_environment(solution, role, settings, emulated)
        # On the VMs with HttpPlatformHandler, IIS starts waitress as web.config says.
        behind_iis = not emulated and behind_httpplatformhandler(solution)
        server = Waitress(python, solution, role, environ, behind_iis)
        started.append(server)
        if wait:
            server.wait_until_serving()
        return server

    yield serve
    for server in started:
        server.stop()


def cloud_settings(solution: Path, role: str, **overrides: str) -> dict[str, str]:
    """The cloud configuration's settings for a site reached as 127.0.0.1."""
    settings = with_real_values(configured_settings(solution, role, "Cloud"), "127.0.0.1", "http")
    return {**settings, **overrides}


class PageParts(HTMLParser):
    """What of a page a Content-Security-Policy rules on: elements, attributes, loaded URLs."""

    def __init__(self, page: str):
        super().__init__()
        self.elements, self.attributes, self.loads = [], [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        self.loads += [value or "" for name, value in attrs if name in ("src", "href") and tag != "a"]


def assert_keeps_to_the_policy(page: str) -> None:
    """No inline script or style, nothing loaded from elsewhere: what default-src 'self' allows."""
    parts = PageParts(page)
    assert {"script", "style"}.isdisjoint(parts.elements), parts.elements
    inline = [name for name, _ in parts.attributes if name == "style" or name.startswith("on")]
    assert inline == [], inline
    assert not [value for _, value in parts.attributes if value.strip().lower().startswith("javascript:")]
    assert parts.loads and all(url.startswith("/") and not url.startswith("//") for url in parts.loads), parts.loads


def assert_served(server: Waitress, role: str, instance: str) -> None:
    home = get(server.port, "/")
    assert home.status == 200, server.output()
    page = home.body.decode()
    assert f"<h1>{role}</h1>" in page
    assert f"<dd>{instance}</dd>" in page, "the home page does not say which instance answered"
    assert "<dd>test-deployment</dd>" in page
    assert_keeps_to_the_policy(page)
    health = get(server.port, "/health")
    assert health.status == 200
    assert health.getheader("Content-Type").startswith("application/json")
    static = get(server.port, STATIC_FILES[ROLES[role]])
    assert static.status == 200
    assert static.getheader("Content-Type").startswith("text/css")
    assert STATIC_FILES[ROLES[role]] in PageParts(page).loads
    for response in (home, health, static):
        assert response.getheader("Content-Security-Policy", "").startswith("default-src 'self'")
        assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("X-Frame-Options") == "DENY"
        assert response.getheader("Referrer-Policy") == "same-origin"


@EACH_ROLE
def test_role_tests_pass(solution, run_role_tests, role):
    completed = run_role_tests(solution, role)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@EACH_ROLE
def test_waitress_serves_the_role_with_the_cloud_settings(solution, serve, role):
    assert_served(serve(role, cloud_settings(solution, role)), role, f"{role}_IN_0")


@EACH_ROLE
def test_waitress_serves_the_role_with_the_local_settings(solution, serve, role):
    settings = configured_settings(solution, role, "Local")
    assert settings["SECRET_KEY"] == ""  # the solution's .local-secret-key is used instead
    assert (solution / ".local-secret-key").is_file()
    assert_served(serve(role, settings, emulated=True), role, f"{role}_IN_0")


@EACH_ROLE
def test_placeholders_left_in_the_cloud_settings_stop_the_role(solution, serve, role):
    server = serve(role, configured_settings(solution, role, "Cloud"), wait=False)
    assert server.wait_for_exit() != 0
    assert "SettingError: SECRET_KEY still holds its placeholder" in server.output()


@EACH_ROLE
def test_proxy_headers_are_believed_only_from_iis(solution, serve, role):
    settings = cloud_settings(solution, role, HTTPS_ONLY="true")
    server = serve(role, settings)
    if behind_httpplatformhandler(solution):
        # IIS appends its own entry to X-Forwarded-Proto: https for a request that came so.
        secure = get(server.port, "/", {"X-Forwarded-Proto": "https"})
        assert secure.status == 200, server.output()
        assert secure.getheader("Strict-Transport-Security").startswith("max-age=31536000")
        spoofed = get(server.port, "/", {"X-Forwarded-Proto": "https, http"})
        assert spoofed.status == 301
        assert spoofed.getheader("Location").startswith("https://127.0.0.1")
    else:
        # wfastcgi passes the real scheme: a header saying https is the client's word.
        spoofed = get(server.port, "/", {"X-Forwarded-Proto": "https"})
        assert spoofed.status == 301
    assert get(server.port, "/health").status == 200  # the load balancer probes over http


@pytest.mark.parametrize("role", [name for name, kind in ROLES.items() if kind == "django"])
def test_django_deployment_checklist_passes_with_the_cloud_settings(solution, role_python, role):
    python = role_python(solution / role / "requirements.txt")
    settings = with_real_values(
        configured_settings(solution, role, "Cloud"), "myservice.cloudapp.azure.com", "https"
    )

    def check_deploy(**overrides: str) -> subprocess.CompletedProcess:
        environ = role_environment(solution, role, {**settings, **overrides}, emulated=False)
        return subprocess.run(
            [str(python), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=solution / role, env=environ, capture_output=True, text=True, timeout=120, check=False,
        )

    as_generated = check_deploy()  # a plain-http endpoint, HTTPS_ONLY=false
    assert as_generated.returncode == 0, as_generated.stderr
    assert "pages.I001" in as_generated.stderr
    with_https = check_deploy(HTTPS_ONLY="true")
    assert with_https.returncode == 0, with_https.stderr
    assert "System check identified no issues" in with_https.stdout


@pytest.mark.parametrize(
    "tool",
    [
        ["ruff", "check", "--no-cache", "--output-format", "concise"],  # the solution's configuration
        ["bandit", "--quiet", "--severity-level", "medium", "--recursive"],
    ],
    ids=["ruff", "bandit"],
)
def test_code_passes(solution, tool):
    completed = subprocess.run(
        [sys.executable, "-m", *tool, *roles_in(solution)],
        cwd=solution, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@EACH_ROLE
def test_readme_guidance(solution, role):
    readme = (solution / role / "README.md").read_text(encoding="utf-8")
    glance = readme.split("## At a glance\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in glance.splitlines() if line.strip()]
    assert 3 <= len(lines) <= 6
    assert f"python -m pytest {role}" in glance
    for setting in configured_settings(solution, role, "Cloud"):
        assert f"`{setting}`" in readme
    files_table = readme.split("## Files\n", 1)[1].split("\n## ", 1)[0]
    for cell in re.findall(r"^\| (`[^|]+`) \|", files_table, re.MULTILINE):
        for path in re.findall(r"`([^`]+)`", cell):
            assert list((solution / role).glob(path.rstrip("/"))), f"README names {path}, not in {role}/"


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
def test_requirements_resolve_to_windows_wheels(solution, tmp_path, python_version):
    """Every requirement of every web kind has a win_amd64 or pure-Python wheel for each
    offered Python. (Resolved together, as the solution's .venv installs them together:
    uv's message names the requirement that has none.)"""
    requirements = []
    for kind in WSGI_APPLICATIONS:
        role = next(name for name, role_kind in ROLES.items() if role_kind == kind)
        if (solution / role).is_dir():
            requirements.append(str(solution / role / "requirements.txt"))
    completed = subprocess.run(
        [find_uv(), "pip", "compile", "--quiet", "--no-header", "--python-version", python_version,
         "--python-platform", "x86_64-pc-windows-msvc", "--only-binary", ":all:",
         *requirements, "-o", str(tmp_path / "resolved.txt")],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr


def test_every_web_kind_of_the_table_is_served_here():
    """The tests above serve one role of each web kind: a kind added to KINDS must be here too."""
    web_kinds = {kind.name for kind in KIND_TABLE.values() if kind.web}
    assert set(ROLES.values()) == web_kinds
    assert set(STATIC_FILES) == web_kinds
