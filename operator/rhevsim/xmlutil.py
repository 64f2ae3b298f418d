"""XML writing and reading helpers shared by the entity modules.

Writing: the engine (JAXB) emits `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`,
`id`/`href` as the only attributes, absolute hrefs under the API root.
Reading: request bodies are parsed once; helpers fetch optional children and convert types
with engine-style 400 faults naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from lxml import etree

from rhevsim.errors import ApiError, invalid_value

Element = etree._Element

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CONTENT_TYPE = "application/xml;charset=UTF-8"


def serialize(el: Element) -> bytes:
    return DECLARATION + etree.tostring(el, encoding="UTF-8", pretty_print=True)


def E(tag: str, text: object = None, **attrs: str) -> Element:
    el = etree.Element(tag, attrs) if attrs else etree.Element(tag)
    if text is not None:
        el.text = fmt(text)
    return el


def sub(parent: Element, tag: str, text: object = None) -> Element:
    """Append a child element; `None` text leaves it empty (use `opt` to skip it instead)."""
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = fmt(text)
    return el


def opt(parent: Element, tag: str, text: object) -> None:
    """Append `<tag>text</tag>` only when text is not None (the engine omits unset fields)."""
    if text is not None:
        etree.SubElement(parent, tag).text = fmt(text)


def fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xml_bool(value: bool) -> str:
    """A boolean as the engine writes it: true / false."""
    return "true" if value else "false"


def fmt_time(epoch: float) -> str:
    """Engine timestamps: ISO 8601 with milliseconds and offset, e.g. 2024-01-02T10:00:00.000Z."""
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def version(parent: Element, major: int, minor: int, tag: str = "version") -> Element:
    v = sub(parent, tag)
    sub(v, "major", major)
    sub(v, "minor", minor)
    return v


# ---------------------------------------------------------------- reading


def parse_body(data: bytes) -> Element | None:
    if not data.strip():
        return None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ApiError(400, "Bad Request", f"Cannot parse the request body: {exc}") from exc


def child(el: Element | None, path: str) -> Element | None:
    """`path` is slash separated element names: child(body, "cpu/type")."""
    if el is None:
        return None
    found = el.find(path)
    return found


def text(el: Element | None, path: str) -> str | None:
    c = child(el, path)
    if c is None or c.text is None:
        return None
    return c.text.strip()


def has(el: Element | None, path: str) -> bool:
    return child(el, path) is not None


def boolean(el: Element | None, path: str) -> bool | None:
    v = text(el, path)
    if v is None:
        return None
    low = v.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ApiError(400, "Invalid value", f"{v} is not a valid boolean for {path}")


def integer(el: Element | None, path: str) -> int | None:
    v = text(el, path)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        raise ApiError(400, "Invalid value", f"{v} is not a valid integer for {path}") from None


def enum(el: Element | None, path: str, allowed: Iterable[str], enum_name: str) -> str | None:
    v = text(el, path)
    if v is None:
        return None
    low = v.lower()
    if low not in set(allowed):
        raise invalid_value(v, enum_name)
    return low
