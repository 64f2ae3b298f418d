"""Disks and disk attachments: the entities, storage domain checks, lifecycle, body parsing,
owners."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Request,
    member_or_404,
)
from rhevsim.datacenter import ENGINE_USER
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, enum, has, integer, text, xml_bool

if TYPE_CHECKING:
    from rhevsim.registry import Registry


GIB = 1024**3


STATUSES = ("ok", "locked", "illegal")


FORMATS = ("cow", "raw")


INTERFACES = ("ide", "virtio", "virtio_scsi", "sata", "spapr_vscsi")


CONTENT_TYPES = ("data", "iso", "memory_dump_volume", "memory_metadata_volume", "ovf_store")


TYPE_NAME = "Virtual Disk"  # VAR__TYPE__DISK


DISK_ACTIONS = ("convert", "copy", "export", "move", "reduce", "refreshlun", "sparsify")


CODES.update(
    {
        "USER_ADD_DISK_TO_VM": 78,
        "USER_ADD_DISK_TO_VM_FINISHED_SUCCESS": 97,
        "USER_ADD_DISK_TO_VM_FINISHED_FAILURE": 98,
        "USER_REMOVE_DISK_FROM_VM": 80,
        "USER_UPDATE_VM_DISK": 88,
        "USER_EXTEND_DISK_SIZE_SUCCESS": 371,
        "USER_ATTACH_DISK_TO_VM": 2016,
        "USER_DETACH_DISK_FROM_VM": 2018,
        "USER_ADD_DISK": 2020,
        "USER_ADD_DISK_FINISHED_SUCCESS": 2021,
        "USER_ADD_DISK_FINISHED_FAILURE": 2022,
        "USER_FINISHED_REMOVE_DISK": 2014,
        "USER_REMOVE_DISK_INITIATED": 2038,
    }
)


TIMINGS = {"disk.create": 4.0, "disk.copy": 10.0, "disk.remove": 2.0}


class DiskOwner(Protocol):
    """What a VM or a template offers to the disk code."""

    id: str
    name: str
    status: str
    lock: str | None
    cluster_id: str | None
    disk_attachments: list[DiskAttachment]
    KIND: str
    PATH: str
    TYPE_NAME: str


@dataclass(kw_only=True, eq=False)
class Disk(Entity):
    KIND = "disk"
    TAG = "disk"
    PLURAL = "disks"
    PATH = "disks"
    TYPE_NAME = TYPE_NAME
    REF_NAME = "Disk"

    provisioned_size: int
    format: str = "cow"
    sparse: bool = True
    status: str = "ok"
    storage_domain_id: str | None = None
    image_id: str = ""
    shareable: bool = False
    wipe_after_delete: bool = False
    content_type: str = "data"
    propagate_errors: bool = False
    # Set when the disk belongs to a template (template disks are listed in /disks too).
    template_id: str | None = None

    @property
    def actual_size(self) -> int:
        """Bytes used on the domain: sparse images start small, preallocated ones are full."""
        if self.sparse:
            return min(self.provisioned_size, 200 * 1024 * 1024)
        return self.provisioned_size

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.actions(el, self, DISK_ACTIONS)
        ctx.common(el, self)
        for rel in ("disksnapshots", "permissions", "statistics"):
            ctx.link(el, self, rel)
        sub = etree.SubElement
        sub(el, "actual_size").text = str(self.actual_size)
        sub(el, "alias").text = self.name
        sub(el, "backup").text = "none"
        sub(el, "content_type").text = self.content_type
        sub(el, "format").text = self.format
        sub(el, "image_id").text = self.image_id
        sub(el, "propagate_errors").text = xml_bool(self.propagate_errors)
        sub(el, "provisioned_size").text = str(self.provisioned_size)
        if self.format == "cow":
            sub(el, "qcow_version").text = "qcow2_v3"
        sub(el, "shareable").text = xml_bool(self.shareable)
        sub(el, "sparse").text = xml_bool(self.sparse)
        sub(el, "status").text = self.status
        sub(el, "storage_type").text = "image"
        sub(el, "total_size").text = str(self.actual_size)
        sub(el, "wipe_after_delete").text = xml_bool(self.wipe_after_delete)
        if self.storage_domain_id:
            sds = sub(el, "storage_domains")
            ctx.ref_id(sds, "storage_domain", "storagedomains", self.storage_domain_id)
        return el

    # searchbackend DiskConditionFieldAutoCompleter (the verbs) and DiskCrossRefAutoCompleter
    # (Datacenter and Storage); "format" is a simulator extra.
    SEARCH_KEYS = frozenset(
        {
            "alias", "name", "description", "provisioned_size", "size", "actual_size",
            "creation_date", "shareable", "status", "disk_type", "disk_content_type",
            "allocation_policy", "number_of_vms", "vm_names", "quota", "id",
            "wipe_after_delete", "last_modified", "format", "content_type",
            "storage", "storage.name", "storage.id", "datacenter", "datacenter.name",
        }
    )  # fmt: skip

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        sd = storage_domain(reg, self.storage_domain_id)
        vms = sorted(
            vm.name
            for vm in reg.iter_kind("vm")
            if any(a.id == self.id for a in getattr(vm, "disk_attachments", ()))
        )
        return {
            "name": self.name,
            "alias": self.name,
            "id": self.id,
            "description": self.description,
            "status": self.status,
            "format": self.format,
            "provisioned_size": self.provisioned_size,
            "storage": sd.name if sd else None,
            "storage.name": sd.name if sd else None,
            "storage.id": sd.id if sd else None,
            "shareable": self.shareable,
            "content_type": self.content_type,
            "disk_content_type": self.content_type,
            "disk_type": "image",
            "allocation_policy": "sparse" if self.sparse else "preallocated",
            "wipe_after_delete": self.wipe_after_delete,
            "number_of_vms": len(vms),
            "vm_names": ",".join(vms) if vms else None,
        }


@dataclass(kw_only=True, eq=False)
class DiskAttachment(Entity):
    """A disk as seen by a VM or template; its id is the disk id."""

    KIND = "diskattachment"
    TAG = "disk_attachment"
    PLURAL = "disk_attachments"
    TYPE_NAME = "Disk Attachment"
    REF_NAME = "DiskAttachment"

    owner_path: str  # "vms" | "templates"
    owner_id: str
    interface: str = "virtio_scsi"
    bootable: bool = False
    active: bool = True
    pass_discard: bool = False
    read_only: bool = False
    storage_domain_id: str | None = None  # the disk's domain (disks are not moved)

    def href(self) -> str:
        return f"/{self.owner_path}/{self.owner_id}/diskattachments/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        sub = etree.SubElement
        sub(el, "active").text = xml_bool(self.active)
        sub(el, "bootable").text = xml_bool(self.bootable)
        sub(el, "interface").text = self.interface
        sub(el, "pass_discard").text = xml_bool(self.pass_discard)
        sub(el, "read_only").text = xml_bool(self.read_only)
        sub(el, "uses_scsi_reservation").text = "false"
        disk = ctx.reg.objects.get("disk", {}).get(self.id)
        if "disk" in ctx.follow and isinstance(disk, Disk):
            el.append(disk.render(ctx.nested("disk")))
        else:
            ctx.ref_id(el, "disk", "disks", self.id)
        tag = "vm" if self.owner_path == "vms" else "template"
        ctx.ref_id(el, tag, self.owner_path, self.owner_id)
        return el


def storage_domain(reg: Registry, ident: str | None) -> Entity | None:
    if not ident:
        return None
    return reg.objects.get("storagedomain", {}).get(ident)


def sd_status_name(status: str) -> str:
    """The Java enum name the engine puts in `${status}` (PreparingForMaintenance, ...)."""
    return "".join(p.capitalize() for p in status.split("_"))


def resolve_storage_domain(req: Request, el: Element | None) -> Entity | None:
    """`<storage_domain id=..>` or `<storage_domain><name>x</name>`; 404 for unknown names."""
    if el is None:
        return None
    ident = el.get("id")
    name = text(el, "name")
    if ident:
        sd = storage_domain(req.reg, ident)
        if sd is None:
            raise errors.entity_not_found("StorageDomain", "id", ident)
        return sd
    if name:
        for sd in req.reg.iter_kind("storagedomain"):
            if sd.name == name:
                return sd
        raise errors.entity_not_found("StorageDomain", "name", name)
    return None


def check_domain_usable(
    reg: Registry, sd: Entity, dc_id: str | None, action: str, type_name: str, needed: int = 0
) -> None:
    """AddDiskCommand's domain checks: attached to the owner's data center, active, space."""
    if dc_id is not None and getattr(sd, "data_center_id", None) != dc_id:
        raise errors.bad_request(f"Cannot {action} {type_name}. Storage Domain doesn't exist.")
    if getattr(sd, "domain_type", "data") not in ("data", None):
        raise errors.bad_request(f"Cannot {action} {type_name}. Storage Domain type is illegal.")
    status = getattr(sd, "dc_status", None) or getattr(sd, "status", None) or "active"
    if status != "active":
        raise errors.conflict(
            f"Cannot {action} {type_name}. The relevant Storage Domain's status is "
            f"{sd_status_name(str(status))}."
        )
    available = getattr(sd, "available", None)
    if needed and isinstance(available, int) and available < needed:
        raise errors.conflict(
            f"Cannot {action} {type_name}. Low disk space on Storage Domain {sd.name}."
        )


def _account(reg: Registry, disk: Disk, sign: int) -> None:
    """Move the disk's bytes into (sign=1) or out of (-1) its domain's used/committed/available
    counters, when the storage domain module keeps them."""
    sd = storage_domain(reg, disk.storage_domain_id)
    if sd is None:
        return
    for attr, delta in (
        ("used", disk.actual_size),
        ("available", -disk.actual_size),
        ("committed", disk.provisioned_size),
    ):
        cur = getattr(sd, attr, None)
        if isinstance(cur, int) and not isinstance(cur, bool):
            setattr(sd, attr, max(0, cur + sign * delta))


def data_center_of_cluster(reg: Registry, cluster_id: str | None) -> str | None:
    if not cluster_id:
        return None
    cl = reg.objects.get("cluster", {}).get(cluster_id)
    return getattr(cl, "data_center_id", None) if cl is not None else None


def new_disk(
    reg: Registry,
    name: str,
    size: int,
    sd: Entity | None,
    *,
    fmt: str = "cow",
    sparse: bool = True,
    description: str | None = None,
    shareable: bool = False,
    wipe_after_delete: bool = False,
    content_type: str = "data",
    status: str = "ok",
    ident: str | None = None,
    template_id: str | None = None,
) -> Disk:
    disk = reg.add(
        Disk(
            id=ident or reg.new_id(),
            name=name,
            description=description,
            provisioned_size=size,
            format=fmt,
            sparse=sparse,
            status=status,
            storage_domain_id=sd.id if sd is not None else None,
            image_id=reg.new_id(),
            shareable=shareable,
            wipe_after_delete=wipe_after_delete,
            content_type=content_type,
            template_id=template_id,
        )
    )
    _account(reg, disk, 1)
    return disk


def create_image(
    reg: Registry, disk: Disk, timing: str, done: Callable[[bool], None] | None = None
) -> None:
    """Lock the disk, then after `timing` make it ok and call `done(True)`; if its storage
    domain left `active` meanwhile, the image is `illegal` and `done(False)`
    (AddImageFromScratch's endWithFailure)."""
    disk.status = "locked"
    disk.lock = "AddImage"

    def finish() -> None:
        if reg.objects.get("disk", {}).get(disk.id) is not disk:
            return  # removed meanwhile
        sd = storage_domain(reg, disk.storage_domain_id)
        sd_status = getattr(sd, "dc_status", None) or getattr(sd, "status", None) or "active"
        ok = sd_status == "active"
        disk.status = "ok" if ok else "illegal"
        disk.lock = None
        if done is not None:
            done(ok)

    reg.schedule(timing, finish, f"{timing} {disk.name}")


def copy_disk(
    reg: Registry, src: Disk, name: str, sd: Entity | None, *, template_id: str | None = None
) -> Disk:
    """A new locked disk with src's size and format (the caller schedules the end)."""
    return new_disk(
        reg,
        name,
        src.provisioned_size,
        sd if sd is not None else storage_domain(reg, src.storage_domain_id),
        fmt=src.format,
        sparse=src.sparse,
        description=src.description,
        shareable=src.shareable,
        wipe_after_delete=src.wipe_after_delete,
        content_type=src.content_type,
        status="locked",
        template_id=template_id,
    )


def delete_disk(reg: Registry, disk: Disk) -> None:
    """Forget the disk and give its space back."""
    if reg.objects.get("disk", {}).get(disk.id) is disk:
        _account(reg, disk, -1)
        reg.remove(disk)
    for owner in owners_of(reg, disk.id):
        owner.disk_attachments = [a for a in owner.disk_attachments if a.id != disk.id]


def owners_of(reg: Registry, disk_id: str) -> list[Any]:
    out = []
    for kind in ("vm", "template"):
        for o in reg.iter_kind(kind):
            if any(a.id == disk_id for a in getattr(o, "disk_attachments", ())):
                out.append(o)
    return out


def disks_of(reg: Registry, owner: Any) -> list[Disk]:
    table = reg.objects.get("disk", {})
    out = []
    for a in owner.disk_attachments:
        d = table.get(a.id)
        if isinstance(d, Disk):
            out.append(d)
    return out


def parse_size(value: Any, where: str) -> int:
    """Bytes from an int or a string like "10GiB", "512M", "1T" (binary units)."""

    if isinstance(value, bool):
        raise InventoryError(f"{where}: expected bytes or a size like 10GiB")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", str(value), re.I)
    if m is None:
        raise InventoryError(f"{where}: expected bytes or a size like 10GiB, got {value!r}")
    mult = {"": 1, "K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}[m.group(2).upper()]
    return int(m.group(1)) * mult


@dataclass
class DiskSpec:
    """A new disk as described in a request body."""

    name: str | None
    size: int
    fmt: str
    sparse: bool
    sd: Entity | None
    description: str | None = None
    shareable: bool = False
    wipe_after_delete: bool = False
    content_type: str = "data"
    extra: dict[str, Any] = field(default_factory=dict)


def parse_disk(req: Request, el: Element | None, method: str = "add") -> DiskSpec:
    """`<disk>` of POST /disks or of a new-disk attachment (Incomplete parameters, enums)."""
    missing = []
    if not has(el, "provisioned_size") and not has(el, "size"):
        missing.append("provisionedSize|size")
    if not has(el, "format"):
        missing.append("format")
    sds = el.find("storage_domains") if el is not None else None
    sd_el = sds.find("storage_domain") if sds is not None else None
    if sd_el is None and el is not None:
        sd_el = el.find("storage_domain")
    if missing:
        raise errors.incomplete("Disk", missing, method)
    size = integer(el, "provisioned_size")
    if size is None:
        size = integer(el, "size")
    fmt = enum(el, "format", FORMATS, "DiskFormat") or "cow"
    if size is None or size <= 0:
        raise errors.bad_request(
            f"Cannot add {TYPE_NAME}. Disk's provisioned size has to be greater than 0."
        )
    sd = resolve_storage_domain(req, sd_el)
    if sd is None:
        raise errors.incomplete("Disk", ["storageDomains.storageDomain.id|name"], method)
    sparse = boolean(el, "sparse")
    if sparse is None:
        sparse = fmt == "cow"
    if fmt == "raw" and sparse is False:
        pass  # preallocated
    content = enum(el, "content_type", CONTENT_TYPES, "DiskContentType") or "data"
    return DiskSpec(
        name=text(el, "name") or text(el, "alias"),
        size=size,
        fmt=fmt,
        sparse=sparse,
        sd=sd,
        description=text(el, "description"),
        shareable=bool(boolean(el, "shareable")),
        wipe_after_delete=bool(boolean(el, "wipe_after_delete")),
        content_type=content,
    )


def needed_bytes(spec: DiskSpec) -> int:
    return 0 if spec.sparse else spec.size


def path_owner(req: Request) -> Any:
    """The VM or template of /vms/{id}/... or /templates/{id}/... (404 when unknown)."""
    kind = "vm" if req.template.startswith("/vms/") else "template"
    obj = req.reg.objects.get(kind, {}).get(req.params["id"])
    if obj is None:
        raise errors.not_found_url()
    return obj


def attachment(owner: Any, ident: str) -> DiskAttachment:
    return member_or_404(owner.disk_attachments, ident)  # type: ignore[no-any-return]


def vm_running(owner: Any) -> bool:
    return owner.KIND == "vm" and owner.status not in ("down", "image_locked", "suspended")


def attach(
    owner: Any,
    disk: Disk,
    *,
    interface: str = "virtio_scsi",
    bootable: bool = False,
    active: bool = True,
    pass_discard: bool = False,
    read_only: bool = False,
) -> DiskAttachment:
    att = DiskAttachment(
        id=disk.id,
        owner_path=owner.PATH,
        owner_id=owner.id,
        interface=interface,
        bootable=bootable,
        active=active,
        pass_discard=pass_discard,
        read_only=read_only,
        storage_domain_id=disk.storage_domain_id,
    )
    owner.disk_attachments.append(att)
    return att


def check_bootable(reg: Registry, owner: Any, action: str, exclude: str | None = None) -> None:
    """Only one bootable disk per VM (ACTION_TYPE_FAILED_DISK_BOOT_IN_USE)."""
    for a in owner.disk_attachments:
        if a.bootable and a.id != exclude:
            d = reg.objects.get("disk", {}).get(a.id)
            raise errors.conflict(
                f"Cannot {action} {TYPE_NAME}. Disk {d.name if d else a.id} in VM "
                f"{owner.name} is already marked as boot."
            )


def update_disk_fields(
    req: Request, disk: Disk, body: Element, correlation_id: str, vm: Any = None
) -> None:
    new_size = integer(body, "provisioned_size")
    if new_size is not None and new_size != disk.provisioned_size:
        if new_size < disk.provisioned_size:
            raise errors.bad_request(
                f"Cannot update {TYPE_NAME}. New disk size must be larger than the current "
                "disk size."
            )
        _account(req.reg, disk, -1)
        disk.provisioned_size = new_size
        _account(req.reg, disk, 1)
        req.reg.event(
            CODES["USER_EXTEND_DISK_SIZE_SUCCESS"],
            f"Size of the disk '{disk.name}' was successfully updated to "
            f"{new_size // GIB} GB by {ENGINE_USER}.",
            correlation_id=correlation_id,
            vm=vm,
        )
    name = text(body, "name") or text(body, "alias")
    if name:
        disk.name = name
    if has(body, "description"):
        disk.description = text(body, "description") or ""
    if has(body, "comment"):
        disk.comment = text(body, "comment") or ""
    for key in ("shareable", "wipe_after_delete", "propagate_errors"):
        v = boolean(body, key)
        if v is not None:
            setattr(disk, key, v)
