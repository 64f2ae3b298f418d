"""VirtualMachine: a RHEV-M VM with its disks, NICs, placement and power state [`mkvm`,
`chvm`, `rmvm`, `rpower`, `rsetboot`, `rmigrate`, `wvid`].

Ladder, each step idempotent and level-based (one step per pass where RHEV-M must work):

1. resolve the cluster (wait for it); observe the VM in the once-per-tick listing;
2. no VM: wait for the template (a VmTemplate resource must be Ready, a RHEV-M template
   `ok`), the placement host, the NICs' networks (attached to the cluster, with a vNIC
   profile) and the disks' storage domains (active in the cluster's data center), confirm
   the absence with one direct lookup, then create the VM [`mkvm`]; an existing VM is
   claimed (ours by the owner marker in its comment) or adopted (`adopt`);
3. wait out transitional states (image_locked, wait_for_launch, powering_up/down,
   saving_state, restoring_state, reboot_in_progress, migrating) under a deadline;
4. configuration [`chvm`, `rsetboot`, `wvid`]: memory, CPU, boot order and display are
   changed at once on a stopped VM; on a running one they are staged for its next start
   (`next_run`) and the resource reports Reconciling, reason PendingRestart, until it is
   stopped: never a silent power cycle. Placement (affinity, host) is changed at once;
5. disks, one at a time, each waited out (locked -> ok) before the next; then NICs;
6. power [`rpower`]: Running (start, resume), Stopped (graceful shutdown, a hard stop
   once `timeouts.shutdownSeconds` pass), Suspended (start first when down, then suspend);
7. a running VM not on `placement.host` is migrated there [`rmigrate`] and the migration
   waited out (migrating -> up on the target) under `timeouts.migrationSeconds`.

Every wait has a deadline: an operation's own, else one recorded for the wait (a
transition or a locked disk the operator did not start, a VM whose host does not answer, a
placement host that is not up); past it the resource is Stalled quoting RHEV-M's job or
event, and goes on by itself once the wait is over. PendingRestart alone has none: it
waits for the user to stop the VM.

Disks and NICs: spec disk i is the disk aliased `<vm>_Disk<i+1>` (RHEV-M's own naming, so
a VM made by `mkvm` is matched when adopted); NICs are matched by name. Missing ones are
added; a disk grows when its size grows (RHEV-M never shrinks one). Removal: only disks and
NICs this resource created are removed when they leave the spec. They are recognised by
the owner marker the operator writes into the disk's `comment` and the NIC's
`description` when it creates them, which survives a lost status; a disk or NIC that came
from the template, was there when the VM was adopted, or was added by hand is never
removed. Removing a disk deletes its data, and RHEV-M only lets go of an active disk of a
stopped VM, so a disk leaves a running VM as a PendingRestart (when it is stopped); a NIC
is unplugged, then removed. With a template other than Blank, spec.disks are extra disks
next to the template's (as `mkvm` did).

Memory and CPU of a running VM are always staged, never hot-plugged, so what runs changes
only at a restart the user asks for. A cluster change applies to a stopped VM only.

Fields are enforced only when the spec sets them. A VM created from Blank gets the spec's
defaults (2Gi, 1x1 CPU, network boot, eth0 on rhevm); one created from another template
keeps the template's unless the spec sets them (as `mkvm` did).

Status: host, installMac (the install NIC's MAC, else the first NIC's, as `mkvm` records
it), nics (name, network, MAC), disks, state. VMs are listed once per tick with their disk
attachments (disks inlined) and NICs (`follow`): no request per VM per tick.

Delete (deletionPolicy Delete): a hard stop, then the VM is removed with its disks;
Retain leaves it as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from rhev_operator.api import VirtualMachine, VirtualMachineStatus, operation_overdue
from rhev_operator.api.conditions import get_condition
from rhev_operator.api.virtualmachine import VmDisk, VmDiskStatus, VmNicStatus
from rhev_operator.api.virtualmachine import VmNic as VmNicSpec
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    ANY_OPERATION,
    UPDATE_HINT,
    Context,
    Outcome,
    Pass,
    Stall,
    Wait,
    bounded_wait,
    claim,
    created,
    deletion_start,
    end_waits,
    owned_by,
    owner_comment,
    resolve,
    retry_when_touched,
    run_ladder,
    stall_when_refused,
)
from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    Cluster,
    DiskAttachmentCreate,
    DiskAttachmentUpdate,
    DiskCreate,
    DiskUpdate,
    Host,
    Network,
    RhevmClient,
    StorageDomain,
    Template,
    VmCreate,
    VmNicCreate,
    VmNicUpdate,
    VmUpdate,
    VnicProfile,
    errors,
)
from rhev_operator.rhevm.virtualmachine import AttachedDisk, VmDetail, VmNic

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


def reconcile(ctx: Context, resource: VirtualMachine) -> Outcome:
    return run_ladder(VP(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: VP, res: VirtualMachine) -> str:
    spec = res.spec
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
    _ensure_placement(p, res, vm, plan)
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
    return f"VM {vm.name} is {vm.status}{where}"


# -- observing and reporting ---------------------------------------------------------------


def _observe(p: VP, res: VirtualMachine, *, confirm: bool) -> VmDetail | None:
    """The VM by status.id, else by name, from the listing; with `confirm` (before the
    operator acts on its absence) one direct lookup, since the listing may be a tick old."""
    f = finder(p.ctx.client)
    found = p.ctx.inventory.find(f.key, f.lister, id=p.status.id, name=res.rhev_name)
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


# -- creation ------------------------------------------------------------------------------


def _template(p: VP, res: VirtualMachine) -> Template:
    tpl: Template = resolve(p, "VmTemplate", res.spec.template, template_finder(p.ctx.client))
    if tpl.status not in (None, "ok"):
        raise Wait(
            "WaitingForDependency",
            f"waiting for template {tpl.name}: it is {tpl.status} (a VM is made from a "
            "template once it is ok)",
            5.0,
        )
    return tpl


def _placement_host(p: VP, res: VirtualMachine, cluster: Cluster) -> Host:
    ref = res.spec.placement.host
    assert ref is not None
    host: Host = resolve(p, "Hypervisor", ref, finders.hosts(p.ctx.client))
    if host.cluster_id != cluster.id:
        raise Stall(
            "HostNotInCluster",
            f"spec.placement.host: host {host.name} is not in cluster {cluster.name}; a VM "
            "runs on hosts of its own cluster: choose one of them, or move the host",
        )
    return host


def _create(p: VP, res: VirtualMachine, plan: _Plan) -> VmDetail:
    """Everything the VM needs must be there first (no half-built VM), then one POST."""
    spec = res.spec
    cluster = plan.cluster
    template = _template(p, res)
    if spec.placement.host is not None:
        plan.host = _placement_host(p, res, cluster)
    dc_id = _dc_id(p, cluster)
    blank = template.id == BLANK_TEMPLATE_ID
    if _manages_nics(res, blank):
        for nic in spec.nics:
            _profile_for(p, res, nic, cluster, dc_id)
    for index, disk in enumerate(spec.disks):
        _domain_for(p, disk, index, dc_id)
    found = _observe(p, res, confirm=True)
    if found is not None:
        claim(p, found, spec.adopt)
        return found
    fields = _config_fields(res, blank=blank)
    if plan.host is not None:
        fields["placement_host_ids"] = (plan.host.id,)
    if spec.placement.affinity is not None:
        fields["placement_affinity"] = spec.placement.affinity
    cid = p.ctx.correlation_id()
    vm = p.ctx.client.vms.add(
        VmCreate(
            name=res.rhev_name,
            cluster_id=cluster.id,
            template_id=template.id,
            comment=owner_comment(p.ctx.uid),
            **fields,
        ),
        correlation_id=cid,
    )
    created(p, finder(p.ctx.client), vm, f"VM {vm.name} in cluster {cluster.name}")
    if vm.status == "image_locked":
        p.start(CREATE, cid, spec.timeouts.disk_creation_seconds)
    return _refresh(p, vm.id)


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


def _config_fields(res: VirtualMachine, *, blank: bool) -> dict[str, Any]:
    """Memory, CPU, boot order and display as the spec sets them (with its defaults when the
    VM comes from Blank, as `mkvm` did)."""
    spec = res.spec
    out: dict[str, Any] = {}
    if blank or _set(spec, "memory"):
        out["memory"] = spec.memory
    if blank or _set(spec, "cpu"):
        if blank or _set(spec.cpu, "sockets"):
            out["cpu_sockets"] = spec.cpu.sockets
        if blank or _set(spec.cpu, "cores"):
            out["cpu_cores"] = spec.cpu.cores
    if blank or _set(spec, "boot_order"):
        out["boot_devices"] = tuple(BOOT_DEVICES[d] for d in spec.boot_order)
    if spec.display is not None:
        out["display_type"] = spec.display
    return out


# -- configuration -------------------------------------------------------------------------


def _blank(vm: VmDetail) -> bool:
    return (vm.original_template_id or vm.template_id or BLANK_TEMPLATE_ID) == BLANK_TEMPLATE_ID


def _staged_this_generation(p: VP) -> bool:
    c = get_condition(p.status.conditions, "Reconciling")
    return (
        c is not None
        and c.status == "True"
        and c.reason == "PendingRestart"
        and c.observed_generation == p.ctx.generation
    )


def _staged_before(p: VP) -> bool:
    c = get_condition(p.status.conditions, "Reconciling")
    return c is not None and c.status == "True" and c.reason == "PendingRestart"


def _ensure_config(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> VmDetail:
    """Cold fields (memory, CPU, boot, display) at once when stopped, else staged for the
    next start; hot fields (name, placement) at once."""
    spec = res.spec
    want = _config_fields(res, blank=False)
    have: dict[str, Any] = {
        "memory": vm.memory,
        "cpu_sockets": vm.cpu_sockets,
        "cpu_cores": vm.cpu_cores,
        "boot_devices": tuple(vm.boot_devices),
        "display_type": vm.display_type,
    }
    cold = {k: v for k, v in want.items() if have.get(k) != v}
    hot: dict[str, Any] = {}
    if vm.cluster_id != plan.cluster.id:
        if vm.status == "down":
            hot["cluster_id"] = plan.cluster.id
        else:
            plan.pending.append(f"the move to cluster {plan.cluster.name}")
    if vm.name != res.rhev_name:
        hot["name"] = res.rhev_name
    if spec.placement.affinity is not None and vm.placement_affinity != spec.placement.affinity:
        hot["placement_affinity"] = spec.placement.affinity
    if plan.host is not None and tuple(vm.placement_host_ids) != (plan.host.id,):
        hot["placement_host_ids"] = (plan.host.id,)
    memory = cold.get("memory")
    if memory is not None and vm.memory_guaranteed is not None and vm.memory_guaranteed > memory:
        cold["memory_guaranteed"] = memory  # RHEV-M refuses guaranteed > memory
    if memory is not None and vm.memory_max is not None and vm.memory_max < memory:
        cold["memory_max"] = memory * 4  # the engine's default ratio
    running = vm.status in RUNNING or vm.status == "suspended"
    if running:
        if cold:
            plan.pending.append(_describe(cold))
            if not (_staged_this_generation(p) and vm.next_run_configuration_exists):
                vm = _update(p, vm, cold, next_run=True)
                p.did(
                    "Staged",
                    f"Staged {_describe(cold)} of VM {vm.name} for its next start (it is "
                    f"{vm.status})",
                )
        elif (
            want
            and vm.next_run_configuration_exists
            and _staged_before(p)
            and not _staged_this_generation(p)
        ):
            # The spec went back to what runs: drop what was staged for the next start.
            vm = _update(p, vm, dict(want), next_run=True)
        cold = {}
    changes = {**cold, **hot}
    if changes:
        vm = _update(p, vm, changes, next_run=False)
        p.did("Updated", f"Updated VM {vm.name}: {_describe(changes)}")
    return vm


def _describe(changes: dict[str, Any]) -> str:
    words = {
        "memory": "memory",
        "memory_guaranteed": None,
        "memory_max": None,
        "cpu_sockets": "CPU sockets",
        "cpu_cores": "CPU cores",
        "boot_devices": "boot order",
        "display_type": "display",
        "name": "name",
        "cluster_id": "cluster",
        "placement_affinity": "placement affinity",
        "placement_host_ids": "placement host",
    }
    return ", ".join(w for k in sorted(changes) if (w := words.get(k)))


def _update(p: VP, vm: VmDetail, changes: dict[str, Any], *, next_run: bool) -> VmDetail:
    doing = f"change {_describe(changes)} of VM {vm.name}"
    with stall_when_refused("UpdateRefused", doing, UPDATE_HINT):
        p.ctx.client.vms.update(
            vm.id,
            VmUpdate(**changes),
            next_run=True if next_run else None,
            correlation_id=p.ctx.correlation_id(),
        )
    return _refresh(p, vm.id)


# -- disks ---------------------------------------------------------------------------------


def disk_alias(vm_name: str, index: int) -> str:
    """The alias of spec disk `index` (RHEV-M's own default naming)."""
    return f"{vm_name}_Disk{index + 1}"


def _domain_for(p: VP, disk: VmDisk, index: int, dc_id: str) -> StorageDomain:
    """The disk's storage domain; it must be active in the VM's data center."""
    sd: StorageDomain = resolve(
        p, "StorageDomain", disk.storage_domain, finders.storage_domains(p.ctx.client)
    )
    view = finders.attached_storage_domains(p.ctx, dc_id).get(sd.id)
    if view is None or view.status != "active":
        state = "not attached to the VM's data center" if view is None else view.status
        raise Wait(
            "WaitingForDependency",
            f"disks[{index}]: waiting for storage domain {sd.name}: it is {state}; disks are "
            "created on an active domain of the VM's data center",
            5.0,
        )
    return sd


def _ensure_disks(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> VmDetail:
    spec = res.spec
    by_alias = {a.disk.alias: a for a in vm.disk_attachments if a.disk and a.disk.alias}
    wanted = {disk_alias(vm.name, i) for i in range(len(spec.disks))}
    for a in vm.disk_attachments:
        if a.disk is not None and a.disk.status == "locked":
            _await_disk(p, res, vm, a)
        if a.disk is not None and a.disk.status == "illegal":
            raise Stall(
                "DiskIllegal",
                f"disk {a.disk.alias} of VM {vm.name} is illegal in RHEV-M (its image failed); "
                "remove it in RHEV-M (or fix it there), and the operator recreates it",
            )
    for index, disk in enumerate(spec.disks):
        alias = disk_alias(vm.name, index)
        found = by_alias.get(alias)
        if found is None:
            return _add_disk(p, res, vm, plan, index, disk)
        vm = _ensure_disk_fields(p, res, vm, index, disk, found, plan)
    for a in vm.disk_attachments:
        d = a.disk
        if d is None or (d.alias or "") in wanted or not owned_by(d.comment, p.ctx.uid):
            continue
        if vm.status != "down":
            plan.pending.append(f"the removal of disk {d.alias} (no longer in spec.disks)")
            continue
        with contextlib.suppress(errors.NotFound):
            p.ctx.client.vms.disk_attachments(vm.id).remove(
                a.id, detach_only=False, correlation_id=p.ctx.correlation_id()
            )
        p.did("DiskRemoved", f"Removed disk {d.alias} of VM {vm.name} (no longer in spec.disks)")
        vm = _refresh(p, vm.id)
    return vm


def _await_disk(p: VP, res: VirtualMachine, vm: VmDetail, a: AttachedDisk) -> NoReturn:
    assert a.disk is not None
    message = f"disk {a.disk.alias} of VM {vm.name} is locked"
    _await(p, vm, AWAIT, "CreatingDisk", message, res.spec.timeouts.disk_creation_seconds, 2.0)


def _add_disk(
    p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan, index: int, disk: VmDisk
) -> VmDetail:
    sd = _domain_for(p, disk, index, _dc_id(p, plan.cluster))
    alias = disk_alias(vm.name, index)
    cid = _begin(p, ADD_DISK, res.spec.timeouts.disk_creation_seconds)
    p.ctx.client.vms.disk_attachments(vm.id).add(
        DiskAttachmentCreate(
            interface=disk.interface,
            bootable=disk.type == "system",
            active=True,
            disk=DiskCreate(
                name=alias,
                provisioned_size=disk.size,
                format=disk.format,
                sparse=disk.format == "cow",
                storage_domain_id=sd.id,
                comment=owner_comment(p.ctx.uid),
            ),
        ),
        correlation_id=cid,
    )
    p.did(
        "DiskAdded",
        f"Adding {disk.type} disk {alias} ({disk.size} bytes, {disk.format}, {disk.interface}) "
        f"to VM {vm.name} on storage domain {sd.name}",
    )
    vm = _refresh(p, vm.id)
    _report(p, res, vm)
    raise Wait("CreatingDisk", f"disk {alias} of VM {vm.name} is being created", 2.0)


def _ensure_disk_fields(
    p: VP,
    res: VirtualMachine,
    vm: VmDetail,
    index: int,
    disk: VmDisk,
    a: AttachedDisk,
    plan: _Plan,
) -> VmDetail:
    d = a.disk
    assert d is not None
    where = f"disks[{index}]"
    size = d.provisioned_size or 0
    if disk.size > size:
        cid = _begin(p, EXTEND_DISK, res.spec.timeouts.operation_seconds)
        p.ctx.client.disks.update(d.id, DiskUpdate(provisioned_size=disk.size), correlation_id=cid)
        p.did("DiskExtended", f"Extending disk {d.alias} of VM {vm.name} to {disk.size} bytes")
        return _refresh(p, vm.id)
    if disk.size < size:
        p.warn(
            "DiskNotShrunk",
            f"{where}.size: disk {d.alias} of VM {vm.name} has {size} bytes; RHEV-M never "
            "shrinks a disk, so the smaller size is not applied",
        )
    sd = _storage_domains(p.ctx).get(d.storage_domain_ids[0]) if d.storage_domain_ids else None
    target = p.ctx.refs.resolve("StorageDomain", disk.storage_domain)
    if sd is not None and sd.name != target.name and sd.id != target.id:
        raise Stall(
            "DiskOnOtherDomain",
            f"{where}.storageDomain: disk {d.alias} of VM {vm.name} is on storage domain "
            f"{sd.name}, not {disk.storage_domain}; the operator does not move disks: move it "
            f"in RHEV-M or set {where}.storageDomain to {sd.name}",
        )
    changes: dict[str, Any] = {}
    if _set(disk, "interface") and a.interface != disk.interface:
        changes["interface"] = disk.interface
    bootable = disk.type == "system"
    if _set(disk, "type") and bool(a.bootable) != bootable:
        changes["bootable"] = bootable
    if not changes:
        return vm
    what = ", ".join(sorted(changes))
    if vm.status != "down":
        plan.pending.append(f"the {what} of disk {d.alias}")
        return vm
    p.ctx.client.vms.disk_attachments(vm.id).update(
        a.id, DiskAttachmentUpdate(**changes), correlation_id=p.ctx.correlation_id()
    )
    p.did("DiskUpdated", f"Updated disk {d.alias} of VM {vm.name}: {what}")
    return _refresh(p, vm.id)


# -- NICs ----------------------------------------------------------------------------------


def _profile_for(
    p: VP, res: VirtualMachine, nic: VmNicSpec, cluster: Cluster, dc_id: str
) -> VnicProfile:
    """The vNIC profile of the NIC's network in the VM's data center (the one named like
    the network, else its first); the network must be attached to the VM's cluster."""
    index = res.spec.nics.index(nic)
    net: Network = resolve(p, "LogicalNetwork", nic.network, finders.networks(p.ctx.client, dc_id))
    if net.id not in finders.cluster_networks(p.ctx, cluster.id):
        raise Wait(
            "WaitingForDependency",
            f"nics[{index}]: waiting for network {net.name} to be attached to cluster "
            f"{cluster.name} (a VM NIC can only use a network of its cluster)",
            5.0,
        )
    profiles = [pr for pr in _profiles(p.ctx).values() if pr.network_id == net.id]
    if not profiles:
        raise Wait(
            "WaitingForDependency",
            f"nics[{index}]: network {net.name} has no vNIC profile (it is not a VM network?)",
            10.0,
        )
    profiles.sort(key=lambda pr: (pr.name != net.name, pr.name))
    return profiles[0]


def _ensure_nics(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> VmDetail:
    spec = res.spec
    if not _manages_nics(res, _blank(vm)):
        return vm
    dc_id = _dc_id(p, plan.cluster)
    by_name = {n.name: n for n in vm.nics}
    running = vm.status != "down"
    for nic in spec.nics:
        profile = _profile_for(p, res, nic, plan.cluster, dc_id)
        have = by_name.get(nic.name)
        if have is None:
            p.ctx.client.vms.nics(vm.id).add(
                VmNicCreate(
                    name=nic.name,
                    interface=nic.model,
                    vnic_profile_id=profile.id,
                    description=owner_comment(p.ctx.uid),
                ),
                correlation_id=p.ctx.correlation_id(),
            )
            p.did(
                "NicAdded", f"Added NIC {nic.name} ({nic.model}) on {nic.network} to VM {vm.name}"
            )
            vm = _refresh(p, vm.id)
            continue
        changes: dict[str, Any] = {}
        if have.vnic_profile_id != profile.id:
            changes["vnic_profile_id"] = profile.id
        if _set(nic, "model") and have.interface != nic.model:
            if running and have.plugged:
                plan.pending.append(f"the model of NIC {nic.name}")
            else:
                changes["interface"] = nic.model
        if changes:
            p.ctx.client.vms.nics(vm.id).update(
                have.id, VmNicUpdate(**changes), correlation_id=p.ctx.correlation_id()
            )
            p.did("NicUpdated", f"Updated NIC {nic.name} of VM {vm.name}: {', '.join(changes)}")
            vm = _refresh(p, vm.id)
    listed = {nic.name for nic in spec.nics}
    for have in vm.nics:
        if have.name in listed or not owned_by(have.description, p.ctx.uid):
            continue
        nics = p.ctx.client.vms.nics(vm.id)
        if running and have.plugged:
            nics.update(have.id, VmNicUpdate(plugged=False), correlation_id=p.ctx.correlation_id())
        with contextlib.suppress(errors.NotFound):
            nics.remove(have.id, correlation_id=p.ctx.correlation_id())
        p.did("NicRemoved", f"Removed NIC {have.name} of VM {vm.name} (no longer in spec.nics)")
        vm = _refresh(p, vm.id)
    return vm


# -- power ---------------------------------------------------------------------------------


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
    _act(
        p,
        vm,
        STOP,
        res.spec.timeouts.operation_seconds,
        "stop",
        lambda cid: p.ctx.client.vms.stop(vm.id, correlation_id=cid),
    )
    p.did("Stopping", f"Powering off VM {vm.name} ({why})")
    _refresh(p, vm.id)
    raise Wait("Stopping", f"VM {vm.name} is being powered off", 2.0)


def _start(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    resume = vm.status in ("suspended", "paused")
    _act(
        p,
        vm,
        START,
        res.spec.timeouts.operation_seconds,
        "start",
        lambda cid: p.ctx.client.vms.start(vm.id, correlation_id=cid),
    )
    p.did(
        "Resuming" if resume else "Starting", f"{'Resuming' if resume else 'Starting'} VM {vm.name}"
    )
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
