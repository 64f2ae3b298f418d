"""VMs from the inventory's `vms:` and the benchmark builder's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.cluster import Cluster
from rhevsim.clusterpolicies import mac_pool
from rhevsim.disk.inventory import attach_from_inventory
from rhevsim.inventory import InventoryError, find
from rhevsim.virtualmachine.entity import (
    NIC_INTERFACES,
    Nic,
    Vm,
    allocate_mac,
    hosts_by_id,
    schedule_host,
)
from rhevsim.vmtemplate.config import MIB, config_from_inventory
from rhevsim.vmtemplate.entity import Template

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def nics_from_inventory(reg: Registry, owner: Any, nics: list[Any], where: str) -> None:
    for i, n in enumerate(nics or ()):
        w = f"{where}.nics[{i}]"
        if not isinstance(n, dict) or not n.get("name"):
            raise InventoryError(f"{w}: expected a mapping with a name")
        profile_id = None
        pname = n.get("profile") or n.get("network")
        if pname:
            profile_id = _inventory_profile(reg, owner, str(pname), n.get("network"), w)
        iface = str(n.get("interface", "virtio"))
        if iface not in NIC_INTERFACES:
            raise InventoryError(f"{w}.interface: expected one of {', '.join(NIC_INTERFACES)}")
        mac = None
        if owner.KIND == "vm":
            if n.get("mac"):
                mac = str(n["mac"]).lower()
                mac_pool(reg)["used"].add(mac)
            else:
                mac = allocate_mac(reg)
        owner.nics.append(
            Nic(
                id=n.get("id") or reg.new_id(),
                name=str(n["name"]),
                owner_path=owner.PATH,
                owner_id=owner.id,
                interface=iface,
                mac=mac,
                vnic_profile_id=profile_id,
            )
        )


def _inventory_profile(reg: Registry, owner: Any, pname: str, network: Any, where: str) -> str:
    dc_id = None
    cl = reg.objects.get("cluster", {}).get(owner.cluster_id or "")
    if cl is not None:
        dc_id = getattr(cl, "data_center_id", None)
    for p in reg.iter_kind("vnicprofile"):
        if p.name != pname:
            continue
        net = reg.objects.get("network", {}).get(getattr(p, "network_id", ""))
        if net is None or (dc_id is not None and getattr(net, "data_center_id", None) != dc_id):
            continue
        if network is not None and net.name != network:
            continue
        return p.id
    raise InventoryError(
        f"{where}.profile: no vNIC profile named {pname!r} in the VM's data center"
    )


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, d in enumerate(find(inv, "vms")):
        where = f"vms[{i}]"
        cluster = reg.by_name(Cluster, str(d.get("cluster", "Default")))
        if cluster is None:
            raise InventoryError(f"{where}.cluster: no cluster named {d.get('cluster')!r}")
        tmpl = reg.by_name(Template, str(d.get("template", "Blank")))
        if tmpl is None:
            raise InventoryError(f"{where}.template: no template named {d.get('template')!r}")
        if reg.by_name(Vm, str(d["name"])) is not None:
            raise InventoryError(f"{where}.name: duplicate VM name {d['name']!r}")
        d = _builder_keys(d)
        cfg = config_from_inventory(d, where, tmpl.config)
        placement = d.get("placement") or {}
        if placement:
            aff = placement.get("affinity", "migratable")
            if aff not in ("migratable", "user_migratable", "pinned"):
                raise InventoryError(f"{where}.placement.affinity: {aff!r} is not valid")
            cfg.placement_affinity = aff
            for hn in placement.get("hosts") or []:
                h = next((x for x in hosts_by_id(reg).values() if x.name == hn), None)
                if h is None:
                    raise InventoryError(f"{where}.placement.hosts: no host named {hn!r}")
                cfg.placement_host_ids.append(h.id)
        vm = reg.add(
            Vm(
                id=d.get("id") or reg.new_id(),
                name=str(d["name"]),
                description=d.get("description"),
                comment=d.get("comment"),
                cluster_id=cluster.id,
                template_id=tmpl.id,
                original_template_id=tmpl.id,
                config=cfg,
                creation_time=reg.clock.wall(),
            )
        )
        attach_from_inventory(reg, vm, d.get("disks") or [], where)
        nics_from_inventory(reg, vm, d.get("nics") or [], where)
        status = str(d.get("status", "down"))
        if status not in ("down", "up", "suspended"):
            raise InventoryError(f"{where}.status: expected down, up or suspended")
        if status == "up":
            host = None
            if d.get("host"):
                host = next((x for x in hosts_by_id(reg).values() if x.name == d["host"]), None)
                if host is None:
                    raise InventoryError(f"{where}.host: no host named {d['host']!r}")
            else:
                try:
                    host = schedule_host(reg, vm, "run")
                except errors.ApiError:
                    raise InventoryError(
                        f"{where}.status: up needs an up host in cluster {cluster.name}"
                    ) from None
            vm.host_id = host.id
            vm.status = "up"
            vm.start_time = reg.clock.wall()
        elif status == "suspended":
            vm.status = "suspended"


def _builder_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Accept the builder's short keys (memory_mib, cpus) besides memory and cpu."""
    if "memory_mib" not in d and "cpus" not in d:
        return d
    out = dict(d)
    if "memory_mib" in out:
        out.setdefault("memory", int(out.pop("memory_mib")) * MIB)
    if "cpus" in out:
        out.setdefault("cpu", {"sockets": int(out.pop("cpus"))})
    return out


def build_inventory(inv: dict[str, Any], spec: Any) -> None:
    """builder.py hook: every VM gets a 10 GiB thin boot disk on its data center's data
    domain and a virtio NIC on the first VM network of its data center, so it can start."""
    dc_of_cluster = {c["name"]: c.get("data_center") for c in inv.get("clusters") or []}
    domain_of_dc: dict[str, str] = {}
    for sd in inv.get("storage_domains") or []:
        if sd.get("type", "data") == "data" and sd.get("data_center"):
            domain_of_dc.setdefault(sd["data_center"], sd["name"])
    net_of_dc: dict[str, str] = {}
    for n in inv.get("networks") or []:
        if n.get("data_center") and n.get("vm", True):
            net_of_dc.setdefault(n["data_center"], n["name"])
    for vm in inv.get("vms") or []:
        dc = dc_of_cluster.get(vm.get("cluster", "Default"))
        vm.update(_builder_keys(vm))
        if dc in domain_of_dc and "disks" not in vm:
            vm["disks"] = [
                {
                    "name": f"{vm['name']}_Disk1",
                    "size": "10GiB",
                    "storage_domain": domain_of_dc[dc],
                    "interface": "virtio_scsi",
                    "bootable": True,
                }
            ]
        if dc in net_of_dc and "nics" not in vm:
            vm["nics"] = [{"name": "nic1", "profile": net_of_dc[dc], "interface": "virtio"}]
