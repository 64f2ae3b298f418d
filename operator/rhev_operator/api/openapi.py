"""OpenAPI v3 schema checks for the CRDs: the structural-schema rules the Kubernetes API
server enforces on a CRD (`rhev-operator crds` refuses to write a CRD that breaks them).

Objects are validated against a CRD schema by one validator only, the local Kubernetes API's
(`rhev_testbed.kubeapi.schema`), with the API server's wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TYPES = ("object", "array", "string", "integer", "number", "boolean")
_INT_OR_STRING_ANYOF = [{"type": "integer"}, {"type": "string"}]
#: Keys a schema inside anyOf/allOf/oneOf/not may not carry (structural rules).
_FORBIDDEN_IN_JUNCTORS = ("description", "type", "default", "additionalProperties", "nullable")


def structural_problems(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """The reasons `schema` is not a structural schema (empty when it is)."""
    problems: list[str] = []
    _check_node(schema, path or "<root>", problems, root=not path)
    return problems


def _check_node(node: Mapping[str, Any], path: str, problems: list[str], root: bool) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{path}: a schema must be a mapping")
        return
    for key in ("$ref", "definitions", "$defs", "$schema", "const", "title"):
        if key in node:
            problems.append(f"{path}: {key} is not allowed in a CRD schema")
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    kind = node.get("type")
    if int_or_string:
        if kind is not None:
            problems.append(f"{path}: x-kubernetes-int-or-string requires an empty type")
        if "anyOf" in node and node["anyOf"] != _INT_OR_STRING_ANYOF:
            problems.append(f"{path}: anyOf of an int-or-string must be [integer, string]")
    elif kind is None:
        if not preserve:
            problems.append(f"{path}: type is missing")
    elif kind not in TYPES:
        problems.append(f"{path}: type {kind!r} is not one of {', '.join(TYPES)}")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties are mutually exclusive")
    if node.get("additionalProperties") is False:
        problems.append(f"{path}: additionalProperties: false is not allowed")
    if node.get("nullable") is True and root:
        problems.append(f"{path}: the root may not be nullable")
    for junctor in ("anyOf", "allOf", "oneOf"):
        for index, sub in enumerate(node.get(junctor, [])):
            if int_or_string and junctor == "anyOf":
                continue
            _check_junctor(sub, f"{path}.{junctor}[{index}]", problems)
    if "not" in node:
        _check_junctor(node["not"], f"{path}.not", problems)
    for name, sub in (node.get("properties") or {}).items():
        _check_node(sub, f"{path}.{name}" if path != "<root>" else name, problems, root=False)
    if isinstance(node.get("additionalProperties"), Mapping):
        _check_node(node["additionalProperties"], f"{path}.*", problems, root=False)
    if kind == "array":
        if "items" not in node:
            problems.append(f"{path}: an array needs items")
        else:
            _check_node(node["items"], f"{path}[]", problems, root=False)
            _check_list_type(node, path, problems)
    if root:
        meta = (node.get("properties") or {}).get("metadata")
        if isinstance(meta, Mapping) and set(meta) - {"type"}:
            problems.append("metadata: only {type: object} may be given for metadata")


def _check_junctor(node: Any, path: str, problems: list[str]) -> None:
    if not isinstance(node, Mapping):
        problems.append(f"{path}: a schema must be a mapping")
        return
    for key in _FORBIDDEN_IN_JUNCTORS:
        if key in node:
            problems.append(f"{path}: {key} is not allowed inside anyOf/allOf/oneOf/not")
    for name, sub in (node.get("properties") or {}).items():
        _check_junctor(sub, f"{path}.{name}", problems)
    if isinstance(node.get("items"), Mapping):
        _check_junctor(node["items"], f"{path}[]", problems)


def _check_list_type(node: Mapping[str, Any], path: str, problems: list[str]) -> None:
    list_type = node.get("x-kubernetes-list-type")
    if list_type is None:
        return
    if list_type not in ("atomic", "set", "map"):
        problems.append(f"{path}: x-kubernetes-list-type {list_type!r} is unknown")
    items = node["items"]
    if list_type == "set" and items.get("type") in ("object", "array"):
        problems.append(f"{path}: a set must hold scalars")
    if list_type == "map":
        keys = node.get("x-kubernetes-list-map-keys") or []
        if not keys:
            problems.append(f"{path}: a map list needs x-kubernetes-list-map-keys")
        required = set(items.get("required") or [])
        for key in keys:
            prop = (items.get("properties") or {}).get(key)
            if prop is None:
                problems.append(f"{path}: map key {key!r} is not a property of the items")
            elif key not in required and "default" not in prop:
                problems.append(f"{path}: map key {key!r} must be required or defaulted")
