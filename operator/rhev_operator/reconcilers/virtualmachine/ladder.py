"""The VirtualMachine ladder: one pass (reconcile) and deletion."""

from __future__ import annotations

import contextlib

from rhev_operator.api import VirtualMachine
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Context,
    Outcome,
    Wait,
    claim,
    deletion_start,
    end_waits,
    resolve,
    retry_when_touched,
    run_ladder,
)
from rhev_operator.reconcilers.virtualmachine.common import (
    AWAIT,
    AWAIT_VM_HOST,
    NOT_RESPONDING,
    STOP,
    VM_HINT,
    VP,
    _await,
    _await_transition,
    _hard_stop,
    _observe,
    _Plan,
    _report,
    _settle_operation,
    _timeout_for,
    finder,
)
from rhev_operator.reconcilers.virtualmachine.create import (
    _create,
    _ensure_config,
    _placement_host,
)
from rhev_operator.reconcilers.virtualmachine.disks import _ensure_disks
from rhev_operator.reconcilers.virtualmachine.migration import _ensure_placement
from rhev_operator.reconcilers.virtualmachine.nics import _ensure_nics
from rhev_operator.reconcilers.virtualmachine.power import _ensure_power
from rhev_operator.reconcilers.virtualmachine.requests import (
    announce_pending,
    ensure_reset,
    note_boot_once,
    pending_note,
    read_requests,
)
from rhev_operator.rhevm import (
    Cluster,
    errors,
)
from rhev_operator.rhevm.virtualmachine import VmDetail


def reconcile(ctx: Context, resource: VirtualMachine) -> Outcome:
    return run_ladder(VP(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: VP, res: VirtualMachine) -> str:
    spec = res.spec
    asked = read_requests(res)  # an invalid annotation stalls before anything is sent
    note_boot_once(p, asked)
    retry_when_touched(p)
    cluster: Cluster = resolve(p, "RhevCluster", spec.cluster, finders.clusters(p.ctx.client))
    plan = _Plan(cluster=cluster)
    vm = _observe(p, res, confirm=False)
    if vm is None:
        vm = _create(p, res, plan)
    else:
        claim(p, vm, spec.adopt)
    _report(p, res, vm)
    _settle_operation(p, vm)
    _await_transition(p, res, vm)
    if vm.status in NOT_RESPONDING:
        _await(
            p,
            vm,
            AWAIT_VM_HOST,
            "HostNotResponding",
            f"VM {vm.name} is {vm.status}: its host does not answer RHEV-M; nothing is done "
            "to it until the host is back, or fenced (or confirmed rebooted) in RHEV-M",
            spec.timeouts.operation_seconds,
            15.0,
        )
    end_waits(p, AWAIT_VM_HOST)
    if spec.placement.host is not None:
        plan.host = _placement_host(p, res, cluster)
    vm = _ensure_config(p, res, vm, plan)
    vm = _ensure_disks(p, res, vm, plan)
    vm = _ensure_nics(p, res, vm, plan)
    _report(p, res, vm)
    _ensure_power(p, res, vm)
    announce_pending(p, res, vm)
    _ensure_placement(p, res, vm, plan)
    ensure_reset(p, res, vm)
    if plan.pending:
        raise Wait(
            "PendingRestart",
            f"VM {vm.name} is {vm.status}; waiting for it to be stopped to apply "
            + "; ".join(plan.pending)
            + ". Stop it (powerState: Stopped) and start it again; the operator does not "
            "restart it by itself",
            30.0,
        )
    if p.status.operation is not None:
        p.end_operation()
    return _summary(p, vm)


def _summary(p: VP, vm: VmDetail) -> str:
    where = f" on {p.status.host}" if p.status.host else ""
    return f"VM {vm.name} is {vm.status}{where}{pending_note(p)}"


# -- delete --------------------------------------------------------------------------------


def delete(ctx: Context, resource: VirtualMachine) -> Outcome:
    return run_ladder(VP(ctx, resource), lambda p: _delete(p, resource))


def _delete(p: VP, res: VirtualMachine) -> str:
    vm = _observe(p, res, confirm=True)
    done = deletion_start(p, vm, "VM")
    if done is not None or vm is None:
        return done or ""
    p.status.state = vm.status
    state = vm.status or "unknown"
    locked = [a.disk.alias for a in vm.disk_attachments if a.disk and a.disk.status == "locked"]
    if state in ("image_locked", "saving_state", "restoring_state") or locked:
        what = f"disk {', '.join(str(x) for x in locked)} locked" if locked else state
        message = f"VM {vm.name} is {what}; it is removed once that is over"
        _await(p, vm, AWAIT, "Deleting", message, _timeout_for(res, state), 2.0)
    if state not in ("down", "unassigned"):
        op = p.status.operation
        if op is not None and op.action == STOP and state == "powering_down":
            p.check_deadline(f"VM {vm.name} is {state}", "vm", vm.id, hint=VM_HINT)
            raise Wait("Stopping", f"VM {vm.name} is being powered off before removal", 2.0)
        _hard_stop(p, res, vm, "it is being deleted")
    with contextlib.suppress(errors.NotFound):  # already gone is what we want
        p.ctx.client.vms.remove(vm.id, correlation_id=p.ctx.correlation_id())
    p.end_operation()
    p.ctx.inventory.forget(finder(p.ctx.client).key, vm.id)
    disks = len(vm.disk_attachments)
    p.did("Deleted", f"Removed VM {vm.name}" + (f" and its {disks} disk(s)" if disks else ""))
    return "removed from RHEV-M"
