"""What every reconciler shares: the context it gets, the outcome it returns, and the
ladder helpers (wait, stall, in-flight operation, conditions, create-or-adopt, delete).

A reconcile is a ladder of idempotent `ensure_*` steps. A step that must wait raises
`Wait`; one that needs a human raises `Stall`. The ladder ends with Ready. Nothing here
knows kopf or Kubernetes: the handlers turn an `Outcome` into a status patch, Events
and a requeue.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from rhev_operator.api import (
    Resource,
    operation_overdue,
    ready,
    reconciling,
    stalled,
    start_operation,
)
from rhev_operator.api.common import CommonStatus
from rhev_operator.inventory.observer import Inventory, Lister
from rhev_operator.rhevm import RhevmClient, errors

#: The marker the operator writes into the `comment` of what it creates, so a restarted
#: operator recognises its own objects (DESIGN.md principle 2), and so deletion knows
#: whether the default policy is Delete (created) or Retain (adopted).
OWNER_MARKER = "rhev-operator uid="

#: How soon to look again while something is in flight.
SHORT_REQUEUE = 2.0


def owner_comment(uid: str) -> str:
    return f"{OWNER_MARKER}{uid}"


def owned_by(comment: str | None, uid: str) -> bool:
    return bool(comment) and bool(uid) and owner_comment(uid) in str(comment)


class Wait(Exception):
    """The ladder stops here for now: something is in flight or not there yet."""

    def __init__(self, reason: str, message: str, requeue_after: float = SHORT_REQUEUE) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.requeue_after = requeue_after


class Stall(Exception):
    """The ladder cannot go on without a human; `message` says what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Ref:
    """A reference resolved against the resources of the namespace."""

    name: str  # the object's name in RHEV-M
    id: str | None  # its RHEV-M id when a resource knows it
    ready: bool
    managed: bool  # True when a resource of that kind exists in the namespace
    deleting: bool = False


class References(Protocol):
    def resolve(self, kind: str, name: str) -> Ref: ...


@dataclass(frozen=True)
class KubeEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Outcome:
    """What a reconcile decided: the status to write, the Events to post, when to look again."""

    status: dict[str, Any]
    events: list[KubeEvent] = field(default_factory=list)
    requeue_after: float | None = None
    finished: bool = True  # for deletion: may the finalizer be removed


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Context:
    """Everything a reconciler may use; built by the handlers for each call."""

    client: RhevmClient
    inventory: Inventory
    refs: References
    namespace: str
    uid: str
    generation: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("rhev_operator"))
    now: Callable[[], dt.datetime] = _utcnow
    #: The decoded data of a Secret in the resource's namespace by name, None when absent.
    #: Values are secret: never log them or put them in status or Events.
    secrets: Callable[[str], Mapping[str, str] | None] = lambda _name: None

    @staticmethod
    def correlation_id() -> str:
        # Short (the engine's job search likes < 30 characters) and unique.
        return f"rhevop-{uuid.uuid4().hex[:16]}"


def classify(exc: errors.RhevmError) -> Wait | Stall:
    """How the ladder treats an error from RHEV-M (DESIGN.md principle 5)."""
    if isinstance(exc, errors.Conflict) and not isinstance(exc, errors.AlreadyExists):
        return Wait("Locked", f"RHEV-M is busy with this object: {exc}", 5.0)
    if isinstance(exc, errors.Unavailable):
        return Wait("RhevmUnavailable", f"RHEV-M is not answering: {exc}", 10.0)
    if isinstance(exc, errors.TlsError):
        return Stall("TLSError", f"TLS verification of RHEV-M failed: {exc}; check ca.crt")
    if isinstance(exc, errors.AuthError):
        return Stall("AuthenticationFailed", f"RHEV-M refused the credentials: {exc}")
    if isinstance(exc, errors.NotFound):
        return Wait("NotFound", f"RHEV-M does not know the object (any more): {exc}", 5.0)
    return Stall("RhevmRefused", f"RHEV-M refused the request: {exc}")


S = TypeVar("S", bound=CommonStatus)


class Pass(Generic[S]):
    """One pass of a ladder over one resource: collects status and Events.

    `status` starts as a copy of the resource's status and becomes the status patch."""

    def __init__(self, ctx: Context, resource: Resource) -> None:
        self.ctx = ctx
        self.resource = resource
        self.kind = resource.KIND
        self.name = resource.metadata.name
        status = getattr(resource, "status")  # noqa: B009 - every kind declares it
        self.status: S = status.model_copy(deep=True)
        self.events: list[KubeEvent] = []
        self.now = ctx.now()

    # -- Events and log lines ---------------------------------------------------------

    def did(self, reason: str, message: str) -> None:
        """An action taken: one log line and one Normal Event."""
        self.ctx.logger.info("%s %s: %s", self.kind, self.name, message)
        self.events.append(KubeEvent("Normal", reason, message))

    def warn(self, reason: str, message: str) -> None:
        self.ctx.logger.warning("%s %s: %s", self.kind, self.name, message)
        self.events.append(KubeEvent("Warning", reason, message))

    # -- the in-flight operation ------------------------------------------------------

    def start(self, action: str, correlation_id: str, timeout_seconds: float) -> None:
        self.status.operation = start_operation(action, correlation_id, self.now, timeout_seconds)

    def end_operation(self) -> None:
        self.status.operation = None

    def check_deadline(self, waiting_for: str) -> None:
        """Stall when the in-flight operation is past its deadline, quoting RHEV-M."""
        operation = self.status.operation
        if operation is None or not operation_overdue(operation, self.now):
            return
        said = self.last_words(operation.correlation_id)
        raise Stall(
            "Timeout",
            f"{operation.action} did not finish by {operation.deadline} ({waiting_for})"
            + (f"; RHEV-M said: {said}" if said else "; RHEV-M reported nothing")
            + ". Check RHEV-M, then delete status.operation or touch the spec to retry.",
        )

    def last_words(self, correlation_id: str) -> str:
        """The newest job or event text RHEV-M wrote for this correlation id."""
        try:
            jobs = self.ctx.client.jobs.find_by_correlation_id(correlation_id)
        except errors.RhevmError:
            jobs = []
        for job in jobs:
            if job.description:
                return f"job {job.status}: {job.description}"
        return ""

    # -- ends of the ladder -----------------------------------------------------------

    def _wire(self) -> dict[str, Any]:
        self.status.observed_generation = self.ctx.generation
        return self.status.model_dump(by_alias=True, mode="json", exclude_unset=False)

    def ready(self, message: str = "") -> Outcome:
        self.status.conditions = ready(
            self.status.conditions,
            observed_generation=self.ctx.generation,
            now=self.now,
            message=message,
        )
        self.status.message = message or None
        return Outcome(self._wire(), self.events)

    def waiting(self, wait: Wait) -> Outcome:
        self.status.conditions = reconciling(
            self.status.conditions,
            reason=wait.reason,
            message=wait.message,
            observed_generation=self.ctx.generation,
            now=self.now,
        )
        self.status.message = wait.message
        return Outcome(self._wire(), self.events, requeue_after=wait.requeue_after, finished=False)

    def stalled(self, stall: Stall) -> Outcome:
        before = [c for c in self.status.conditions if c.type == "Stalled"]
        if not before or before[0].message != stall.message:
            self.warn(stall.reason, stall.message)
        self.status.conditions = stalled(
            self.status.conditions,
            reason=stall.reason,
            message=stall.message,
            observed_generation=self.ctx.generation,
            now=self.now,
        )
        self.status.message = stall.message
        return Outcome(self._wire(), self.events, finished=False)


def run_ladder(p: Pass[S], steps: Callable[[Pass[S]], str]) -> Outcome:
    """Run `steps`; map Wait, Stall and RHEV-M errors to the matching outcome."""
    try:
        message = steps(p)
    except Wait as wait:
        return p.waiting(wait)
    except Stall as stall:
        return p.stalled(stall)
    except errors.RhevmError as exc:
        verdict = classify(exc)
        return p.waiting(verdict) if isinstance(verdict, Wait) else p.stalled(verdict)
    return p.ready(message)


# -- shared steps --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finder:
    """How to find a kind's RHEV-M object: in the inventory, and directly to confirm."""

    key: Hashable
    lister: Lister
    get: Callable[[str], Any]
    find: Callable[[str], Any | None]


def observe(p: Pass[Any], finder: Finder, name: str) -> Any | None:
    """The object by status.id, else by name. When the inventory does not have it, a
    direct call confirms (a known id may have moved out of a scoped listing), unless no id
    is known and the snapshot was listed after this process's last write: then it is
    authoritative, and a resource that waits to be created costs no request."""
    known_id = p.status.id
    found = p.ctx.inventory.find(finder.key, finder.lister, id=known_id, name=name)
    if found is not None or (not known_id and p.ctx.inventory.authoritative(finder.key)):
        return found
    if known_id:
        try:
            found = finder.get(known_id)
        except errors.NotFound:
            found = None
    if found is None:
        found = finder.find(name)
    if found is not None:
        p.ctx.inventory.remember(finder.key, found)
    return found


def claim(p: Pass[Any], found: Any, adopt: bool) -> None:
    """Accept an existing object as this resource's, or stall with AlreadyExists."""
    if p.status.id == found.id or owned_by(getattr(found, "comment", None), p.ctx.uid):
        p.status.id = found.id
        return
    if not adopt:
        raise Stall(
            "AlreadyExists",
            f"RHEV-M already has a {p.kind} object named {found.name!r} (id {found.id}) that "
            "this resource did not create; set spec.adopt: true to take it over, or choose "
            "another spec.name",
        )
    p.status.id = found.id
    p.did("Adopted", f"Adopted existing {found.name} ({found.id})")


def created(p: Pass[Any], finder: Finder, obj: Any, what: str) -> None:
    p.status.id = obj.id
    p.ctx.inventory.remember(finder.key, obj)
    p.ctx.inventory.poke()
    p.did("Created", f"Created {what}")


def deletion_policy(p: Pass[Any], found: Any) -> str:
    spec = getattr(p.resource, "spec")  # noqa: B009
    adopted = not owned_by(getattr(found, "comment", None), p.ctx.uid)
    return str(spec.effective_deletion_policy(adopted))


def resolve(p: Pass[Any], kind: str, ref: str, finder: Finder) -> Any:
    """The RHEV-M object a reference names, or Wait (WaitingForDependency).

    A reference names a resource of `kind` in the namespace, which must be Ready; else an
    object in RHEV-M by that name (so `Default`, `rhevm`, `Blank` work with no resource)."""
    target = p.ctx.refs.resolve(kind, ref)
    if target.managed and (not target.ready or target.deleting):
        state = "being deleted" if target.deleting else "not Ready yet"
        raise Wait("WaitingForDependency", f"waiting for {kind} {ref}: it is {state}", 5.0)
    found = p.ctx.inventory.find(finder.key, finder.lister, id=target.id, name=target.name)
    if found is None:
        found = finder.find(target.name)
    if found is None:
        raise Wait(
            "WaitingForDependency",
            f"waiting for {kind} {ref}: no such resource in namespace {p.ctx.namespace} "
            f"and no object named {target.name!r} in RHEV-M",
            5.0,
        )
    return found
