"""prepare, without the network: a package index and a NuGet package made here, read
through file: URLs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from cloudservice import model, package, prepare
from cloudservice.model import ModelError, Service
from cloudservice.tests.solution_copy import copy_solution, edit

SERVER_PACKAGES = sorted(prepare.SERVER_PACKAGES.values())
ALL = {"3.11", "3.12", "3.13", "3.14"}


def make_wheel(
    folder: Path, name: str, version: str = "1.0", requires: tuple[str, ...] = ()
) -> Path:
    """A pure-Python wheel that pip accepts: a module and its metadata."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}.py", "")
        archive.writestr(f"{dist_info}/METADATA", "\n".join(metadata) + "\n")
        archive.writestr(
            f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    return wheel


def make_index(folder: Path, wheels: list[Path]) -> str:
    """A package index (PEP 503) in a folder, as a file: URL."""
    for wheel in wheels:
        project = folder / wheel.name.split("-")[0]
        project.mkdir(parents=True, exist_ok=True)
        wheel.rename(project / wheel.name)
        (project / "index.html").write_text(
            f'<a href="{wheel.name}">{wheel.name}</a>\n', encoding="utf-8"
        )
    return folder.as_uri()


@pytest.fixture
def index(tmp_path) -> str:
    """An index with a project that needs another one only on Windows, and the web servers."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    made = [make_wheel(wheels, "demo", requires=('windowsonly; sys_platform == "win32"',))]
    made += [make_wheel(wheels, "windowsonly")]
    made += [make_wheel(wheels, name) for name in SERVER_PACKAGES]
    return make_index(tmp_path / "simple", made)


@pytest.fixture
def copy(tmp_path):
    service = copy_solution(tmp_path / "solution")
    for role in service.roles:
        (service.folder(role) / "requirements.txt").write_text("demo\n", encoding="utf-8")
    return service


def nuget_package(path: Path, executable: str = prepare.PYTHON_EXE) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("python.nuspec", "<package />")
        archive.writestr(executable, "MZ")
        archive.writestr("tools/Lib/os.py", "")
    return path.as_uri()


def test_the_pin_is_read_from_the_role_environment(copy):
    pin = copy.python_pin(copy.roles[0])
    assert model.BUILD_PATTERN.match(pin.build)
    assert pin.version == ".".join(pin.build.split(".")[:2])
    assert pin.url.endswith(f"python.{pin.build}.nupkg")


def test_a_pin_that_differs_between_task_and_runtime_is_refused(copy):
    pin = copy.python_pin(copy.roles[0])
    edit(copy.root / "ServiceDefinition.csdef", f'value="{pin.build}"', 'value="3.9.1"')
    values = ", ".join(sorted([pin.build, "3.9.1"]))
    with pytest.raises(ModelError, match=f"gives PYTHON_BUILD different values: {values}$"):
        reloaded = Service.load(copy.root)
        reloaded.python_pin(reloaded.roles[0])


def test_wheels_follow_the_markers_of_windows_and_are_reused(copy, index):
    role = copy.roles[0]
    pin = copy.python_pin(role)
    wheelhouse = copy.folder(role) / prepare.WHEELHOUSE
    wheelhouse.mkdir(parents=True)
    make_wheel(wheelhouse, "stale")

    count = prepare.prepare_wheelhouse(copy, role, pin, index)

    expected = {"demo-1.0-py3-none-any.whl", "windowsonly-1.0-py3-none-any.whl"}
    expected |= {f"{name}-1.0-py3-none-any.whl" for name in prepare.server_packages(copy, role)}
    assert {path.name for path in wheelhouse.glob("*.whl")} == expected
    assert count == len(expected)
    stamp = json.loads((wheelhouse / prepare.WHEELHOUSE_STAMP).read_text(encoding="utf-8"))
    assert stamp["python"] == pin.version and sorted(stamp["wheels"]) == sorted(expected)

    written = {path.name: path.stat().st_mtime_ns for path in wheelhouse.glob("*.whl")}
    prepare.prepare_wheelhouse(copy, role, pin, index)
    assert {path.name: path.stat().st_mtime_ns for path in wheelhouse.glob("*.whl")} == written


def test_a_requirement_the_index_lacks_stops_with_its_name(copy, index):
    role = copy.roles[0]
    (copy.folder(role) / "requirements.txt").write_text("demo\nnot-there>=2\n", encoding="utf-8")
    with pytest.raises(prepare.PrepareError) as raised:
        prepare.prepare_wheelhouse(copy, role, copy.python_pin(role), index)
    assert str(raised.value).startswith(
        f"{role.name}/requirements.txt: not-there>=2 has no wheel for Windows x64 and CPython"
    )
    assert package.unprepared(copy, role) == f"{role.name} has no wheelhouse"


def test_python_is_unpacked_once_and_then_left_alone(copy, tmp_path, capsys):
    role = copy.roles[0]
    pin = copy.python_pin(role)
    url = nuget_package(tmp_path / "python.nupkg")
    home = copy.folder(role) / prepare.PYTHON_HOME
    prepare.prepare_python(copy, role, pin, url, {}, tmp_path)
    assert (home / prepare.PYTHON_EXE).read_text() == "MZ"
    (home / "tools" / "marker").write_text("kept")
    prepare.prepare_python(copy, role, pin, url, {}, tmp_path)
    assert (home / "tools" / "marker").exists()
    assert f"Python {pin.build} is already in" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "is not a NuGet package"), ("tools/pythonw.exe", "has no tools/python.exe")],
)
def test_what_is_not_a_python_package_is_refused(copy, tmp_path, content, message):
    role = copy.roles[0]
    path = tmp_path / "python.nupkg"
    if content is None:
        path.write_text("not a zip file")
        url = path.as_uri()
    else:
        url = nuget_package(path, executable=content)
    with pytest.raises(prepare.PrepareError, match=message):
        prepare.prepare_python(copy, role, copy.python_pin(role), url, {}, tmp_path)
    assert not (copy.folder(role) / prepare.PYTHON_HOME).exists()


@pytest.mark.parametrize(
    ("filename", "windows", "cpython"),
    [
        ("markupsafe-3.0.2-cp312-cp312-win_amd64.whl", True, {"3.12"}),
        ("cryptography-44.0.0-cp39-abi3-win_amd64.whl", True, ALL),
        ("wrapt-1.17.0-cp313-abi3-win_amd64.whl", True, {"3.13", "3.14"}),
        ("six-1.17.0-py2.py3-none-any.whl", True, ALL),
        ("tomli-2.2.1-py311-none-any.whl", True, {"3.11"}),
        ("numpy-2.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False, {"3.12"}),
        ("pywin32-308-cp312-cp312-win32.whl", False, {"3.12"}),
    ],
)
def test_wheel_tags(filename, windows, cpython):
    assert prepare.runs_on_windows(filename) is windows
    tags = prepare.wheel_tags(filename)
    for version in sorted(ALL):
        assert prepare.runs_on_cpython(tags, version) is (version in cpython)


def project(version: str, *filenames: str) -> dict:
    return {"info": {"version": version}, "urls": [{"filename": name} for name in filenames]}


@pytest.mark.parametrize(
    ("description", "why"),
    [
        (None, "PyPI has no project of that name"),
        (
            project("2.6.1", "pycrypto-2.6.1.tar.gz"),
            "PyPI has only its source (latest release 2.6.1)",
        ),
        (
            project("1.0", "x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
            "are all for other systems",
        ),
        (
            project("1.0", "x-1.0-cp310-cp310-win_amd64.whl", "x-1.0-cp311-cp311-win_amd64.whl"),
            "its Windows wheels (release 1.0) are for cp310, cp311 only",
        ),
        (
            project("2.0", "x-2.0-cp312-cp312-win_amd64.whl"),
            "no release that the version constraints allow",
        ),
    ],
)
def test_why_there_is_no_wheel(description, why):
    assert why in prepare.why_no_wheel("x", "3.12", description)


def test_pip_output_is_read_for_saved_files_and_the_missing_requirement():
    output = [
        "Collecting flask",
        "  File was already downloaded /w/flask-3.1.0-py3-none-any.whl",
        "  Saved /w/click-8.1.8-py3-none-any.whl",
        "ERROR: Could not find a version that satisfies the requirement pycrypto==2.6"
        " (from versions: none)",
        "ERROR: No matching distribution found for pycrypto==2.6",
    ]
    assert prepare.saved_wheels(output) == {
        "flask-3.1.0-py3-none-any.whl",
        "click-8.1.8-py3-none-any.whl",
    }
    assert prepare.unsatisfied(output) == ("pycrypto==2.6", "none")


def test_a_prepared_role_is_ready_to_package_until_its_requirements_change(copy, index, tmp_path):
    role = copy.roles[0]
    pin = copy.python_pin(role)
    prepare.prepare_wheelhouse(copy, role, pin, index)
    assert package.unprepared(copy, role) == f"{role.name} has no Python {pin.build} in bin/python"
    prepare.prepare_python(copy, role, pin, nuget_package(tmp_path / "python.nupkg"), {}, tmp_path)
    assert package.unprepared(copy, role) is None
    (copy.folder(role) / "requirements.txt").write_text("demo\nwindowsonly\n", encoding="utf-8")
    assert "changed since it was prepared" in package.unprepared(copy, role)
