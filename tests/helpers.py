"""Checks shared by the template's tests."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree


def reference_folder() -> Path:
    """Microsoft's schemas and specifications: shared/reference beside the repository (or
    beside a folder that holds it, as for a git worktree); the usual place when none is found."""
    here = Path(__file__).resolve()
    for parent in here.parents[1:]:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared" / "reference"
    return here.parents[2] / "shared" / "reference"


# The template's root, where local_extensions.py is (cookiecutter imports it from there too).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
REFERENCE = reference_folder()
SCHEMAS = REFERENCE / "azure-schemas"
CSDEF_NS = "{http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition}"
CSCFG_NS = "{http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration}"
# The template's own variables inside Jinja delimiters, or a raw block left open. The
# frameworks' templates (Django, Jinja, Bottle) use the same delimiters for their own names.
JINJA_RESIDUE = re.compile(
    r"({{|{%-?)[^}]*\b(cookiecutter|roles?|python_build|instance_count|install_packages)\b"
    r"|{%-?\s*(end)?raw\b"
)


# Run with a solution's own Python, which has azure-storage-queue: put one plain-text
# message on a queue (connection string, queue name, text), creating the queue if need be.
SEND_MESSAGE = """
import sys
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

queue = QueueClient.from_connection_string(sys.argv[1], sys.argv[2])
try:
    queue.create_queue()
except ResourceExistsError:
    pass
queue.send_message(sys.argv[3])
"""


ADOPTED_DEFAULT = re.compile(r"\{\{ cookiecutter\.adopt_from \| adopted\('\w+', '(.*)'\) \}\}")


def new_service_default(value):
    """A question's default for a new service: the template's own inside
    ``{{ cookiecutter.adopt_from | adopted('name', 'default') }}`` (an adopted one's is the old service's)."""
    adopted = ADOPTED_DEFAULT.fullmatch(value) if isinstance(value, str) else None
    return adopted.group(1) if adopted else value


def new_service_answers(template: Path) -> dict:
    """cookiecutter.json's answers for a new service: each default (a list's first item)."""
    config = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    return {key: new_service_default(value[0] if isinstance(value, list) else value) for key, value in config.items()}


def hook_module(name: str):
    """hooks/<name>.py as a module, loaded the way local_extensions.py loads it for cookiecutter."""
    import local_extensions

    return local_extensions.hook_module(name)


def module_from_file(path: Path, name: str):
    """A module of the solution's tool (standard library only) loaded from its file under
    ``name``, so that it does not meet the template's own modules or another solution's."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def require_node() -> None:
    """Azurite runs on Node.js: fail in CI without it, skip elsewhere."""
    import pytest

    if shutil.which("node") and shutil.which("npm"):
        return
    if os.environ.get("CI"):
        pytest.fail("Node.js and npm are not on PATH; CI must provide them for the Azurite tests")
    pytest.skip("Node.js and npm are not on PATH: Azurite cannot run here")


def tree_hash(folder: Path) -> str:
    """Names, contents and modification times of everything under folder."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def text_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".venv" not in path.parts and "__pycache__" not in path.parts:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def untidy(folder: Path) -> list[str]:
    """What the solution's own pre-commit hooks would change (end-of-file-fixer and
    trailing-whitespace), and two blank lines in a row in Markdown, as 'path:line: what'."""
    found = []
    for path, text in text_files(folder):
        name = path.relative_to(folder).as_posix()
        if text and (not text.endswith("\n") or text.endswith("\n\n")):
            found.append(f"{name}: does not end with exactly one newline")
        for number, line in enumerate(text.split("\n"), 1):
            if line != line.rstrip():
                found.append(f"{name}:{number}: trailing whitespace")
        if path.suffix == ".md" and "\n\n\n" in text:
            found.append(f"{name}:{text[:text.index(chr(10) * 3)].count(chr(10)) + 2}: two blank lines in a row")
    return found


def jinja_residue(folder: Path) -> list[str]:
    """Files that still hold Jinja syntax, as 'path:line: text'."""
    found = []
    for path, text in text_files(folder):
        for number, line in enumerate(text.splitlines(), 1):
            if JINJA_RESIDUE.search(line):
                found.append(f"{path.relative_to(folder)}:{number}: {line.strip()}")
    return found


def load_schema(name: str):
    """Microsoft's schema, compiled after removing the .NET-only regex facets."""
    from lxml import etree

    text = re.sub(r"<xs:pattern[^>]*/>", "", (SCHEMAS / name).read_text(encoding="utf-8"))
    return etree.XMLSchema(etree.fromstring(text.encode("utf-8")))


def schema_errors(document: Path, schema_name: str) -> list[str]:
    """Validate against Microsoft's schema (its schemaVersion list predates the last SDK's)."""
    from lxml import etree

    tree = etree.parse(str(document))
    tree.getroot().attrib.pop("schemaVersion", None)
    schema = load_schema(schema_name)
    if schema.validate(tree):
        return []
    return [f"{document.name}:{error.line}: {error.message}" for error in schema.error_log]


def csdef_roles(solution: Path) -> list[tuple[str, str]]:
    """(element, name) of every role in ServiceDefinition.csdef, in order."""
    root = ElementTree.parse(solution / "ServiceDefinition.csdef").getroot()
    return [(child.tag.removeprefix(CSDEF_NS), child.get("name")) for child in root
            if child.tag in (f"{CSDEF_NS}WebRole", f"{CSDEF_NS}WorkerRole")]


def ruff_errors(folder: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=folder, capture_output=True, text=True, check=False,
    )
    return "" if completed.returncode == 0 else completed.stdout + completed.stderr


def powershell_errors(text: str) -> list[str]:
    """Syntax errors in a PowerShell script, as 'line:column: ERROR|MISSING text', found with
    the tree-sitter PowerShell grammar (no PowerShell runs here)."""
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    source = text.encode("utf-8")
    parser = Parser(Language(tree_sitter_powershell.language()))
    bad = []
    nodes = [parser.parse(source).root_node]
    while nodes:
        node = nodes.pop()
        if node.is_error or node.is_missing:
            bad.append(node)
        nodes.extend(node.children)
    found = []
    for node in sorted(bad, key=lambda node: node.start_byte):
        kind = "MISSING" if node.is_missing else "ERROR"
        snippet = source[node.start_byte : node.end_byte].decode("utf-8", "replace")[:60]
        line, column = node.start_point
        found.append(f"{line + 1}:{column + 1}: {kind} {snippet!r}")
    return found


def powershell_commands(text: str) -> tuple[set[str], set[str]]:
    """(functions the script defines, commands it calls by name) in a PowerShell script."""
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    source = text.encode("utf-8")
    parser = Parser(Language(tree_sitter_powershell.language()))
    names: dict[str, set[str]] = {"function_name": set(), "command_name": set()}
    nodes = [parser.parse(source).root_node]
    while nodes:
        node = nodes.pop()
        if node.type in names:
            names[node.type].add(source[node.start_byte : node.end_byte].decode("utf-8"))
        nodes.extend(node.children)
    return names["function_name"], names["command_name"]


@contextlib.contextmanager
def azurite_usual_ports():
    """Held by a test that runs ``python -m cloudservice run``, whose Azurite takes its usual
    ports (10000-10002): one such test at a time on this machine, across pytest's workers and
    runs (one run's Azurite stopping would leave another's roles without storage)."""
    path = Path.home() / ".cache" / "azure-py-cloudservice" / "azurite-usual-ports.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as lock:
        if os.name == "nt":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s: keep waiting
                    continue
        else:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# The template's table of role kinds (hooks/plan.py), and what the tests take from it.
KIND_TABLE = hook_module("plan").KINDS
KINDS = tuple(KIND_TABLE)
DEFAULT_NAMES = {kind.name: kind.default_role_name for kind in KIND_TABLE.values()}
WEB_KINDS = tuple(kind.name for kind in KIND_TABLE.values() if kind.web)
WSGI_APPLICATIONS = {kind.name: kind.application for kind in KIND_TABLE.values() if kind.web}


def kind_sets() -> list[tuple[str, ...]]:
    """Sets of role kinds, one role of each: every set of one or two kinds (what two kinds
    could do to each other), all kinds together, and, of each size between, instead of
    every set, the len(KINDS) runs of consecutive kinds in KINDS taken round in a circle
    (every kind in as many of them, the same ones every run): every non-empty set would
    be 2**len(KINDS) - 1 bakes, most telling nothing the others do not."""
    n = len(KINDS)
    sets = [kinds for size in (1, 2) for kinds in itertools.combinations(KINDS, size)]
    for size in range(3, n):
        sets += [tuple(KINDS[(start + i) % n] for i in range(size)) for start in range(n)]
    return [*sets, KINDS]


KIND_COMBINATIONS = [{"roles": " ".join(kinds)} for kinds in kind_sets()]
