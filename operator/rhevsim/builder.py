"""Deterministic large inventories for benchmarks and scale tests.

    from rhevsim.builder import build_inventory
    inv = build_inventory(hosts=50, vms=1000, seed=1)

The result is a plain inventory dict (the YAML format of README.md): data centers, clusters,
networks, one active NFS data domain per data center, physical machines with BMCs, hosts
that are Up, and VMs (a share of them Up on hosts, the rest Down).

Extension point: an entity module may define `build_inventory(inv: dict, spec: BuildSpec)`
to write or rewrite its own section (rhevsim.hypervisor for `hosts`, rhevsim.virtualmachine
for `vms`, ...). The builder calls them in module order after writing its defaults below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from rhevsim.entities import MODULES


@dataclass
class BuildSpec:
    hosts: int
    vms: int
    seed: int
    datacenters: int
    clusters_per_dc: int
    vm_up_ratio: float
    bmc_base_port: int
    rng: random.Random = field(repr=False, default_factory=random.Random)
    cluster_names: list[str] = field(default_factory=list)
    host_names: list[str] = field(default_factory=list)


def _mac(i: int, nic: int) -> str:
    return f"52:54:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}:{nic:02x}"


def build_inventory(
    hosts: int = 2,
    vms: int = 0,
    seed: int = 0,
    *,
    datacenters: int = 1,
    clusters_per_dc: int = 1,
    vm_up_ratio: float = 0.5,
    bmc_base_port: int = 16230,
    management_network: str = "rhevm",
) -> dict[str, Any]:
    if hosts < 0 or vms < 0 or datacenters < 1 or clusters_per_dc < 1:
        raise ValueError("hosts and vms must be >= 0; datacenters and clusters_per_dc >= 1")
    if not 0.0 <= vm_up_ratio <= 1.0:
        raise ValueError("vm_up_ratio must be between 0 and 1")
    spec = BuildSpec(
        hosts=hosts,
        vms=vms,
        seed=seed,
        datacenters=datacenters,
        clusters_per_dc=clusters_per_dc,
        vm_up_ratio=vm_up_ratio,
        bmc_base_port=bmc_base_port,
        rng=random.Random(seed),
    )
    inv: dict[str, Any] = {
        "engine": {"management_network": management_network},
        "datacenters": [],
        "clusters": [],
        "networks": [],
        "storage_domains": [],
        "machines": [],
        "hosts": [],
        "vms": [],
    }
    for d in range(datacenters):
        dc = "Default" if d == 0 else f"dc{d:02d}"
        inv["datacenters"].append({"name": dc, "local": False})
        for c in range(clusters_per_dc):
            cl = "Default" if d == 0 and c == 0 else f"{dc}-cl{c:02d}"
            spec.cluster_names.append(cl)
            inv["clusters"].append(
                {"name": cl, "data_center": dc, "cpu_type": "Intel Skylake Server Family"}
            )
        inv["networks"].append(
            {
                "name": "vmnet",
                "data_center": dc,
                "vlan": 100 + d,
                "clusters": [
                    {"name": n, "required": False}
                    for n in spec.cluster_names
                    if n.startswith(dc) or (d == 0 and n == "Default")
                ],
            }
        )
        inv["storage_domains"].append(
            {
                "name": f"{dc.lower()}-data",
                "type": "data",
                "storage": {"type": "nfs", "address": "192.0.2.10", "path": f"/exports/{dc}"},
                "data_center": dc,
                "status": "active",
                "available_gib": 4096,
                "used_gib": 512,
            }
        )
    for h in range(hosts):
        name = f"hv{h + 1:03d}"
        spec.host_names.append(name)
        address = f"10.10.{(h + 1) // 250}.{(h + 1) % 250 + 1}"
        inv["machines"].append(
            {
                "name": name,
                "address": address,
                "nics": [
                    {"name": "eth0", "mac": _mac(h + 1, 0)},
                    {"name": "eth1", "mac": _mac(h + 1, 1)},
                ],
                "bmc": {"port": bmc_base_port + h, "username": "admin", "password": "admin"},
                "power": "on",
                "boot_device": "disk",
            }
        )
        inv["hosts"].append(
            {
                "name": name,
                "address": address,
                "cluster": spec.cluster_names[h % len(spec.cluster_names)],
                "status": "up",
                "machine": name,
            }
        )
    n_up = round(vms * vm_up_ratio) if hosts else 0
    for v in range(vms):
        cl = spec.cluster_names[v % len(spec.cluster_names)]
        on_cluster = [x["name"] for x in inv["hosts"] if x["cluster"] == cl]
        up = v < n_up and bool(on_cluster)
        vm: dict[str, Any] = {
            "name": f"vm{v + 1:04d}",
            "cluster": cl,
            "template": "Blank",
            "memory_mib": spec.rng.choice((1024, 2048, 4096, 8192)),
            "cpus": spec.rng.choice((1, 2, 4)),
            "status": "up" if up else "down",
        }
        if up:
            vm["host"] = on_cluster[v % len(on_cluster)]
        inv["vms"].append(vm)
    for mod in MODULES:
        fn = getattr(mod, "build_inventory", None)
        if fn is not None:
            fn(inv, spec)
    return inv
