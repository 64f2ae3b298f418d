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


def _ensure_power(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    want = res.spec.power_state
    state = vm.status or "unknown"
    t = res.spec.timeouts
    if want == "Running":
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
