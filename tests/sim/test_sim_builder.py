"""The deterministic inventory builder: same seed, same inventory; it loads and serves."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from lxml import etree

from rhevsim.builder import build_inventory


def test_same_seed_same_inventory_and_different_seed_differs() -> None:
    a = build_inventory(hosts=4, vms=20, seed=7)
    assert a == build_inventory(hosts=4, vms=20, seed=7)
    assert a != build_inventory(hosts=4, vms=20, seed=8)
    assert [h["name"] for h in a["hosts"]] == ["hv001", "hv002", "hv003", "hv004"]
    assert len({m["bmc"]["port"] for m in a["machines"]}) == 4
    assert sum(v["status"] == "up" for v in a["vms"]) == 10


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="vm_up_ratio"):
        build_inventory(vm_up_ratio=2.0)
    with pytest.raises(ValueError, match="datacenters"):
        build_inventory(datacenters=0)


def test_built_inventory_loads_with_up_data_centers(simulator_factory: Any) -> None:
    inv = build_inventory(hosts=3, vms=6, seed=1, datacenters=2)
    sim = simulator_factory(inv)
    sim.advance(120)  # SPM election on the clock
    auth = ("admin@internal", "admin")
    dcs = etree.fromstring(
        requests.get(sim.api_url + "/datacenters", auth=auth, timeout=10).content
    )
    assert {d.findtext("name"): d.findtext("status") for d in dcs} == {
        "Default": "up",
        "dc01": "up",
    }
    hosts = etree.fromstring(requests.get(sim.api_url + "/hosts", auth=auth, timeout=10).content)
    assert [h.findtext("status") for h in hosts] == ["up", "up", "up"]
    stats = sim.control("GET", "/sim/stats")["objects"]
    assert stats["storagedomain"] == 2 and stats["machine"] == 3
