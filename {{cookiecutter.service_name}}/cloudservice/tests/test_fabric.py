"""The layout of ``python -m cloudservice.fabric``, which the roles-on-windows job of the
workflow proves on Windows; the layout itself runs on any system."""

from __future__ import annotations

import json
from pathlib import Path, PureWindowsPath
from xml.etree import ElementTree

import pytest

from cloudservice import fabric
from cloudservice.model import DEFINITION, Service


def lay_out(solution: Service, name: str, root: Path) -> dict:
    values = fabric.test_values("UseDevelopmentStorage=true", "http://127.0.0.1:9/")
    return fabric.layout(solution, solution.role(name), root, values)


@pytest.mark.parametrize("name", [role.name for role in Service.load().roles])
def test_each_role_is_laid_out_as_on_its_vm(solution, name, tmp_path):
    role = solution.role(name)
    root = tmp_path / role.name
    environment = lay_out(solution, role.name, root)
    assert json.loads((root / fabric.ENVIRONMENT_FILE).read_text(encoding="utf-8")) == environment
    for variables in environment.values():
        assert fabric.PLACEHOLDER not in "".join(variables.values())
        assert Path(variables["DIAGNOSTIC_STORE"]).is_dir()
        assert variables["EMULATED"] == "false"
    assert (root / "approot" / "bin" / "ps.cmd").is_file()
    model = ElementTree.parse(root / fabric.ROLE_MODEL).getroot()  # noqa: S314  # nosec B314
    sites = model.findall(f"{DEFINITION}Sites/{DEFINITION}Site")
    assert [site.get("name") for site in sites] == [site.name for site in role.sites]
    for site in sites:
        folder = root.joinpath(*PureWindowsPath(site.get("physicalDirectory")).parts)
        assert (folder / "web.config").is_file()
    assert fabric.command_folder(root, role) == root / "approot" / ("bin" if role.web else "")


def test_a_folder_of_other_files_is_left_alone(solution, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(fabric.ProofFailed, match="is not empty and holds no layout"):
        lay_out(solution, solution.roles[0].name, tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
