"""The event-driven loop: one worker per object, woken by changes, never by a clock alone.

kopf has no public call to queue an object, so each object gets a kopf daemon (an asyncio
task: it costs nothing while it sleeps) that waits on its own wake-up event
(`handlers.wakeups`). A pass runs in the operator's thread pool and writes the status only
when it changed, so a pass that finds nothing to do writes nothing to Kubernetes. The worker
then sleeps until:

- it is woken: its spec or annotations changed, its RHEV-M object or something it waits on
  changed in the inventory, or a resource it references became Ready or stopped being so;
- the pass's `requeue_after` passes (an operation in flight, a dependency not ready);
- the slow resync comes round (`--resync-seconds`, minutes: only a safety net).

Deletion stays a kopf deletion handler: kopf stops the worker first, then runs it.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import kopf

from rhev_operator import metrics
from rhev_operator.handlers.common import (
    CONNECTION_RECHECK,
    GROUP,
    VERSION,
    Binding,
    Pass,
    connection_stall,
    is_ready,
    run_pass,
)
from rhev_operator.handlers.runtime import Runtime

#: How long a worker waits after a pass failed with an unexpected error.
ERROR_RETRY = 30.0

#: Seconds between looks at a deletion that is stalled (what blocks it may go meanwhile).
DELETE_RECHECK = 30.0

#: Seconds before a pass whose status write failed runs again.
WRITE_RETRY = 2.0

#: Annotations kopf writes for itself: their changes are no reason to reconcile.
_OWN_ANNOTATIONS = (
    "rhev.io/last-handled-configuration",
    "rhev.io/kopf-",  # kopf-managed, and kopf's progress records under our prefix
    "kopf.zalando.org/",
)


def _fingerprint(meta: Mapping[str, Any]) -> tuple[Any, ...]:
    """What, when it changes, asks the object's own worker to look again."""
    annotations = {
        key: value
        for key, value in (meta.get("annotations") or {}).items()
        if not key.startswith(_OWN_ANNOTATIONS)
    }
    return (meta.get("generation"), tuple(sorted(annotations.items())))


class Worker:
    """The worker of one kind: `run` is its kopf daemon, `changed` its watch-event hook."""

    def __init__(self, binding: Binding, resync_seconds: float) -> None:
        self.binding = binding
        self.resync_seconds = resync_seconds
        self.log = logging.getLogger(f"rhev_operator.worker.{binding.kind.lower()}")

    # -- the daemon ------------------------------------------------------------------

    async def run(self, **kwargs: Any) -> None:
        stopped: kopf.DaemonStopped = kwargs["stopped"]
        body: kopf.Body = kwargs["body"]
        runtime: Runtime = kwargs["memo"]["runtime"]
        uid = str(body["metadata"].get("uid") or "")
        loop = asyncio.get_running_loop()
        sleeper = runtime.wakeups.register(uid, loop)
        reason = "start"
        written: dict[str, Any] | None = None  # the last status this worker wrote
        try:
            while not stopped:
                sleeper.event.clear()
                snapshot = copy.deepcopy(dict(body))
                current = snapshot.get("status") or {}
                if written is not None and _differs(current, written):
                    # A wake-up can come before the watch event of our own write: the pass
                    # must see what was written (an operation record above all), not the past.
                    snapshot["status"] = merge_patch(current, written)
                else:
                    written = None
                cause = reason.split(" ", 1)[0]
                runtime.passes_by_reason[cause] += 1
                if sleeper.woken_at and reason == sleeper.reason:
                    metrics.woken(cause, time.monotonic() - sleeper.woken_at)
                sleeper.woken_at = 0.0
                context = contextvars.copy_context()  # kopf's event poster lives in it
                try:
                    done = await loop.run_in_executor(
                        runtime.pool, context.run, self._pass, runtime, snapshot, kwargs, reason
                    )
                except Exception:  # a pass that failed must not end the worker's wake-ups
                    kwargs["logger"].exception("A pass of %s failed", self.binding.kind)
                    delay, why = ERROR_RETRY, "retry after error"
                else:
                    if done is not None and done.written:
                        written = merge_patch(snapshot.get("status") or {}, done.status or {})
                    delay, why = self._delay(done)
                woke = await self._sleep(sleeper.event, stopped, delay)
                reason = (sleeper.reason or "woken") if woke == "woken" else why
        finally:
            runtime.wakeups.unregister(uid)

    def _pass(
        self, runtime: Runtime, body: dict[str, Any], kwargs: Mapping[str, Any], reason: str
    ) -> Pass | None:
        logger: logging.Logger = kwargs["logger"]
        meta = body["metadata"]
        logger.debug("Reconciling %s %s (%s)", self.binding.kind, meta["name"], reason)
        cause = reason.split(" ", 1)[0]
        try:
            done = run_pass(self.binding, runtime, body, kwargs, logger, deleting=False)
        except Exception:
            metrics.reconciled(self.binding.kind, cause, "error")
            raise
        if done is None:
            return None
        metrics.reconciled(self.binding.kind, cause, pass_outcome(done))
        if done.status is not None:
            flying = bool(done.status.get("operation"))
            metrics.in_flight(str(meta.get("uid") or ""), self.binding.kind, flying)
        if done.interest is not None:
            runtime.wakeups.set_interest(str(meta.get("uid") or ""), done.interest)
        if done.status is not None and _differs(body.get("status") or {}, done.status):
            try:
                runtime.status_writer.write(
                    meta.get("namespace") or "default",
                    self.binding.plural,
                    meta["name"],
                    done.status,
                )
            except Exception as exc:  # the API server dropped or timed out: not fatal
                logger.warning("Writing the status of %s failed (%s); retrying", meta["name"], exc)
                done.write_failed = True
            else:
                done.written = True
        return done

    def _delay(self, done: Pass | None) -> tuple[float, str]:
        """How long to sleep unless woken, and what the wake-up after it is called."""
        if done is not None and done.write_failed:
            return WRITE_RETRY, "requeue"
        outcome = done.outcome if done is not None else None
        if outcome is not None and outcome.requeue_after is not None:
            return max(0.2, outcome.requeue_after), "requeue"
        if done is not None and done.status is not None and connection_stall(done.status):
            return CONNECTION_RECHECK, "connection recheck"
        # Jitter, so that a thousand objects started together do not resync together.
        return self.resync_seconds * random.uniform(0.9, 1.1), "resync"

    @staticmethod
    async def _sleep(event: asyncio.Event, stopped: kopf.DaemonStopped, delay: float) -> str:
        async def stop() -> None:
            await stopped.wait()

        woken = asyncio.ensure_future(event.wait())
        stopping = asyncio.ensure_future(stop())
        try:
            done, _ = await asyncio.wait(
                {woken, stopping}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
            stopping.cancel()
        if woken in done:
            return "woken"
        if stopping in done:
            return "stopped"
        return "elapsed"

    # -- watch events ----------------------------------------------------------------

    async def changed(self, **kwargs: Any) -> None:
        """Every watch event of the kind: wake the object on a spec or annotation change,
        and its dependents when its readiness flips."""
        event_type = kwargs.get("type")
        body: Mapping[str, Any] = kwargs["body"]
        runtime: Runtime = kwargs["memo"]["runtime"]
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        ref = (
            str(meta.get("namespace") or "default"),
            self.binding.kind.lower(),
            str(meta.get("name")),
        )
        if event_type == "DELETED":
            runtime.seen.pop(uid, None)
            metrics.in_flight(uid, self.binding.kind, False)
            runtime.wakeups.dependency_changed(ref)
            return
        now = (_fingerprint(meta), is_ready(body.get("status") or {}))
        before = runtime.seen.get(uid)
        runtime.seen[uid] = now
        if before is None:
            return  # the worker's first pass is on its way
        if before[0] != now[0]:
            runtime.wakeups.wake([uid], "spec change")
        if before[1] != now[1]:
            runtime.wakeups.dependency_changed(ref)


def pass_outcome(done: Pass) -> str:
    """The outcome label of a pass: stalled, ready (nothing to look at again), paused (the
    reconciler did not run, nothing stalled), else progressing."""
    status = done.status or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Stalled") == "True":
        return "stalled"
    if done.outcome is None:
        return "paused" if conditions.get("Paused") == "True" or not status else "progressing"
    if is_ready(done.outcome.status) and done.outcome.requeue_after is None:
        return "ready"
    return "progressing"


def _differs(current: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    return any(current.get(key) != value for key, value in status.items())


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`target` after a JSON merge patch (RFC 7386), as the API server applies ours."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def register(binding: Binding, *, resync_seconds: float) -> None:
    """Register the kopf handlers of one kind (once per process at start): an index for
    references, a worker per object, the watch-event hook that wakes workers, deletion."""
    resource = (GROUP, VERSION, binding.plural)

    def delete_handler(**kwargs: Any) -> None:
        runtime: Runtime = kwargs["memo"]["runtime"]
        try:
            done = run_pass(
                binding, runtime, kwargs["body"], kwargs, kwargs["logger"], deleting=True
            )
        except Exception:
            metrics.reconciled(binding.kind, "delete", "error")
            raise
        if done is not None:
            metrics.reconciled(binding.kind, "delete", pass_outcome(done))
        if done is not None and done.status is not None:
            kwargs["patch"].status.update(done.status)
        outcome = done.outcome if done is not None else None
        if outcome is None:
            raise kopf.TemporaryError("paused or not yet deletable", delay=resync_seconds)
        if outcome.finished:
            runtime.attempted.discard(str(kwargs["body"]["metadata"].get("uid") or ""))
        if not outcome.finished:
            raise kopf.TemporaryError(
                str(outcome.status.get("message", "deletion in progress")),
                # A deletion is no worker's: nothing wakes it, so a stalled one (disks
                # still on a domain, a network in use) looks again every DELETE_RECHECK s.
                delay=outcome.requeue_after or min(resync_seconds, DELETE_RECHECK),
            )

    def index_handler(**kwargs: Any) -> dict[tuple[str, str], dict[str, Any]]:
        namespace, name = kwargs["namespace"], kwargs["name"]
        spec, status, meta = kwargs["spec"], kwargs["status"], kwargs["meta"]
        return {
            (namespace, name): {
                "name": spec.get("name") or name,
                "id": status.get("id"),
                "ready": is_ready(status),
                "state": status.get("state"),
                "deleting": meta.get("deletionTimestamp") is not None,
            }
        }

    handler_id = binding.kind.lower()
    worker = Worker(binding, resync_seconds)
    kopf.index(*resource, id=f"{handler_id}_index")(index_handler)
    kopf.daemon(*resource, id=f"{handler_id}-worker", cancellation_timeout=5.0)(worker.run)
    kopf.on.event(*resource, id=f"{handler_id}-changes")(worker.changed)
    kopf.on.delete(*resource, id=f"{handler_id}-delete")(delete_handler)
