"""What the StorageDomain steps share: engine states and operations, the up hosts a
step goes through, the data center's view of the domain, and the step waits."""

from __future__ import annotations

from typing import NoReturn

from rhev_operator.api import StorageDomain as StorageDomainResource
from rhev_operator.api import StorageDomainStatus
from rhev_operator.api.storagedomain import human_bytes
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Context,
    Pass,
    Stall,
    bounded_wait,
    resolve,
)
from rhev_operator.rhevm import (
    Cluster,
    DataCenter,
    Host,
    StorageDomain,
    errors,
)

SP = Pass[StorageDomainStatus]

#: Steps in flight in the engine: wait them out, send nothing.
TRANSITIONAL = ("locked", "activating", "preparing_for_maintenance", "detaching")
#: States from which the engine activates a domain.
ACTIVATABLE = ("maintenance", "inactive", "unknown")
#: States from which the engine deactivates a domain.
DEACTIVATABLE = ("active", "inactive", "unknown")

ATTACH = "AttachStorageDomain"
ACTIVATE = "ActivateStorageDomain"
DEACTIVATE = "DeactivateStorageDomain"
DETACH = "DetachStorageDomain"
WAIT_SPM = "WaitForSPM"
WAIT_STEP = "AwaitStorageDomain"
MOVE_MASTER = "AwaitMasterRole"
WAIT_MASTER = "AwaitActiveMaster"
WAIT_HOST = "AwaitUpHost"
WAIT_SETTLE = "AwaitSettledState"

#: Where each action ends (a stable state of the domain in its data center).
TARGETS: dict[str, tuple[str, ...]] = {
    ATTACH: ("active", "maintenance"),
    ACTIVATE: ("active",),
    DEACTIVATE: ("maintenance",),
    DETACH: ("unattached",),
}

#: The Reconciling reason while an action (or, without one, a state) is in flight.
ACTION_REASONS = {
    ATTACH: "AttachingStorage",
    ACTIVATE: "ActivatingStorage",
    DEACTIVATE: "DeactivatingStorage",
    DETACH: "DetachingStorage",
}
STATE_REASONS = {
    "locked": "StorageLocked",
    "activating": "ActivatingStorage",
    "preparing_for_maintenance": "DeactivatingStorage",
    "detaching": "DetachingStorage",
}

finder = finders.storage_domains


attached_views = finders.attached_storage_domains


def _clusters(ctx: Context) -> dict[str, Cluster]:
    find = finders.clusters(ctx.client)
    return ctx.inventory.collection(find.key, find.lister)


def _up_hosts(ctx: Context, dc_id: str | None) -> list[Host]:
    """Up hosts (of one data center when dc_id is set), by name."""
    hosts: dict[str, Host] = finders.listed(ctx, finders.hosts(ctx.client))
    ups = [h for h in hosts.values() if h.status == "up"]
    if dc_id is not None:
        clusters = _clusters(ctx)
        in_dc = {cid for cid, cl in clusters.items() if cl.data_center_id == dc_id}
        ups = [h for h in ups if h.cluster_id in in_dc]
    return sorted(ups, key=lambda h: h.name)


def _host_dc(ctx: Context, host: Host) -> str | None:
    found = _clusters(ctx).get(host.cluster_id or "")
    return found.data_center_id if found is not None else None


def _initialising_host(p: SP, res: StorageDomainResource, dc: DataCenter) -> Host:
    """spec.host, or any up host of the data center; it must be up."""
    spec = res.spec
    if spec.host is None:
        ups = _up_hosts(p.ctx, dc.id)
        if not ups:
            _wait_for_host(
                p,
                res,
                f"no host of data center {dc.name} is up to create storage domain "
                f"{res.rhev_name} through; bring one up or set spec.host",
                "data_center",
                dc.id,
            )
        return ups[0]
    host: Host = resolve(p, "Hypervisor", spec.host, finders.hosts(p.ctx.client))
    if spec.storage_type == "localfs" and _host_dc(p.ctx, host) != dc.id:
        raise Stall(
            "HostNotInDataCenter",
            f"host {host.name} is not in data center {dc.name}; a localfs domain is created "
            "by a host of its local data center: set spec.host to one of its hosts",
        )
    if host.status != "up":
        _wait_for_host(
            p,
            res,
            f"host {host.name} is {host.status}; storage domain {res.rhev_name} is created "
            "through it once it is up",
            "host",
            host.id,
        )
    return host


def _wait_for_host(
    p: SP, res: StorageDomainResource, message: str, ref_kind: str, ref_id: str | None
) -> NoReturn:
    """Wait for an up host, bounded by activationSeconds (a host's installation takes
    minutes; the generic operationSeconds would stall a domain applied with its hosts);
    past it, quote the engine's last words about the host (or data center) awaited."""
    bounded_wait(
        p,
        WAIT_HOST,
        "WaitingForHost",
        message,
        res.spec.timeouts.activation_seconds,
        ref_kind,
        ref_id,
        requeue_after=5.0,
        hint="Bring up a host of the data center (or the one spec.host names).",
    )


def _view(p: SP, sd: StorageDomain, dc: DataCenter) -> StorageDomain | None:
    """The domain as its data center sees it; None when it is not attached there."""
    views = attached_views(p.ctx, dc.id)
    if sd.id in views:
        return views[sd.id]
    others = [i for i in sd.data_center_ids if i != dc.id]
    if others:
        raise Stall(
            "AttachedElsewhere",
            f"storage domain {sd.name} is attached to another data center (id {others[0]}), "
            f"not to {dc.name}; detach it there, or set spec.dataCenter to that data center",
        )
    if dc.id not in sd.data_center_ids:
        return None
    # Attached according to the domain but not yet in the (one tick old) listing.
    try:
        view = p.ctx.client.storagedomains.attached(dc.id).get(sd.id)
    except errors.NotFound:
        return None
    p.ctx.inventory.remember(finders.attached_key(dc.id), view)
    return view


def _report(p: SP, sd: StorageDomain, view: StorageDomain | None, dc_id: str | None) -> None:
    src = view if view is not None else sd
    p.status.state = view.status if view is not None else (sd.status or "unattached")
    p.status.master = bool(view.master) if view is not None else False
    p.status.available_bytes = src.available
    p.status.used_bytes = src.used
    p.status.available_human = human_bytes(src.available)
    p.status.used_human = human_bytes(src.used)
    p.status.type = sd.type or src.type
    p.status.committed_bytes = src.committed
    p.status.storage_format = src.storage_format
    p.status.data_center_id = dc_id if view is not None else None


def _wait_to_settle(p: SP, res: StorageDomainResource, sd: StorageDomain, what: str) -> NoReturn:
    """A state no step leads on from: wait (bounded by activationSeconds) for RHEV-M."""
    bounded_wait(
        p,
        WAIT_SETTLE,
        "UnexpectedState",
        f"{what}; waiting for RHEV-M to settle it",
        res.spec.timeouts.activation_seconds,
        "storage_domain",
        sd.id,
        requeue_after=10.0,
    )


def _await_step(
    p: SP, res: StorageDomainResource, sd: StorageDomain, dc: DataCenter, state: str
) -> None:
    """Wait out a step in flight; close the operation record once it has ended."""
    op = p.status.operation
    if state in TRANSITIONAL:
        # A step of ours keeps its deadline; one that is not ours (adopted, or the status
        # patch was lost) is bounded all the same.
        ours = op is not None and op.action in TARGETS
        bounded_wait(
            p,
            WAIT_STEP,
            ACTION_REASONS[op.action] if op is not None and ours else STATE_REASONS[state],
            f"storage domain {sd.name} is {state} in data center {dc.name}",
            res.spec.timeouts.activation_seconds,
            "storage_domain",
            sd.id,
            joins=TARGETS,
        )
    if op is not None and (op.action == WAIT_STEP or state in TARGETS.get(op.action, ())):
        p.end_operation()


def _done(p: SP, sd: StorageDomain, dc: DataCenter, what: str) -> str:
    if p.status.operation is not None:
        p.end_operation()
    where = "from" if what == "detached" else "in"
    master = ", master" if p.status.master else ""
    return f"storage domain {sd.name} is {what} {where} data center {dc.name}{master}"


def _begin(p: SP, action: str, timeout: float) -> str:
    """A new correlation id for `action`; a retry of the same action keeps its deadline."""
    cid = p.ctx.correlation_id()
    op = p.status.operation
    if op is not None and op.action == action:
        p.check_deadline("RHEV-M did not carry it out", "storage_domain", p.status.id)
        p.status.operation = op.model_copy(update={"correlation_id": cid})
    else:
        p.start(action, cid, timeout)
    return cid


def _refresh_view(p: SP, dc: DataCenter, sd: StorageDomain) -> None:
    """Read the domain's new state after an action, so the next pass sees it."""
    try:
        view = p.ctx.client.storagedomains.attached(dc.id).get(sd.id)
    except errors.NotFound:
        return
    p.ctx.inventory.remember(finders.attached_key(dc.id), view)
    p.status.state = view.status
    p.status.master = bool(view.master)
    p.ctx.inventory.poke()
