"""Inventory files: what the simulated engine holds at start (see README.md for the format).

`normalize()` validates the top level and fills the defaults of a fresh engine (data center
`Default`, cluster `Default`, management network, user admin@internal/admin). Each entity
module reads its own key in its `load_inventory(reg, inv)`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from rhevsim.registry import Machine, Registry

KNOWN_KEYS = {
    "engine": "engine settings (management_network, product_name, vendor, token_ttl)",
    "users": "list of {name, password}",
    "timings": "map of step name to simulated seconds",
    "datacenters": "list of data centers",
    "clusters": "list of clusters",
    "networks": "list of logical networks",
    "vnic_profiles": "list of extra vNIC profiles",
    "storage_domains": "list of storage domains",
    "machines": "list of physical machines with BMCs",
    "hosts": "list of RHEV-M hosts",
    "templates": "list of templates",
    "vms": "list of virtual machines",
    "disks": "list of floating disks",
}


class InventoryError(ValueError):
    pass


def default_inventory(management_network: str = "rhevm") -> dict[str, Any]:
    return {
        "engine": {"management_network": management_network},
        "users": [{"name": "admin@internal", "password": "admin"}],
        "timings": {},
        "datacenters": [
            {"name": "Default", "description": "The default Data Center", "local": False}
        ],
        "clusters": [
            {
                "name": "Default",
                "description": "The default server cluster",
                "data_center": "Default",
            }
        ],
        "networks": [],  # the management network is added per data center (see network.py)
        "storage_domains": [],
        "machines": [],
    }


def load_file(path: str | Path) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: the inventory must be a mapping of {sorted(KNOWN_KEYS)}")
    return data


def normalize(inv: dict[str, Any]) -> dict[str, Any]:
    """Validate the top level and fill defaults. Keys not given keep the fresh-engine default."""
    if not isinstance(inv, dict):
        raise InventoryError("the inventory must be a mapping")
    unknown = set(inv) - set(KNOWN_KEYS)
    if unknown:
        allowed = ", ".join(f"{k} ({v})" for k, v in KNOWN_KEYS.items())
        raise InventoryError(f"unknown inventory keys {sorted(unknown)}; allowed: {allowed}")
    engine = dict(inv.get("engine") or {})
    out = default_inventory(str(engine.get("management_network", "rhevm")))
    for key, value in copy.deepcopy(inv).items():
        if key in ("engine", "timings"):
            if value is not None and not isinstance(value, dict):
                raise InventoryError(f"{key}: expected a mapping")
            out[key].update(value or {})
        else:
            if value is not None and not isinstance(value, list):
                raise InventoryError(f"{key}: expected a list")
            out[key] = value or []
    for i, u in enumerate(out["users"]):
        if not isinstance(u, dict) or not u.get("name") or "password" not in u:
            raise InventoryError(f"users[{i}]: expected {{name: user@profile, password: ...}}")
        if "@" not in u["name"]:
            raise InventoryError(f"users[{i}].name: expected user@profile, e.g. admin@internal")
    for k, v in out["timings"].items():
        if not isinstance(v, int | float) or v < 0:
            raise InventoryError(f"timings.{k}: expected a number of seconds >= 0")
    return out


def load_machines(reg: Registry, inv: dict[str, Any]) -> None:
    for i, m in enumerate(inv.get("machines", [])):
        if not isinstance(m, dict) or not m.get("name"):
            raise InventoryError(f"machines[{i}]: expected a mapping with a name")
        nics = m.get("nics") or []
        if not isinstance(nics, list) or not all(isinstance(n, dict) and "name" in n for n in nics):
            raise InventoryError(f"machines[{i}].nics: expected a list of {{name, mac}}")
        bmc = m.get("bmc") or {}
        if not isinstance(bmc, dict):
            raise InventoryError(f"machines[{i}].bmc: expected {{port, username, password}}")
        known = {"name", "address", "nics", "bmc", "power", "boot_device"}
        extra = {k: v for k, v in m.items() if k not in known}
        reg.machines[m["name"]] = Machine(
            name=m["name"],
            address=str(m.get("address", "")),
            nics=[{str(k): str(v) for k, v in n.items()} for n in nics],
            bmc=dict(bmc),
            powered_on=str(m.get("power", "off")).lower() == "on",
            boot_device=str(m.get("boot_device", "disk")),
            extra=extra,
        )


def find(inv: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The entries of `key`, each checked to be a mapping with a name."""
    out = []
    for i, item in enumerate(inv.get(key) or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise InventoryError(f"{key}[{i}]: expected a mapping with a name")
        out.append(item)
    return out
