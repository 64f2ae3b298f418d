"""StorageDomain: an NFS or local storage domain and its attachment to a data center
[`cfgve -t sd`].

Ladder: resolve the data center -> refuse a storage type that does not match it (before
anything is sent) -> observe the domain (by status.id, else name) -> create it through an
up host, or claim it -> walk it, one engine step at a time, to the spec's `state`:

    unattached --attach--> locked -> (maintenance) -> activating|locked -> active
    active --deactivate--> preparing_for_maintenance -> maintenance
    maintenance --activate--> activating (the master: locked) -> active
    maintenance --detach--> detaching -> unattached

Each step is waited out (never slept on) under the in-flight operation record, with the
spec's timeouts; past the deadline the resource is Stalled quoting the engine's job or
event. So are the waits for an up host (WaitingForHost, bounded by activationSeconds:
hosts take minutes to install) and for a state no step leads on from (UnexpectedState).
The state comes from the data center's view (/datacenters/{dc}/storagedomains),
the only place the engine reports it. Attaching and activating need the data center's
SPM, except for the data domain that brings the data center up (the first one, or any
data domain while the data center's storage is in maintenance): otherwise the resource
waits with reason WaitingForSPM.

Deletion: maintenance, detach, remove (`removal.format` wipes the storage); refused while
the domain holds disks unless `removal.force`.
"""

from __future__ import annotations

import contextlib
from typing import NoReturn

from rhev_operator.api import StorageDomain as StorageDomainResource
from rhev_operator.api import StorageDomainStatus
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Context,
    Outcome,
    Pass,
    Stall,
    Wait,
    bounded_wait,
    claim,
    created,
    deletion_start,
    observe,
    owner_comment,
    resolve,
    run_ladder,
)
from rhev_operator.rhevm import (
    Cluster,
    DataCenter,
    Disk,
    Host,
    StorageDomain,
    StorageDomainCreate,
    StorageDomainUpdate,
    errors,
)
from rhev_operator.rhevm.disk import Disks

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


# -- reconcile -------------------------------------------------------------------------


def reconcile(ctx: Context, resource: StorageDomainResource) -> Outcome:
    return run_ladder(SP(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: SP, res: StorageDomainResource) -> str:
    spec = res.spec
    name = res.rhev_name
    dcs = finders.datacenters(p.ctx.client)
    dc: DataCenter = resolve(p, "RhevDataCenter", spec.data_center, dcs)
    _check_storage_type(res, dc)
    find = finder(p.ctx.client)
    sd: StorageDomain | None = observe(p, find, name)
    if sd is None:
        sd = _create(p, res, dc)
    else:
        claim(p, sd, spec.adopt)
        _check_immutable(res, sd)
        sd = _ensure_name(p, res, sd)
    view = _view(p, sd, dc)
    _report(p, sd, view, dc.id)
    return _drive(p, res, dc, sd, view)


def _check_storage_type(res: StorageDomainResource, dc: DataCenter) -> None:
    """localfs domains live only in local data centers, nfs only in shared ones."""
    spec = res.spec
    local = spec.storage_type == "localfs"
    if dc.local is None or dc.local == local:
        return
    kind = "local (localfs)" if dc.local else "shared (nfs)"
    raise Stall(
        "StorageTypeMismatch",
        f"spec.storageType is {spec.storage_type} but data center {dc.name} is {kind}; "
        f"set spec.storageType to {'localfs' if dc.local else 'nfs'} or choose a data center "
        f"of storage type {spec.storage_type} in spec.dataCenter",
    )


def _location(res: StorageDomainResource) -> tuple[str | None, str]:
    spec = res.spec
    if spec.nfs is not None:
        return spec.nfs.address, spec.nfs.path
    assert spec.localfs is not None  # the spec model requires one of them
    return None, spec.localfs.path


def _check_immutable(res: StorageDomainResource, sd: StorageDomain) -> None:
    """What RHEV-M cannot change on a domain must already be as the spec says."""
    spec = res.spec
    address, path = _location(res)
    wrong = []
    if sd.type is not None and sd.type != spec.domain_type:
        wrong.append(f"domainType is {sd.type}, spec says {spec.domain_type}")
    if sd.storage_type is not None and sd.storage_type != spec.storage_type:
        wrong.append(f"storageType is {sd.storage_type}, spec says {spec.storage_type}")
    if sd.path is not None and (sd.address, sd.path.rstrip("/")) != (address, path.rstrip("/")):
        have = f"{sd.address}:{sd.path}" if sd.address else sd.path
        want = f"{address}:{path}" if address else path
        wrong.append(f"its storage is {have}, spec says {want}")
    if wrong:
        raise Stall(
            "SpecMismatch",
            f"storage domain {sd.name} in RHEV-M cannot be changed to match the spec: "
            + "; ".join(wrong)
            + ". Correct the spec, or use another spec.name for a new domain",
        )


def _ensure_name(p: SP, res: StorageDomainResource, sd: StorageDomain) -> StorageDomain:
    if sd.name == res.rhev_name:
        return sd
    updated = p.ctx.client.storagedomains.update(
        sd.id, StorageDomainUpdate(name=res.rhev_name), correlation_id=p.ctx.correlation_id()
    )
    p.ctx.inventory.remember(finder(p.ctx.client).key, updated)
    p.did("Updated", f"Renamed storage domain {sd.name} to {res.rhev_name}")
    return updated


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


def _create(p: SP, res: StorageDomainResource, dc: DataCenter) -> StorageDomain:
    spec = res.spec
    name = res.rhev_name
    address, path = _location(res)
    find = finder(p.ctx.client)
    for other in p.ctx.inventory.collection(find.key, find.lister).values():
        if (other.storage_type, other.address, other.path) == (spec.storage_type, address, path):
            where = f"{address}:{path}" if address else path
            raise Stall(
                "StorageInUse",
                f"the storage {where} already holds storage domain {other.name}; use another "
                f"export or path, or set spec.name: {other.name} and spec.adopt: true",
            )
    host = _initialising_host(p, res, dc)
    cid = p.ctx.correlation_id()
    sd = p.ctx.client.storagedomains.add(
        StorageDomainCreate(
            name=name,
            type=spec.domain_type,
            storage_type=spec.storage_type,
            host_id=host.id,
            address=address,
            path=path,
            comment=owner_comment(p.ctx.uid),
        ),
        correlation_id=cid,
    )
    where = f"{address}:{path}" if address else path
    created(p, find, sd, f"{spec.domain_type} storage domain {name} on {where} through {host.name}")
    if sd.data_center_ids:
        # A local domain is attached to the host's data center by the same command.
        p.start(ATTACH, cid, spec.timeouts.activation_seconds)
    return sd


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
    p.status.committed_bytes = src.committed
    p.status.storage_format = src.storage_format
    p.status.data_center_id = dc_id if view is not None else None


def _drive(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, view: StorageDomain | None
) -> str:
    """One step towards spec.state; raises Wait while a step is in flight."""
    spec = res.spec
    state = view.status if view is not None else "unattached"
    state = state or "unknown"
    _await_step(p, res, sd, dc, state)
    want = spec.state
    if want == "active":
        if state == "active":
            return _done(p, sd, dc, "active")
        if state == "unattached":
            return _attach(p, res, dc, sd)
        if state in ACTIVATABLE:
            return _activate(p, res, dc, sd)
    elif want == "maintenance":
        if state == "maintenance":
            return _done(p, sd, dc, "in maintenance")
        if state == "unattached":
            return _attach(p, res, dc, sd)  # the engine activates it; deactivated next
        if state in DEACTIVATABLE:
            return _deactivate(p, res, dc, sd)
    else:  # detached
        if state == "unattached":
            return _done(p, sd, dc, "detached")
        if state in DEACTIVATABLE:
            return _deactivate(p, res, dc, sd)
        if state == "maintenance":
            return _detach(p, res, dc, sd, view)
    _wait_to_settle(p, res, sd, f"storage domain {sd.name} is {state} in data center {dc.name}")


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


def _needs_spm(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, attaching: bool
) -> None:
    """Wait (WaitingForSPM) unless the data center can take this step now."""
    if dc.status == "up":
        return
    views = attached_views(p.ctx, dc.id)
    others = [v for v in views.values() if v.id != sd.id]
    master = next((v for v in others if v.master), None)
    data = res.spec.domain_type == "data"
    if attaching and master is None and data and dc.status == "uninitialized":
        return  # the first data domain: it brings the data center up
    if not attaching and data and dc.status in ("maintenance", "uninitialized"):
        return  # no active master: this domain takes the role and the SPM follows
    if master is None and not data:
        why = f"a {res.spec.domain_type} domain needs an active data domain in it first"
    elif master is not None and master.status != "active":
        why = f"its master domain {master.name} is {master.status}"
        if master.status == "maintenance":
            why += "; activate a data domain of it first"
    else:
        why = "it has no SPM host yet" + (
            " (an election is in progress)" if dc.status == "contend" else ""
        )
    # What the engine last said about the data center (its SPM) is quoted past the deadline.
    bounded_wait(
        p,
        WAIT_SPM,
        "WaitingForSPM",
        f"waiting for an SPM: data center {dc.name} is {dc.status}: {why}",
        res.spec.timeouts.spm_election_seconds,
        "data_center",
        dc.id,
        requeue_after=5.0,
    )


def _attach(p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain) -> str:
    if not _up_hosts(p.ctx, dc.id):
        _wait_for_host(
            p,
            res,
            f"data center {dc.name} has no up host; storage domain {sd.name} is attached "
            "once one is up",
            "data_center",
            dc.id,
        )
    _needs_spm(p, res, dc, sd, attaching=True)
    cid = _begin(p, ATTACH, res.spec.timeouts.activation_seconds)
    view = p.ctx.client.storagedomains.attached(dc.id).attach(sd.id, correlation_id=cid)
    p.ctx.inventory.remember(finders.attached_key(dc.id), view)
    p.ctx.inventory.poke()
    p.status.state = view.status
    p.status.master = bool(view.master)
    p.status.data_center_id = dc.id
    p.did("Attaching", f"Attaching storage domain {sd.name} to data center {dc.name}")
    raise Wait("AttachingStorage", f"storage domain {sd.name} is being attached to {dc.name}")


def _activate(p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain) -> str:
    _needs_spm(p, res, dc, sd, attaching=False)
    cid = _begin(p, ACTIVATE, res.spec.timeouts.activation_seconds)
    p.ctx.client.storagedomains.attached(dc.id).activate(sd.id, correlation_id=cid)
    p.did("Activating", f"Activating storage domain {sd.name} in data center {dc.name}")
    _refresh_view(p, dc, sd)
    raise Wait("ActivatingStorage", f"storage domain {sd.name} is being activated")


def _deactivate(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, force: bool = False
) -> str:
    cid = _begin(p, DEACTIVATE, res.spec.timeouts.activation_seconds)
    p.ctx.client.storagedomains.attached(dc.id).deactivate(sd.id, force=force, correlation_id=cid)
    p.did(
        "Deactivating",
        f"Moving storage domain {sd.name} to maintenance in data center {dc.name}",
    )
    _refresh_view(p, dc, sd)
    raise Wait("DeactivatingStorage", f"storage domain {sd.name} is moving to maintenance")


def _detach(
    p: SP,
    res: StorageDomainResource,
    dc: DataCenter,
    sd: StorageDomain,
    view: StorageDomain | None,
) -> str:
    if view is not None and view.master:
        others = [v for v in attached_views(p.ctx, dc.id).values() if v.id != sd.id]
        if others:
            # The engine refuses to detach a master that is not alone; wait (bounded) for
            # the role to move or the others to go.
            message = (
                f"storage domain {sd.name} is the master of data center {dc.name}, which has "
                f"other domains attached ({', '.join(sorted(v.name for v in others))}); it "
                "can be detached once another data domain is active (the master role moves) "
                "or the others are detached"
            )
            bounded_wait(
                p,
                MOVE_MASTER,
                "MasterInUse",
                message,
                res.spec.timeouts.activation_seconds,
                "data_center",
                dc.id,
            )
    cid = _begin(p, DETACH, res.spec.timeouts.activation_seconds)
    p.ctx.client.storagedomains.attached(dc.id).detach(sd.id, correlation_id=cid)
    p.did("Detaching", f"Detaching storage domain {sd.name} from data center {dc.name}")
    _refresh_view(p, dc, sd)
    raise Wait("DetachingStorage", f"storage domain {sd.name} is being detached")


# -- delete ----------------------------------------------------------------------------


def _disks(ctx: Context, sd: StorageDomain) -> list[Disk]:
    return Disks(ctx.client.session, f"storagedomains/{sd.id}/disks").list()


def _removing_host(p: SP, res: StorageDomainResource, dc_id: str | None) -> Host:
    """The host that removes the domain: spec.host when up, else an up host of the data
    center, else any up host."""
    spec = res.spec
    if spec.host is not None:
        target = p.ctx.refs.resolve("Hypervisor", spec.host)
        hosts: dict[str, Host] = finders.listed(p.ctx, finders.hosts(p.ctx.client))
        for host in hosts.values():
            if (host.id == target.id or host.name == target.name) and host.status == "up":
                return host
    ups = _up_hosts(p.ctx, dc_id) or _up_hosts(p.ctx, None)
    if not ups:
        _wait_for_host(
            p,
            res,
            f"no host is up to remove storage domain {res.rhev_name} through",
            "data_center",
            dc_id,
        )
    return ups[0]


def delete(ctx: Context, resource: StorageDomainResource) -> Outcome:
    return run_ladder(SP(ctx, resource), lambda p: _delete(p, resource))


def _delete(p: SP, res: StorageDomainResource) -> str:
    ctx = p.ctx
    spec = res.spec
    find = finder(ctx.client)
    sd: StorageDomain | None = observe(p, find, res.rhev_name)
    done = deletion_start(p, sd, "storage domain")
    if done is not None or sd is None:
        return done or ""
    disks = _disks(ctx, sd)
    if disks and not spec.removal.force:
        names = ", ".join(sorted(d.alias or d.name or d.id for d in disks)[:5])
        raise Stall(
            "HoldsDisks",
            f"storage domain {sd.name} holds {len(disks)} disk(s) ({names}); delete them "
            "first, or set spec.removal.force: true to remove the domain with them",
        )
    dc_id = sd.data_center_ids[0] if sd.data_center_ids else None
    view = None
    if dc_id is not None:
        views = attached_views(ctx, dc_id)
        view = views.get(sd.id)
        if view is None:
            try:
                view = ctx.client.storagedomains.attached(dc_id).get(sd.id)
            except errors.NotFound:
                view = None
    _report(p, sd, view, dc_id)
    if dc_id is not None and view is not None:
        dcs = ctx.inventory.collection(
            finders.datacenters(ctx.client).key, finders.datacenters(ctx.client).lister
        )
        dc: DataCenter | None = dcs.get(dc_id) or ctx.client.datacenters.get(dc_id)
        assert dc is not None
        state = view.status or "unknown"
        _await_step(p, res, sd, dc, state)
        local_in_maintenance = sd.storage_type == "localfs" and state == "maintenance"
        if state in DEACTIVATABLE:
            return _deactivate(p, res, dc, sd, force=spec.removal.force)
        if state == "maintenance" and not local_in_maintenance:
            return _detach(p, res, dc, sd, view)
        if not local_in_maintenance:
            _wait_to_settle(
                p, res, sd, f"storage domain {sd.name} is {state} in data center {dc.name}"
            )
    # Unattached, or a local domain in maintenance (the engine removes it from its pool).
    host = _removing_host(p, res, dc_id)
    fmt = spec.removal.format
    _remove(p, sd, host, fmt)
    p.end_operation()
    p.ctx.inventory.forget(find.key, sd.id)
    if dc_id is not None:
        p.ctx.inventory.forget(finders.attached_key(dc_id), sd.id)
    p.did(
        "Deleted",
        f"Removed storage domain {sd.name} through {host.name}"
        + (" and formatted its storage" if fmt else " (its storage was not formatted)"),
    )
    return "removed from RHEV-M"


def _remove(p: SP, sd: StorageDomain, host: Host, fmt: bool) -> None:
    with contextlib.suppress(errors.NotFound):  # already gone is what we want
        p.ctx.client.storagedomains.remove(
            sd.id, host=host.name, format=fmt, correlation_id=p.ctx.correlation_id()
        )
