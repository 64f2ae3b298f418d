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
from typing import Any, cast

import kopf
from pydantic import BaseModel

from rhev_operator.api import SpecError, conditions_to_wire, set_condition, stalled_status
from rhev_operator.api.conditions import Condition
from rhev_operator.handlers.runtime import Runtime
from rhev_operator.handlers.secrets import (  # re-exported: the handlers' public names
    InvalidSecret,
    MissingSecret,
    config_from_secret,
    decoded,
)
from rhev_operator.handlers.wakeups import Interest, ObjectKey
from rhev_operator.reconcilers.base import Context, KubeEvent, Outcome, Ref

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
        #: What this pass resolved, as (namespace, kind, name): it wakes when they change.
        self.resolved: set[ObjectKey] = set()

    def resolve(self, kind: str, name: str) -> Ref:
        self.resolved.add((self.namespace, kind.lower(), name))
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

    def managed_ids(self, kind: str) -> set[str]:
        """The RHEV-M ids of this namespace's resources of `kind` (those that have one)."""
        index = self.indices.get(f"{kind.lower()}_index") or {}
        out: set[str] = set()
        for (namespace, _name), store in index.items():
            for entry in store if namespace == self.namespace else ():
                if entry.get("id"):
                    out.add(str(entry["id"]))
        return out


def secret_lookup(runtime: Runtime, namespace: str) -> Callable[[str], Mapping[str, str] | None]:
    """Read a Secret of the namespace by name (a `get`, cached briefly: see SecretReader),
    decoded; None when absent. A key whose value is not valid base64 UTF-8 is left out."""

    def lookup(name: str) -> Mapping[str, str] | None:
        data = runtime.secret_reader.read(namespace, name)
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
    plural: str = "",
) -> tuple[Context, str]:
    """The reconcile context of one pass, and the name of its RHEV-M connection."""
    meta = body["metadata"]
    namespace = meta.get("namespace") or "default"
    uid = str(meta.get("uid") or "")

    def persist(patch: Mapping[str, Any]) -> None:
        # Before a create request: the record must be in Kubernetes first (see
        # reconcilers.base.before_create); a failed write raises and nothing is sent.
        runtime.attempted.add(uid)
        if plural:
            runtime.status_writer.write(namespace, plural, str(meta["name"]), patch)

    if connection_secret:
        data = runtime.secret_reader.read(namespace, connection_secret)
        config = config_from_secret(namespace, connection_secret, data)
        source = f"{namespace}/{connection_secret}"
    else:
        config = runtime.default_config()
        source = "default"
    connection = runtime.connections.get(source, config)
    context = Context(
        client=connection.client,
        inventory=connection.inventory,
        refs=IndexedReferences(namespace, indices),
        namespace=namespace,
        uid=uid,
        generation=int(meta.get("generation") or 0),
        bmcs=runtime.bmcs,
        annotations=dict(meta.get("annotations") or {}),
        logger=logger,
        secrets=secret_lookup(runtime, namespace),
        persist=persist,
    )
    return context, source


def _stalled(body: Mapping[str, Any], generation: int, reason: str, message: str) -> dict[str, Any]:
    status = dict(body.get("status") or {})
    if _has_condition(status, "Paused"):  # no longer paused: this pass is acting
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != "Paused"]
    return stalled_status(
        status,
        reason=reason,
        message=message,
        observed_generation=generation,
        now=dt.datetime.now(dt.UTC),
    )


def post_events(body: Mapping[str, Any], outcome: Outcome) -> None:
    for event in outcome.events:
        kopf.event(
            cast(kopf.Body, body), type=event.type, reason=event.reason, message=event.message
        )


def _stall_early(
    body: Mapping[str, Any], generation: int, reason: str, message: str
) -> dict[str, Any]:
    """Stalled before any reconcile (bad spec, bad Secret); the Warning Event is posted once
    per distinct message, not on every pass."""
    status = _stalled(body, generation, reason, message)
    before = [
        c for c in (body.get("status") or {}).get("conditions") or [] if c.get("type") == "Stalled"
    ]
    if not before or before[0].get("message") != message or before[0].get("reason") != reason:
        kopf.warn(cast(kopf.Body, body), reason=reason, message=message)
    return status


@dataclass
class Pass:
    """What one pass decided: the status to write (None: nothing), the reconciler's outcome
    (None when it did not run), and what the pass owns and waits on."""

    status: dict[str, Any] | None = None
    outcome: Outcome | None = None
    interest: Interest | None = None
    #: Whether the status was written to Kubernetes (it differed from what was there).
    written: bool = False
    #: Writing the status failed (the Kubernetes API dropped or timed out): look again soon.
    write_failed: bool = False


def run_pass(
    binding: Binding,
    runtime: Runtime,
    body: Mapping[str, Any],
    indices: Mapping[str, Any],
    logger: logging.Logger,
    *,
    deleting: bool,
    wait: bool = True,
) -> Pass | None:
    """One pass for one object, one at a time per object (None: another pass holds the
    object and `wait` is false). `indices` are kopf's handler kwargs, the indices among them."""
    uid = str(body["metadata"].get("uid") or "")
    entry = runtime.passes.lock(uid)  # held for the whole pass, so the lock stays one
    if not entry.lock.acquire(blocking=wait, timeout=600 if wait else -1):
        return None
    try:
        return _run_pass(binding, runtime, body, indices, logger, deleting=deleting)
    finally:
        entry.lock.release()


def _run_pass(
    binding: Binding,
    runtime: Runtime,
    body: Mapping[str, Any],
    indices: Mapping[str, Any],
    logger: logging.Logger,
    *,
    deleting: bool,
) -> Pass:
    meta = body["metadata"]
    generation = int(meta.get("generation") or 0)
    if (meta.get("annotations") or {}).get(PAUSED_ANNOTATION, "").lower() == "true":
        logger.info("%s %s is paused; not acting", binding.kind, meta["name"])
        return Pass(_paused_status(body, generation))
    try:
        resource = binding.parse(body)
    except SpecError as exc:
        status = _stall_early(body, generation, "InvalidSpec", str(exc))
        if deleting:  # nothing of ours can be in RHEV-M
            return Pass(status, Outcome(status=status, finished=True))
        return Pass(status)
    spec = getattr(resource, "spec", None)
    if deleting:
        released = _release_at_once(binding, runtime, body, spec, logger)
        if released is not None:
            return Pass(None, released)
    connection_secret = getattr(spec, "connection", None)
    try:
        ctx, source = build_context(
            runtime, body, connection_secret, indices, logger, binding.plural
        )
    except (MissingSecret, InvalidSecret) as exc:
        reason = "MissingSecret" if isinstance(exc, MissingSecret) else "InvalidSecret"
        if deleting:
            message = f"{exc}; {may_exist(body)}, so deletion waits. {LET_GO}"
            status = _stall_early(body, generation, reason, message)
            return Pass(status, Outcome(status=status, finished=False))
        return Pass(_stall_early(body, generation, reason, str(exc)))
    with ctx.inventory.recording() as read:
        outcome = (binding.delete if deleting else binding.reconcile)(ctx, resource)
    if deleting and not outcome.finished:
        outcome = _unreachable(body, outcome, source)
    if _has_condition(outcome.status, "Paused") or _has_condition(body.get("status"), "Paused"):
        outcome.status["conditions"] = [
            c for c in outcome.status.get("conditions") or [] if c.get("type") != "Paused"
        ]
    post_events(body, outcome)
    own = outcome.status.get("id") or (body.get("status") or {}).get("id")
    converging = outcome.requeue_after is not None or not is_ready(outcome.status)
    if converging:
        ctx.inventory.mark_hot(set(read))
    refs = ctx.refs.resolved if isinstance(ctx.refs, IndexedReferences) else set()
    interest = Interest(
        source=source,
        ids=frozenset({str(own)} if own else ()),
        # A converging pass also waits on what it read (a host to register, disks to
        # unlock); a Ready one only on its own object.
        keys=frozenset(read if converging else ()),
        refs=frozenset(refs),
    )
    return Pass(outcome.status, outcome, interest)


#: Stalls that a change outside the object ends (a Secret created or rotated, a CA fixed):
#: nothing wakes the object for those, so it looks again every CONNECTION_RECHECK seconds.
CONNECTION_STALLS = frozenset(
    {"MissingSecret", "InvalidSecret", "AuthenticationFailed", "TLSError"}
)
CONNECTION_RECHECK = 15.0


def connection_stall(status: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Stalled"
        and c.get("status") == "True"
        and c.get("reason") in CONNECTION_STALLS
        for c in status.get("conditions") or []
    )


#: What a human does to let go of a resource whose RHEV-M object cannot be reached.
LET_GO = (
    "To let go without RHEV-M, set spec.deletionPolicy: Retain (the object stays in RHEV-M), "
    "or remove the finalizer rhev.io/finalizer (nothing is checked in RHEV-M at all)."
)


def may_exist(body: Mapping[str, Any]) -> str:
    """Why a resource may have an object in RHEV-M (its id, or its in-flight record)."""
    status = body.get("status") or {}
    if status.get("id"):
        return f"its object may exist in RHEV-M (status.id {status['id']})"
    operation = status.get("operation") or {}
    action = operation.get("action") or "a create"
    return f"its object may exist in RHEV-M ({action} was sent)"


def _release_at_once(
    binding: Binding,
    runtime: Runtime,
    body: Mapping[str, Any],
    spec: Any,
    logger: logging.Logger,
) -> Outcome | None:
    """A deletion that needs no RHEV-M: nothing was ever created (no status.id, no in-flight
    record, no create sent by this process), or spec.deletionPolicy is Retain. None: the
    deletion must look in RHEV-M."""
    meta = body["metadata"]
    status = body.get("status") or {}
    uid = str(meta.get("uid") or "")
    name = f"{binding.kind} {meta['name']}"
    if not status.get("id") and not status.get("operation") and uid not in runtime.attempted:
        logger.info("%s: nothing was ever created in RHEV-M; released", name)
        return Outcome(status={}, finished=True)
    if getattr(spec, "deletion_policy", None) == "Retain":
        message = f"Left {name} in RHEV-M (deletionPolicy Retain); RHEV-M was not contacted"
        logger.info("%s", message)
        return Outcome(status={}, events=[KubeEvent("Normal", "Retained", message)])
    return None


def _unreachable(body: Mapping[str, Any], outcome: Outcome, source: str) -> Outcome:
    """A deletion waiting because RHEV-M does not answer says so on Ready (reason
    Unreachable) and tells how to let go; other waits (RHEV-M refusing while the object
    still holds resources) keep their own reason."""
    conditions = outcome.status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("reason") != "RhevmUnavailable":
        return outcome
    where = "the default RHEV-M connection" if source == "default" else f"RHEV-M ({source})"
    message = (
        f"{where} cannot be reached: {ready.get('message')}; {may_exist(body)}, so deletion "
        f"waits. {LET_GO}"
    )
    ready.update(reason="Unreachable", message=message)
    outcome.status["message"] = message
    return outcome


PAUSED_MESSAGE = (
    f'the annotation {PAUSED_ANNOTATION}: "true" is set: the operator does not act on this '
    "object (nor delete it); remove the annotation to resume"
)


def _has_condition(status: Mapping[str, Any] | None, type: str) -> bool:
    return any(c.get("type") == type for c in (status or {}).get("conditions") or [])


def _paused_status(body: Mapping[str, Any], generation: int) -> dict[str, Any] | None:
    """The status of a paused object: a Paused condition (reason Paused) beside the others;
    None when it shows one already (a paused object costs no write)."""
    status = body.get("status") or {}
    if _has_condition(status, "Paused"):
        return None
    readable = []
    for item in status.get("conditions") or []:
        try:
            readable.append(Condition.model_validate(item))
        except ValueError:
            continue
    conditions = set_condition(
        readable, "Paused", "True", "Paused", PAUSED_MESSAGE, generation, dt.datetime.now(dt.UTC)
    )
    return {"conditions": conditions_to_wire(conditions)}


def is_ready(status: Mapping[str, Any]) -> bool:
    conditions = status.get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
