"""The kopf side of every kind: parse the body, build the context, call the reconciler,
turn its outcome into a status patch, Events and a requeue.

Handlers are sync `def`s: kopf runs them in its thread pool, so the blocking REST calls
never stall the event loop. One reconcile per kind serves create, update, resume and the
periodic timer (which carries in-flight operations forward); deletion has its own entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf
from pydantic import BaseModel

from rhev_operator.api import SpecError, stalled_status
from rhev_operator.handlers.runtime import Runtime
from rhev_operator.handlers.secrets import (  # re-exported: the handlers' public names
    InvalidSecret,
    MissingSecret,
    config_from_secret,
    decoded,
)
from rhev_operator.reconcilers.base import Context, Outcome, Ref

GROUP = "rhev.io"
VERSION = "v1alpha1"
PAUSED_ANNOTATION = "rhev.io/paused"

log = logging.getLogger(__name__)

Reconcile = Callable[[Context, Any], Outcome]


@dataclass(frozen=True)
class Binding:
    """How one kind is served: its model, its reconciler, its deletion."""

    kind: str
    plural: str
    parse: Callable[[Mapping[str, Any]], BaseModel]
    reconcile: Reconcile
    delete: Reconcile


class IndexedReferences:
    """Resolves references through kopf's in-memory indices of our own kinds."""

    def __init__(self, namespace: str, indices: Mapping[str, Any]) -> None:
        self.namespace = namespace
        self.indices = indices

    def resolve(self, kind: str, name: str) -> Ref:
        index = self.indices.get(f"{kind.lower()}_index")
        store = index.get((self.namespace, name)) if index is not None else None
        if not store:
            return Ref(name=name, id=None, ready=True, managed=False)
        entry = next(iter(store))
        return Ref(
            name=entry["name"],
            id=entry.get("id"),
            ready=bool(entry.get("ready")),
            managed=True,
            deleting=bool(entry.get("deleting")),
        )


def secret_lookup(
    indices: Mapping[str, Any], namespace: str
) -> Callable[[str], Mapping[str, str] | None]:
    """Read a Secret of the namespace from kopf's secret index, decoded; None when absent.
    A key whose value is not valid base64 UTF-8 is left out."""

    def lookup(name: str) -> Mapping[str, str] | None:
        index = indices.get("secret_index")
        store = index.get((namespace, name)) if index is not None else None
        data = next(iter(store)) if store else None
        if data is None:
            return None
        values = {key: decoded(data, key) for key in data}
        return {key: value for key, value in values.items() if value is not None}

    return lookup


def build_context(
    runtime: Runtime,
    body: Mapping[str, Any],
    connection_secret: str | None,
    indices: Mapping[str, Any],
    logger: logging.Logger,
) -> Context:
    meta = body["metadata"]
    namespace = meta.get("namespace") or "default"
    if connection_secret:
        store = indices["secret_index"].get((namespace, connection_secret))
        data = next(iter(store)) if store else None
        config = config_from_secret(namespace, connection_secret, data)
        source = f"{namespace}/{connection_secret}"
    else:
        config = runtime.default_config(indices["secret_index"])
        source = "default"
    connection = runtime.connections.get(source, config)
    return Context(
        client=connection.client,
        inventory=connection.inventory,
        refs=IndexedReferences(namespace, indices),
        namespace=namespace,
        uid=str(meta.get("uid") or ""),
        generation=int(meta.get("generation") or 0),
        bmcs=runtime.bmcs,
        annotations=dict(meta.get("annotations") or {}),
        logger=logger,
        secrets=secret_lookup(indices, namespace),
    )


def _stalled(body: Mapping[str, Any], generation: int, reason: str, message: str) -> dict[str, Any]:
    return stalled_status(
        body.get("status"),
        reason=reason,
        message=message,
        observed_generation=generation,
        now=dt.datetime.now(dt.UTC),
    )


def _post(body: kopf.Body, outcome: Outcome) -> None:
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def _stall_early(
    body: kopf.Body, patch: kopf.Patch, generation: int, reason: str, message: str
) -> dict[str, Any]:
    """Stalled before any reconcile (bad spec, bad Secret); the Warning Event is posted once
    per distinct message, not on every resync."""
    status = _stalled(body, generation, reason, message)
    patch.status.update(status)
    before = [
        c for c in (body.get("status") or {}).get("conditions") or [] if c.get("type") == "Stalled"
    ]
    if not before or before[0].get("message") != message or before[0].get("reason") != reason:
        kopf.warn(body, reason=reason, message=message)
    return status


def serve(
    binding: Binding, kwargs: Mapping[str, Any], *, deleting: bool, resync: bool = False
) -> Outcome | None:
    """One pass for one object; returns the outcome (None when paused, not parseable, or a
    resync found another pass running). `kwargs` are kopf's handler kwargs, the indices
    among them."""
    uid = str(kwargs["body"]["metadata"].get("uid") or "")
    runtime: Runtime = kwargs["memo"]["runtime"]
    entry = runtime.passes.lock(uid)  # held for the whole pass, so the lock stays one
    # A resync may skip (the next comes soon); a change or a deletion waits its turn.
    if not entry.lock.acquire(blocking=not resync, timeout=-1 if resync else 600):
        return None
    try:
        return _serve(binding, kwargs, deleting=deleting)
    finally:
        entry.lock.release()


def _serve(binding: Binding, kwargs: Mapping[str, Any], *, deleting: bool) -> Outcome | None:
    body: kopf.Body = kwargs["body"]
    patch: kopf.Patch = kwargs["patch"]
    logger: logging.Logger = kwargs["logger"]
    memo: Any = kwargs["memo"]
    indices = kwargs
    meta = body["metadata"]
    generation = int(meta.get("generation") or 0)
    if (meta.get("annotations") or {}).get(PAUSED_ANNOTATION, "").lower() == "true":
        logger.info("%s %s is paused; not acting", binding.kind, meta["name"])
        return None
    try:
        resource = binding.parse(body)
    except SpecError as exc:
        status = _stall_early(body, patch, generation, "InvalidSpec", str(exc))
        if deleting:
            return Outcome(status=status, finished=True)  # nothing of ours can be in RHEV-M
        return None
    runtime: Runtime = memo["runtime"]
    connection_secret = getattr(getattr(resource, "spec", None), "connection", None)
    try:
        ctx = build_context(runtime, body, connection_secret, indices, logger)
    except (MissingSecret, InvalidSecret) as exc:
        reason = "MissingSecret" if isinstance(exc, MissingSecret) else "InvalidSecret"
        _stall_early(body, patch, generation, reason, str(exc))
        return None
    outcome = (binding.delete if deleting else binding.reconcile)(ctx, resource)
    patch.status.update(outcome.status)
    _post(body, outcome)
    return outcome


def register(binding: Binding, *, resync_seconds: float) -> None:
    """Register the kopf handlers of one kind (called once per process at start)."""
    resource = (GROUP, VERSION, binding.plural)

    def reconcile_handler(**kwargs: Any) -> None:
        serve(binding, kwargs, deleting=False)

    def resync_handler(**kwargs: Any) -> None:
        serve(binding, kwargs, deleting=False, resync=True)

    def delete_handler(**kwargs: Any) -> None:
        outcome = serve(binding, kwargs, deleting=True)
        if outcome is None:
            raise kopf.TemporaryError("paused or not yet deletable", delay=resync_seconds)
        if not outcome.finished:
            raise kopf.TemporaryError(
                str(outcome.status.get("message", "deletion in progress")),
                delay=outcome.requeue_after or resync_seconds,
            )

    def index_handler(**kwargs: Any) -> dict[tuple[str, str], dict[str, Any]]:
        namespace, name = kwargs["namespace"], kwargs["name"]
        spec, status, meta = kwargs["spec"], kwargs["status"], kwargs["meta"]
        conditions = status.get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return {
            (namespace, name): {
                "name": spec.get("name") or name,
                "id": status.get("id"),
                "ready": ready,
                "state": status.get("state"),
                "deleting": meta.get("deletionTimestamp") is not None,
            }
        }

    handler_id = binding.kind.lower()
    kopf.index(*resource, id=f"{handler_id}_index")(index_handler)
    kopf.on.create(*resource, id=f"{handler_id}-create")(reconcile_handler)
    kopf.on.update(*resource, id=f"{handler_id}-update", field="spec")(reconcile_handler)
    kopf.on.resume(*resource, id=f"{handler_id}-resume")(reconcile_handler)
    kopf.timer(*resource, id=f"{handler_id}-resync", interval=resync_seconds, idle=0.5)(
        resync_handler
    )
    kopf.on.delete(*resource, id=f"{handler_id}-delete")(delete_handler)


def register_secret_index() -> None:
    def secret_index(**kwargs: Any) -> dict[tuple[str, str], dict[str, str]]:
        body = kwargs["body"]
        return {(kwargs["namespace"], kwargs["name"]): dict(body.get("data") or {})}

    kopf.index("", "v1", "secrets", id="secret_index")(secret_index)
