"""Hosts from the inventory's `hosts:` and the benchmark builder's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim.cluster import Cluster
from rhevsim.datacenter import DataCenter
from rhevsim.fenceagent import FenceAgent
from rhevsim.hostnic import NetworkAttachment
from rhevsim.hypervisor.crud import new_host
from rhevsim.hypervisor.host import HOST_STATUSES, HOST_TYPES, GiB, Host, find_machine
from rhevsim.hypervisor.spm import elect_now
from rhevsim.hypervisor.status import ensure_management
from rhevsim.inventory import InventoryError, find
from rhevsim.network import Network, recompute_cluster_status

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, e in enumerate(find(inv, "hosts")):
        where = f"hosts[{i}]"
        name = str(e["name"])
        if reg.by_name(Host, name) is not None:
            raise InventoryError(f"{where}.name: duplicate host name {name!r}")
        cl_name = str(e.get("cluster", "Default"))
        cluster = reg.by_name(Cluster, cl_name)
        if cluster is None:
            raise InventoryError(f"{where}.cluster: no cluster named {cl_name!r}")
        status = str(e.get("status", "up"))
        if status not in HOST_STATUSES:
            raise InventoryError(f"{where}.status: {status!r} is not one of {HOST_STATUSES}")
        mname = e.get("machine")
        machine = reg.machines.get(str(mname)) if mname else None
        if mname and machine is None:
            raise InventoryError(f"{where}.machine: no machine named {mname!r}")
        if machine is None:
            machine = find_machine(reg, name, str(e.get("address", "")))
        address = str(e.get("address") or (machine.address if machine else "") or name)
        nics = e.get("nics")
        if nics is not None and (
            not isinstance(nics, list) or not all(isinstance(n, dict) and "name" in n for n in nics)
        ):
            raise InventoryError(f"{where}.nics: expected a list of {{name, mac}}")
        htype = str(e.get("type", "rhel"))
        if htype not in HOST_TYPES:
            raise InventoryError(f"{where}.type: {htype!r} is not one of {HOST_TYPES}")
        prio = e.get("spm_priority", 5)
        if not isinstance(prio, int) or not -1 <= prio <= 10:
            raise InventoryError(f"{where}.spm_priority: expected an integer -1..10")
        h = new_host(
            reg,
            name,
            address,
            cluster,
            machine=machine,
            nics=[{str(k): str(v) for k, v in n.items()} for n in nics] if nics else None,
            ident=e.get("id"),
            event=False,
        )
        h.host_type = htype
        h.spm_priority = prio
        h.description = e.get("description")
        h.comment = e.get("comment")
        if "memory_gib" in e:
            h.memory = int(e["memory_gib"]) * GiB
        cpu = e.get("cpu") or {}
        if not isinstance(cpu, dict):
            raise InventoryError(f"{where}.cpu: expected {{sockets, cores, threads}}")
        h.cpu_sockets = int(cpu.get("sockets", h.cpu_sockets))
        h.cpu_cores = int(cpu.get("cores", h.cpu_cores))
        h.cpu_threads = int(cpu.get("threads", h.cpu_threads))
        h.status = status
        h.admin_maintenance = status == "maintenance"
        if status not in ("pending_approval", "install_failed", "installing_os"):
            ensure_management(reg, h)
        for j, n in enumerate(e.get("networks") or []):
            w = f"{where}.networks[{j}]"
            if not isinstance(n, dict) or "network" not in n:
                raise InventoryError(f"{w}: expected {{network, nic, boot_protocol, ip, ...}}")
            net = next(
                (
                    x
                    for x in reg.all(Network)
                    if x.name == n["network"] and x.data_center_id == cluster.data_center_id
                ),
                None,
            )
            if net is None:
                raise InventoryError(f"{w}.network: no network {n['network']!r} in the host's DC")
            nic = str(n.get("nic", h.nics[0].name))
            if not any(x.name == nic for x in h.nics):
                raise InventoryError(f"{w}.nic: the host has no NIC {nic!r}")
            bp = str(n.get("boot_protocol", "static" if n.get("ip") else "none"))
            if bp not in ("none", "dhcp", "static"):
                raise InventoryError(f"{w}.boot_protocol: expected none, dhcp or static")
            h.attachments.append(
                NetworkAttachment(
                    id=reg.new_id(),
                    host_id=h.id,
                    network_id=net.id,
                    nic_name=nic,
                    boot_protocol=bp,
                    address=n.get("ip"),
                    netmask=n.get("netmask"),
                    gateway=n.get("gateway"),
                )
            )
        pm = e.get("power_management") or {}
        if not isinstance(pm, dict):
            raise InventoryError(f"{where}.power_management: expected {{enabled, agents}}")
        for k, a in enumerate(pm.get("agents") or []):
            if not isinstance(a, dict) or "address" not in a:
                raise InventoryError(
                    f"{where}.power_management.agents[{k}]: expected {{address, ...}}"
                )
            h.agents.append(
                FenceAgent(
                    id=reg.new_id(),
                    host_id=h.id,
                    address=str(a["address"]),
                    port=int(a["port"]) if a.get("port") is not None else None,
                    agent_type=str(a.get("type", "ipmilan")),
                    username=str(a.get("username", "")),
                    password=str(a.get("password", "")),
                    order=int(a.get("order", k + 1)),
                )
            )
        h.pm_enabled = bool(pm.get("enabled", bool(h.agents)))
        if machine is not None and status in ("up", "maintenance", "non_operational"):
            machine.powered_on = True
        if machine is not None and status in ("down", "non_responsive"):
            pass
    for cl in reg.all(Cluster):
        recompute_cluster_status(reg, cl)
    for dc in reg.all(DataCenter):
        elect_now(reg, dc)


def build_inventory(inv: dict[str, Any], spec: Any) -> None:
    """rhevsim.builder hook: the host part of a generated inventory.

    Every host gets an IPMI fence agent matching its machine's BMC (power management on),
    and SPM priorities vary deterministically (hv001 of each cluster 10, then 5, every
    tenth host -1) so elections have a clear winner and some hosts never compete.
    """
    machines = {m["name"]: m for m in inv.get("machines", [])}
    first_in_cluster: set[str] = set()
    for i, h in enumerate(inv.get("hosts", [])):
        cl = str(h.get("cluster", "Default"))
        if cl not in first_in_cluster:
            first_in_cluster.add(cl)
            h.setdefault("spm_priority", 10)
        else:
            h.setdefault("spm_priority", -1 if i % 10 == 9 else 5)
        m = machines.get(str(h.get("machine", h["name"])))
        bmc = (m or {}).get("bmc") or {}
        if bmc.get("port") and "power_management" not in h:
            h["power_management"] = {
                "enabled": True,
                "agents": [
                    {
                        "address": "127.0.0.1",
                        "port": bmc["port"],
                        "type": "ipmilan",
                        "username": bmc.get("username", "admin"),
                        "password": bmc.get("password", "admin"),
                    }
                ],
            }
