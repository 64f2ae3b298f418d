"""Server-side `meta.k8s.io/v1 Table` rendering for kubectl get (printer columns, ages)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from rhev_testbed.kubeapi.jsonpath import JsonPathError, Step, compile_path, find
from rhev_testbed.kubeapi.resources import ResourceDef

_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
_AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def human_duration(seconds: float) -> str:
    """kubectl's (k8s.io/apimachinery duration.HumanDuration) rendering of an age."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def age(value: Any, now: datetime.datetime | None = None) -> str | None:
    if not isinstance(value, str):
        return None
    parsed = parse_time(value)
    if parsed is None:
        return "<invalid>"
    now = now or datetime.datetime.now(datetime.UTC)
    return human_duration((now - parsed).total_seconds())


def _columns(resource: ResourceDef) -> list[dict[str, Any]]:
    if resource.printer_columns:
        return resource.printer_columns
    return [_AGE_COLUMN]


def _print_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@lru_cache(maxsize=256)
def _compiled(path: str) -> list[Step] | None:
    try:
        return compile_path(path)
    except JsonPathError:
        return None


def _cell(column: dict[str, Any], obj: dict[str, Any], now: datetime.datetime) -> Any:
    path = column.get("jsonPath", "")
    if path == "_involved":  # Event's OBJECT column: kind/name
        involved = obj.get("involvedObject") or {}
        return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"
    if path == "_datacount":
        return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    steps = _compiled(path)
    if steps is None:
        return None
    results = find(steps, obj)
    if not results or results[0] is None:
        return None
    value = results[0]
    kind = column.get("type", "string")
    if kind == "string":
        return _print_value(value)
    if kind == "date":
        return age(value, now) if isinstance(value, str) else None
    if kind == "integer":
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    return _print_value(value)


def _column_definition(column: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": column["name"],
        "type": column.get("type", "string"),
        "format": column.get("format", ""),
        "description": column.get("description", ""),
        "priority": int(column.get("priority", 0)),
    }


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def render_table(
    resource: ResourceDef,
    objects: Iterable[dict[str, Any]],
    *,
    resource_version: str,
    include_object: str = "Metadata",
    include_headers: bool = True,
) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    columns = _columns(resource)
    rows = []
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name", "")
        cells = [_cell(column, obj, now) for column in columns]
        cells = [*cells, name] if resource.name_column_last else [name, *cells]
        row: dict[str, Any] = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    definitions = [_column_definition(c) for c in columns]
    if resource.name_column_last:
        definitions.append({**_NAME_COLUMN, "priority": 1})
    else:
        definitions.insert(0, _NAME_COLUMN)
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions if include_headers else [],
        "rows": rows,
    }
    return table
