"""Templates from the inventory's `templates:` (and the Blank template)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim.cluster import Cluster
from rhevsim.disk.inventory import attach_from_inventory
from rhevsim.inventory import InventoryError, find
from rhevsim.vmtemplate.config import BLANK_TEMPLATE_ID, VmConfig, config_from_inventory
from rhevsim.vmtemplate.entity import Template

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    reg.add(
        Template(
            id=BLANK_TEMPLATE_ID,
            name="Blank",
            description="Blank template",
            config=VmConfig(),
            creation_time=0.0,
            version_name="base version",
        )
    )
    for i, d in enumerate(find(inv, "templates")):
        where = f"templates[{i}]"
        if d["name"] == "Blank":
            raise InventoryError(f"{where}.name: Blank always exists; choose another name")
        cluster = None
        if d.get("cluster"):
            cluster = reg.by_name(Cluster, str(d["cluster"]))
            if cluster is None:
                raise InventoryError(f"{where}.cluster: no cluster named {d['cluster']!r}")
        t = reg.add(
            Template(
                id=d.get("id") or reg.new_id(),
                name=str(d["name"]),
                description=d.get("description"),
                comment=d.get("comment"),
                cluster_id=cluster.id if cluster is not None else None,
                config=config_from_inventory(d, where, VmConfig()),
                creation_time=reg.clock.wall(),
                version_name=d.get("version_name"),
            )
        )
        attach_from_inventory(reg, t, d.get("disks") or [], where)
        from rhevsim.virtualmachine.inventory import nics_from_inventory

        nics_from_inventory(reg, t, d.get("nics") or [], where)
