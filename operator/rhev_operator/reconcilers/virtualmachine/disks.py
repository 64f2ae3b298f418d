"""VirtualMachine disks: spec disk i is the disk aliased `<vm>_Disk<i+1>`; added, grown and
removed one at a time, each waited out before the next."""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from rhev_operator.api import VirtualMachine
from rhev_operator.api.virtualmachine import VmDisk
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Stall,
    Wait,
    owned_by,
    owner_comment,
    resolve,
)
from rhev_operator.reconcilers.virtualmachine.common import (
    ADD_DISK,
    AWAIT,
    EXTEND_DISK,
    VP,
    _await,
    _begin,
    _dc_id,
    _Plan,
    _refresh,
    _report,
    _set,
    _storage_domains,
)
from rhev_operator.rhevm import (
    DiskAttachmentCreate,
    DiskAttachmentUpdate,
    DiskCreate,
    DiskUpdate,
    StorageDomain,
    errors,
)
from rhev_operator.rhevm.virtualmachine import AttachedDisk, VmDetail

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
