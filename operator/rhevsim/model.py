"""Base class of every simulated entity and the XML rendering context.

An entity is a kw-only dataclass deriving from `Entity`. Class variables name it in the API:

    KIND       registry key and stats name        "datacenter"
    TAG        element of one object              "data_center"
    PLURAL     element of a collection            "data_centers"
    PATH       top-level collection path segment  "datacenters"   (href = /datacenters/{id})
    TYPE_NAME  word used in engine messages       "Data Center"   ("Cannot remove Data Center. ...")
    REF_NAME   word used in "Entity not found:"   "DataCenter"

`render(ctx)` returns the lxml element. `search_fields(reg)` returns the values the search
language may filter on (lower-case keys).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from xml.sax.saxutils import escape

from lxml import etree

from rhevsim.xmlutil import Element

if TYPE_CHECKING:
    from rhevsim.registry import Registry

# A tuple is a to-many cross-reference (the names of a data center's clusters): a condition
# holds when it holds for any of them.
SearchValue = str | int | float | bool | tuple[str, ...] | None


@dataclass(kw_only=True, eq=False)
class Entity:
    KIND: ClassVar[str] = ""
    TAG: ClassVar[str] = ""
    PLURAL: ClassVar[str] = ""
    PATH: ClassVar[str] = ""
    TYPE_NAME: ClassVar[str] = ""
    REF_NAME: ClassVar[str] = ""
    # The search keys the engine's condition-field and cross-reference auto-completers know
    # for this kind (searchbackend/*AutoCompleter), lower-case, "storage.name" style for
    # cross-references. The syntax is checked against these, whatever the data; keys the
    # simulator does not fill are None and match nothing. Empty: the keys of search_fields.
    SEARCH_KEYS: ClassVar[frozenset[str]] = frozenset()

    id: str
    name: str = ""
    description: str | None = None
    comment: str | None = None
    # Name of the engine command holding this object's lock (None = unlocked). Requests that
    # need the object while it is locked get 409 "Related operation is currently in progress".
    lock: str | None = field(default=None, repr=False)

    def href(self) -> str:
        """Path relative to the API root."""
        return f"/{self.PATH}/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.common(el, self)
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return {"name": self.name, "id": self.id}


_MARK = "@@PREFIX@@"


@functools.cache
def _links_template(root: str, rels: tuple[str, ...]) -> str:
    """The text of `<root>` with one `<link>` per rel, the href prefix left as a mark
    (a pure function of its arguments, remembered: the same few tuples come back)."""
    return (
        f"<{root}>"
        + "".join(f'<link href="{_MARK}/{escape(r)}" rel="{escape(r)}"/>' for r in rels)
        + f"</{root}>"
    )


def _fragment(root: str, rels: tuple[str, ...], prefix: str) -> Element:
    """Parse a template of links: C-level parsing beats one SubElement per link
    (GET /vms with 1000 VMs writes ~25 action links per VM)."""
    tmpl = _links_template(root, rels)
    return etree.fromstring(tmpl.replace(_MARK, escape(prefix, {'"': "&quot;"})))


class Ctx:
    """Per-request rendering context: API root path, follow and all_content flags."""

    def __init__(
        self,
        reg: Registry,
        base: str = "/ovirt-engine/api",
        follow: Iterable[str] = (),
        all_content: bool = False,
    ) -> None:
        self.reg = reg
        self.base = base
        self.follow = {f.strip() for f in follow if f.strip()}
        self.all_content = all_content

    def url(self, path: str) -> str:
        return self.base + path

    def el(self, obj: Entity, tag: str | None = None) -> Element:
        """The object's element with id and absolute href."""
        return etree.Element(tag or obj.TAG, {"href": self.base + obj.href(), "id": obj.id})

    def common(self, el: Element, obj: Entity) -> None:
        """name, description, comment in engine order (BaseResource)."""
        if obj.name:
            etree.SubElement(el, "name").text = obj.name
        if obj.description is not None:
            etree.SubElement(el, "description").text = obj.description
        if obj.comment is not None:
            etree.SubElement(el, "comment").text = obj.comment

    def ref(self, parent: Element, tag: str, obj: Entity | None) -> None:
        """A reference `<cluster id=".." href=".."/>`; nothing when obj is None."""
        if obj is not None:
            etree.SubElement(parent, tag, {"href": self.base + obj.href(), "id": obj.id})

    def ref_id(self, parent: Element, tag: str, path: str, ident: str | None) -> None:
        if ident:
            etree.SubElement(parent, tag, {"href": f"{self.base}/{path}/{ident}", "id": ident})

    def actions(self, el: Element, obj: Entity, verbs: Iterable[str]) -> None:
        """`<actions><link href=".../verb" rel="verb"/>...</actions>` for the object."""
        el.append(_fragment("actions", tuple(verbs), self.base + obj.href()))

    def link(self, el: Element, obj: Entity, rel: str, path: str | None = None) -> None:
        etree.SubElement(el, "link", {"href": f"{self.base}{obj.href()}/{path or rel}", "rel": rel})

    def links(self, el: Element, obj: Entity, rels: Iterable[str]) -> None:
        """Many `<link rel=..>` children at once (rel = path), the fast way for big lists."""
        el.extend(_fragment("x", tuple(rels), self.base + obj.href()))

    def sub_collection(
        self,
        el: Element,
        obj: Entity,
        rel: str,
        plural: str,
        items: Callable[[], Iterable[Entity]],
        path: str | None = None,
    ) -> None:
        """A `<link rel=..>` to a sub-collection, inlined as `<plural>..</plural>` when followed."""
        self.link(el, obj, rel, path)
        if rel in self.follow:
            coll = etree.SubElement(el, plural)
            inner = self.nested(rel)
            for item in items():
                coll.append(item.render(inner))

    def follow_collection(
        self, el: Element, obj: Entity, rel: str, plural: str, items: Iterable[Entity]
    ) -> None:
        """The `<link rel=..>`, and the objects inline when `follow` names the link (`rel`) or
        the element (`plural`, e.g. follow=disk_attachments.disk)."""
        self.link(el, obj, rel)
        for key in (plural, rel):
            if key in self.follow or any(f.startswith(key + ".") for f in self.follow):
                coll = etree.SubElement(el, plural)
                inner = self.nested(key)
                for item in items:
                    coll.append(item.render(inner))
                return

    def nested(self, rel: str) -> Ctx:
        """The context for objects inlined under `rel` (follow=a.b applies b to a's objects)."""
        pre = rel + "."
        rest = [f[len(pre) :] for f in self.follow if f.startswith(pre)]
        return Ctx(self.reg, self.base, rest, self.all_content)
