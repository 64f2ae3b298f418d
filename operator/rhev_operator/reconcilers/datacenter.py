"""RhevDataCenter: a data center in RHEV-M [`cfgve -t dc`].

Ladder: observe (by status.id, else name) -> create or claim -> correct drift on the
fields the spec sets -> report state and, when the data center is not up, why.
A new data center stays `uninitialized` until it has an active master storage domain
and an SPM host; that is its normal state then, so Ready does not wait for `up`.
"""

from __future__ import annotations

import contextlib

from rhev_operator.api import RhevDataCenter, RhevDataCenterStatus
from rhev_operator.reconcilers.base import (
    Context,
    Finder,
    Outcome,
    Pass,
    claim,
    created,
    deletion_policy,
    observe,
    owned_by,
    owner_comment,
    run_ladder,
)
from rhev_operator.rhevm import DataCenter, DataCenterCreate, DataCenterUpdate, RhevmClient, errors


def finder(client: RhevmClient) -> Finder:
    return Finder(
        key="datacenters",
        lister=lambda c: c.datacenters.list(),
        get=client.datacenters.get,
        find=client.datacenters.find,
    )


#: Why a data center is not up, by its RHEV-M status.
NOT_UP = {
    "uninitialized": "no active master storage domain yet (attach and activate a data "
    "domain through an up host)",
    "maintenance": "its storage is in maintenance",
    "problematic": "the SPM host does not respond; fence it or confirm it was rebooted",
    "contend": "an SPM election is in progress",
    "not_operational": "RHEV-M cannot reach its storage",
}


def describe(dc: DataCenter) -> str:
    if dc.status == "up":
        return f"data center {dc.name} is up"
    why = NOT_UP.get(dc.status or "", "")
    return f"data center {dc.name} is {dc.status}" + (f": {why}" if why else "")


def reconcile(ctx: Context, resource: RhevDataCenter) -> Outcome:
    return run_ladder(Pass[RhevDataCenterStatus](ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: Pass[RhevDataCenterStatus], res: RhevDataCenter) -> str:
    spec = res.spec
    name = res.rhev_name
    find = finder(p.ctx.client)
    dc: DataCenter | None = observe(p, find, name)
    if dc is None:
        cid = p.ctx.correlation_id()
        dc = p.ctx.client.datacenters.add(
            DataCenterCreate(
                name=name,
                description=spec.description,
                comment=owner_comment(p.ctx.uid),
                local=spec.storage_type == "localfs",
                version=spec.compatibility_version,
            ),
            correlation_id=cid,
        )
        created(p, find, dc, f"data center {name}")
    else:
        claim(p, dc, spec.adopt)
    dc = _ensure_fields(p, res, dc)
    p.status.state = dc.status
    p.status.storage_format = dc.storage_format
    return f"{describe(dc)}; {spm_holder(p.ctx, dc.id)}"


def spm_holder(ctx: Context, dc_id: str) -> str:
    """Who holds the SPM role, for status.message (the status model has no field for it)."""
    from rhev_operator.reconcilers.hypervisor import spm_of

    holder = spm_of(ctx, dc_id)
    if holder is None:
        return "SPM: none"
    name, state = holder
    return f"SPM: {name}" if state == "spm" else f"SPM: {name} ({state})"


def _ensure_fields(
    p: Pass[RhevDataCenterStatus], res: RhevDataCenter, dc: DataCenter
) -> DataCenter:
    """Correct drift on what the spec sets (and only that), with one Event."""
    spec = res.spec
    changes: dict[str, object] = {}
    if spec.description is not None and (dc.description or "") != spec.description:
        changes["description"] = spec.description
    local = spec.storage_type == "localfs"
    # storageType defaults to nfs: enforce it only when the spec says so (an adopted local
    # data center must not be turned shared by a default).
    if "storage_type" in spec.model_fields_set and dc.local is not None and dc.local != local:
        changes["local"] = local
    if spec.compatibility_version is not None and dc.version != spec.compatibility_version:
        changes["version"] = spec.compatibility_version
    if dc.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if not changes:
        return dc
    updated = p.ctx.client.datacenters.update(
        dc.id, DataCenterUpdate(**changes), correlation_id=p.ctx.correlation_id()
    )
    p.ctx.inventory.remember(finder(p.ctx.client).key, updated)
    p.did("Updated", f"Updated data center {res.rhev_name}: {', '.join(sorted(changes))}")
    return updated


def delete(ctx: Context, resource: RhevDataCenter) -> Outcome:
    def steps(p: Pass[RhevDataCenterStatus]) -> str:
        find = finder(ctx.client)
        dc: DataCenter | None = observe(p, find, resource.rhev_name)
        if dc is None or (p.status.id != dc.id and not owned_by(dc.comment, ctx.uid)):
            return "nothing of this resource's in RHEV-M"
        if deletion_policy(p, dc) == "Retain":
            p.did("Retained", f"Left data center {dc.name} in RHEV-M (deletionPolicy Retain)")
            return "retained in RHEV-M"
        with contextlib.suppress(errors.NotFound):  # already gone is what we want
            ctx.client.datacenters.remove(dc.id, correlation_id=ctx.correlation_id())
        ctx.inventory.forget(find.key, dc.id)
        p.did("Deleted", f"Removed data center {dc.name}")
        return "removed from RHEV-M"

    return run_ladder(Pass[RhevDataCenterStatus](ctx, resource), steps)
