"""VirtualMachine placement: a running VM not on `placement.host` is migrated there
[`rmigrate`] and the migration waited out under `timeouts.migrationSeconds`."""

from __future__ import annotations

from rhev_operator.api import VirtualMachine
from rhev_operator.reconcilers.base import (
    Wait,
    bounded_wait,
    end_waits,
)
from rhev_operator.reconcilers.virtualmachine.common import (
    AWAIT_PLACEMENT,
    MIGRATE,
    VP,
    _act,
    _Plan,
    _refresh,
)
from rhev_operator.rhevm.virtualmachine import VmDetail


def _ensure_placement(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> None:
    """A running VM not on placement.host is migrated there [`rmigrate`]."""
    target = plan.host
    if target is None or vm.status != "up" or vm.host_id == target.id:
        end_waits(p, AWAIT_PLACEMENT)
        if target is not None and vm.host_id == target.id:
            op = p.status.operation
            if op is not None and op.action == MIGRATE and vm.status == "up":
                p.did("Migrated", f"VM {vm.name} was migrated to {target.name}")
                p.end_operation()
        return
    if target.status != "up":
        # A failed migration's record (MigrateVm) bounds it with its own deadline.
        bounded_wait(
            p,
            AWAIT_PLACEMENT,
            "WaitingForHost",
            f"VM {vm.name} runs on {p.status.host}; it is migrated to {target.name} once that "
            f"host is up (it is {target.status})",
            res.spec.timeouts.operation_seconds,
            "host",
            target.id,
            requeue_after=10.0,
            joins=(MIGRATE,),
            hint=f"Bring host {target.name} up in RHEV-M, or set spec.placement.host to a host "
            "that is up; the VM is migrated once its host is up.",
        )
    end_waits(p, AWAIT_PLACEMENT)
    affinity = vm.placement_affinity
    if affinity == "pinned":
        plan.pending.append(
            f"the move to host {target.name} (the VM is pinned to its host, so RHEV-M does "
            "not migrate it)"
        )
        return
    _act(
        p,
        vm,
        MIGRATE,
        res.spec.timeouts.migration_seconds,
        f"migrate (to {target.name})",
        lambda cid: p.ctx.client.vms.migrate(
            vm.id,
            host_id=target.id,
            force=True if affinity == "user_migratable" else None,
            correlation_id=cid,
        ),
    )
    p.did("Migrating", f"Migrating VM {vm.name} from {p.status.host} to {target.name}")
    _refresh(p, vm.id)
    raise Wait("Migrating", f"VM {vm.name} is migrating to {target.name}", 2.0)
