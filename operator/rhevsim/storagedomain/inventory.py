"""Storage domains from the inventory's `storage_domains:`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim.datacenter import DataCenter, storage_changed
from rhevsim.inventory import InventoryError, find
from rhevsim.storagedomain.entity import FILE_TYPES, GiB, StorageDomain, master_of

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    """storage_domains: attached ones may say `status: active|maintenance` (default active);
    the first data domain of a data center becomes master. No transitions are scheduled."""

    for i, s in enumerate(find(inv, "storage_domains")):
        where = f"storage_domains[{i}]"
        storage = s.get("storage") or {}
        if not isinstance(storage, dict):
            raise InventoryError(f"{where}.storage: expected {{type, address, path}}")
        stype = str(storage.get("type", "nfs"))
        if stype not in FILE_TYPES:
            raise InventoryError(f"{where}.storage.type: expected one of {FILE_TYPES}")
        dtype = str(s.get("type", "data"))
        if dtype not in ("data", "iso", "export"):
            raise InventoryError(f"{where}.type: expected data, iso or export")
        sd = reg.add(
            StorageDomain(
                id=s.get("id") or reg.new_id(),
                name=str(s["name"]),
                description=s.get("description"),
                domain_type=dtype,
                storage_type=stype,
                address=storage.get("address"),
                path=storage.get("path"),
                available=int(s.get("available_gib", 500)) * GiB,
                used=int(s.get("used_gib", 20)) * GiB,
            )
        )
        if s.get("data_center"):
            dc = reg.by_name(DataCenter, str(s["data_center"]))
            if dc is None:
                raise InventoryError(f"{where}.data_center: no data center {s['data_center']!r}")
            status = str(s.get("status", "active"))
            if status not in ("active", "maintenance"):
                raise InventoryError(f"{where}.status: expected active or maintenance")
            sd.data_center_id = dc.id
            sd.dc_status = status
            if dtype == "data" and master_of(reg, dc.id) is None:
                sd.master = True
    for dc in reg.all(DataCenter):
        storage_changed(reg, dc)
