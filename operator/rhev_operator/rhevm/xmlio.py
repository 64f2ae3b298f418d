"""XML in and out: a hardened parser and small builders for API v4 documents.

Documents are read with the hardened parser of :mod:`rhev_operator.rhevm.xmlparse`
(no entities, no DTD, no network, no DOCTYPE). Builders skip ``None`` so a create or
update body only carries the fields the caller set.

Model mapping: a *spec* maps a model field to where it lives in the element:
``"name"`` (child text), ``"cpu/type"`` (nested text), ``"cluster/@id"`` (an
attribute of a child), or a function (reader: element -> value; writer:
(element, value) -> None). Fields absent from the spec live in the child of the
same name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

from rhev_operator.rhevm.errors import ProtocolError
from rhev_operator.rhevm.xmlparse import Element, parse_checked

__all__ = [
    "Element",
    "ReadSpec",
    "WriteSpec",
    "action",
    "get",
    "new",
    "parse",
    "read_model",
    "read_version",
    "set_path",
    "to_bytes",
    "to_text",
    "write_model",
    "write_version",
]

M = TypeVar("M", bound=BaseModel)
ReadSpec = Mapping[str, "str | Callable[[Element], Any]"]
WriteSpec = Mapping[str, "str | Callable[[Element, Any], None]"]


def parse(data: bytes | str) -> Element:
    """Parse an API document; raise ProtocolError on anything but plain XML."""
    root, problem = parse_checked(data)
    if root is None:
        raise ProtocolError(problem or "response is not XML")
    return root


def to_bytes(el: Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- reading ---------------------------------------------------------------------------


def get(el: Element, path: str) -> str | None:
    """Text (or ``@attr``) at ``path`` below ``el``; empty text counts as absent."""
    if "@" in path:
        head, _, attr = path.rpartition("@")
        head = head.rstrip("/")
        target = el.find(head) if head else el
        if target is None:
            return None
        value = target.get(attr)
    else:
        value = el.findtext(path)
    if value is None:
        return None
    value = value.strip()
    return value or None


def read_version(path: str = "version") -> Callable[[Element], str | None]:
    """Reader of ``<version><major/><minor/></version>`` as ``"major.minor"``."""

    def reader(el: Element) -> str | None:
        major = get(el, f"{path}/major")
        minor = get(el, f"{path}/minor")
        if major is None:
            return None
        return f"{major}.{minor or 0}"

    return reader


def read_ids(path: str) -> Callable[[Element], tuple[str, ...]]:
    """Reader of the ids of every element at ``path`` (e.g. ``data_centers/data_center``)."""

    def reader(el: Element) -> tuple[str, ...]:
        return tuple(i for c in el.iterfind(path) if (i := c.get("id")))

    return reader


def read_texts(path: str) -> Callable[[Element], tuple[str, ...]]:
    """Reader of the text of every element at ``path`` (e.g. ``usages/usage``)."""

    def reader(el: Element) -> tuple[str, ...]:
        return tuple(t.strip() for c in el.iterfind(path) if (t := c.text) and t.strip())

    return reader


def read_options(path: str) -> Callable[[Element], dict[str, str]]:
    """Reader of ``<options><option><name/><value/></option></options>`` as a dict."""

    def reader(el: Element) -> dict[str, str]:
        out: dict[str, str] = {}
        for opt in el.iterfind(f"{path}/option"):
            name = get(opt, "name")
            if name is not None:
                out[name] = get(opt, "value") or ""
        return out

    return reader


# A tree of the element paths a model reads: {"cpu": {"topology": {"sockets": {}}}, ...}
PathTree = dict[str, "PathTree"]


def _flatten(el: Element, prefix: str, tree: PathTree, out: dict[str, str]) -> None:
    # First occurrence wins, as with findtext(). lxml filters the children by tag in C,
    # so the many elements a model does not read (links, actions, ...) cost nothing.
    for child in el.iterchildren(*tree):
        tag = child.tag
        key = prefix + tag
        if key not in out:
            text = child.text
            out[key] = text.strip() if text else ""
            out[key + "/@id"] = child.get("id") or ""
        sub = tree[tag]
        if sub and len(child):
            _flatten(child, key + "/", sub, out)


def _path_tree(paths: Iterable[str]) -> PathTree:
    """The tree of element paths needed to reach ``paths`` (``@attr`` parts dropped)."""
    root: PathTree = {}
    for path in paths:
        node = root
        for part in path.split("/"):
            if part and not part.startswith("@"):
                node = node.setdefault(part, {})
    return root


_PLANS: dict[tuple[type[BaseModel], int], tuple[list[tuple[str, Any]], PathTree]] = {}


def _plan(model: type[BaseModel], spec: ReadSpec) -> tuple[list[tuple[str, Any]], PathTree]:
    """(field, where) pairs and the element paths to walk, computed once per model."""
    key = (model, id(spec))
    plan = _PLANS.get(key)
    if plan is None:
        fields: list[tuple[str, Any]] = []
        for field in model.model_fields:
            where: Any = spec.get(field)
            if where is None:
                where = "@id" if field == "id" else field
            fields.append((field, where))
        tree = _path_tree(w for _, w in fields if isinstance(w, str))
        plan = _PLANS[key] = (fields, tree)
    return plan


def flatten(el: Element, tree: PathTree) -> dict[str, str]:
    """Texts below ``el`` by path (``cpu/topology/sockets``) plus ``path/@id``, for the
    paths in ``tree`` only: one walk of the element instead of one search per field."""
    out: dict[str, str] = {"@id": el.get("id") or ""}
    if tree:
        _flatten(el, "", tree, out)
    return out


_EMPTY: ReadSpec = {}


def read_model(el: Element, model: type[M], spec: ReadSpec | None = None) -> M:
    """Build the frozen read model ``model`` from ``el`` (``id`` comes from the attribute)."""
    fields, tree = _plan(model, spec if spec is not None else _EMPTY)
    flat = flatten(el, tree)
    values: dict[str, Any] = {}
    for field, where in fields:
        if callable(where):
            value = where(el)
        elif "@" in where and not where.endswith("@id"):
            value = get(el, where)
        else:
            value = flat.get(where) or None
        if value is not None:
            values[field] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ProtocolError(f"unexpected <{el.tag}> from the engine: {exc}") from None


# --- writing ---------------------------------------------------------------------------


def to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def new(tag: str, attrib: Mapping[str, str] | None = None) -> Element:
    return etree.Element(tag, attrib=dict(attrib) if attrib else None)


def _child(parent: Element, tag: str) -> Element:
    found = parent.find(tag)
    return found if found is not None else etree.SubElement(parent, tag)


def set_path(root: Element, path: str, value: Any) -> None:
    """Set ``path`` under ``root`` to ``value``, creating the elements on the way.

    ``a/@id`` sets an attribute; a list or tuple value repeats the last element.
    ``None`` does nothing, so unset fields are never sent.
    """
    if value is None:
        return
    parts = path.split("/")
    target = root
    if parts[-1].startswith("@"):
        for part in parts[:-1]:
            target = _child(target, part)
        target.set(parts[-1][1:], to_text(value))
        return
    for part in parts[:-1]:
        target = _child(target, part)
    last = parts[-1]
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    for item in items:
        child = etree.SubElement(target, last)
        try:
            child.text = to_text(item)
        except ValueError as exc:  # control characters and the like
            raise ValueError(f"{path}: {exc}") from None


def write_version(path: str = "version") -> Callable[[Element, Any], None]:
    """Writer of ``"4.7"`` as ``<version><major>4</major><minor>7</minor></version>``."""

    def writer(el: Element, value: Any) -> None:
        major, _, minor = str(value).partition(".")
        set_path(el, f"{path}/major", int(major))
        set_path(el, f"{path}/minor", int(minor or 0))

    return writer


def write_options(path: str) -> Callable[[Element, Any], None]:
    """Writer of a dict as ``<options><option><name/><value/></option></options>``."""

    def writer(el: Element, value: Any) -> None:
        holder = _child(el, path)
        for name, val in dict(value).items():
            opt = etree.SubElement(holder, "option")
            set_path(opt, "name", name)
            set_path(opt, "value", val)

    return writer


def write_model(tag: str, model: BaseModel, spec: WriteSpec | None = None) -> Element:
    """The ``<tag>`` element carrying every field of ``model`` that is not None."""
    spec = spec or {}
    root = new(tag)
    fields = list(type(model).model_fields)
    if "name" in fields:  # name first, as the engine writes it; easier to read in traces
        fields.remove("name")
        fields.insert(0, "name")
    for field in fields:
        value = getattr(model, field)
        if value is None:
            continue
        where = spec.get(field, field)
        if callable(where):
            where(root, value)
        else:
            set_path(root, where, value)
    return root


def action(**params: Any) -> Element:
    """An ``<action>`` body with the given parameters (None skipped, refs as elements)."""
    root = new("action")
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, etree._Element):
            root.append(value)
        else:
            set_path(root, name, value)
    return root
