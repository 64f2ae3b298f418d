"""Disk attachment handlers (/vms/{id}/diskattachments, /templates/{id}/diskattachments)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    created,
    delete_complete,
    list_response,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk.entity import (
    INTERFACES,
    TYPE_NAME,
    Disk,
    attach,
    attachment,
    check_bootable,
    check_domain_usable,
    create_image,
    data_center_of_cluster,
    delete_disk,
    needed_bytes,
    new_disk,
    owners_of,
    parse_disk,
    path_owner,
    storage_domain,
    update_disk_fields,
    vm_running,
)
from rhevsim.event import CODES
from rhevsim.xmlutil import boolean, enum, has, text

if TYPE_CHECKING:
    pass


def list_attachments(req: Request) -> Response:
    owner = path_owner(req)
    return list_response(req, owner.disk_attachments, "disk_attachments", searchable=False)


def get_attachment(req: Request) -> Response:
    owner = path_owner(req)
    return xml_response(attachment(owner, req.params["da"]).render(req.ctx))


def add_attachment(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    body = req.body
    if owner.KIND == "template":
        raise errors.bad_request(
            "Cannot add Virtual Disk. Disks cannot be added to a Template; create the "
            "Template from a VM that has them."
        )
    reg.check_unlocked(owner, "add", TYPE_NAME)
    if not has(body, "interface"):
        raise errors.incomplete("DiskAttachment", ["interface"], "add")
    interface = enum(body, "interface", INTERFACES, "DiskInterface") or "virtio_scsi"
    bootable = bool(boolean(body, "bootable"))
    active = boolean(body, "active")
    active = True if active is None else active
    disk_el = body.find("disk") if body is not None else None
    if disk_el is None:
        raise errors.incomplete("DiskAttachment", ["disk"], "add")
    existing_id = disk_el.get("id")
    if existing_id and disk_el.find("provisioned_size") is None:
        return _attach_existing(req, owner, existing_id, interface, bootable, active)
    spec = parse_disk(req, disk_el)
    dc_id = data_center_of_cluster(reg, owner.cluster_id)
    assert spec.sd is not None
    check_domain_usable(reg, spec.sd, dc_id, "add", TYPE_NAME, needed_bytes(spec))
    if bootable:
        check_bootable(reg, owner, "add")
    name = spec.name or f"{owner.name}_Disk{len(owner.disk_attachments) + 1}"
    job = reg.start_job(f"Adding Disk {name} to VM {owner.name}", req.correlation_id)
    disk = new_disk(
        reg,
        name,
        spec.size,
        spec.sd,
        fmt=spec.fmt,
        sparse=spec.sparse,
        description=spec.description,
        shareable=spec.shareable,
        wipe_after_delete=spec.wipe_after_delete,
        content_type=spec.content_type,
        status="locked",
        ident=existing_id,
    )
    disk.comment = text(disk_el, "comment")
    att = attach(
        owner,
        disk,
        interface=interface,
        bootable=bootable,
        active=active,
        pass_discard=bool(boolean(body, "pass_discard")),
        read_only=bool(boolean(body, "read_only")),
    )
    reg.event(
        CODES["USER_ADD_DISK_TO_VM"],
        f"Add-Disk operation of {name} was initiated on VM {owner.name} by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        vm=owner,
    )

    def done(ok: bool) -> None:
        if ok:
            reg.event(
                CODES["USER_ADD_DISK_TO_VM_FINISHED_SUCCESS"],
                f"The disk {name} was successfully added to VM {owner.name}.",
                correlation_id=job.correlation_id,
                vm=owner,
            )
        else:
            reg.event(
                CODES["USER_ADD_DISK_TO_VM_FINISHED_FAILURE"],
                f"Add-Disk operation failed on VM {owner.name} (User: {ENGINE_USER}).",
                "error",
                correlation_id=job.correlation_id,
                vm=owner,
            )
        reg.end_job(job, ok)

    create_image(reg, disk, "disk.create", done)
    return created(req, att, async_work=True)


def _attach_existing(
    req: Request, owner: Any, disk_id: str, interface: str, bootable: bool, active: bool
) -> Response:
    reg = req.reg
    disk = reg.objects.get("disk", {}).get(disk_id)
    if not isinstance(disk, Disk):
        raise errors.bad_request(f"Cannot attach {TYPE_NAME}. The specified disk does not exist.")
    if any(a.id == disk.id for a in owner.disk_attachments):
        raise errors.conflict(f"Cannot attach {TYPE_NAME}. The disk is already attached to VM.")
    if disk.lock is not None or disk.status == "locked":
        raise errors.conflict(f"Cannot attach {TYPE_NAME}: Disk is locked. Please try again later.")
    if disk.template_id is not None:
        raise errors.conflict(f"Cannot attach {TYPE_NAME}. The disk belongs to a Template.")
    if owners_of(reg, disk.id) and not disk.shareable:
        raise errors.conflict(
            f"Cannot attach {TYPE_NAME}. The disk is not shareable and is already attached to a VM."
        )
    sd = storage_domain(reg, disk.storage_domain_id)
    dc_id = data_center_of_cluster(reg, owner.cluster_id)
    if sd is not None and dc_id is not None and getattr(sd, "data_center_id", None) != dc_id:
        raise errors.conflict(
            f"Cannot attach {TYPE_NAME}. The target Data Center does not contain the {TYPE_NAME}."
        )
    if bootable:
        check_bootable(reg, owner, "attach")
    with reg.job(f"Attaching Disk {disk.name} to VM {owner.name}", req.correlation_id) as job:
        att = attach(owner, disk, interface=interface, bootable=bootable, active=active)
        reg.event(
            CODES["USER_ATTACH_DISK_TO_VM"],
            f"Disk {disk.name} was successfully attached to VM {owner.name} by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=owner,
        )
    return created(req, att)


def update_attachment(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    att = attachment(owner, req.params["da"])
    body = req.body
    reg.check_unlocked(owner, "update", TYPE_NAME)
    disk = reg.objects.get("disk", {}).get(att.id)
    if disk is not None and disk.lock is not None:
        raise errors.conflict(f"Cannot update {TYPE_NAME}: Disk is locked. Please try again later.")
    interface = enum(body, "interface", INTERFACES, "DiskInterface")
    bootable = boolean(body, "bootable")
    active = boolean(body, "active")
    if vm_running(owner) and (
        (interface is not None and interface != att.interface)
        or (bootable is not None and bootable != att.bootable)
    ):
        raise errors.conflict(f"Cannot update {TYPE_NAME}. VM is running.")
    if bootable:
        check_bootable(reg, owner, "update", exclude=att.id)
    with reg.job(f"Updating Disk of VM {owner.name}", req.correlation_id) as job:
        if interface is not None:
            att.interface = interface
        if bootable is not None:
            att.bootable = bootable
        if active is not None:
            att.active = active
        for key in ("pass_discard", "read_only"):
            v = boolean(body, key)
            if v is not None:
                setattr(att, key, v)
        d_el = body.find("disk") if body is not None else None
        if isinstance(disk, Disk) and d_el is not None:
            update_disk_fields(req, disk, d_el, job.correlation_id, owner)
        reg.event(
            CODES["USER_UPDATE_VM_DISK"],
            f"VM {owner.name} {disk.name if disk else att.id} disk was updated by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=owner,
        )
    return xml_response(att.render(req.ctx))


def remove_attachment(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    att = attachment(owner, req.params["da"])
    detach_only = req.query_bool("detach_only", True)
    disk = reg.objects.get("disk", {}).get(att.id)
    if owner.KIND == "template":
        raise errors.conflict(
            f"Cannot remove {TYPE_NAME}. The disk belongs to a Template; remove the Template."
        )
    reg.check_unlocked(owner, "remove" if not detach_only else "detach", TYPE_NAME)
    if disk is not None and disk.lock is not None:
        raise errors.conflict(
            f"Cannot {'detach' if detach_only else 'remove'} {TYPE_NAME}: Disk is locked. "
            "Please try again later."
        )
    if vm_running(owner) and att.active:
        raise errors.conflict(
            f"Cannot {'detach' if detach_only else 'remove'} {TYPE_NAME}. Disk is plugged "
            "to a running VM; deactivate it first."
        )
    name = disk.name if disk is not None else att.id
    if detach_only:
        with reg.job(f"Detaching Disk {name} from VM {owner.name}", req.correlation_id) as job:
            owner.disk_attachments.remove(att)
            reg.event(
                CODES["USER_DETACH_DISK_FROM_VM"],
                f"Disk {name} was successfully detached from VM {owner.name} by {ENGINE_USER}.",
                correlation_id=job.correlation_id,
                vm=owner,
            )
        return delete_complete(req)
    with reg.job(f"Removing Disk {name}", req.correlation_id) as job:
        if isinstance(disk, Disk):
            delete_disk(reg, disk)
        else:
            owner.disk_attachments.remove(att)
        reg.event(
            CODES["USER_REMOVE_DISK_FROM_VM"],
            f"Disk was removed from VM {owner.name} by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=owner,
        )
    return delete_complete(req)
