"""The /disks handlers: add, update, remove, and the disk actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    created,
    delete_complete,
    get_or_404,
    list_response,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk.entity import (
    TYPE_NAME,
    Disk,
    check_domain_usable,
    create_image,
    delete_disk,
    needed_bytes,
    new_disk,
    owners_of,
    parse_disk,
    storage_domain,
    update_disk_fields,
    vm_running,
)
from rhevsim.event import CODES
from rhevsim.xmlutil import text

if TYPE_CHECKING:
    pass


def list_disks(req: Request) -> Response:
    return list_response(req, req.reg.all(Disk), "disks", kind=Disk)


def get_disk(req: Request) -> Response:
    return xml_response(get_or_404(req, Disk).render(req.ctx))


def add_disk(req: Request) -> Response:
    reg = req.reg
    body = req.body
    if not text(body, "name") and not text(body, "alias"):
        raise errors.incomplete("Disk", ["name|alias"], "add")
    spec = parse_disk(req, body)
    assert spec.sd is not None
    check_domain_usable(reg, spec.sd, None, "add", TYPE_NAME, needed_bytes(spec))
    if getattr(spec.sd, "data_center_id", "x") is None:
        raise errors.bad_request(f"Cannot add {TYPE_NAME}. Storage Domain doesn't exist.")
    name = spec.name or ""
    job = reg.start_job(f"Adding Disk {name}", req.correlation_id)
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
        ident=body.get("id") if body is not None else None,
    )
    disk.comment = text(body, "comment")
    reg.event(
        CODES["USER_ADD_DISK"],
        f"Add-Disk operation of '{name}' was initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        storage_domain=spec.sd,
    )

    def done(ok: bool) -> None:
        if ok:
            reg.event(
                CODES["USER_ADD_DISK_FINISHED_SUCCESS"],
                f"The disk '{name}' was successfully added.",
                correlation_id=job.correlation_id,
                storage_domain=spec.sd,
            )
        else:
            reg.event(
                CODES["USER_ADD_DISK_FINISHED_FAILURE"],
                "Add-Disk operation failed to complete.",
                "error",
                correlation_id=job.correlation_id,
                storage_domain=spec.sd,
            )
        reg.end_job(job, ok)

    create_image(reg, disk, "disk.create", done)
    return created(req, disk, async_work=True)


def update_disk(req: Request) -> Response:
    disk = get_or_404(req, Disk)
    if disk.lock is not None:
        raise errors.conflict(f"Cannot update {TYPE_NAME}: Disk is locked. Please try again later.")
    body = req.body
    if body is None:
        raise errors.incomplete("Disk", ["name|provisionedSize|description"], "update")
    with req.reg.job(f"Updating Disk {disk.name}", req.correlation_id) as job:
        update_disk_fields(req, disk, body, job.correlation_id)
    return xml_response(disk.render(req.ctx))


def remove_disk(req: Request) -> Response:
    reg = req.reg
    disk = get_or_404(req, Disk)
    if disk.lock is not None:
        raise errors.conflict(f"Cannot remove {TYPE_NAME}: Disk is locked. Please try again later.")
    if disk.template_id is not None:
        raise errors.conflict(
            f"Cannot remove {TYPE_NAME}. The disk belongs to a Template; remove the Template."
        )
    users = owners_of(reg, disk.id)
    running = [o for o in users if vm_running(o)]
    if running:
        raise errors.conflict(f"Cannot remove {TYPE_NAME}. VM is running.")
    locked = [o for o in users if o.lock is not None]
    if locked:
        raise errors.locked("remove", TYPE_NAME)
    sd = storage_domain(reg, disk.storage_domain_id)
    sd_name = sd.name if sd is not None else ""
    job = reg.start_job(f"Removing Disk {disk.name}", req.correlation_id)
    reg.event(
        CODES["USER_REMOVE_DISK_INITIATED"],
        f"Removal of Disk {disk.name} from domain {sd_name} was initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        storage_domain=sd,
    )
    for o in users:
        o.disk_attachments = [a for a in o.disk_attachments if a.id != disk.id]
    disk.status = "locked"
    disk.lock = "RemoveDisk"

    def finish() -> None:
        disk.lock = None
        delete_disk(reg, disk)
        reg.event(
            CODES["USER_FINISHED_REMOVE_DISK"],
            f"Disk {disk.name} was successfully removed from domain {sd_name} "
            f"(User {ENGINE_USER}).",
            correlation_id=job.correlation_id,
            storage_domain=sd,
        )
        reg.end_job(job)

    reg.schedule("disk.remove", finish, f"disk.remove {disk.name}")
    return delete_complete(req)
