"""OpenAPI v3 schema checks for the CRDs: the structural-schema rules the Kubernetes API
server enforces on a CRD, and a small validator that applies a CRD schema to an object the
way the API server does (nulls of non-nullable fields dropped, unknown fields pruned).

The validator covers what crdgen emits (type, nullable, enum, pattern, min/max, lengths,
items, required, properties, additionalProperties, int-or-string, list types set and map);
it lets tests (and a local API server) check objects against the generated CRDs without a
real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


@dataclass
class Validation:
    """What validating an object found: errors (rejected) and pruned (dropped) fields."""

    errors: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(schema: Mapping[str, Any], value: Any, path: str = "") -> Validation:
    """Apply a CRD schema to `value` as the API server would."""
    result = Validation()
    _validate(schema, value, path, result)
    return result


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _at(path: str) -> str:
    return path or "<root>"


def _validate(schema: Mapping[str, Any], value: Any, path: str, out: Validation) -> None:
    if value is None and schema.get("nullable") is True:
        return
    if schema.get("x-kubernetes-int-or-string") is True:
        if not (isinstance(value, str) or _type_ok("integer", value)):
            out.errors.append(f"{_at(path)}: Invalid value: must be an integer or a string")
            return
    elif "type" in schema and not _type_ok(str(schema["type"]), value):
        out.errors.append(
            f"{_at(path)}: Invalid value: {value!r}: must be of type {schema['type']}"
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{v}"' for v in schema["enum"])
        out.errors.append(f"{_at(path)}: Unsupported value: {value!r}: supported values: {allowed}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(str(schema["pattern"]), value):
            out.errors.append(
                f"{_at(path)}: Invalid value: {value!r}: should match '{schema['pattern']}'"
            )
        if "maxLength" in schema and len(value) > int(schema["maxLength"]):
            out.errors.append(
                f"{_at(path)}: Too long: may not be longer than {schema['maxLength']}"
            )
        if "minLength" in schema and len(value) < int(schema["minLength"]):
            out.errors.append(
                f"{_at(path)}: Invalid value: {value!r}: should be at least "
                f"{schema['minLength']} chars long"
            )
    if _type_ok("number", value):
        _bounds(schema, value, path, out)
    if isinstance(value, Mapping):
        _validate_object(schema, value, path, out)
    if isinstance(value, list):
        _validate_array(schema, value, path, out)


def _bounds(schema: Mapping[str, Any], value: float, path: str, out: Validation) -> None:
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") is True and value == low):
            out.errors.append(
                f"{_at(path)}: Invalid value: {value}: should be greater than or equal to {low}"
            )
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") is True and value == high):
            out.errors.append(
                f"{_at(path)}: Invalid value: {value}: should be less than or equal to {high}"
            )


def _validate_object(
    schema: Mapping[str, Any], value: Mapping[str, Any], path: str, out: Validation
) -> None:
    props: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    present: set[str] = set()
    for key, item in value.items():
        sub_path = f"{path}.{key}" if path else str(key)
        sub = props.get(key)
        if sub is None and isinstance(extra, Mapping):
            sub = extra
        if sub is None:
            if not preserve and path != "metadata" and not (path == "" and key == "metadata"):
                out.pruned.append(sub_path)
            continue
        if item is None and sub.get("nullable") is not True:
            continue  # the API server drops nulls of non-nullable fields
        present.add(key)
        _validate(sub, item, sub_path, out)
    for key in schema.get("required") or []:
        if key not in present:
            out.errors.append(f"{path + '.' if path else ''}{key}: Required value")


def _validate_array(
    schema: Mapping[str, Any], value: list[Any], path: str, out: Validation
) -> None:
    if "minItems" in schema and len(value) < int(schema["minItems"]):
        out.errors.append(
            f"{_at(path)}: Invalid value: must have at least {schema['minItems']} items"
        )
    if "maxItems" in schema and len(value) > int(schema["maxItems"]):
        out.errors.append(f"{_at(path)}: Too many: must have at most {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _validate(items, item, f"{path}[{index}]", out)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                out.errors.append(f"{path}[{index}]: Duplicate value: {item!r}")
            seen.append(item)
    elif list_type == "map":
        keys = list(schema.get("x-kubernetes-list-map-keys") or [])
        seen_keys: list[tuple[Any, ...]] = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                shown = ", ".join(f'"{k}":{item.get(k)!r}' for k in keys)
                out.errors.append(f"{path}[{index}]: Duplicate value: map[{shown}]")
            seen_keys.append(key)
