from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from cloudservice import package
from cloudservice.model import Service
{% if roles | selectattr("web") | list %}
from cloudservice.tests.solution_copy import copy_solution, edit
{% else %}
from cloudservice.tests.solution_copy import copy_solution
{% endif %}


@pytest.fixture
def copy(tmp_path):
    return copy_solution(tmp_path / "solution")


def test_cspack_gets_every_role_and_every_site(copy):
    arguments = package.cspack_arguments(copy, copy.root / "out" / "Service.cspkg")
    expected = ["ServiceDefinition.csdef"]
    for role in copy.roles:
        expected.append(f"/role:{role.name};{role.name}")
        expected += [f"/sites:{role.name};{site.name};{role.name}" for site in role.sites]
        expected.append(f"/rolePropertiesFile:{role.name};deploy\\RoleProperties.txt")
    expected.append("/out:out\\Service.cspkg")
    assert arguments == expected
    assert (copy.root / "deploy" / "RoleProperties.txt").is_file()


{% if roles | selectattr("web") | list %}
def test_a_site_with_a_physical_directory_is_packaged_from_there(copy):
    web = next(role for role in copy.roles if role.web)
    edit(
        copy.root / "ServiceDefinition.csdef",
        '<Site name="Web">',
        '<Site name="Web" physicalDirectory="site\\www">',
    )
    arguments = package.cspack_arguments(Service.load(copy.root), Path("C:/elsewhere/x.cspkg"))
    assert f"/sites:{web.name};Web;site\\www" in arguments


{% endif %}
def test_cspack_is_found_in_the_newest_sdk(tmp_path, monkeypatch):
    for version in ("v2.8", "v2.9", "v2.10"):
        folder = tmp_path / "Microsoft SDKs" / "Azure" / ".NET SDK" / version / "bin"
        folder.mkdir(parents=True)
        if version != "v2.10":
            (folder / "cspack.exe").write_bytes(b"MZ")
    monkeypatch.delenv("CSPACK", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("ProgramFiles", str(tmp_path))
    monkeypatch.delenv("ProgramFiles(x86)", raising=False)
    assert (
        package.find_cspack()
        == tmp_path / "Microsoft SDKs" / "Azure" / ".NET SDK" / "v2.9" / "bin" / "cspack.exe"
    )
    monkeypatch.setenv("CSPACK", "D:\\tools\\cspack.exe")
    assert package.find_cspack() == Path("D:\\tools\\cspack.exe")


def test_an_unprepared_role_is_named(copy):
    role = copy.roles[0]
    assert package.unprepared(copy, role) == f"{role.name} has no wheelhouse"


SITES = """<?xml version="1.0" encoding="utf-8"?>
<ServiceDefinition name="Portal"
    xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition">
  <WebRole name="Front" vmsize="Standard_D1_v2">
    <Sites>
      <Site name="Web">
        <VirtualApplication name="api" physicalDirectory="..\\Api">
          <VirtualDirectory name="docs" physicalDirectory="Docs" />
        </VirtualApplication>
        <Bindings><Binding name="Http" endpointName="Http" /></Bindings>
      </Site>
      <Site name="Blog" physicalDirectory="Blog\\www">
        <Bindings><Binding name="Http" endpointName="Http" hostHeader="blog.example" /></Bindings>
      </Site>
      <Site name="Shop">
        <Bindings><Binding name="Http" endpointName="Http" hostHeader="shop.example" /></Bindings>
      </Site>
    </Sites>
    <Endpoints><InputEndpoint name="Http" protocol="http" port="80" /></Endpoints>
  </WebRole>
</ServiceDefinition>
"""


def test_every_site_and_virtual_path_gets_its_own_folder(tmp_path):
    root = tmp_path / "Portal"
    root.mkdir()
    (root / "ServiceDefinition.csdef").write_text(SITES, encoding="utf-8")
    service = Service.load(root)
    arguments = package.cspack_arguments(service, root / "Portal.cspkg")
    assert [argument for argument in arguments if argument.startswith("/sites:")] == [
        "/sites:Front;Web;Front",
        "/sites:Front;Web/api;" + str(PureWindowsPath(tmp_path / "Api")),
        "/sites:Front;Web/api/docs;Docs",
        "/sites:Front;Blog;Blog\\www",
        # Shop has no physicalDirectory either: the role folder is Web's (check says so).
    ]
