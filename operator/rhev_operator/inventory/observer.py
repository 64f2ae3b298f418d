"""The observed state of one RHEV-M, kept in memory and refreshed once per tick.

One `Inventory` per connection. Each tick lists every collection that some reconciler
has asked for (once, however many resources read it); between ticks it follows the events
feed from the highest id seen, every `events_interval`, and re-lists at once the
collections that hold an object an event names. Each listing is compared with the one
before: the ids that appeared, vanished or changed go to `on_change`, which wakes the
resources that own or wait on them. Reconcilers read from here instead of polling per object, so the
requests per tick do not grow with the number of resources; before they create or
recreate something they confirm with one direct GET, since a snapshot may be up to one
tick old.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rhev_operator.rhevm import RhevmClient, errors

log = logging.getLogger(__name__)

#: A lister returns the current members of one collection.
Lister = Callable[[RhevmClient], Sequence[Any]]
#: Told which object ids changed, and in which collections, after a listing or events.
ChangeListener = Callable[[set[str], set[Hashable]], None]


@dataclass
class Collection:
    """One listed collection: its members by id, and when it was last listed."""

    lister: Lister
    items: dict[str, Any] = field(default_factory=dict)
    #: Reads one member by id: an event naming a member of a large collection re-reads
    #: that member alone instead of the whole collection.
    getter: Callable[[str], Any] | None = None
    listed_at: float = 0.0
    #: When the last complete listing was started (a snapshot can't show later writes).
    started_at: float = -1.0
    #: When a reconciler last read it (collections nobody reads any more are dropped).
    read_at: float = 0.0
    #: Until when a converging pass waits on it: listed every tick until then, else only
    #: every idle interval (the events feed still shows changes within a second).
    hot_until: float = 0.0
    error: errors.RhevmError | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    code: int
    severity: str
    description: str
    refs: Mapping[str, str]


#: The longest wait between ticks while RHEV-M does not answer (seconds).
MAX_BACKOFF = 15.0

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
        events_interval: float = 1.0,
        events_kept: int = 500,
        clock: Callable[[], float] = time.monotonic,
        unused_after: float = 600.0,
        on_change: ChangeListener | None = None,
        idle_interval: float | None = None,
        hot_for: float | None = None,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        #: How often a collection no converging pass waits on is listed.
        self.idle_interval = max(poll_interval, idle_interval or poll_interval)
        #: How long a converging pass's read keeps a collection listed every tick (each
        #: pass of a converging object renews it).
        self.hot_for = hot_for if hot_for is not None else max(15.0, 3 * poll_interval)
        #: Collections larger than this re-read the few members an event names one by one.
        self.reread_above = 50
        self.events_interval = min(events_interval, poll_interval)
        self.on_change = on_change
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
        #: RHEV-M did not answer the last tick (5xx, refused, reset, timeout): the ticks
        #: back off (see `_run`) and no events are read between them.
        self.unavailable = False
        self._failed_ticks = 0
        #: When this process last wrote into a snapshot (see `authoritative`).
        self._last_write = -1.0
        #: The collection keys read by the pass running on this thread (see `recording`).
        self._reads = threading.local()
        self.changes_reported = 0

    def stats(self) -> tuple[int, float | None]:
        """Objects held, and seconds since the last complete listing (None: never listed)."""
        with self._lock:
            objects = sum(len(c.items) for c in self._collections.values())
            listed = [c.listed_at for c in self._collections.values() if c.listed_at > 0]
        return objects, (self._clock() - max(listed)) if listed else None

    # -- what reconcilers call -------------------------------------------------------

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[Hashable]]:
        """The collection keys this thread reads inside the block (what a pass waits on)."""
        keys: set[Hashable] = set()
        self._reads.keys = keys
        try:
            yield keys
        finally:
            self._reads.keys = None

    def collection(
        self, key: Hashable, lister: Lister, get: Callable[[str], Any] | None = None
    ) -> dict[str, Any]:
        """Members of a collection by id; the first call lists it at once and registers it.
        `get` reads one member (see `Collection.getter`)."""
        reading: set[Hashable] | None = getattr(self._reads, "keys", None)
        if reading is not None:
            reading.add(key)
        with self._lock:
            known = self._collections.get(key)
        if known is None:
            known = Collection(lister=lister, getter=get)
            self._list_into(known, key, report=False)
            with self._lock:
                self._collections.setdefault(key, known)
        with self._lock:
            known.read_at = self._clock()
            if get is not None and known.getter is None:
                known.getter = get
            if known.error is not None and not known.items:
                raise known.error
            return dict(known.items)

    def find(
        self,
        key: Hashable,
        lister: Lister,
        *,
        id: str | None,
        name: str,
        get: Callable[[str], Any] | None = None,
    ) -> Any | None:
        """The member with this id, else the one with exactly this (case-sensitive) name."""
        items = self.collection(key, lister, get)
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

    def mark_hot(self, keys: set[Hashable]) -> None:
        """A converging pass waits on these collections: list them every tick for a while."""
        with self._lock:
            until = self._clock() + self.hot_for
            for key in keys:
                known = self._collections.get(key)
                if known is not None:
                    known.hot_until = max(known.hot_until, until)

    def refresh(self) -> None:
        """List every registered collection once and read new events."""
        self._tick(everything=True)

    def tick(self) -> None:
        """List the collections a converging pass waits on, and the others when their idle
        interval is up; read new events."""
        self._tick(everything=False)

    def _tick(self, *, everything: bool) -> None:
        with self._lock:
            now = self._clock()
            stale = now - self.unused_after
            for key in [k for k, c in self._collections.items() if c.read_at < stale]:
                del self._collections[key]
            collections = [
                (key, known)
                for key, known in self._collections.items()
                if everything
                or known.hot_until > now
                or now - known.listed_at >= self.idle_interval - 0.05
            ]
        self.unavailable = False
        for key, known in collections:
            self._list_into(known, key)
            if isinstance(known.error, errors.Unavailable):
                self.unavailable = True  # the rest would fail the same way: stop here
                break
        else:
            self._follow_events()
        self.ticks += 1

    def follow_events(self) -> None:
        """Between ticks: read new events; re-list the collections holding what they name."""
        self._follow_events()

    def _follow_events(self) -> None:
        named = self._read_events()
        if not named:
            return
        with self._lock:
            holding = [
                (key, known)
                for key, known in self._collections.items()
                if not named.isdisjoint(known.items)
            ]
        for key, known in holding:
            members = named & known.items.keys()
            if known.getter is not None and len(known.items) > self.reread_above >= len(members):
                self._reread(known, key, members)
            else:
                self._list_into(known, key)
        # The events name objects whose change the listings may not show yet (a job that
        # ended, a failure): their owners look again all the same.
        self._report(named, set())

    def _reread(self, known: Collection, key: Hashable, members: set[str]) -> None:
        """Read again the members an event named (one GET each, not the whole listing)."""
        assert known.getter is not None
        changed: set[str] = set()
        for member in sorted(members):
            try:
                fresh = known.getter(member)
            except errors.NotFound:
                fresh = None
            except errors.RhevmError as exc:
                self.last_error = str(exc)
                continue
            with self._lock:
                before = known.items.get(member)
                if fresh is None:
                    known.items.pop(member, None)
                else:
                    known.items[member] = fresh
            if before != fresh:
                changed.add(member)
        if changed:
            self._report(changed, {key})

    def _report(self, ids: set[str], keys: set[Hashable]) -> None:
        if self.on_change is not None and (ids or keys):
            self.changes_reported += 1
            try:
                self.on_change(ids, keys)
            except Exception:  # a listener's failure must not stop the observer
                log.exception("Inventory change listener failed")

    def _list_into(self, known: Collection, key: Hashable, *, report: bool = True) -> None:
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
        items = {m.id: m for m in members}
        with self._lock:
            before = known.items
            known.items = items
            known.listed_at = self._clock()
            known.started_at = started
            known.error = None
            self.last_error = None
        if report:
            changed = {i for i in before.keys() ^ items.keys()}
            changed.update(i for i, item in items.items() if i in before and before[i] != item)
            if changed:
                self._report(changed, {key})

    def _read_events(self) -> set[str]:
        """Read the events after the highest id seen; return the ids of what they name."""
        try:
            if self._last_event_id is None:
                self._last_event_id = self.client.events.newest_id()
                return set()
            batch = self.client.events.since(self._last_event_id)
        except errors.RhevmError as exc:
            self.last_error = str(exc)
            return set()
        if not batch:
            return set()
        named: set[str] = set()
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
                named.update(self._events[-1].refs.values())
            self._last_event_id = max(int(e.id) for e in batch)
        return named

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="rhev-inventory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                if self._clock() >= next_tick:
                    self.tick()
                    next_tick = self._clock() + self._next_delay()
                elif not self.unavailable:
                    self._follow_events()
            except Exception:  # the observer must outlive any one bad tick
                log.exception("Inventory tick failed")
            if self._wake.wait(min(self.events_interval, max(0.0, next_tick - self._clock()))):
                next_tick = 0.0  # poked: a full tick now
            self._wake.clear()

    def _next_delay(self) -> float:
        """The poll interval; while RHEV-M does not answer, doubled per failed tick up to
        MAX_BACKOFF (the request rate to a RHEV-M that is down stays low)."""
        self._failed_ticks = self._failed_ticks + 1 if self.unavailable else 0
        if not self._failed_ticks:
            return self.poll_interval
        cap = max(self.poll_interval, MAX_BACKOFF)
        return float(min(self.poll_interval * 2**self._failed_ticks, cap))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
