"""The Hypervisor ladder: one pass (reconcile), name and SPM priority, the state step, and
deletion."""

from __future__ import annotations

import contextlib

from rhev_operator.api import Hypervisor
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    SHORT_REQUEUE,
    Context,
    Outcome,
    Wait,
    deletion_start,
    end_waits,
    retry_when_touched,
    run_ladder,
)
from rhev_operator.reconcilers.hypervisor.common import (
    AWAIT_REGISTRATION,
    AWAIT_RESPONDING,
    AWAIT_UP,
    REMOVABLE,
    TRANSITIONAL,
    HostPass,
    _cluster,
    _deactivate,
    _observe_host,
    _read_power,
    _refresh,
    _report,
    _waiting,
    engine_words,
)
from rhev_operator.reconcilers.hypervisor.networking import _ensure_placement
from rhev_operator.reconcilers.hypervisor.power import (
    AWAIT_ENGINE_FENCING,
    FENCE_SPM,
    LOST,
    _ensure_new_spm_then_power_on,
    _ensure_power_management,
    _ensure_spm_failover,
    _report_fencing,
)
from rhev_operator.reconcilers.hypervisor.registration import (
    _claim,
    _end_host_wait,
    _ensure_admitted,
    _ensure_registered,
    _would_act_on_absence,
)
from rhev_operator.rhevm import (
    Cluster,
    HostUpdate,
    errors,
)
from rhev_operator.rhevm.hypervisor import HostDetail

# -- the ladder ------------------------------------------------------------------------------


def reconcile(ctx: Context, resource: Hypervisor) -> Outcome:
    return run_ladder(HostPass(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: HostPass, res: Hypervisor) -> str:
    spec = res.spec
    retry_when_touched(p)
    if spec.bmc is not None:
        _read_power(p, spec.bmc)
    else:
        p.status.power_state = None
    host = _observe_host(p, res, confirm=False)
    if host is None and _would_act_on_absence(p, res):
        host = _observe_host(p, res, confirm=True)
    if host is None:
        _ensure_registered(p, res)  # nothing to do but wait for the host
    _claim(p, res, host)
    end_waits(p, AWAIT_REGISTRATION)  # it registered (or was there all along)
    _report(p, host)
    fence = _report_fencing(p, host)
    _ensure_admitted(p, res, host)
    _ensure_new_spm_then_power_on(p, res, host)
    if host.spm_status == "spm" and host.status in LOST:
        _ensure_spm_failover(p, res, host, fence)
    end_waits(p, AWAIT_ENGINE_FENCING, FENCE_SPM)  # the SPM role moved on, or it answers
    if host.status in ("non_responsive", "down"):
        engine = (
            "; RHEV-M fences it itself"
            if fence.engine
            else f"; RHEV-M cannot fence it: {fence.reason}"
        )
        _waiting(
            p,
            host,
            AWAIT_RESPONDING,
            spec.timeouts.operation_seconds,
            "HostNotResponding",
            f"host {host.name} does not respond to RHEV-M ({host.status})"
            + (f"; power state over IPMI: {p.status.power_state}" if p.status.power_state else "")
            + engine
            + "; check that it is powered on and reachable",
            15.0,
        )
    if host.status in TRANSITIONAL:
        timeout = {
            "installing": spec.timeouts.host_install_seconds,
            "initializing": spec.timeouts.host_install_seconds,
            "installing_os": spec.timeouts.host_install_seconds,
            "preparing_for_maintenance": spec.timeouts.maintenance_seconds,
        }.get(host.status or "", spec.timeouts.operation_seconds)
        _waiting(
            p,
            host,
            "WaitForHost",
            timeout,
            TRANSITIONAL[host.status or ""],
            f"host {host.name} is {host.status}",
            SHORT_REQUEUE,
        )
    _end_host_wait(p, host)
    cluster = _cluster(p, res)
    host = _ensure_fields(p, res, host)
    host = _ensure_power_management(p, res, host)
    _report_fencing(p, host)  # as power management is now
    _ensure_placement(p, res, host, cluster)
    return _ensure_state(p, res, host, cluster)


# -- fields and power management -------------------------------------------------------------


def _ensure_fields(p: HostPass, res: Hypervisor, host: HostDetail) -> HostDetail:
    spec = res.spec
    changes: dict[str, object] = {}
    if host.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if spec.spm_priority is not None and host.spm_priority != spec.spm_priority:
        changes["spm_priority"] = spec.spm_priority
    if not changes:
        return host
    p.ctx.client.hosts.update(host.id, HostUpdate(**changes), correlation_id=p.ctx.correlation_id())
    p.did("Updated", f"Updated host {res.rhev_name}: {', '.join(sorted(changes))}")
    return _refresh(p, host.id)


# -- state -----------------------------------------------------------------------------------


def _ensure_state(p: HostPass, res: Hypervisor, host: HostDetail, cluster: Cluster) -> str:
    spec = res.spec
    if spec.state == "maintenance":
        if host.status != "maintenance":
            _deactivate(p, res, host, "(spec.state maintenance)")
        end_waits(p, AWAIT_UP)
        return f"host {host.name} is in maintenance in cluster {cluster.name}"
    if host.status == "maintenance":
        cid = p.ctx.correlation_id()
        p.ctx.client.hosts.activate(host.id, correlation_id=cid)
        p.start("Activate", cid, spec.timeouts.operation_seconds)
        p.did("Activating", f"Activating host {host.name}")
        _refresh(p, host.id)
        raise Wait("Activating", f"host {host.name} is being activated")
    if host.status == "non_operational":
        said = engine_words(p, host.id)
        _waiting(
            p,
            host,
            AWAIT_UP,
            spec.timeouts.operation_seconds,
            "NonOperational",
            f"host {host.name} is non_operational" + (f": {said}" if said else ""),
            15.0,
        )
    if host.status != "up":
        _waiting(
            p,
            host,
            AWAIT_UP,
            spec.timeouts.operation_seconds,
            "WaitingForHost",
            f"host {host.name} is {host.status}",
            10.0,
        )
    end_waits(p, AWAIT_UP)
    spm = ", the SPM of its data center" if host.spm_status == "spm" else ""
    return f"host {host.name} is up in cluster {cluster.name}{spm}"


# -- deletion --------------------------------------------------------------------------------


def _keep_for_storage(p: HostPass, host: HostDetail) -> None:
    """The last up host of a data center stays while storage needs a host: domains attached
    to the data center, and the domains of this namespace's StorageDomain resources still in
    RHEV-M (deactivating, detaching and removing them goes through a host). Deleting
    everything at once then removes storage first and hosts last."""
    ctx = p.ctx
    if host.status != "up":
        return
    clusters = finders.listed(ctx, finders.clusters(ctx.client))
    cluster = clusters.get(host.cluster_id or "")
    dc_id = getattr(cluster, "data_center_id", None)
    needing = (
        {d.name for d in finders.attached_storage_domains(ctx, dc_id).values()}
        if (dc_id)
        else set()
    )
    managed = getattr(ctx.refs, "managed_ids", None)
    if managed is not None:
        domains = finders.listed(ctx, finders.storage_domains(ctx.client))
        needing |= {domains[i].name for i in managed("StorageDomain") if i in domains}
    if not needing:
        return
    in_dc = {c.id for c in clusters.values() if c.data_center_id == dc_id}
    # When several hosts go at once, the one with the greatest name stays last: each sees
    # the same order, so exactly one waits.
    others = [
        h
        for h in finders.listed(ctx, finders.hosts(ctx.client)).values()
        if h.id != host.id
        and h.status == "up"
        and (h.cluster_id in in_dc or not dc_id)
        and h.name > host.name
    ]
    if not others:
        raise Wait(
            "WaitingForDependents",
            f"host {host.name} is the last up host of its data center (by name) and storage "
            "domain(s) "
            f"{', '.join(sorted(needing))} still need a host to be removed; removing it after",
            10.0,
        )


def delete(ctx: Context, resource: Hypervisor) -> Outcome:
    def steps(p: HostPass) -> str:
        host = _observe_host(p, resource, confirm=True)
        done = deletion_start(p, host, "host")
        if done is not None or host is None:
            return done or ""
        _report(p, host)
        _keep_for_storage(p, host)
        if host.status not in REMOVABLE:
            if host.status in TRANSITIONAL:
                _waiting(
                    p,
                    host,
                    "WaitForHost",
                    resource.spec.timeouts.maintenance_seconds,
                    TRANSITIONAL[host.status or ""],
                    f"host {host.name} is {host.status}; removing it afterwards",
                    SHORT_REQUEUE,
                )
            _deactivate(p, resource, host, "before removing it")
        with contextlib.suppress(errors.NotFound):  # already gone is what we want
            ctx.client.hosts.remove(host.id, correlation_id=ctx.correlation_id())
        ctx.inventory.forget("hosts", host.id)
        p.end_operation()
        p.did("Deleted", f"Removed host {host.name}")
        return "removed from RHEV-M"

    outcome = run_ladder(HostPass(ctx, resource), steps)
    bmc = resource.spec.bmc
    if outcome.finished and bmc is not None:
        ctx.bmcs.forget(bmc.address, bmc.port)  # the resource is going: so is its BMC's state
    return outcome
