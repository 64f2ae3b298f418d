"""Disks from the inventory (VM and template `disks:`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rhevsim.disk.entity import FORMATS, INTERFACES, STATUSES, Disk, attach, new_disk, parse_size
from rhevsim.inventory import InventoryError
from rhevsim.model import Entity

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def find_storage_domain(reg: Registry, name: str) -> Entity | None:
    for sd in reg.iter_kind("storagedomain"):
        if sd.name == name:
            return sd
    return None


def disk_from_inventory(
    reg: Registry, d: dict[str, Any], where: str, *, template_id: str | None = None
) -> Disk:
    """A disk from an inventory mapping (floating, or listed under a VM or template)."""

    if not isinstance(d, dict) or not d.get("name"):
        raise InventoryError(f"{where}: expected a mapping with a name")
    if "size" not in d and "provisioned_size" not in d:
        raise InventoryError(f"{where}.size: required (bytes or a size like 10GiB)")
    size = parse_size(d.get("size", d.get("provisioned_size")), f"{where}.size")
    sd = None
    if d.get("storage_domain"):
        sd = find_storage_domain(reg, str(d["storage_domain"]))
        if sd is None:
            raise InventoryError(
                f"{where}.storage_domain: no storage domain named {d['storage_domain']!r}"
            )
    fmt = str(d.get("format", "cow")).lower()
    if fmt not in FORMATS:
        raise InventoryError(f"{where}.format: expected cow or raw, got {fmt!r}")
    status = str(d.get("status", "ok")).lower()
    if status not in STATUSES:
        raise InventoryError(f"{where}.status: expected one of {', '.join(STATUSES)}")
    return new_disk(
        reg,
        str(d["name"]),
        size,
        sd,
        fmt=fmt,
        sparse=bool(d.get("sparse", fmt == "cow")),
        description=d.get("description"),
        shareable=bool(d.get("shareable", False)),
        status=status,
        ident=d.get("id"),
        template_id=template_id,
    )


def attach_from_inventory(reg: Registry, owner: Any, disks: Iterable[Any], where: str) -> None:
    for i, d in enumerate(disks or ()):
        w = f"{where}.disks[{i}]"
        tmpl = owner.id if owner.KIND == "template" else None
        disk = disk_from_inventory(reg, d, w, template_id=tmpl)
        iface = str(d.get("interface", "virtio_scsi")).lower()
        if iface not in INTERFACES:
            raise InventoryError(f"{w}.interface: expected one of {', '.join(INTERFACES)}")
        attach(
            owner,
            disk,
            interface=iface,
            bootable=bool(d.get("bootable", i == 0)),
            active=bool(d.get("active", True)),
        )


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, d in enumerate(inv.get("disks") or []):
        disk_from_inventory(reg, d, f"disks[{i}]")
