"""The script the worker's entry point runs (ServiceDefinition.csdef's ProgramEntryPoint, the
container's command, `python -m cloudservice run`): it is there and it is Python 3."""

import py_compile
from pathlib import Path

ROLE_FOLDER = Path(__file__).resolve().parent.parent
SCRIPT = "{{ role.worker_script }}"


def test_the_script_is_there():
    assert (ROLE_FOLDER / SCRIPT).is_file()


def test_python_3_compiles_the_script(tmp_path):
    py_compile.compile(str(ROLE_FOLDER / SCRIPT), cfile=str(tmp_path / "script.pyc"), doraise=True)
