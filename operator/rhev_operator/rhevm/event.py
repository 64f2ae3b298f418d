"""Events: ``/events`` (``<event>``), read incrementally with ``from``."""

from __future__ import annotations

import builtins

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import Collection, Frozen

__all__ = ["Event", "Events"]


class Event(Frozen):
    id: str
    index: int
    code: int | None = None
    description: str | None = None
    severity: str | None = None
    time: str | None = None
    correlation_id: str | None = None
    origin: str | None = None
    custom_id: int | None = None
    user_id: str | None = None
    vm_id: str | None = None
    host_id: str | None = None
    cluster_id: str | None = None
    data_center_id: str | None = None
    storage_domain_id: str | None = None
    template_id: str | None = None


def _index(el: xmlio.Element) -> str | None:
    return xmlio.get(el, "index") or el.get("id")


class Events(Collection[Event]):
    tag = "event"
    plural = "events"
    model = Event
    searchable = True
    read_spec = {
        "index": _index,
        "user_id": "user/@id",
        "vm_id": "vm/@id",
        "host_id": "host/@id",
        "cluster_id": "cluster/@id",
        "data_center_id": "data_center/@id",
        "storage_domain_id": "storage_domain/@id",
        "template_id": "template/@id",
    }

    def list(
        self,
        search: str | None = None,
        max: int | None = None,
        from_: int | None = None,
    ) -> builtins.list[Event]:
        """As the engine answers: newest first; ``from_`` keeps ids above it."""
        return self._list_as(self.parse, {"search": search, "max": max, "from": from_})

    def since(self, last_id: int, search: str | None = None) -> builtins.list[Event]:
        """Every event with an id above ``last_id``, oldest first (no ``max``, so a busy
        engine cannot make the poller skip events)."""
        found = self.list(search=search, from_=last_id)
        return sorted((e for e in found if e.index > last_id), key=lambda e: e.index)

    def newest_id(self) -> int:
        """The id of the newest event (0 when there is none): the starting cursor."""
        found = self.list(max=1)
        return max((e.index for e in found), default=0)
