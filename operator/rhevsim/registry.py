"""The registry: every simulated object, the clock, jobs, events, hooks, one lock over all.

Request handlers and timer callbacks both run with `reg.lock` held (the server and
`run_due` take it), so entity code never locks anything itself.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rhevsim.clock import Clock, Timer
from rhevsim.errors import conflict, entity_not_found, locked
from rhevsim.event import Event
from rhevsim.job import Job, Step
from rhevsim.model import Entity

T = TypeVar("T", bound=Entity)
S = TypeVar("S")
log = logging.getLogger("rhevsim")

# Default step durations in simulated seconds, near a real engine on healthy storage.
# Override any key with the inventory's `timings:` map. Entity modules add their own keys
# through `register_timings` (host and VM keys belong to their modules).
DEFAULT_TIMINGS: dict[str, float] = {
    # The engine drops ended jobs after SucceededJobCleanupTimeInMinutes (10) and
    # FailedJobCleanupTimeInMinutes (60).
    "job.cleanup_finished": 600.0,
    "job.cleanup_failed": 3600.0,
    "storagedomain.attach": 6.0,  # locked -> maintenance
    "storagedomain.activate": 5.0,  # activating -> active
    "storagedomain.deactivate": 5.0,  # preparing_for_maintenance -> maintenance
    "storagedomain.detach": 5.0,  # detaching -> unattached
}


# The messages the engine's commands attach to their locks (getExclusiveLocks /
# getSharedLocks), by (kind, lock): AddVmTemplateCommand locks the VM with
# ACTION_TYPE_FAILED_TEMPLATE_IS_BEING_CREATED_FROM_VM and the template with
# ACTION_TYPE_FAILED_TEMPLATE_IS_BEING_CREATED.
LOCK_MESSAGES: dict[tuple[str, str], str] = {
    ("vm", "AddVmTemplate"): "Template is being created from this VM.",
    ("template", "AddVmTemplate"): "Template {name} is being created.",
}


@dataclass
class Hooks:
    """Extension points that other entity modules fill in.

    dc_status_listeners: called with (reg, dc) after anything that may change a data center's
        storage (master domain activated/deactivated, attach, detach). The SPM module
        (rhevsim.hypervisor) uses it to start an election; it then sets dc.spm_host_id and
        dc.spm_status and calls `datacenter.recompute_status(reg, dc)`.
    host_fail / host_heal: POST /sim/hosts/{name}/fail|heal; return False when no such host
        (host_fail takes the mode: "machine" or "network").
    machine_power / machine_boot: called after /sim/machines/{name}/power|boot changed a
        machine (rhevsim.hypervisor makes it install/register or go non_responsive).
    active_hosts: hosts that count as Up in a data center (for attach/"no active host").
    host_has_network: whether an Up host carries a network (per-cluster network status,
        see network.recompute_cluster_status); None = every host has every network.
    dc_added / dc_removed: called with (reg, dc, correlation_id) after a data center was
        created / before it is removed; the modules of what lives in a data center (networks,
        attached storage domains) react without datacenter.py importing them.
    network_added: called with (reg, network, correlation_id) after a VM network that wants
        its default vNIC profile was created (vnicprofile.py makes the profile).
    maintenance_refusal: (reg, host) -> the engine's refusal of host maintenance because of
        its VMs (MaintenanceNumberOfVdssCommand.validate), as fault detail lines, or None.
    stuck_vms: (reg, host) -> names of the VMs still running on the host that are not
        migrating away (a host preparing for maintenance waits for them).
    """

    dc_status_listeners: list[Callable[[Registry, Entity], None]] = field(default_factory=list)
    host_fail: Callable[[Registry, str, str], bool] | None = None
    host_heal: Callable[[Registry, str], bool] | None = None
    machine_power: list[Callable[[Registry, Machine], None]] = field(default_factory=list)
    machine_boot: list[Callable[[Registry, Machine], None]] = field(default_factory=list)
    active_hosts: Callable[[Registry, str], list[Entity]] | None = None
    host_has_network: Callable[[Registry, Entity, Entity], bool] | None = None
    dc_added: list[Callable[[Registry, Entity, str | None], None]] = field(default_factory=list)
    dc_removed: list[Callable[[Registry, Entity, str | None], None]] = field(default_factory=list)
    network_added: list[Callable[[Registry, Entity, str | None], None]] = field(
        default_factory=list
    )
    maintenance_refusal: Callable[[Registry, Entity], list[str] | None] | None = None
    stuck_vms: Callable[[Registry, Entity], list[str]] | None = None


@dataclass
class Machine:
    """A physical machine (BMC-controlled). Its RHEV-M host, if any, is rhevsim.hypervisor's."""

    name: str
    address: str = ""
    nics: list[dict[str, str]] = field(default_factory=list)
    bmc: dict[str, Any] = field(default_factory=dict)
    powered_on: bool = False
    boot_device: str = "disk"  # network | disk | cdrom | bios
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "nics": self.nics,
            "bmc": {k: v for k, v in self.bmc.items() if k != "password"},
            "power": "on" if self.powered_on else "off",
            "boot_device": self.boot_device,
            **self.extra,
        }


class Registry:
    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock("real")
        self.seed = seed
        self.rng = random.Random(seed)
        self.timings = dict(DEFAULT_TIMINGS)
        if timings:
            self.timings.update(timings)
        self.objects: dict[str, dict[str, Entity]] = {}
        self.events: list[Event] = []  # ascending id
        self._event_seq = 0
        self.hooks = Hooks()
        self.machines: dict[str, Machine] = {}
        self.config: dict[str, Any] = {}  # inventory-level settings (management network, ...)
        self.request_counts: Counter[str] = Counter()
        self.transition_errors = 0
        self.product_version = (4, 5, 7)
        self._module_state: dict[type[Any], Any] = {}

    def module_state(self, cls: type[S]) -> S:
        """The one `cls()` of this registry: state an entity module keeps beside its objects
        (e.g. the SPM election's bookkeeping), made on first use."""
        st = self._module_state.get(cls)
        if st is None:
            st = self._module_state[cls] = cls()
        return st

    # ------------------------------------------------------------------ identity
    def new_id(self) -> str:
        """A UUID4 from the seeded generator: same seed, same ids."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_correlation_id(self) -> str:
        return self.new_id()[:8]

    # ------------------------------------------------------------------ objects
    def add(self, obj: T) -> T:
        self.objects.setdefault(obj.KIND, {})[obj.id] = obj
        return obj

    def remove(self, obj: Entity) -> None:
        self.objects.get(obj.KIND, {}).pop(obj.id, None)

    def get(self, cls: type[T], ident: str) -> T | None:
        obj = self.objects.get(cls.KIND, {}).get(ident)
        return obj if isinstance(obj, cls) else None

    def all(self, cls: type[T]) -> list[T]:
        return [o for o in self.objects.get(cls.KIND, {}).values() if isinstance(o, cls)]

    def iter_kind(self, kind: str) -> Iterator[Entity]:
        return iter(list(self.objects.get(kind, {}).values()))

    def children(self, kind: str, attr: str, parent_id: str) -> list[Entity]:
        """The objects of `kind` whose `attr` is `parent_id`: how a module finds what lives
        under its objects (a data center's networks) without importing the module above it."""
        return [o for o in self.iter_kind(kind) if getattr(o, attr, None) == parent_id]

    def by_name(self, cls: type[T], name: str) -> T | None:
        for o in self.objects.get(cls.KIND, {}).values():
            if o.name == name and isinstance(o, cls):
                return o
        return None

    def resolve(self, cls: type[T], ident: str | None, name: str | None) -> T:
        """A reference from a request body, by id or by name; 404 "Entity not found"."""
        if ident:
            obj = self.get(cls, ident)
            if obj is None:
                raise entity_not_found(cls.REF_NAME, "id", ident)
            return obj
        if name:
            obj = self.by_name(cls, name)
            if obj is None:
                raise entity_not_found(cls.REF_NAME, "name", name)
            return obj
        raise entity_not_found(cls.REF_NAME, "name", "")

    def counts(self) -> dict[str, int]:
        out = {k: len(v) for k, v in self.objects.items()}
        out["event"] = len(self.events)
        out["machine"] = len(self.machines)
        return out

    @staticmethod
    def check_unlocked(obj: Entity, action: str, type_name: str | None = None) -> None:
        """Refuse while a command holds `obj`: with the holder's message where the engine's
        lock names one (LockMessagesMatchUtil pairs), else ACTION_TYPE_FAILED_OBJECT_LOCKED."""
        if obj.lock is not None:
            holder = LOCK_MESSAGES.get((obj.KIND, obj.lock))
            if holder is not None:
                raise conflict(
                    f"Cannot {action} {type_name or obj.TYPE_NAME}. {holder.format(name=obj.name)}"
                )
            raise locked(action, type_name or obj.TYPE_NAME)

    # ------------------------------------------------------------------ time
    def timing(self, key: str, default: float | None = None) -> float:
        if key in self.timings:
            return self.timings[key]
        if default is None:
            raise KeyError(f"no timing {key!r} (add it to DEFAULT_TIMINGS or register_timings)")
        return default

    def register_timings(self, defaults: dict[str, float]) -> None:
        """Entity modules add their default step durations; the inventory's win."""
        for k, v in defaults.items():
            self.timings.setdefault(k, v)

    def schedule(self, delay: float | str, callback: Callable[[], None], label: str = "") -> Timer:
        """Run `callback` (with the lock held) after `delay` simulated seconds or timing key."""
        seconds = self.timing(delay) if isinstance(delay, str) else delay
        return self.clock.call_later(seconds, callback, label or str(delay))

    def run_due(self) -> int:
        """Run every timer due now (real clock ticker). Returns how many ran.

        A failing transition is logged and counted in `transition_errors`; the ticker goes
        on (one broken state machine must not freeze every other one)."""
        ran = 0
        while True:
            with self.lock:
                t = self.clock.pop_due()
                if t is None:
                    return ran
                try:
                    t.callback()
                except Exception:
                    self.transition_errors += 1
                    log.exception("rhevsim: transition %r failed", t.label)
                ran += 1

    def advance(self, seconds: float) -> int:
        """Manual clock: move time forward, running each timer at its own due time."""
        if seconds < 0:
            raise ValueError("cannot advance the clock backwards")
        ran = 0
        with self.lock:
            target = self.clock.now() + seconds
            while True:
                t = self.clock.pop_due(target)
                if t is None:
                    break
                self.clock.set_manual_offset_to(t.due)
                t.callback()
                ran += 1
            self.clock.set_manual_offset_to(target)
        return ran

    # ------------------------------------------------------------------ jobs and events
    def start_job(
        self,
        description: str,
        correlation_id: str | None,
        *,
        steps: list[str] | None = None,
        user: str = "admin@internal",
    ) -> Job:
        now = self.clock.wall()
        job = Job(
            id=self.new_id(),
            description=description,
            correlation_id=correlation_id or self.new_correlation_id(),
            start_time=now,
            last_updated=now,
            owner=user,
        )
        for i, s in enumerate(steps or [description]):
            job.steps.append(
                Step(
                    id=self.new_id(),
                    description=s,
                    number=i,
                    start_time=now,
                    job_id=job.id,
                    status="started",
                )
            )
        return self.add(job)

    @contextmanager
    def job(
        self,
        description: str,
        correlation_id: str | None,
        *,
        steps: list[str] | None = None,
    ) -> Iterator[Job]:
        """A command that completes within its request: start the job, let the block change
        the entities and post the events, end the job (failed when the block raised).

            with reg.job(f"Removing Disk {disk.name}", req.correlation_id) as job:
                reg.remove(disk)
                reg.event(..., correlation_id=job.correlation_id)

        Commands that go on in transitions keep `start_job` and call `end_job` from the last one.
        """
        job = self.start_job(description, correlation_id, steps=steps)
        try:
            yield job
        except BaseException:
            self.end_job(job, succeeded=False)
            raise
        self.end_job(job)

    def end_job(self, job: Job, succeeded: bool = True) -> None:
        job.finish(self.clock.wall(), succeeded)
        if job.auto_cleared:
            key = "job.cleanup_finished" if succeeded else "job.cleanup_failed"
            self.schedule(key, lambda: self.remove(job), f"clear job {job.id}")

    def event(
        self,
        code: int,
        description: str,
        severity: str = "normal",
        *,
        correlation_id: str | None = None,
        user: str | None = "admin@internal",
        **refs: Entity | None,
    ) -> Event:
        """Append an audit log entry. `refs` are data_center=, cluster=, host=, vm=, ..."""
        self._event_seq += 1
        ev = Event(
            id=str(self._event_seq),
            code=code,
            description=description,
            severity=severity,
            time=self.clock.wall(),
            correlation_id=correlation_id,
            user=user,
            refs={k: (v.KIND, v.id, v.name) for k, v in refs.items() if v is not None},
        )
        self.events.append(ev)
        return ev

    def event_by_id(self, ident: str) -> Event | None:
        try:
            n = int(ident)
        except ValueError:
            return None
        i = bisect.bisect_left(self.events, n, key=lambda e: int(e.id))
        if i < len(self.events) and int(self.events[i].id) == n:
            return self.events[i]
        return None
