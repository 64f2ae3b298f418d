"""What the VirtualMachine steps share: the operations recorded in status, the
collections they read, observing and reporting the VM, and the operation record."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from rhev_operator.api import VirtualMachine, VirtualMachineStatus, operation_overdue
from rhev_operator.api.virtualmachine import VmDiskStatus, VmNicStatus
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    ANY_OPERATION,
    Context,
    Pass,
    Stall,
    Wait,
    bounded_wait,
    end_waits,
    stall_when_refused,
)
from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    Cluster,
    Host,
    Network,
    RhevmClient,
    StorageDomain,
    errors,
)
from rhev_operator.rhevm.virtualmachine import VmDetail, VmNic

VP = Pass[VirtualMachineStatus]

# -- operations recorded in status.operation ----------------------------------------------

CREATE = "CreateVm"
ADD_DISK = "AddDisk"
EXTEND_DISK = "ExtendDisk"
START = "StartVm"
SHUTDOWN = "ShutdownVm"
STOP = "StopVm"
SUSPEND = "SuspendVm"
MIGRATE = "MigrateVm"
AWAIT = "AwaitVm"  # a transition the operator did not start (or whose record was lost)
AWAIT_VM_HOST = "AwaitVmHost"  # the VM's host does not answer RHEV-M
AWAIT_PLACEMENT = "AwaitPlacementHost"  # placement.host is not up for a migration

#: What the Stalled message of a missed deadline tells a human to do.
VM_HINT = "Check the VM in RHEV-M, then touch the spec (or delete status.operation) to retry."

#: States the VM passes through on its own, with the Reconciling reason while they last.
TRANSITIONAL = {
    "image_locked": "ImageLocked",
    "wait_for_launch": "Starting",
    "powering_up": "Starting",
    "restoring_state": "Resuming",
    "powering_down": "Stopping",
    "saving_state": "Suspending",
    "reboot_in_progress": "Rebooting",
    "migrating": "Migrating",
}
#: The host of the VM does not answer: nothing can be done to the VM until it does.
NOT_RESPONDING = ("unknown", "not_responding")
#: The VM occupies a host (the engine's VMStatus.isRunning, less the transitions above).
RUNNING = ("up", "paused", "unknown", "not_responding", *TRANSITIONAL)

#: Spec words -> RHEV-M words.
BOOT_DEVICES = {"network": "network", "hd": "hd"}


# -- finders -------------------------------------------------------------------------------


finder = finders.vms


template_finder = finders.templates


_profiles = finders.vnic_profiles


def _storage_domains(ctx: Context) -> dict[str, StorageDomain]:
    f = finders.storage_domains(ctx.client)
    return ctx.inventory.collection(f.key, f.lister)


def _hosts(ctx: Context) -> dict[str, Host]:
    f = finders.hosts(ctx.client)
    return ctx.inventory.collection(f.key, f.lister)


def _networks(ctx: Context, dc_id: str) -> dict[str, Network]:
    f = finders.networks(ctx.client, dc_id)
    return ctx.inventory.collection(f.key, f.lister)


# -- one pass ------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the pass resolved and what it leaves for the VM's next start."""

    cluster: Cluster
    host: Host | None = None
    pending: list[str] = field(default_factory=list)


# -- observing and reporting ---------------------------------------------------------------


def _observe(p: VP, res: VirtualMachine, *, confirm: bool) -> VmDetail | None:
    """The VM by status.id, else by name, from the listing; with `confirm` (before the
    operator acts on its absence) one direct lookup, since the listing may be a tick old."""
    f = finder(p.ctx.client)
    found = p.ctx.inventory.find(f.key, f.lister, id=p.status.id, name=res.rhev_name, get=f.get)
    if found is None and confirm:
        if p.status.id:
            with contextlib.suppress(errors.NotFound):
                found = p.ctx.client.vms.get_detailed(p.status.id)
        if found is None:
            found = p.ctx.client.vms.find_detailed(res.rhev_name)
        if found is not None:
            p.ctx.inventory.remember(f.key, found)
    if found is not None and not isinstance(found, VmDetail):
        # Listed by a lister without disks and NICs: read this one in full.
        found = p.ctx.client.vms.get_detailed(found.id)
        p.ctx.inventory.remember(f.key, found)
    return found


def _remember(p: VP, vm: VmDetail) -> VmDetail:
    p.ctx.inventory.remember(finder(p.ctx.client).key, vm)
    return vm


def _refresh(p: VP, vm_id: str) -> VmDetail:
    """The VM right after a write, into the snapshot so the next pass sees it."""
    vm = p.ctx.client.vms.get_detailed(vm_id)
    p.ctx.inventory.poke()
    return _remember(p, vm)


def _network_of(p: VP, nic: VmNic, dc_id: str | None) -> str | None:
    profile = _profiles(p.ctx).get(nic.vnic_profile_id or "")
    if profile is None or profile.network_id is None:
        return None
    if dc_id:
        net = _networks(p.ctx, dc_id).get(profile.network_id)
        if net is not None:
            return net.name
    return profile.name


def _report(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    p.status.id = vm.id
    p.status.state = vm.status
    host = _hosts(p.ctx).get(vm.host_id or "") if vm.host_id else None
    p.status.host = host.name if host is not None else None
    clusters = p.ctx.inventory.collection(*_cluster_key(p.ctx.client))
    cluster = clusters.get(vm.cluster_id or "")
    dc_id = cluster.data_center_id if cluster is not None else None
    p.status.nics = [
        VmNicStatus(name=n.name, network=_network_of(p, n, dc_id), mac=n.mac) for n in vm.nics
    ]
    domains = _storage_domains(p.ctx)
    disks = []
    for a in vm.disk_attachments:
        d = a.disk
        sd = domains.get(d.storage_domain_ids[0]) if d and d.storage_domain_ids else None
        disks.append(
            VmDiskStatus(
                id=a.disk_id or a.id,
                name=(d.alias or d.name) if d else None,
                storage_domain=sd.name if sd is not None else None,
                size_bytes=d.provisioned_size if d else None,
                bootable=a.bootable,
                state=d.status if d else None,
            )
        )
    p.status.disks = disks
    install = res.spec.install_nic
    mac = next((n.mac for n in vm.nics if install is not None and n.name == install.name), None)
    p.status.install_mac = mac or next((n.mac for n in vm.nics if n.mac), None)


def _cluster_key(client: RhevmClient) -> tuple[Hashable, Callable[[RhevmClient], Any]]:
    f = finders.clusters(client)
    return f.key, f.lister


# -- the operation record ------------------------------------------------------------------


def _await(
    p: VP, vm: VmDetail, action: str, reason: str, message: str, timeout: float, after: float
) -> NoReturn:
    """Wait for what RHEV-M must settle about the VM: under the deadline of the operation in
    flight (its job is quoted past it), else one recorded now for `action`."""
    bounded_wait(
        p,
        action,
        reason,
        message,
        timeout,
        "vm",
        vm.id,
        requeue_after=after,
        joins=ANY_OPERATION,
        hint=VM_HINT,
    )


def _begin(p: VP, action: str, timeout: float) -> str:
    """A new correlation id for `action`; a retry of the same action keeps its deadline."""
    cid = p.ctx.correlation_id()
    op = p.status.operation
    if op is not None and op.action == action:
        p.check_deadline("RHEV-M did not carry it out", "vm", p.status.id, hint=VM_HINT)
        p.status.operation = op.model_copy(update={"correlation_id": cid})
    else:
        p.start(action, cid, timeout)
    return cid


def _settle_operation(p: VP, vm: VmDetail) -> None:
    """Close the operation record once what it waited for has happened."""
    op = p.status.operation
    if op is None:
        return
    locked = any(a.disk is not None and a.disk.status == "locked" for a in vm.disk_attachments)
    done = {
        CREATE: vm.status != "image_locked",
        ADD_DISK: not locked,
        EXTEND_DISK: not locked,
        START: vm.status == "up",
        SHUTDOWN: vm.status == "down",
        STOP: vm.status == "down",
        SUSPEND: vm.status == "suspended",
    }.get(op.action, False)  # MigrateVm ends in _ensure_placement (it knows the target)
    if done:
        p.end_operation()
    elif vm.status not in TRANSITIONAL and not locked:
        end_waits(p, AWAIT)


def _timeout_for(res: VirtualMachine, state: str) -> float:
    t = res.spec.timeouts
    return {
        "image_locked": t.disk_creation_seconds,
        "migrating": t.migration_seconds,
        "powering_down": t.shutdown_seconds,
    }.get(state, t.operation_seconds)


def _await_transition(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    """Wait out a state the VM moves through; a graceful shutdown past its time becomes a
    hard stop."""
    state = vm.status or "unknown"
    if state not in TRANSITIONAL:
        return
    op = p.status.operation
    if (
        state == "powering_down"
        and op is not None
        and op.action == SHUTDOWN
        and operation_overdue(op, p.now)
        and res.spec.power_state == "Stopped"
    ):
        _hard_stop(p, res, vm, "the guest did not shut down in time")
    reason = TRANSITIONAL[state]
    if op is not None and op.action == MIGRATE:
        reason = "Migrating"
    _await(p, vm, AWAIT, reason, f"VM {vm.name} is {state}", _timeout_for(res, state), 2.0)


def _dc_id(p: VP, cluster: Cluster) -> str:
    if not cluster.data_center_id:
        raise Wait(
            "WaitingForDependency",
            f"cluster {cluster.name} is in no data center yet",
            10.0,
        )
    return cluster.data_center_id


def _manages_nics(res: VirtualMachine, blank: bool) -> bool:
    """NICs are the spec's when it lists them, or when the VM comes from Blank (the
    default eth0 on rhevm); a template's NICs are otherwise left as they are (`mkvm`)."""
    return blank or "nics" in res.spec.model_fields_set


def _set(model: Any, name: str) -> bool:
    return name in model.model_fields_set


def _blank(vm: VmDetail) -> bool:
    return (vm.original_template_id or vm.template_id or BLANK_TEMPLATE_ID) == BLANK_TEMPLATE_ID


def _act(
    p: VP, vm: VmDetail, action: str, timeout: float, verb: str, call: Callable[[str], Any]
) -> None:
    """Send a power action under the operation record; a refusal is Stalled with the
    engine's words (retried each resync, within the same deadline)."""
    cid = _begin(p, action, timeout)
    reason = f"{action.removesuffix('Vm')}Refused"
    with stall_when_refused(
        reason, f"{verb} VM {vm.name}", "Resolve what RHEV-M names; the operator retries."
    ):
        call(cid)


def _hard_stop(p: VP, res: VirtualMachine, vm: VmDetail, why: str) -> None:
    try:
        _act(
            p,
            vm,
            STOP,
            res.spec.timeouts.operation_seconds,
            "stop",
            lambda cid: p.ctx.client.vms.stop(vm.id, correlation_id=cid),
        )
    except Stall as exc:
        # The VM went down meanwhile (its host went to maintenance, a listing was stale):
        # what the stop was for is done; look again instead of stalling until a resync.
        if "VM is not running" not in exc.message:
            raise
        _refresh(p, vm.id)
        raise Wait("Stopping", f"VM {vm.name} is already down; looking again", 2.0) from None
    p.did("Stopping", f"Powering off VM {vm.name} ({why})")
    _refresh(p, vm.id)
    raise Wait("Stopping", f"VM {vm.name} is being powered off", 2.0)
