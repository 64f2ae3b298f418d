"""The StorageDomain ladder: one pass (reconcile) with creation, and deletion."""

from __future__ import annotations

import contextlib

from rhev_operator.api import StorageDomain as StorageDomainResource
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Context,
    Outcome,
    Stall,
    before_create,
    bounded_wait,
    claim,
    created,
    deletion_start,
    observe,
    owner_comment,
    resolve,
    run_ladder,
)
from rhev_operator.reconcilers.storagedomain.common import (
    ATTACH,
    DEACTIVATABLE,
    MOVE_MASTER,
    SP,
    _await_step,
    _initialising_host,
    _report,
    _up_hosts,
    _view,
    _wait_for_host,
    _wait_to_settle,
    attached_views,
    finder,
)
from rhev_operator.reconcilers.storagedomain.transitions import (
    _deactivate,
    _detach,
    _drive,
)
from rhev_operator.rhevm import (
    DataCenter,
    Disk,
    Host,
    StorageDomain,
    StorageDomainCreate,
    StorageDomainUpdate,
    errors,
)
from rhev_operator.rhevm.disk import Disks

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
    cid = before_create(p)
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


# -- delete ----------------------------------------------------------------------------


def _disks(ctx: Context, sd: StorageDomain) -> list[Disk]:
    """The disks on the domain, through the inventory: a domain whose removal waits on its
    disks is woken when they go (a direct listing would wait for the slow resync)."""
    path = f"storagedomains/{sd.id}/disks"
    listed: dict[str, Disk] = ctx.inventory.collection(
        ("storagedomain_disks", sd.id), lambda c: Disks(c.session, path).list()
    )
    return list(listed.values())


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
            _master_goes_last(p, res, dc, sd, view)
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


def _master_goes_last(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, view: StorageDomain
) -> None:
    """A master being deleted waits while the other attached domains go, unless an active
    data domain that stays can take the role: the engine detaches a non-master domain only
    while the master is active (StorageDomainCommandBase.checkMasterDomainIsUp), so a master
    deactivated first would leave them stuck in maintenance."""
    if not view.master:
        return
    others = [v for v in attached_views(p.ctx, dc.id).values() if v.id != sd.id]
    if not others:
        return
    for v in others:
        if v.status == "active" and v.type in (None, "data"):
            ref = p.ctx.refs.resolve("StorageDomain", v.name)
            if not ref.deleting:
                return  # it stays: the role moves to it when this one is deactivated
    bounded_wait(
        p,
        MOVE_MASTER,
        "MasterInUse",
        f"storage domain {sd.name} is the master of data center {dc.name}; it is deleted "
        f"after the other domains attached to it ({', '.join(sorted(v.name for v in others))})"
        " are detached",
        res.spec.timeouts.activation_seconds,
        "data_center",
        dc.id,
        requeue_after=5.0,
    )


def _remove(p: SP, sd: StorageDomain, host: Host, fmt: bool) -> None:
    with contextlib.suppress(errors.NotFound):  # already gone is what we want
        p.ctx.client.storagedomains.remove(
            sd.id, host=host.name, format=fmt, correlation_id=p.ctx.correlation_id()
        )
