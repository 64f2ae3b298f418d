"""Disks (/disks) and disk attachments (/vms/{id}/diskattachments, /templates/{id}/diskattachments).

A disk is an image on a storage domain. Creating one (floating, through a VM attachment, or
as a copy for a template or a cloned VM) sets it `locked`; after `disk.create` (or
`disk.copy`) simulated seconds it is `ok` (AddImageFromScratchCommand). The domain must be
attached to the owner's data center and active.

Attachments live on their owner (`owner.disk_attachments`), not in the registry: a
shareable disk may be attached to several VMs and the attachment id is the disk id, as in
the engine. Owners are VMs (rhevsim.virtualmachine) and templates (rhevsim.vmtemplate); both carry
`disk_attachments`, `cluster_id`, `status`, `lock`.

DELETE of an attachment only detaches unless `?detach_only=false` (the v4 default is true,
BackendDiskAttachmentResource.remove).

Timings (simulated seconds): `disk.create` 4 (locked -> ok), `disk.copy` 10 (an image copied
for a template or a cloned VM), `disk.remove` 2 (a floating disk is locked, then gone).

Inventory `disks:` (floating disks): `{name, size (bytes or "10GiB"), storage_domain,
format: cow|raw, sparse: bool, status: ok|illegal, id}`. VM and template disks are listed
under their owner (see rhevsim.virtualmachine and rhevsim.vmtemplate).

The package: `entity` (the Disk and DiskAttachment entities, storage domain checks, the disk
lifecycle, body parsing, owners), `attachments` (/vms/{id}/diskattachments and
/templates/{id}/diskattachments), `disks` (the /disks handlers), `inventory`; this module
registers the routes and hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.api import Api, empty_collections
from rhevsim.disk.attachments import (
    add_attachment,
    get_attachment,
    list_attachments,
    remove_attachment,
    update_attachment,
)
from rhevsim.disk.disks import add_disk, get_disk, list_disks, remove_disk, update_disk
from rhevsim.disk.entity import (
    CONTENT_TYPES,
    DISK_ACTIONS,
    FORMATS,
    GIB,
    INTERFACES,
    STATUSES,
    TIMINGS,
    TYPE_NAME,
    Disk,
    DiskAttachment,
    DiskOwner,
    DiskSpec,
    attach,
    check_domain_usable,
    copy_disk,
    create_image,
    data_center_of_cluster,
    delete_disk,
    disks_of,
    new_disk,
    owners_of,
    parse_disk,
    parse_size,
    path_owner,
    resolve_storage_domain,
    sd_status_name,
    storage_domain,
)
from rhevsim.disk.inventory import (
    attach_from_inventory,
    disk_from_inventory,
    find_storage_domain,
    load_inventory,
)

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def register(api: Api) -> None:
    api.route("GET", "/disks", list_disks)
    api.route("POST", "/disks", add_disk)
    api.route("GET", "/disks/{id}", get_disk)
    api.route("PUT", "/disks/{id}", update_disk)
    api.route("DELETE", "/disks/{id}", remove_disk)

    empty_collections(
        api,
        Disk,
        "/disks/{id}",
        {
            "disksnapshots": "disk_snapshots",
            "permissions": "permissions",
            "statistics": "statistics",
        },
    )
    for owner in ("vms", "templates"):
        base = f"/{owner}/{{id}}/diskattachments"
        api.route("GET", base, list_attachments)
        api.route("POST", base, add_attachment)
        api.route("GET", base + "/{da}", get_attachment)
        api.route("PUT", base + "/{da}", update_attachment)
        api.route("DELETE", base + "/{da}", remove_attachment)


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)


__all__ = [
    "CONTENT_TYPES",
    "DISK_ACTIONS",
    "FORMATS",
    "GIB",
    "INTERFACES",
    "STATUSES",
    "TIMINGS",
    "TYPE_NAME",
    "Disk",
    "DiskAttachment",
    "DiskOwner",
    "DiskSpec",
    "add_attachment",
    "add_disk",
    "attach",
    "attach_from_inventory",
    "check_domain_usable",
    "copy_disk",
    "create_image",
    "data_center_of_cluster",
    "delete_disk",
    "disk_from_inventory",
    "disks_of",
    "find_storage_domain",
    "get_attachment",
    "get_disk",
    "list_attachments",
    "list_disks",
    "load_inventory",
    "new_disk",
    "owners_of",
    "parse_disk",
    "parse_size",
    "path_owner",
    "register",
    "remove_attachment",
    "remove_disk",
    "resolve_storage_domain",
    "sd_status_name",
    "setup",
    "storage_domain",
    "update_attachment",
    "update_disk",
]
