"""Shared machinery of the entity services: list/get/find/add/update/remove/actions."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from rhev_operator.rhevm import errors, xmlio
from rhev_operator.rhevm.session import Reply, Session

__all__ = [
    "ActionResult",
    "Collection",
    "DetailedCollection",
    "Frozen",
    "Input",
    "new_correlation_id",
]

T = TypeVar("T", bound=BaseModel)
D = TypeVar("D", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)
U = TypeVar("U", bound=BaseModel)


class Frozen(BaseModel):
    """Base of read models: immutable, unknown fields refused (they come from our readers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Input(BaseModel):
    """Base of create/update models: immutable; a field left None is never sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionResult(Frozen):
    """What an ``<action>`` answer says: ``status`` is complete, pending, in_progress or
    failed; ``job_id`` links the engine job; ``correlation_id`` is the one sent."""

    status: str | None = None
    http_status: int
    job_id: str | None = None
    correlation_id: str | None = None
    power_status: str | None = None  # fence_type=status only

    @property
    def done(self) -> bool:
        return self.status in (None, "complete")


def new_correlation_id() -> str:
    """A unique correlation id under 30 characters, as the engine's job search likes."""
    return f"rhevop-{secrets.token_hex(8)}"


def quote_search(value: str) -> str:
    """A search value in double quotes (the engine's query language)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Collection(Generic[T]):
    """A collection at ``path`` of ``<tag>`` elements inside ``<plural>``."""

    #: set by subclasses
    tag: str = ""
    plural: str = ""
    model: type[T]
    read_spec: xmlio.ReadSpec = {}
    write_spec: xmlio.WriteSpec = {}
    searchable: bool = False

    def __init__(self, session: Session, path: str) -> None:
        self._s = session
        self.path = path.strip("/")

    # --- helpers ---

    def _item(self, entity_id: str) -> str:
        if not entity_id or "/" in entity_id or entity_id in (".", ".."):
            raise ValueError(
                f"{self.tag} id: must be a non-empty id without '/', got {entity_id!r}"
            )
        return f"{self.path}/{entity_id}"

    @classmethod
    def parse(cls, el: xmlio.Element) -> T:
        """The read model of one ``<tag>`` element."""
        return xmlio.read_model(el, cls.model, cls.read_spec)

    def _parse_one(self, reply: Reply, what: str) -> T:
        return self._parse_one_as(self.parse, reply, what)

    def _parse_one_as(self, parse: Callable[[xmlio.Element], D], reply: Reply, what: str) -> D:
        root = reply.root
        if root is None or root.tag != self.tag:
            got = "an empty body" if root is None else f"<{root.tag}>"
            raise errors.ProtocolError(
                f"{what}: expected <{self.tag}>, got {got}",
                status=reply.status,
                path=f"{self._s.api_path}/{self.path}",
            )
        return parse(root)

    @classmethod
    def body(cls, data: BaseModel) -> xmlio.Element:
        """The ``<tag>`` request body for a create/update model (unset fields omitted)."""
        return xmlio.write_model(cls.tag, data, cls.write_spec)

    @staticmethod
    def _cid(correlation_id: str | None) -> str:
        return correlation_id or new_correlation_id()

    # --- reads ---

    def _list_as(
        self, parse: Callable[[xmlio.Element], D], params: Mapping[str, Any]
    ) -> builtins.list[D]:
        """GET the collection with ``params`` and read every ``<tag>`` with ``parse``."""
        if params.get("search") is not None and not self.searchable:
            raise ValueError(f"{self.path}: this collection does not support search")
        reply = self._s.request("GET", self.path, params=dict(params))
        root = reply.root
        if root is None:
            return []
        if root.tag != self.plural:
            raise errors.ProtocolError(
                f"GET {self.path}: expected <{self.plural}>, got <{root.tag}>",
                status=reply.status,
            )
        return [parse(el) for el in root.iterfind(self.tag)]

    def list(self, search: str | None = None, max: int | None = None) -> builtins.list[T]:
        return self._list_as(self.parse, {"search": search, "max": max})

    def get(self, entity_id: str) -> T:
        return self._parse_one(self._s.request("GET", self._item(entity_id)), f"GET {self.path}")

    def find(self, name: str) -> T | None:
        """The object named exactly ``name`` (case-sensitive), or None."""
        found = self.list(search=f"name={quote_search(name)}") if self.searchable else self.list()
        return named(found, name)

    # --- writes ---

    def _add(
        self,
        data: BaseModel,
        correlation_id: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        reply = self._s.request(
            "POST",
            self.path,
            params=params,
            body=self.body(data),
            correlation_id=self._cid(correlation_id),
        )
        return self._parse_one(reply, f"POST {self.path}")

    def _update(
        self,
        entity_id: str,
        data: BaseModel,
        correlation_id: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        reply = self._s.request(
            "PUT",
            self._item(entity_id),
            params=params,
            body=self.body(data),
            correlation_id=self._cid(correlation_id),
        )
        return self._parse_one(reply, f"PUT {self.path}")

    def _remove(
        self,
        entity_id: str,
        correlation_id: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        reply = self._s.request(
            "DELETE", self._item(entity_id), params=params, correlation_id=self._cid(correlation_id)
        )
        check_action(reply, "DELETE", f"{self._s.api_path}/{self._item(entity_id)}")

    def _action(
        self,
        entity_id: str,
        verb: str,
        correlation_id: str | None,
        body: xmlio.Element | None = None,
    ) -> ActionResult:
        return self._action_at(f"{self._item(entity_id)}/{verb}", correlation_id, body)

    def _action_at(
        self, path: str, correlation_id: str | None, body: xmlio.Element | None = None
    ) -> ActionResult:
        """POST an ``<action>`` to ``path`` (relative to the API root)."""
        cid = self._cid(correlation_id)
        reply = self._s.request(
            "POST",
            path,
            body=body if body is not None else xmlio.action(),
            correlation_id=cid,
        )
        return check_action(reply, "POST", f"{self._s.api_path}/{path}", cid)


class CrudCollection(Collection[T], Generic[T, C, U]):
    """A collection whose add/update/remove take its create (C) and update (U) models and
    nothing else; collections with extra query parameters write their own."""

    def add(self, data: C, correlation_id: str | None = None) -> T:
        return self._add(data, correlation_id)

    def update(self, entity_id: str, data: U, correlation_id: str | None = None) -> T:
        return self._update(entity_id, data, correlation_id)

    def remove(self, entity_id: str, correlation_id: str | None = None) -> None:
        self._remove(entity_id, correlation_id)


class DetailedCollection(Collection[T], Generic[T, D]):
    """A collection whose entities can also be read with sub-collections inlined
    (``follow=``): one list call instead of one call per entity."""

    #: set by subclasses: the ``follow`` value and the reader of an inlined element
    detail_follow: str = ""

    @classmethod
    def parse_detail(cls, el: xmlio.Element) -> D:
        raise NotImplementedError

    def list_detailed(self, search: str | None = None) -> builtins.list[D]:
        """Every entity (matching ``search``) with its sub-collections, in one call."""
        return self._list_as(self.parse_detail, {"search": search, "follow": self.detail_follow})

    def get_detailed(self, entity_id: str) -> D:
        reply = self._s.request("GET", self._item(entity_id), params={"follow": self.detail_follow})
        return self._parse_one_as(self.parse_detail, reply, f"GET {self.path}")

    def find_detailed(self, name: str) -> D | None:
        """The entity named exactly ``name``, with its sub-collections, or None."""
        return named(self.list_detailed(search=f"name={quote_search(name)}"), name)


def named(items: Iterable[D], name: str) -> D | None:
    """The first of ``items`` named exactly ``name`` (case-sensitive), or None."""
    for item in items:
        if getattr(item, "name", None) == name:
            return item
    return None


def check_action(
    reply: Reply, method: str, path: str, correlation_id: str | None = None
) -> ActionResult:
    """Turn an ``<action>`` answer into an ActionResult, raising on ``failed``."""
    root = reply.root
    if root is None or root.tag != "action":
        return ActionResult(http_status=reply.status, correlation_id=correlation_id)
    status = xmlio.get(root, "status")
    fault = root.find("fault")
    if status == "failed" or fault is not None:
        if fault is not None:
            reason = xmlio.get(fault, "reason")
            detail = xmlio.get(fault, "detail")
        else:
            reason, detail = "Operation Failed", None
        raise errors.RhevmError(
            f"{method} {path}: HTTP {reply.status}: action failed: {reason}"
            + (f": {detail}" if detail else ""),
            status=reply.status,
            reason=reason,
            detail=detail,
            method=method,
            path=path,
        )
    return ActionResult(
        status=status,
        http_status=reply.status,
        job_id=xmlio.get(root, "job/@id"),
        correlation_id=correlation_id,
        power_status=xmlio.get(root, "power_management/status"),
    )


def ref(tag: str, entity_id: str | None = None, name: str | None = None) -> xmlio.Element | None:
    """``<tag id="..."/>`` or ``<tag><name>...</name></tag>``; None when neither is given."""
    if entity_id is None and name is None:
        return None
    el = xmlio.new(tag, {"id": entity_id} if entity_id is not None else None)
    if entity_id is None and name is not None:
        xmlio.set_path(el, "name", name)
    return el


def one_of(field_a: str, a: object, field_b: str, b: object, *, required: bool = True) -> None:
    """Check that exactly one (or, when not required, at most one) of a and b is set."""
    if a is not None and b is not None:
        raise ValueError(f"{field_a}/{field_b}: set only one of them")
    if required and a is None and b is None:
        raise ValueError(f"{field_a}/{field_b}: one of them is required")


Reader = Callable[[xmlio.Element], Any]
