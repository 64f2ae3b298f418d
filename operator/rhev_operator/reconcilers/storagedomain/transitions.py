"""StorageDomain state transitions, one engine step at a time: attach, activate,
deactivate, detach; attaching and activating wait for the data center's SPM when they
need it."""

from __future__ import annotations

from rhev_operator.api import StorageDomain as StorageDomainResource
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Wait,
    bounded_wait,
    end_waits,
)
from rhev_operator.reconcilers.storagedomain.common import (
    ACTIVATABLE,
    ACTIVATE,
    ATTACH,
    DEACTIVATABLE,
    DEACTIVATE,
    DETACH,
    MOVE_MASTER,
    SP,
    WAIT_MASTER,
    WAIT_SPM,
    _await_step,
    _begin,
    _done,
    _refresh_view,
    _up_hosts,
    _wait_for_host,
    _wait_to_settle,
    attached_views,
)
from rhev_operator.rhevm import (
    DataCenter,
    StorageDomain,
)


def _drive(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, view: StorageDomain | None
) -> str:
    """One step towards spec.state; raises Wait while a step is in flight."""
    spec = res.spec
    state = view.status if view is not None else "unattached"
    state = state or "unknown"
    _await_step(p, res, sd, dc, state)
    want = spec.state
    if want == "active" and state == "unknown":
        # The data center lost its SPM (its host stopped answering): RHEV-M reports its
        # domains unknown until an SPM runs again and monitors them. Nothing to send.
        holder = finders.spm_of(p.ctx, dc.id)
        spm = f"SPM {holder[0]} ({holder[1]})" if holder else "no SPM"
        bounded_wait(
            p,
            AWAIT_MONITORING,
            "StorageUnknown",
            f"storage domain {sd.name} is unknown in data center {dc.name} ({dc.status}, "
            f"{spm}): RHEV-M reports it active again once an SPM runs and monitors it",
            spec.timeouts.spm_election_seconds,
            "data_center",
            dc.id,
            requeue_after=5.0,
        )
    end_waits(p, AWAIT_MONITORING)
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


#: Waiting for RHEV-M to report an unknown domain again (an SPM runs and monitors it).
AWAIT_MONITORING = "AwaitStorageMonitoring"


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


def _needs_active_master(
    p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain, action: str
) -> None:
    """Wait (WaitingForMaster) while a non-master domain's data center has no active master:
    the engine refuses to activate or detach it then (StorageDomainCommandBase.
    checkMasterDomainIsUp); activating it never moves the master role."""
    views = attached_views(p.ctx, dc.id)
    mine = views.get(sd.id)
    if mine is not None and mine.master:
        return
    master = next((v for v in views.values() if v.master and v.id != sd.id), None)
    if master is not None and master.status == "active":
        return
    why = (
        f"its master domain {master.name} is {master.status}"
        if master is not None
        else "it has no master domain"
    )
    bounded_wait(
        p,
        WAIT_MASTER,
        "WaitingForMaster",
        f"storage domain {sd.name} is {action} once the master domain of data center "
        f"{dc.name} is active: {why}",
        res.spec.timeouts.activation_seconds,
        "data_center",
        dc.id,
        requeue_after=5.0,
    )


def _activate(p: SP, res: StorageDomainResource, dc: DataCenter, sd: StorageDomain) -> str:
    _needs_active_master(p, res, dc, sd, "activated")
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
    if view is None or not view.master:
        _needs_active_master(p, res, dc, sd, "detached")
    cid = _begin(p, DETACH, res.spec.timeouts.activation_seconds)
    p.ctx.client.storagedomains.attached(dc.id).detach(sd.id, correlation_id=cid)
    p.did("Detaching", f"Detaching storage domain {sd.name} from data center {dc.name}")
    _refresh_view(p, dc, sd)
    raise Wait("DetachingStorage", f"storage domain {sd.name} is being detached")
