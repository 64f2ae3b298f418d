"""The observed state of one RHEV-M, kept in memory and refreshed once per tick.

One `Inventory` per connection. Each tick lists every collection that some reconciler
has asked for (once, however many resources read it) and follows the events feed from
the highest id seen. Reconcilers read from here instead of polling per object, so the
requests per tick do not grow with the number of resources; before they create or
recreate something they confirm with one direct GET, since a snapshot may be up to one
tick old.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rhev_operator.rhevm import RhevmClient, errors

log = logging.getLogger(__name__)

#: A lister returns the current members of one collection.
Lister = Callable[[RhevmClient], Sequence[Any]]


@dataclass
class Collection:
    """One listed collection: its members by id, and when it was last listed."""

    lister: Lister
    items: dict[str, Any] = field(default_factory=dict)
    listed_at: float = 0.0
    #: When the last complete listing was started (a snapshot can't show later writes).
    started_at: float = -1.0
    #: When a reconciler last read it (collections nobody reads any more are dropped).
    read_at: float = 0.0
    error: errors.RhevmError | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    code: int
    severity: str
    description: str
    refs: Mapping[str, str]


_REF_FIELDS = ("vm", "host", "cluster", "data_center", "storage_domain", "template")


def _event_refs(event: Any) -> dict[str, str]:
    """The objects an event names, by kind (`host`, `storage_domain`, ...)."""
    refs: dict[str, str] = {}
    for kind in _REF_FIELDS:
        value = getattr(event, f"{kind}_id", None)
        if value:
            refs[kind] = str(value)
    return refs


class Inventory:
    """In-memory view of one RHEV-M; thread-safe; refreshed by a background thread."""

    def __init__(
        self,
        client: RhevmClient,
        *,
        poll_interval: float = 2.0,
        events_kept: int = 500,
        clock: Callable[[], float] = time.monotonic,
        unused_after: float = 600.0,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        #: A collection no reconciler read for this long is no longer listed (e.g. the
        #: attached domains of a data center that was deleted).
        self.unused_after = unused_after
        self._clock = clock
        self._lock = threading.RLock()
        self._collections: dict[Hashable, Collection] = {}
        self._events: deque[EventRecord] = deque(maxlen=events_kept)
        self._last_event_id: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.last_error: str | None = None
        #: When this process last wrote into a snapshot (see `authoritative`).
        self._last_write = -1.0

    # -- what reconcilers call -------------------------------------------------------

    def collection(self, key: Hashable, lister: Lister) -> dict[str, Any]:
        """Members of a collection by id; the first call lists it at once and registers it."""
        with self._lock:
            known = self._collections.get(key)
        if known is None:
            known = Collection(lister=lister)
            self._list_into(known)
            with self._lock:
                self._collections.setdefault(key, known)
        with self._lock:
            known.read_at = self._clock()
            if known.error is not None and not known.items:
                raise known.error
            return dict(known.items)

    def find(self, key: Hashable, lister: Lister, *, id: str | None, name: str) -> Any | None:
        """The member with this id, else the one with exactly this (case-sensitive) name."""
        items = self.collection(key, lister)
        if id and id in items:
            return items[id]
        for item in items.values():
            if getattr(item, "name", None) == name:
                return item
        return None

    def remember(self, key: Hashable, item: Any) -> None:
        """Put what a write returned into the snapshot, so the next read sees it."""
        with self._lock:
            self._last_write = self._clock()
            known = self._collections.get(key)
            if known is not None:
                known.items[item.id] = item

    def forget(self, key: Hashable, item_id: str) -> None:
        with self._lock:
            self._last_write = self._clock()
            known = self._collections.get(key)
            if known is not None:
                known.items.pop(item_id, None)

    def authoritative(self, key: Hashable) -> bool:
        """True when the collection's snapshot was listed after this process's last write,
        so an object missing from it is missing from RHEV-M (no need to ask directly)."""
        with self._lock:
            known = self._collections.get(key)
            return (
                known is not None and known.error is None and (known.started_at > self._last_write)
            )

    def poke(self) -> None:
        """Ask for an early tick (after a write whose effects should show soon)."""
        self._wake.set()

    def events_for(self, ref_kind: str, ref_id: str, limit: int = 5) -> list[EventRecord]:
        """The newest events that name this object (`host`, `vm`, `storage_domain`, ...)."""
        with self._lock:
            found = [e for e in reversed(self._events) if e.refs.get(ref_kind) == ref_id]
        return found[:limit]

    # -- the tick --------------------------------------------------------------------

    def refresh(self) -> None:
        """List every registered collection once and read new events."""
        with self._lock:
            stale = self._clock() - self.unused_after
            for key in [k for k, c in self._collections.items() if c.read_at < stale]:
                del self._collections[key]
            collections = list(self._collections.values())
        for known in collections:
            self._list_into(known)
        self._read_events()
        self.ticks += 1

    def _list_into(self, known: Collection) -> None:
        started = self._clock()
        try:
            members = known.lister(self.client)
        except errors.NotFound:
            members = []  # a parent went away (e.g. a data center's attached domains)
        except errors.RhevmError as exc:
            with self._lock:
                known.error = exc
                self.last_error = str(exc)
            return
        with self._lock:
            known.items = {m.id: m for m in members}
            known.listed_at = self._clock()
            known.started_at = started
            known.error = None
            self.last_error = None

    def _read_events(self) -> None:
        try:
            if self._last_event_id is None:
                self._last_event_id = self.client.events.newest_id()
                return
            batch = self.client.events.since(self._last_event_id)
        except errors.RhevmError as exc:
            self.last_error = str(exc)
            return
        if not batch:
            return
        with self._lock:
            for event in sorted(batch, key=lambda e: int(e.id)):
                self._events.append(
                    EventRecord(
                        id=int(event.id),
                        code=int(event.code or 0),
                        severity=str(event.severity or ""),
                        description=str(event.description or ""),
                        refs=_event_refs(event),
                    )
                )
            self._last_event_id = max(int(e.id) for e in batch)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="rhev-inventory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # the observer must outlive any one bad tick
                log.exception("Inventory tick failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
