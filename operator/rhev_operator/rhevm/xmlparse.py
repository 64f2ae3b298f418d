"""The hardened XML parser every API document goes through.

It never resolves entities, never loads a DTD, never touches the network and refuses huge
trees; a document with a DOCTYPE is refused outright (the engine never sends one). It
raises nothing of its own: it returns the root or the reason the document was refused, so
that both :mod:`rhev_operator.rhevm.errors` (reading ``<fault>`` bodies) and
:mod:`rhev_operator.rhevm.xmlio` (raising ``ProtocolError``) can use it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

__all__ = ["Element", "parse_checked"]

Element = etree._Element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


# lxml parsers are not thread-safe; one per call is cheap enough.
def parse_checked(data: bytes | str) -> tuple[Element | None, str | None]:
    """(root, None) for a plain XML document, else (None, why it was refused)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        return None, f"response is not well-formed XML: {exc}"
    if root is None:
        return None, "response is an empty XML document"
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None, "response XML carries a DOCTYPE, which the API never sends"
    return root, None
