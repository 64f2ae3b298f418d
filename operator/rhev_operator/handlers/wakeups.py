"""Who to wake when something changes: the work queue of the event-driven loop.

Every resource has a worker (a kopf daemon) that sleeps on its own `asyncio.Event` until it
is woken, its requeue delay passes, or the slow resync comes round. Wake-ups come from:

- RHEV-M: the inventory reports the ids that appeared, vanished or changed in a listing,
  and the ids its events name. The resource whose `status.id` is one of them wakes, and so
  does every resource still converging that read the changed collection (a host waiting to
  register, a VM waiting for its disks).
- Kubernetes: a spec or annotation change wakes the resource itself; a resource becoming
  Ready (or not) wakes the resources that resolved a reference to it.

The maps are rebuilt by the passes themselves (each pass says what it owns and waits on),
so an operator restart rebuilds them with its first passes.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

#: A Kubernetes object by (namespace, kind, name).
ObjectKey = tuple[str, str, str]


@dataclass
class Sleeper:
    """One worker's wake-up: its event, its loop, and why it was last woken."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""
    #: When it was woken (time.monotonic()): the wake-up latency runs from here.
    woken_at: float = 0.0


@dataclass
class Interest:
    """What one resource's last pass owns and waits on."""

    source: str = ""
    ids: frozenset[str] = frozenset()
    keys: frozenset[Hashable] = frozenset()
    refs: frozenset[ObjectKey] = frozenset()


class Wakeups:
    """Thread-safe maps from changes to the workers to wake."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sleepers: dict[str, Sleeper] = {}
        self._interest: dict[str, Interest] = {}
        self._by_id: dict[Hashable, set[str]] = collections.defaultdict(set)  # (source, id)
        self._by_key: dict[Hashable, set[str]] = collections.defaultdict(set)  # (source, key)
        self._by_ref: dict[Hashable, set[str]] = collections.defaultdict(set)  # ObjectKey
        #: How many wake-ups each cause gave ("rhevm", "spec", "dependency", ...).
        self.counts: collections.Counter[str] = collections.Counter()

    # -- workers ---------------------------------------------------------------------

    def register(self, uid: str, loop: asyncio.AbstractEventLoop) -> Sleeper:
        sleeper = Sleeper(loop)
        with self._lock:
            self._sleepers[uid] = sleeper
        return sleeper

    def unregister(self, uid: str) -> None:
        """Forget a worker and everything its passes registered (the object is gone)."""
        with self._lock:
            self._sleepers.pop(uid, None)
            self._drop_interest(uid)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sleepers)

    def wake(self, uids: Iterable[str], reason: str) -> int:
        """Wake these workers (from any thread); returns how many were woken."""
        woken = 0
        with self._lock:
            for uid in uids:
                sleeper = self._sleepers.get(uid)
                if sleeper is None:
                    continue
                sleeper.reason = reason
                sleeper.woken_at = time.monotonic()
                sleeper.loop.call_soon_threadsafe(sleeper.event.set)
                self.counts[reason.split(" ", 1)[0]] += 1
                woken += 1
        return woken

    # -- what passes own and wait on -------------------------------------------------

    def set_interest(self, uid: str, interest: Interest) -> None:
        with self._lock:
            self._drop_interest(uid)
            self._interest[uid] = interest
            for object_id in interest.ids:
                self._by_id[(interest.source, object_id)].add(uid)
            for key in interest.keys:
                self._by_key[(interest.source, key)].add(uid)
            for ref in interest.refs:
                self._by_ref[ref].add(uid)

    def _drop_interest(self, uid: str) -> None:
        old = self._interest.pop(uid, None)
        if old is None:
            return
        for object_id in old.ids:
            _discard(self._by_id, (old.source, object_id), uid)
        for key in old.keys:
            _discard(self._by_key, (old.source, key), uid)
        for ref in old.refs:
            _discard(self._by_ref, ref, uid)

    # -- changes ---------------------------------------------------------------------

    def rhevm_changed(self, source: str, ids: set[str], keys: set[Hashable]) -> int:
        """The inventory of connection `source` saw these ids and collections change."""
        with self._lock:
            uids: set[str] = set()
            for object_id in ids:
                uids |= self._by_id.get((source, object_id), set())
            for key in keys:
                uids |= self._by_key.get((source, key), set())
        return self.wake(uids, "rhevm change")

    def dependency_changed(self, ref: ObjectKey) -> int:
        """A resource became Ready or stopped being Ready: wake those that reference it."""
        with self._lock:
            uids = set(self._by_ref.get(ref, set()))
        return self.wake(uids, f"dependency {ref[1]} {ref[2]}")


def _discard(index: dict[Hashable, set[str]], key: Hashable, uid: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(uid)
        if not members:
            del index[key]
