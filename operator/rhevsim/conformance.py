"""Check the simulator's XML against the API model, as compiled into the official SDK.

The SDK's readers (`ovirtsdk4/readers.py`, generated from ovirt-engine-api-model) name every
element each type may contain and how to read it. The SDK itself ignores unknown elements,
so this module turns its readers into a schema: `check_xml(data)` returns a list of problems
(unknown elements, wrong enum values, non-boolean booleans, attributes other than id/href).

Usage in tests (ovirtsdk4 is a dev dependency):

    from rhevsim.conformance import check_xml
    assert check_xml(response.content) == []
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

# Elements the engine writes that the model does not declare on every type.
_ALWAYS_ALLOWED = {"link", "actions", "creation_status"}


@dataclass(frozen=True)
class Field:
    kind: str  # "one", "many", "enum", "enums", "string", "strings", "boolean", "integer", ...
    target: str  # reader class name or enum name ("" for primitives)


@dataclass
class Schema:
    types: dict[str, dict[str, Field]]  # reader class -> tag -> field
    roots: dict[str, tuple[str, bool]]  # root tag -> (reader class, many)
    enums: dict[str, set[str]]


_CLASS = re.compile(r"^class (\w+Reader)\(Reader\):", re.M)
_TAG = re.compile(
    r"tag == '(\w+)':\s*\n\s*obj\.\w+ = (?:(\w+Reader)\.read_(one|many)\(reader\)|"
    r"Reader\.read_(enum|enums)\(types\.(\w+), reader\)|Reader\.read_(\w+)\(reader\))"
)
_ROOT = re.compile(r"^Reader\.register\('(\w+)', (\w+Reader)\.read_(one|many)\)", re.M)


@functools.cache
def load_schema() -> Schema:
    import ovirtsdk4
    import ovirtsdk4.types as sdk_types

    src = (Path(ovirtsdk4.__file__).parent / "readers.py").read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in _CLASS.finditer(src)]
    starts.append((len(src), ""))
    types_map: dict[str, dict[str, Field]] = {}
    for (pos, name), (end, _) in itertools.pairwise(starts):
        body = src[pos:end]
        # Only read_one has the per-tag dispatch we need.
        one = body.split("def read_many", 1)[0]
        fields: dict[str, Field] = {}
        for m in _TAG.finditer(one):
            tag = m.group(1)
            if m.group(2):
                fields[tag] = Field(m.group(3), m.group(2))
            elif m.group(4):
                fields[tag] = Field(m.group(4), m.group(5))
            else:
                fields[tag] = Field(m.group(6), "")
        types_map[name] = fields
    roots = {m.group(1): (m.group(2), m.group(3) == "many") for m in _ROOT.finditer(src)}
    enums: dict[str, set[str]] = {}
    for attr in dir(sdk_types):
        obj = getattr(sdk_types, attr)
        members = getattr(obj, "__members__", None)
        if isinstance(obj, type) and members:
            enums[attr] = {str(v.value) for v in members.values()}
    return Schema(types_map, roots, enums)


def check_xml(data: bytes) -> list[str]:
    """Problems in a response body (empty list = conforms)."""
    root = etree.fromstring(data)
    schema = load_schema()
    problems: list[str] = []
    if root.tag == "action":
        _check_action(root, schema, problems)
        return problems
    if root.tag == "fault":
        for c in root:
            if c.tag not in ("reason", "detail"):
                problems.append(f"/fault: unexpected <{c.tag}>")
        return problems
    if root.tag == "api":
        return problems  # the root is checked by the SDK's own system_service().get()
    if root.tag not in schema.roots:
        return [f"unknown root element <{root.tag}>"]
    reader, many = schema.roots[root.tag]
    if many:
        for c in root:
            _check(c, reader, schema, f"/{root.tag}/{c.tag}", problems)
    else:
        _check(root, reader, schema, f"/{root.tag}", problems)
    return problems


def _check_action(el: etree._Element, schema: Schema, problems: list[str]) -> None:
    fields = schema.types.get("ActionReader", {})
    for c in el:
        if c.tag == "fault":
            continue
        f = fields.get(c.tag)
        if f is None:
            problems.append(f"/action: unknown element <{c.tag}>")
        elif f.kind == "one":
            _check(c, f.target, schema, f"/action/{c.tag}", problems)
        elif f.kind == "enum":
            _check_enum(c, f.target, schema, f"/action/{c.tag}", problems)


def _check_enum(
    el: etree._Element, enum: str, schema: Schema, path: str, problems: list[str]
) -> None:
    allowed = schema.enums.get(enum)
    value = (el.text or "").strip()
    if allowed is not None and value not in allowed:
        problems.append(f"{path}: {value!r} is not a {enum} ({sorted(allowed)})")


def _check(el: etree._Element, reader: str, schema: Schema, path: str, problems: list[str]) -> None:
    for attr in el.attrib:
        if str(attr) not in ("id", "href"):
            problems.append(f"{path}: attribute {attr!s}= (only id and href are attributes in v4)")
    href = el.get("href")
    if href is not None and not href.startswith("/"):
        problems.append(f"{path}: href {href!r} is not an absolute path")
    fields = schema.types.get(reader)
    if fields is None:
        problems.append(f"{path}: no reader {reader}")
        return
    for c in el:
        if not isinstance(c.tag, str):
            continue
        cpath = f"{path}/{c.tag}"
        if c.tag in _ALWAYS_ALLOWED and c.tag not in fields:
            if c.tag == "actions":
                for link in c:
                    if link.tag != "link" or set(link.attrib) != {"href", "rel"}:
                        problems.append(f"{cpath}: expected <link href rel/> children")
            elif c.tag == "link" and set(c.attrib) != {"href", "rel"}:
                problems.append(f"{cpath}: a link has exactly href and rel")
            continue
        f = fields.get(c.tag)
        if f is None:
            problems.append(f"{cpath}: not an element of {reader[:-6]}")
            continue
        if f.kind == "one":
            _check(c, f.target, schema, cpath, problems)
        elif f.kind == "many":
            for gc in c:
                _check(gc, f.target, schema, f"{cpath}/{gc.tag}", problems)
        elif f.kind == "enum":
            _check_enum(c, f.target, schema, cpath, problems)
        elif f.kind == "enums":
            for gc in c:
                _check_enum(gc, f.target, schema, f"{cpath}/{gc.tag}", problems)
        elif f.kind == "boolean":
            if (c.text or "").strip() not in ("true", "false"):
                problems.append(f"{cpath}: {c.text!r} is not a boolean")
        elif f.kind == "integer":
            try:
                int((c.text or "").strip())
            except ValueError:
                problems.append(f"{cpath}: {c.text!r} is not an integer")
        elif len(c):
            problems.append(f"{cpath}: a {f.kind} has no child elements")
