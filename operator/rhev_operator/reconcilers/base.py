"""What every reconciler shares: the context it gets, the outcome it returns, and the
ladder helpers (wait, stall, in-flight operation, conditions, create-or-adopt, delete).

A reconcile is a ladder of idempotent `ensure_*` steps. A step that must wait raises
`Wait`; one that needs a human raises `Stall`. The ladder ends with Ready. Nothing here
knows kopf or Kubernetes: the handlers turn an `Outcome` into a status patch, Events
and a requeue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Container, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NoReturn, Protocol, TypeVar

from rhev_operator.api import (
    Resource,
    operation_overdue,
    ready,
    reconciling,
    stalled,
    start_operation,
)
from rhev_operator.api.common import CommonStatus
from rhev_operator.api.conditions import get_condition, set_condition
from rhev_operator.inventory.observer import Inventory, Lister
from rhev_operator.reconcilers.bmcs import Bmcs
from rhev_operator.rhevm import RhevmClient, errors

#: The marker the operator writes into the `comment` of what it creates, so a restarted
#: operator recognises its own objects after a crash, and so deletion knows
#: whether the default policy is Delete (created) or Retain (adopted).
OWNER_MARKER = "rhev-operator uid="

#: How soon to look again while something is in flight.
SHORT_REQUEUE = 2.0

#: What a Stalled message for a missed deadline tells a human to do.
RETRY_HINT = "Check RHEV-M, then touch the spec (or delete status.operation) to retry."
#: What a Stalled message for a refused update tells a human to do.
UPDATE_HINT = "Change the spec back, or resolve what RHEV-M names and the operator retries."

#: Event severities that say why something failed (quoted before a job's bare title).
ALARMING = ("error", "alert", "warning")


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
    #: The process's BMC clients and what they remember (made at start, shared by passes).
    bmcs: Bmcs
    annotations: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("rhev_operator"))
    now: Callable[[], dt.datetime] = _utcnow
    #: The decoded data of a Secret in the resource's namespace by name, None when absent.
    #: Values are secret: never log them or put them in status or Events.
    secrets: Callable[[str], Mapping[str, str] | None] = lambda _name: None
    #: Writes a status patch to Kubernetes now, raising when it cannot: the in-flight
    #: record of a create is persisted through it before the create request is sent
    #: (see `before_create`). The default writes nothing (reconcilers driven directly).
    persist: Callable[[Mapping[str, Any]], None] = lambda _patch: None

    @staticmethod
    def correlation_id() -> str:
        # Short (the engine's job search likes < 30 characters) and unique.
        return f"rhevop-{uuid.uuid4().hex[:16]}"


def classify(exc: errors.RhevmError) -> Wait | Stall:
    """How the ladder treats an error from RHEV-M: busy (409) and unavailable (5xx) wait
    and are retried; TLS, authentication and bad requests (400) stall until fixed."""
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

    def check_deadline(
        self,
        waiting_for: str,
        ref_kind: str | None = None,
        ref_id: str | None = None,
        *,
        jobs: bool = True,
        reason: str = "Timeout",
        hint: str = RETRY_HINT,
        said: str | None = None,
    ) -> None:
        """Stall when the in-flight operation is past its deadline, quoting RHEV-M: `said`
        when the caller has the engine's words already (a refusal), else its job (unless
        `jobs` is False: nothing was sent under that correlation id), else the newest event
        about the object `ref_kind`/`ref_id`. `hint` says what a human does next."""
        operation = self.status.operation
        if operation is None or not operation_overdue(operation, self.now):
            return
        if said is None:
            said = self.last_words(operation.correlation_id if jobs else "", ref_kind, ref_id)
        raise Stall(
            reason,
            f"{operation.action} did not finish by {operation.deadline} ({waiting_for})"
            + (f"; RHEV-M said: {said}" if said else "; RHEV-M reported nothing")
            + f". {hint}",
        )

    def last_words(
        self, correlation_id: str, ref_kind: str | None = None, ref_id: str | None = None
    ) -> str:
        """What RHEV-M last said: the newest error or warning event about the object (a
        failure names its cause), else the newest job for the correlation id, else the
        newest event about the object. Empty when it said nothing."""
        events = (
            self.ctx.inventory.events_for(ref_kind, ref_id, limit=10) if ref_kind and ref_id else []
        )
        for event in events:
            if event.severity in ALARMING:
                return f"{event.description} (event {event.code})"
        if correlation_id:
            try:
                jobs = self.ctx.client.jobs.find_by_correlation_id(correlation_id)
            except errors.RhevmError:
                jobs = []
            for job in jobs:
                if job.description:
                    return f"job {job.status}: {job.description}"
        for event in events:
            return f"event: {event.description}"
        return ""

    # -- Ready with a runtime wait beside it -----------------------------------------------

    def ready_with(self, message: str, verdict: Wait | Stall) -> Outcome:
        """Ready=True (the object matches its spec and others may use it) with Reconciling
        (a Wait) or Stalled (a Stall) beside it, for what RHEV-M must still settle on its
        own, e.g. a data center's SPM election."""
        kind = "Stalled" if isinstance(verdict, Stall) else "Reconciling"
        # As the resource had it (this pass may have called ready() already).
        before = get_condition(getattr(self.resource, "status").conditions, kind)  # noqa: B009
        if isinstance(verdict, Stall) and (before is None or before.message != verdict.message):
            self.warn(verdict.reason, verdict.message)
        self.ready(message)
        self.status.conditions = set_condition(
            self.status.conditions,
            kind,
            "True",
            verdict.reason,
            verdict.message,
            self.ctx.generation,
            self.now,
        )
        # A Stall says what a human must do; a Wait is told by the Ready message already.
        self.status.message = verdict.message if isinstance(verdict, Stall) else message or None
        requeue = verdict.requeue_after if isinstance(verdict, Wait) else None
        return Outcome(self._wire(), self.events, requeue_after=requeue)

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
        if getattr(p.ctx.inventory, "unavailable", False) and wait.reason != "RhevmUnavailable":
            # What it waits for is read from the inventory, which RHEV-M does not answer
            # now: say so (the cause), and what it was waiting for.
            wait = Wait(
                "RhevmUnavailable",
                f"RHEV-M is not answering ({p.ctx.inventory.last_error}); meanwhile {wait.message}",
                max(wait.requeue_after, 10.0),
            )
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
    found = p.ctx.inventory.find(finder.key, finder.lister, id=known_id, name=name, get=finder.get)
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
    if p.status.operation is not None and p.status.operation.action == CREATE:
        # A create whose answer was never recorded (a crash, or a pass that ran on a body
        # older than the answer's status write): the object is here, so it is over.
        p.end_operation()
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


#: The in-flight record of a create that RHEV-M answers at once (data center, cluster,
#: network, storage domain): it lives from just before the request until its answer.
CREATE = "Create"
#: How long a create that answers at once may take (it bounds nothing; the record only
#: says "this may exist in RHEV-M" should the answer never be written).
CREATE_SECONDS = 600.0


def before_create(
    p: Pass[Any], action: str = CREATE, timeout_seconds: float = CREATE_SECONDS
) -> str:
    """Record `action` as the in-flight operation and write that record to Kubernetes
    before the create request is sent; returns the correlation id to send it under.

    So a crash between the request and the status patch that records its answer can never
    pass for "never created": deletion releases an object at once only when its status has
    neither an id nor an operation. A record already persisted for `action` (a retry after
    a failed request) is kept with its correlation id, and not written again."""
    before = getattr(p.resource, "status").operation  # noqa: B009 - every kind has it
    if before is not None and before.action == action:
        p.status.operation = before.model_copy()
        return str(before.correlation_id)
    cid = p.ctx.correlation_id()
    p.start(action, cid, timeout_seconds)
    assert p.status.operation is not None
    p.ctx.persist({"operation": p.status.operation.model_dump(by_alias=True, mode="json")})
    return cid


def created(p: Pass[Any], finder: Finder, obj: Any, what: str) -> None:
    """Record what a create request made (its id); ends a synchronous create's record."""
    if p.status.operation is not None and p.status.operation.action == CREATE:
        p.end_operation()
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
    found = p.ctx.inventory.find(
        finder.key, finder.lister, id=target.id, name=target.name, get=finder.get
    )
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


# -- waits under a deadline, deletion, refusals ------------------------------------------------


def engine_says(exc: errors.RhevmError) -> str:
    """The engine's own words for a refusal (its fault detail), else the whole error."""
    return (exc.detail or str(exc)).strip().strip("[]")


def refused(exc: errors.RhevmError) -> bool:
    """A refusal that waiting alone will not cure (not "locked", not "unavailable")."""
    if isinstance(exc, errors.Locked):
        return False
    return isinstance(exc, errors.Conflict | errors.BadRequest)


class _AnyOperation:
    def __contains__(self, action: object) -> bool:
        return True


#: For `bounded_wait(joins=...)`: whatever operation is in flight bounds the wait.
ANY_OPERATION: Container[str] = _AnyOperation()


def bounded_wait(
    p: Pass[Any],
    action: str,
    reason: str,
    message: str,
    timeout_seconds: float,
    ref_kind: str | None = None,
    ref_id: str | None = None,
    *,
    requeue_after: float = SHORT_REQUEUE,
    joins: Container[str] = (),
    stall_reason: str = "Timeout",
    hint: str = RETRY_HINT,
    said: str | None = None,
) -> NoReturn:
    """Wait (reason, message) for what RHEV-M or a human must settle, never unbounded.

    The first time, `action` is recorded as the in-flight operation with a deadline
    `timeout_seconds` away; an operation already in flight under `action`, or one in `joins`
    (an operation the operator started, whose own deadline bounds this wait), is kept.
    Past the deadline: Stall (`stall_reason`) quoting `said` (the engine's words the caller
    has, e.g. a refusal; also added to the Wait's message), else the engine's last words
    about `ref_kind`/`ref_id` (and the joined operation's job). The caller ends the record
    (`p.end_operation()` or `end_waits`) once the wait is over."""
    op = p.status.operation
    if op is None or (op.action != action and op.action not in joins):
        p.start(action, p.ctx.correlation_id(), timeout_seconds)
        op = p.status.operation
    assert op is not None
    # Nothing was sent under a wait's own correlation id: no job to look for.
    p.check_deadline(
        message,
        ref_kind,
        ref_id,
        jobs=op.action != action,
        reason=stall_reason,
        hint=hint,
        said=said,
    )
    raise Wait(reason, f"{message}: {said}" if said else message, requeue_after)


def end_waits(p: Pass[Any], *actions: str) -> None:
    """Close the in-flight record when it is one of these waits (what it awaited is over)."""
    if p.status.operation is not None and p.status.operation.action in actions:
        p.end_operation()


def removed_unless_refused(
    p: Pass[Any],
    remove: Callable[[str], object],
    *,
    what: str,
    action: str,
    reason: str,
    timeout_seconds: float,
    stall_reason: str = "Timeout",
    hint: str = RETRY_HINT,
) -> str:
    """Send a removal (`remove(correlation_id)`; already gone counts as removed) and return
    its correlation id. While RHEV-M refuses it because something still uses the object
    (their resources are deleted too, or a human removes them), wait under `action`'s
    deadline with the engine's refusal, which the Stalled message quotes past it; the
    removal is sent again on every pass."""
    cid = p.ctx.correlation_id()
    try:
        with contextlib.suppress(errors.NotFound):
            remove(cid)
    except errors.RhevmError as exc:
        if not refused(exc):
            raise
        bounded_wait(
            p,
            action,
            reason,
            f"RHEV-M does not {what} yet",
            timeout_seconds,
            requeue_after=10.0,
            stall_reason=stall_reason,
            hint=hint,
            said=engine_says(exc),
        )
    return cid


def deletion_start(
    p: Pass[Any], found: Any | None, what: str, *, never_removed: str | None = None
) -> str | None:
    """The opening every deletion shares. None when the ladder goes on to remove `found`;
    else why the deletion ends here: nothing of this resource's is in RHEV-M, or the object
    stays (a Retained Event: `never_removed` says why it never goes, else deletionPolicy)."""
    if found is None or (p.status.id != found.id and not owned_by(found.comment, p.ctx.uid)):
        return "nothing of this resource's in RHEV-M"
    if never_removed is not None:
        p.did("Retained", never_removed)
        return "retained in RHEV-M"
    if deletion_policy(p, found) == "Retain":
        p.did("Retained", f"Left {what} {found.name} in RHEV-M (deletionPolicy Retain)")
        return "retained in RHEV-M"
    return None


def stalled_before(p: Pass[Any], reason: str | None = None) -> bool:
    """Stalled (for `reason`, when given) at an older generation: the spec was touched
    since, which is how a human asks for a retry."""
    stalled = get_condition(p.status.conditions, "Stalled")
    return (
        stalled is not None
        and stalled.status == "True"
        and (reason is None or stalled.reason == reason)
        and stalled.observed_generation is not None
        and stalled.observed_generation < p.ctx.generation
    )


def retry_when_touched(p: Pass[Any]) -> None:
    """Drop the overdue operation of a resource Stalled before the spec was touched, so the
    ladder starts it (or its wait) afresh (the Stalled messages say so)."""
    if p.status.operation is not None and stalled_before(p):
        p.end_operation()


@contextlib.contextmanager
def stall_when_refused(reason: str, doing: str, hint: str) -> Iterator[None]:
    """A request RHEV-M refuses (a refusal waiting alone will not cure) is Stalled (`reason`)
    with the engine's words: "RHEV-M refused to `doing`: <words>. `hint`". Other errors
    pass (the ladder waits out "locked" or "unavailable")."""
    try:
        yield
    except errors.RhevmError as exc:
        if not refused(exc):
            raise
        said = engine_says(exc).rstrip(".")
        raise Stall(reason, f"RHEV-M refused to {doing}: {said}. {hint}") from None
