"""Structural-schema handling of custom objects like the API server: prune, default, validate.

Pruning drops fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields`),
nulls of non-nullable fields are dropped before defaulting, then `default`s fill missing fields,
then the value is validated; errors read like the API server's field errors.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rhev_testbed.kubeapi.errors import FieldError, go_repr, quote

Schema = dict[str, Any]

_TOP_LEVEL = ("apiVersion", "kind", "metadata")


@dataclass
class Validation:
    """What the API server would do with an object: errors (rejected) and pruned fields."""

    errors: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(schema: Schema, obj: dict[str, Any]) -> Validation:
    """Prune a copy of `obj`, then validate it, as the API server does on a write; the
    messages are the API server's (`spec.vlan: Invalid value: "string": ...`)."""
    body = copy.deepcopy(obj)
    pruned = prune(body, schema)
    return Validation([str(e) for e in validate(body, schema)], pruned)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Prune, drop nulls and default `obj` in place; return the paths of unknown fields."""
    unknown: list[str] = []
    properties = schema.get("properties") or {}
    for key in list(obj):
        if key in _TOP_LEVEL:
            continue
        if key not in properties and not schema.get("x-kubernetes-preserve-unknown-fields"):
            unknown.append(key)
            del obj[key]
            continue
        if key in properties:
            obj[key] = _prune_value(obj[key], properties[key], key, unknown)
            if obj[key] is _DROP:
                del obj[key]
    _apply_defaults(obj, properties)
    return unknown


class _Drop:
    pass


_DROP: Any = _Drop()


def _prune_value(value: Any, schema: Schema, path: str, unknown: list[str]) -> Any:
    if value is None:
        return None if schema.get("nullable") else _DROP
    if schema.get("x-kubernetes-int-or-string"):
        return value
    if isinstance(value, dict) and schema.get("type", "object") == "object":
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        embedded = schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            child = _join(path, key)
            if properties is not None and key in properties:
                value[key] = _prune_value(value[key], properties[key], child, unknown)
            elif isinstance(additional, dict):
                value[key] = _prune_value(value[key], additional, child, unknown)
            elif additional is True or preserve or (embedded and key in _TOP_LEVEL):
                continue
            else:
                unknown.append(child)
                del value[key]
                continue
            if value[key] is _DROP:
                del value[key]
        _apply_defaults(value, properties or {})
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items: Schema = schema["items"]
        result = []
        for index, item in enumerate(value):
            pruned = _prune_value(item, items, f"{path}[{index}]", unknown)
            result.append(None if pruned is _DROP else pruned)
        return result
    return value


def _apply_defaults(obj: dict[str, Any], properties: dict[str, Schema]) -> None:
    for key, prop in properties.items():
        if key not in obj and "default" in prop:
            obj[key] = copy.deepcopy(prop["default"])


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, expected: str) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == expected


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def validate(obj: dict[str, Any], schema: Schema) -> list[FieldError]:
    """Validate a whole custom object (top-level apiVersion/kind/metadata are skipped)."""
    errors: list[FieldError] = []
    properties = schema.get("properties") or {}
    for key in schema.get("required") or []:
        if key not in obj and key not in _TOP_LEVEL:
            errors.append(FieldError(key, "Required value", ""))
    for key, value in obj.items():
        if key in _TOP_LEVEL or key not in properties:
            continue
        _validate_value(value, properties[key], key, errors)
    return errors


def _validate_value(value: Any, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if value is None and schema.get("nullable"):
        return
    expected = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{go_repr(_type_name(value))}: {path} in body must be of type "
                    f"integer-or-string: {go_repr(_type_name(value))}",
                )
            )
            return
    elif expected and not _type_ok(value, expected):
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{go_repr(_type_name(value))}: {path} in body must be of type {expected}: "
                f"{go_repr(_type_name(value))}",
            )
        )
        return

    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(go_repr(v) for v in enum)
        errors.append(
            FieldError(
                path, "Unsupported value", f"{go_repr(value)}: supported values: {supported}"
            )
        )
        return

    if isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, errors)

    for sub in schema.get("allOf") or []:
        _validate_value(value, sub, path, errors)
    for combinator, needed in (("anyOf", "at least one"), ("oneOf", "exactly one")):
        options = schema.get(combinator)
        if not options:
            continue
        passing = 0
        for option in options:
            trial: list[FieldError] = []
            _validate_value(value, {**option, "type": option.get("type")}, path, trial)
            passing += not trial
        if (combinator == "anyOf" and passing == 0) or (combinator == "oneOf" and passing != 1):
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{go_repr(value)}: {path} in body must validate {needed} schema "
                    f"({combinator})",
                )
            )


def _validate_string(value: str, schema: Schema, path: str, errors: list[FieldError]) -> None:
    min_length = schema.get("minLength")
    max_length = schema.get("maxLength")
    pattern = schema.get("pattern")
    if min_length is not None and len(value) < min_length:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{go_repr(value)}: {path} in body should be at least {min_length} chars long",
            )
        )
    if max_length is not None and len(value) > max_length:
        errors.append(FieldError(path, "Too long", f"may not be more than {max_length} bytes"))
    if pattern is not None and not _regex(pattern).search(value):
        errors.append(
            FieldError(
                path, "Invalid value", f"{go_repr(value)}: {path} in body should match '{pattern}'"
            )
        )
    fmt = schema.get("format")
    if fmt == "date-time" and value and not _DATE_TIME.match(value):
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{go_repr(value)}: {path} in body must be of type date-time: {go_repr(value)}",
            )
        )


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _validate_number(value: float, schema: Schema, path: str, errors: list[FieldError]) -> None:
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{_num(value)}: {path} in body should be greater than {_num(minimum)}",
                )
            )
        elif value < minimum:
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{_num(value)}: {path} in body should be greater than or equal to "
                    f"{_num(minimum)}",
                )
            )
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{_num(value)}: {path} in body should be less than {_num(maximum)}",
                )
            )
        elif value > maximum:
            errors.append(
                FieldError(
                    path,
                    "Invalid value",
                    f"{_num(value)}: {path} in body should be less than or equal to "
                    f"{_num(maximum)}",
                )
            )
    multiple = schema.get("multipleOf")
    if multiple and (value / multiple) != int(value / multiple):
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{_num(value)}: {path} in body should be a multiple of {_num(multiple)}",
            )
        )


def _validate_array(value: list[Any], schema: Schema, path: str, errors: list[FieldError]) -> None:
    min_items = schema.get("minItems")
    max_items = schema.get("maxItems")
    if min_items is not None and len(value) < min_items:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{len(value)}: {path} in body should have at least {min_items} items",
            )
        )
    if max_items is not None and len(value) > max_items:
        errors.append(
            FieldError(path, "Too many", f"{len(value)}: must have at most {max_items} items")
        )
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate_value(item, items, f"{path}[{index}]", errors)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(FieldError(f"{path}[{index}]", "Duplicate value", go_repr(item)))
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[tuple[Any, ...]] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                shown = ", ".join(f"{quote(k)}:{go_repr(item.get(k))}" for k in keys)
                errors.append(FieldError(f"{path}[{index}]", "Duplicate value", f"map[{shown}]"))
            seen_keys.append(key)


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str, errors: list[FieldError]
) -> None:
    for key in schema.get("required") or []:
        if key not in value:
            errors.append(FieldError(_join(path, key), "Required value", ""))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _validate_value(item, properties[key], _join(path, key), errors)
        elif isinstance(additional, dict):
            _validate_value(item, additional, _join(path, key), errors)
    min_props = schema.get("minProperties")
    max_props = schema.get("maxProperties")
    if min_props is not None and len(value) < min_props:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{len(value)}: {path} in body should have at least {min_props} properties",
            )
        )
    if max_props is not None and len(value) > max_props:
        errors.append(
            FieldError(path, "Too many", f"{len(value)}: must have at most {max_props} items")
        )


_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def validate_name(name: str, *, dns_label: bool = False) -> list[FieldError]:
    """metadata.name rules: an RFC 1123 subdomain (or a label for namespaces)."""
    if dns_label:
        if len(name) > 63 or not _LABEL.match(name):
            return [
                FieldError(
                    "metadata.name",
                    "Invalid value",
                    f"{quote(name)}: a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric "
                    "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            ]
        return []
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        return [
            FieldError(
                "metadata.name",
                "Invalid value",
                f"{quote(name)}: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                "character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        ]
    return []


def validate_labels(labels: Any) -> list[FieldError]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [FieldError("metadata.labels", "Invalid value", f"{go_repr(labels)}: must be a map")]
    errors: list[FieldError] = []
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (
            (prefix and not _SUBDOMAIN.match(prefix))
            or len(name) > 63
            or not _QUALIFIED_NAME.match(name)
        ):
            errors.append(
                FieldError(
                    "metadata.labels",
                    "Invalid value",
                    f"{quote(key)}: name part must consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.append(
                FieldError(
                    "metadata.labels",
                    "Invalid value",
                    f"{go_repr(value)}: a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
    return errors
