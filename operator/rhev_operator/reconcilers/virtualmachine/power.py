"""VirtualMachine power [`rpower`]: Running, Stopped (graceful, then hard past
`timeouts.shutdownSeconds`), Suspended."""

from __future__ import annotations

from rhev_operator.api import VirtualMachine, operation_overdue
from rhev_operator.reconcilers.base import Wait
from rhev_operator.reconcilers.virtualmachine.common import (
    SHUTDOWN,
    START,
    SUSPEND,
    VP,
    _act,
    _hard_stop,
    _refresh,
)
from rhev_operator.reconcilers.virtualmachine.requests import boot_once_for_start, started
from rhev_operator.rhevm.virtualmachine import VmDetail

# -- power ---------------------------------------------------------------------------------


def _start(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    resume = vm.status in ("suspended", "paused")
    boot = boot_once_for_start(p, res, vm)
    _act(
        p,
        vm,
        START,
        res.spec.timeouts.operation_seconds,
        "start",
        lambda cid: p.ctx.client.vms.start(vm.id, boot_devices=boot, correlation_id=cid),
    )
    p.did(
        "Resuming" if resume else "Starting", f"{'Resuming' if resume else 'Starting'} VM {vm.name}"
    )
    if not resume:
        started(p, res, vm, boot)
    _refresh(p, vm.id)
    raise Wait("Resuming" if resume else "Starting", f"VM {vm.name} is being started", 2.0)


#: HA_VM_FAILED: "Highly Available VM X failed. It will be restarted automatically."
HA_VM_FAILED = 9602


def _engine_restarts(p: VP, vm: VmDetail) -> bool:
    """RHEV-M announced it restarts this highly available VM (its host was fenced) and has
    not said anything of the VM since: the restart is the engine's (HaAutoStartVmsRunner)."""
    if not vm.high_availability:
        return False
    events = p.ctx.inventory.events_for("vm", vm.id, limit=1)
    return bool(events) and events[0].code == HA_VM_FAILED


def _ensure_power(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    want = res.spec.power_state
    state = vm.status or "unknown"
    t = res.spec.timeouts
    if want == "Running":
        if state == "down" and _engine_restarts(p, vm):
            raise Wait(
                "EngineRestartingHaVm",
                f"VM {vm.name} is highly available and its host was fenced: RHEV-M restarts "
                "it on another host (the operator does not start it)",
                5.0,
            )
        if state in ("down", "suspended", "paused"):
            _start(p, res, vm)
    elif want == "Stopped":
        if state == "down":
            return
        if state in ("suspended", "paused"):
            _hard_stop(p, res, vm, f"it is {state} and powerState is Stopped")
        op = p.status.operation
        if op is not None and op.action == SHUTDOWN:
            if operation_overdue(op, p.now):
                _hard_stop(p, res, vm, "the guest did not shut down in time")
            raise Wait("Stopping", f"VM {vm.name} is shutting down", 5.0)
        _act(
            p,
            vm,
            SHUTDOWN,
            t.shutdown_seconds,
            "shut down",
            lambda cid: p.ctx.client.vms.shutdown(vm.id, correlation_id=cid),
        )
        p.did("ShuttingDown", f"Shutting down VM {vm.name}")
        _refresh(p, vm.id)
        raise Wait("Stopping", f"VM {vm.name} is shutting down", 2.0)
    else:  # Suspended
        if state == "suspended":
            return
        if state in ("down", "paused"):
            _start(p, res, vm)  # RHEV-M suspends only a VM that is up
        _act(
            p,
            vm,
            SUSPEND,
            t.operation_seconds,
            "suspend",
            lambda cid: p.ctx.client.vms.suspend(vm.id, correlation_id=cid),
        )
        p.did("Suspending", f"Suspending VM {vm.name}")
        _refresh(p, vm.id)
        raise Wait("Suspending", f"VM {vm.name} is being suspended", 2.0)
