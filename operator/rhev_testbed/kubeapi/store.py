"""The object store of the local API: objects, resourceVersion, history, watchers, resources.

Objects live in a dict per resource (O(1) by key), writes are synchronous within the event loop
(no locks needed), every write bumps one global resourceVersion counter like etcd's revision
(`Store.commit`), and watchers get events through their own queue. The store also holds the
served resources (built-in kinds and those of the registered CRDs).
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
from typing import Any, TypeVar

from rhev_testbed.kubeapi.resources import ResourceDef, builtin_resources
from rhev_testbed.kubeapi.selectors import Matcher

T = TypeVar("T")

Obj = dict[str, Any]
StoreKey = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)
DefKey = tuple[str, str, str]  # (group, version, plural)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clone(obj: T) -> T:
    """A deep copy of JSON data (faster than copy.deepcopy for these trees)."""
    return json.loads(json.dumps(obj))  # type: ignore[no-any-return]


def versioned(resource: ResourceDef, obj: Obj) -> Obj:
    """The stored object as served by this resource version (apiVersion rewritten)."""
    if obj.get("apiVersion") == resource.group_version:
        return obj
    return {**obj, "apiVersion": resource.group_version}


class Event:
    """One write as watchers see it; the encoded line is cached per apiVersion."""

    __slots__ = ("_lines", "key", "new", "old", "rv", "type")

    def __init__(self, rv: int, key: StoreKey, type_: str, new: Obj, old: Obj | None) -> None:
        self.rv = rv
        self.key = key
        self.type = type_
        self.new = new
        self.old = old
        self._lines: dict[str, bytes] = {}

    def line(self, type_: str, obj: Obj) -> bytes:
        cache_key = f"{type_}:{obj.get('apiVersion')}"
        if cache_key not in self._lines:
            self._lines[cache_key] = encode_event(type_, obj)
        return self._lines[cache_key]


def encode_event(type_: str, obj: Obj) -> bytes:
    return json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"


class Watcher:
    __slots__ = ("dropped", "key", "queue")

    def __init__(self, key: StoreKey) -> None:
        self.key = key
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        #: Set by `Store.drop_watches`: the stream ends by a connection reset, not an EOF.
        self.dropped = False


class Store:
    """The state of one `DevApi`; `commit` is the one place objects change."""

    def __init__(self, history_size: int) -> None:
        self.rv = 1
        self.objects: dict[StoreKey, dict[ObjKey, Obj]] = collections.defaultdict(dict)
        self.history: collections.deque[Event] = collections.deque(maxlen=history_size)
        self.watchers: dict[StoreKey, set[Watcher]] = collections.defaultdict(set)
        self.closing = False
        self.defs: dict[DefKey, ResourceDef] = {}
        self.crd_defs: dict[str, list[ResourceDef]] = {}
        # bumped whenever the served resources change (what caches of them compare against)
        self.defs_generation = 0
        for resource in builtin_resources():
            self.defs[(resource.group, resource.version, resource.plural)] = resource

    # ---------------------------------------------------------------- resources

    def resource_def(self, group_version: str, plural: str) -> ResourceDef:
        group, _, version = group_version.rpartition("/")
        found = self.defs.get((group, version, plural))
        if found is None:
            raise KeyError(f"{plural} in {group_version} is not served")
        return found

    def served(self) -> list[ResourceDef]:
        return list(self.defs.values())

    def set_crd_resources(self, name: str, defs: list[ResourceDef]) -> None:
        """Serve the resources of CRD `name` (replacing what it served before)."""
        for old in self.crd_defs.pop(name, []):
            self.defs.pop((old.group, old.version, old.plural), None)
        for resource in defs:
            self.defs[(resource.group, resource.version, resource.plural)] = resource
        self.crd_defs[name] = defs
        self.defs_generation += 1

    def drop_crd_resources(self, name: str) -> list[ResourceDef]:
        """Stop serving the resources of CRD `name`; return them."""
        defs = self.crd_defs.pop(name, [])
        for d in defs:
            self.defs.pop((d.group, d.version, d.plural), None)
        self.defs_generation += 1
        return defs

    # ---------------------------------------------------------------- objects

    def lookup(self, resource: ResourceDef, namespace: str | None, name: str) -> Obj | None:
        return self.objects[resource.store_key].get((namespace or "", name))

    def select(
        self,
        resource: ResourceDef,
        namespace: str | None,
        labels: Matcher | None = None,
        fields: Matcher | None = None,
        name: str | None = None,
    ) -> list[Obj]:
        store = self.objects[resource.store_key]
        if name is not None:
            if namespace is not None:
                candidates = [store[(namespace, name)]] if (namespace, name) in store else []
            else:
                candidates = [o for (_, n), o in sorted(store.items()) if n == name]
        else:
            candidates = [
                obj
                for (ns, _), obj in sorted(store.items())
                if namespace is None or ns == namespace
            ]
        return [
            obj
            for obj in candidates
            if (labels is None or labels(obj)) and (fields is None or fields(obj))
        ]

    def commit(self, resource: ResourceDef, type_: str, new: Obj, old: Obj | None) -> Obj:
        """Store `new` (or remove it for DELETED) at the next resourceVersion; tell watchers."""
        self.rv += 1
        new["metadata"]["resourceVersion"] = str(self.rv)
        meta = new["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        store = self.objects[resource.store_key]
        if type_ == "DELETED":
            store.pop(key, None)
        else:
            store[key] = new
        event = Event(self.rv, resource.store_key, type_, new, old)
        self.history.append(event)
        for watcher in self.watchers.get(resource.store_key, ()):
            watcher.queue.put_nowait(event)
        return new

    def close_watches(self) -> None:
        """End every open watch stream (used at shutdown)."""
        self.closing = True
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)

    def drop_watches(self) -> int:
        """Fault: reset the connection of every open watch stream, keeping every object; new
        watches are served as before (`closing` is not set). Returns how many were dropped."""
        n = 0
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.dropped = True
                watcher.queue.put_nowait(None)
                n += 1
        return n
