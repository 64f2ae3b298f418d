"""RhevDataCenter: a data center in RHEV-M [`cfgve -t dc`].

Ladder: observe (by status.id, else name) -> create or claim -> correct drift on the
fields the spec sets -> report state and, when the data center is not up, why.
A new data center stays `uninitialized` until it has an active master storage domain
and an SPM host; that is its normal state then, so Ready does not wait for `up`.

The SPM: a data center that has storage but no working SPM (`problematic` while RHEV-M
searches for one or its SPM host is lost, `contend` while the winner starts) is waited
for under `timeouts.spmElectionSeconds` (the in-flight record `WaitForSPM`): Reconciling
with reason WaitingForSPM, and past the deadline Stalled (reason Timeout) quoting the
engine's last event about the data center. Ready stays True meanwhile, beside those
conditions: Ready says the data center exists and matches its spec, which is all its
clusters, networks and storage domains need from it (storage domains wait for the SPM
themselves). Turning it False would hold them up during every first election (a data
center goes problematic -> contend -> up after its first domain), and would deadlock a
lost SPM: the hosts that end it could not be activated through their Hypervisor
resources while their cluster waits for the data center.
"""

from __future__ import annotations

import contextlib

from rhev_operator.api import MANAGEMENT_NETWORK, RhevDataCenter, RhevDataCenterStatus
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Context,
    Outcome,
    Pass,
    Stall,
    Wait,
    before_create,
    bounded_wait,
    claim,
    created,
    deletion_start,
    end_waits,
    observe,
    owner_comment,
    run_ladder,
)
from rhev_operator.reconcilers.fencing import episode, fenceability, quote
from rhev_operator.rhevm import DataCenter, DataCenterCreate, DataCenterUpdate, errors
from rhev_operator.rhevm.hypervisor import HostDetail

finder = finders.datacenters


#: Why a data center is not up, by its RHEV-M status.
NOT_UP = {
    "uninitialized": "no active master storage domain yet (attach and activate a data "
    "domain through an up host)",
    "maintenance": "its storage is in maintenance",
    "problematic": "no working SPM (RHEV-M is electing one, or its SPM host does not respond)",
    "contend": "an SPM election is in progress",
    "not_operational": "RHEV-M failed to fence its SPM host (or cannot reach its storage)",
}


def describe(dc: DataCenter) -> str:
    if dc.status == "up":
        return f"data center {dc.name} is up"
    why = NOT_UP.get(dc.status or "", "")
    return f"data center {dc.name} is {dc.status}" + (f": {why}" if why else "")


#: Statuses with storage but no working SPM: searching for one (or its host is lost), or
#: the winner starting.
NO_SPM = ("problematic", "contend", "not_operational")
WAIT_SPM = "WaitForSPM"


def reconcile(ctx: Context, resource: RhevDataCenter) -> Outcome:
    p = Pass[RhevDataCenterStatus](ctx, resource)
    spm: list[Wait | Stall] = []
    outcome = run_ladder(p, lambda p: _ensure(p, resource, spm))
    if spm:  # the ladder reached Ready; the SPM wait goes beside it
        return p.ready_with(p.status.message or "", spm[0])
    return outcome


def _ensure(p: Pass[RhevDataCenterStatus], res: RhevDataCenter, spm: list[Wait | Stall]) -> str:
    spec = res.spec
    name = res.rhev_name
    find = finder(p.ctx.client)
    dc: DataCenter | None = observe(p, find, name)
    if dc is None:
        cid = before_create(p)
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
    failover = _spm_failover(p, dc)
    try:
        _await_spm(p, res, dc, failover)
    except (Wait, Stall) as verdict:
        spm.append(verdict)
    return f"{describe(dc)}; {spm_holder(p.ctx, dc.id)}{failover}"


def _spm_host(ctx: Context, dc_id: str) -> HostDetail | None:
    in_dc = {
        c.id
        for c in finders.listed(ctx, finders.clusters(ctx.client)).values()
        if c.data_center_id == dc_id
    }
    host: HostDetail
    for host in finders.listed(ctx, finders.hosts(ctx.client)).values():
        if host.cluster_id in in_dc and host.spm_status in ("spm", "contending"):
            return host
    return None


def _spm_failover(p: Pass[RhevDataCenterStatus], dc: DataCenter) -> str:
    """status.spmFenceable, and for the message: whether RHEV-M can fail the SPM over by
    itself (it fences its host) and, while the host is lost, what RHEV-M said."""
    host = _spm_host(p.ctx, dc.id)
    if host is None:
        p.status.spm_fenceable = None
        return ""
    fence = fenceability(p.ctx, host)
    p.status.spm_fenceable = fence.engine
    text = "" if fence.engine else f"; failover cannot happen automatically: {fence.reason}"
    if host.status in ("connecting", "non_responsive", "down"):
        said = quote(episode(p.ctx, host.id)[-2:])
        text += f"; SPM host {host.name} is {host.status}" + (
            f" (RHEV-M said: {said})" if said else ""
        )
    return text


def _await_spm(
    p: Pass[RhevDataCenterStatus], res: RhevDataCenter, dc: DataCenter, failover: str = ""
) -> None:
    """Wait or Stall while the data center has no working SPM (see the module's docstring)."""
    if dc.status not in NO_SPM:
        end_waits(p, WAIT_SPM)
        return
    bounded_wait(
        p,
        WAIT_SPM,
        "WaitingForSPM",
        f"waiting for an SPM: {describe(dc)}{failover}",
        res.spec.timeouts.spm_election_seconds,
        "data_center",
        dc.id,
        requeue_after=5.0,
        hint="Bring up a host of the data center that may be SPM (spmPriority above -1), "
        "or fence or confirm the reboot of the SPM host RHEV-M lost.",
    )


def spm_holder(ctx: Context, dc_id: str) -> str:
    """Who holds the SPM role, for status.message (the status model has no field for it)."""
    holder = finders.spm_of(ctx, dc_id)
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


def _wait_until_empty(p: Pass[RhevDataCenterStatus], dc: DataCenter) -> None:
    """Never cascade: RHEV-M removes a data center with its networks (and leaves its
    clusters orphaned), so the removal waits until the data center holds no cluster, no
    network but the management one and no storage domain, naming what it still holds."""
    ctx = p.ctx
    held = [
        f"cluster {c.name}"
        for c in finders.listed(ctx, finders.clusters(ctx.client)).values()
        if c.data_center_id == dc.id
    ]
    held += [
        f"network {n.name}"
        for n in finders.listed(ctx, finders.networks(ctx.client, dc.id)).values()
        if n.name != MANAGEMENT_NETWORK
    ]
    held += [
        f"storage domain {d.name}" for d in finders.attached_storage_domains(ctx, dc.id).values()
    ]
    if held:
        raise Wait(
            "WaitingForDependents",
            f"data center {dc.name} still holds {', '.join(sorted(held))}; delete them (or "
            "their resources) first: the operator never removes them with it",
            10.0,
        )


def delete(ctx: Context, resource: RhevDataCenter) -> Outcome:
    def steps(p: Pass[RhevDataCenterStatus]) -> str:
        find = finder(ctx.client)
        dc: DataCenter | None = observe(p, find, resource.rhev_name)
        done = deletion_start(p, dc, "data center")
        if done is not None or dc is None:
            return done or ""
        _wait_until_empty(p, dc)
        with contextlib.suppress(errors.NotFound):  # already gone is what we want
            ctx.client.datacenters.remove(dc.id, correlation_id=ctx.correlation_id())
        ctx.inventory.forget(find.key, dc.id)
        p.did("Deleted", f"Removed data center {dc.name}")
        return "removed from RHEV-M"

    return run_ladder(Pass[RhevDataCenterStatus](ctx, resource), steps)
