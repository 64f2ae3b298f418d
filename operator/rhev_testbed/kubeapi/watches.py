"""Watches of the local API: from a resourceVersion (replayed from the history) or with the
initial events, filtered by namespace, name and selectors, with bookmarks and as Tables."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import aiohttp.web

from rhev_testbed.kubeapi.errors import bad_request, gone
from rhev_testbed.kubeapi.resources import ResourceDef
from rhev_testbed.kubeapi.selectors import exact_field, field_selector, label_selector
from rhev_testbed.kubeapi.store import Event, Obj, Store, Watcher, encode_event, versioned
from rhev_testbed.kubeapi.table import render_table, wants_table


async def watch(
    store: Store,
    raw: aiohttp.web.BaseRequest,
    resource: ResourceDef,
    namespace: str | None,
    name: str | None,
    params: Mapping[str, str],
    *,
    bookmark_interval: float,
) -> aiohttp.web.StreamResponse:
    """Stream the events of `resource` (selected as the parameters say) to one client."""
    fields_sel = params.get("fieldSelector")
    labels = label_selector(params.get("labelSelector"))
    fields = field_selector(fields_sel)
    name = name or exact_field(fields_sel, "metadata.name")
    table = wants_table(raw.headers.get("Accept", ""))
    include_object = params.get("includeObject", "Metadata")
    bookmarks = params.get("allowWatchBookmarks") in ("true", "1")
    send_initial = params.get("sendInitialEvents") in ("true", "1")
    rv_param = params.get("resourceVersion") or ""
    timeout = float(params.get("timeoutSeconds") or 0) or None

    def visible(obj: Obj | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        return (
            (namespace is None or meta.get("namespace", "") == namespace)
            and (name is None or meta["name"] == name)
            and (labels is None or labels(obj))
            and (fields is None or fields(obj))
        )

    # Register and snapshot without an await in between: no event can fall into a gap.
    watcher = Watcher(resource.store_key)
    start: list[tuple[str, Obj]] = []
    replay: list[Event] = []
    expired: str | None = None
    if send_initial or rv_param in ("", "0"):
        start = [("ADDED", o) for o in store.select(resource, namespace, labels, fields, name)]
    else:
        try:
            since = int(rv_param)
        except ValueError:
            raise bad_request(f'invalid resource version "{rv_param}"') from None
        oldest = store.history[0].rv if store.history else store.rv + 1
        if len(store.history) == store.history.maxlen and since < oldest - 1:
            expired = f"too old resource version: {since} ({oldest - 1})"
        else:
            replay = [e for e in store.history if e.rv > since and e.key == resource.store_key]
    start_rv = store.rv
    store.watchers[resource.store_key].add(watcher)

    response = aiohttp.web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    try:
        await response.prepare(raw)
        if expired is not None:
            await response.write(
                encode_event("ERROR", gone(expired).status())  # the client relists
            )
            return response

        def render(type_: str, obj: Obj, event: Event | None = None) -> bytes:
            obj = versioned(resource, obj)
            if table:
                rendered = render_table(
                    resource,
                    [obj],
                    resource_version=obj["metadata"]["resourceVersion"],
                    include_object=include_object,
                )
                return encode_event(type_, rendered)
            if event is not None:
                return event.line(type_, obj)
            return encode_event(type_, obj)

        chunk = [render(t, o) for t, o in start]
        if send_initial:
            chunk.append(encode_event("BOOKMARK", _bookmark(resource, start_rv, initial_end=True)))
        if chunk:
            await response.write(b"".join(chunk))
        for event in replay:
            line = _translate(event, visible, render)
            if line:
                await response.write(line)

        deadline = time.monotonic() + timeout if timeout else None
        last_bookmark = time.monotonic()
        while not store.closing:
            wait = 5.0
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            try:
                event_or_none = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if raw.transport is None or raw.transport.is_closing():
                    break
                if bookmarks and time.monotonic() - last_bookmark >= bookmark_interval:
                    last_bookmark = time.monotonic()
                    await response.write(encode_event("BOOKMARK", _bookmark(resource, store.rv)))
                continue
            if event_or_none is None:
                if watcher.dropped and raw.transport is not None:
                    raw.transport.abort()  # a dropped connection, not a clean end of stream
                    return response
                break
            line = _translate(event_or_none, visible, render)
            if line:
                await response.write(line)
    except (ConnectionError, aiohttp.ClientConnectionResetError):
        pass  # the client went away
    finally:
        store.watchers[resource.store_key].discard(watcher)
    with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientConnectionResetError):
        await response.write_eof()
    return response


def _translate(
    event: Event, visible: Callable[[Obj | None], bool], render: Callable[..., bytes]
) -> bytes | None:
    """What a (possibly filtered) watcher sees of an event: objects entering or leaving the
    selection become ADDED or DELETED, as the API server does it."""
    now = visible(event.new)
    before = event.type == "MODIFIED" and visible(event.old)
    if event.type == "MODIFIED":
        if now and before:
            return render("MODIFIED", event.new, event)
        if now:
            return render("ADDED", event.new, event)
        if before:
            return render("DELETED", event.new, event)
        return None
    return render(event.type, event.new, event) if now else None


def _bookmark(resource: ResourceDef, rv: int, *, initial_end: bool = False) -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": resource.kind, "apiVersion": resource.group_version, "metadata": meta}
