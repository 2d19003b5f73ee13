"""Check Bicep resource bodies against Microsoft's REST API specifications.

``resources(source)`` reads every resource declaration of a Bicep file with the
tree-sitter Bicep grammar and turns its body into plain data: dicts, lists and
``Leaf`` values (a literal with its type, or an expression whose type only Azure knows).
``Specs(folder).problems(type, api_version, body)`` walks that data down the PUT body
schema of the type in the azure-rest-api-specs layout under ``folder``, following
``$ref`` (into other files too), ``allOf`` and ``additionalProperties``, and says where
a property does not exist, is read-only, or has a literal of the wrong type or value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from helpers import REFERENCE

SPECS = REFERENCE / "azure-specs"
# Keys of a resource body that Bicep itself handles; they are not part of the request.
BICEP_KEYS = {"name", "parent", "scope", "dependsOn"}


@dataclass(frozen=True)
class Leaf:
    kind: str  # string, integer, boolean, null, or expression (type unknown here)
    text: str
    value: object = None


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    api_version: str
    existing: bool
    body: object
    line: int


def parser():
    import tree_sitter_bicep
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bicep.language()))


def syntax_errors(source: bytes) -> list[str]:
    """ERROR and MISSING nodes, as 'line: text'."""
    nodes, found = [parser().parse(source).root_node], []
    while nodes:
        node = nodes.pop()
        if node.is_error or node.is_missing:
            kind = "MISSING" if node.is_missing else "ERROR"
            found.append(f"{node.start_point[0] + 1}: {kind} {source[node.start_byte:node.end_byte][:60]!r}")
        nodes.extend(node.children)
    return found


def text(source: bytes, node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8")


def string_value(source: bytes, node) -> str | None:
    """The value of a string literal; None when it interpolates."""
    parts = []
    for child in node.children:
        if child.type == "interpolation":
            return None
        if child.type == "string_content":
            parts.append(text(source, child))
        elif child.type == "escape_sequence":
            parts.append(text(source, child)[1:])
    return "".join(parts)


def data(source: bytes, node) -> object:
    """A Bicep value as plain data."""
    named = [child for child in node.children if child.is_named and child.type != "comment"]
    if node.type == "object":
        found = {}
        for prop in named:
            if prop.type != "object_property":
                continue
            key_node, value_node = [c for c in prop.children if c.is_named and c.type != "comment"][:2]
            if key_node.type == "string":
                key = string_value(source, key_node)
                key = text(source, key_node) if key is None else key
            else:
                key = text(source, key_node)
            found[key] = data(source, value_node)
        return found
    if node.type == "array":
        return [data(source, child) for child in named]
    if node.type == "for_statement":  # [for x in y: body] is an array of bodies
        return [data(source, named[-1])]
    if node.type == "if_statement":
        return data(source, named[-1])
    if node.type == "string":
        value = string_value(source, node)
        return Leaf("string", text(source, node), value)
    if node.type == "number":
        return Leaf("integer", text(source, node), int(text(source, node)))
    if node.type == "boolean":
        return Leaf("boolean", text(source, node), text(source, node) == "true")
    if node.type == "null":
        return Leaf("null", "null")
    if node.type == "parenthesized_expression" and len(named) == 1:
        return data(source, named[0])
    return Leaf("expression", text(source, node))


def resources(source: bytes) -> list[Resource]:
    tree = parser().parse(source)
    found = []
    for node in tree.root_node.children:
        if node.type != "resource_declaration":
            continue
        named = [child for child in node.children if child.is_named]
        symbol = text(source, named[0])
        type_version = string_value(source, named[1]) or ""
        kind, _, api_version = type_version.partition("@")
        existing = any(child.type == "existing" for child in node.children)
        found.append(
            Resource(symbol, kind, api_version, existing, data(source, named[-1]), node.start_point[0] + 1)
        )
    return found


class Specs:
    """The REST specifications under a folder, read in place."""

    def __init__(self, folder: Path = SPECS):
        self.folder = folder

    @cache  # noqa: B019 - one instance per test session
    def document(self, path: Path) -> dict:
        return json.loads(path.read_text(encoding="utf-8"))

    def files(self, api_version: str) -> list[Path]:
        return sorted(self.folder.glob(f"specification/**/stable/{api_version}/*.json"))

    def put_schema(self, resource_type: str, api_version: str) -> tuple[Path, dict] | None:
        """(file, schema) of the PUT request body of that type and version, or None."""
        wanted = resource_type.lower()
        for path in self.files(api_version):
            for url, operations in self.document(path).get("paths", {}).items():
                provider = url.rpartition("/providers/")[2]
                segments = [s for s in provider.split("/") if not s.startswith("{")]
                if "/".join(segments).lower() != wanted or "put" not in operations:
                    continue
                for parameter in operations["put"].get("parameters", []):
                    parameter_file, parameter = self.resolve(path, parameter)
                    if parameter.get("in") == "body":
                        return parameter_file, parameter["schema"]
        return None

    def resolve(self, path: Path, schema: dict) -> tuple[Path, dict]:
        """Follow $ref (to this file or another) until a schema without one."""
        while "$ref" in schema:
            reference, _, pointer = schema["$ref"].partition("#")
            if reference:
                path = (path.parent / reference).resolve()
            schema = self.document(path)
            for part in pointer.strip("/").split("/"):
                if part:
                    schema = schema[part.replace("~1", "/").replace("~0", "~")]
        return path, schema

    def merged(self, path: Path, schema: dict) -> dict:
        """A schema with its allOf parents folded in: properties, additionalProperties,
        type, items, enum and readOnly, each ``(file, schema)`` where it matters."""
        path, schema = self.resolve(path, schema)
        result = {
            "properties": {},
            "additional": None,
            "type": schema.get("type"),
            "items": (path, schema["items"]) if "items" in schema else None,
            "enum": schema.get("enum"),
            "readOnly": schema.get("readOnly", False),
        }
        for parent in schema.get("allOf", []):
            inherited = self.merged(path, parent)
            result["properties"].update(inherited["properties"])
            result["type"] = result["type"] or inherited["type"]
            result["additional"] = result["additional"] or inherited["additional"]
        for name, child in schema.get("properties", {}).items():
            result["properties"][name] = (path, child)
        if "additionalProperties" in schema:
            result["additional"] = (path, schema["additionalProperties"])
        return result

    def problems(self, resource_type: str, api_version: str, body: object) -> list[str]:
        found = self.put_schema(resource_type, api_version)
        if found is None:
            return [f"{resource_type}@{api_version}: no PUT operation in the specifications"]
        path, schema = found
        problems: list[str] = []
        if isinstance(body, dict):
            body = {key: value for key, value in body.items() if key not in BICEP_KEYS}
        self.walk(path, schema, body, resource_type, problems)
        return problems

    def walk(self, path: Path, schema: dict, value: object, where: str, problems: list[str]) -> None:
        spec = self.merged(path, schema)
        declared_type = spec["type"]
        if isinstance(value, Leaf):
            self.check_leaf(spec, value, where, problems)
            return
        if isinstance(value, dict):
            if declared_type not in (None, "object"):
                problems.append(f"{where}: an object, but the specification says {declared_type}")
                return
            for key, item in value.items():
                if key in spec["properties"]:
                    child_path, child = spec["properties"][key]
                    if self.resolve(child_path, child)[1].get("readOnly") or child.get("readOnly"):
                        problems.append(f"{where}.{key}: read-only in the specification")
                        continue
                    self.walk(child_path, child, item, f"{where}.{key}", problems)
                elif isinstance(spec["additional"], tuple) and isinstance(spec["additional"][1], dict):
                    self.walk(*spec["additional"], item, f"{where}[{key!r}]", problems)
                elif spec["additional"] and spec["additional"][1] is True:
                    continue
                else:
                    known = ", ".join(sorted(spec["properties"])) or "none"
                    problems.append(f"{where}.{key}: not in the specification (it has {known})")
            return
        if isinstance(value, list):
            if declared_type != "array" or spec["items"] is None:
                problems.append(f"{where}: an array, but the specification says {declared_type}")
                return
            for index, item in enumerate(value):
                self.walk(*spec["items"], item, f"{where}[{index}]", problems)
            return
        problems.append(f"{where}: {value!r} is not Bicep data")

    @staticmethod
    def check_leaf(spec: dict, leaf: Leaf, where: str, problems: list[str]) -> None:
        declared_type = spec["type"]
        if leaf.kind in ("expression", "null") or declared_type is None:
            return
        allowed = {"string": {"string"}, "integer": {"integer", "number"}, "boolean": {"boolean"}}
        if declared_type not in allowed[leaf.kind]:
            problems.append(f"{where}: {leaf.text} is a {leaf.kind}, but the specification says {declared_type}")
            return
        if spec["enum"] and leaf.value is not None and leaf.value not in spec["enum"]:
            problems.append(f"{where}: {leaf.text} is not one of {', '.join(map(str, spec['enum']))}")


def leaf_value(value: object) -> object:
    """A literal's value; an expression's text."""
    if isinstance(value, Leaf):
        return value.text if value.value is None and value.kind != "null" else value.value
    return value

