"""RhevCluster and LogicalNetwork end to end: kubectl -> local Kubernetes API -> operator ->
simulator, applied in one shot (the references are waited out), checked field by field
against the simulator, changed, and deleted in reverse order."""

from __future__ import annotations

import re
from typing import Any

from tests.fixtures.operator import E2E

WESTMERE = "Intel Westmere Family"

SEED = f"""
apiVersion: rhev.io/v1alpha1
kind: LogicalNetwork
metadata: {{name: rhevm2}}
spec: {{dataCenter: mydc, vlan: 2, clusters: [mycluster]}}
---
apiVersion: rhev.io/v1alpha1
kind: RhevCluster
metadata: {{name: mycluster}}
spec: {{dataCenter: mydc, cpuType: {WESTMERE}, memoryOvercommit: 150}}
---
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {{name: mydc}}
spec: {{storageType: nfs}}
"""

API = "/ovirt-engine/api"


def blocks(xml: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag} [^>]*>.*?</{tag}>", xml, re.S)


def field(block: str, path: str) -> str | None:
    """A child's text (`name`, `cpu/type`) or attribute (`vlan@id`, `data_center@id`)."""
    if "@" in path:
        tag, attr = path.split("@")
        found = re.search(rf"<{tag} [^>]*\b{attr}=\"([^\"]*)\"", block)
    else:
        *outer, last = path.split("/")
        inner = block
        for tag in outer:
            match = re.search(rf"<{tag}>(.*?)</{tag}>", inner, re.S)
            inner = match.group(1) if match else ""
        found = re.search(rf"<{last}>([^<]*)</{last}>", inner)
    return found.group(1) if found else None


def by_name(e2e: E2E, path: str, tag: str) -> dict[str, str]:
    return {field(b, "name") or "": b for b in blocks(e2e.sim("GET", API + path), tag)}


def snapshot(e2e: E2E) -> dict[str, list[tuple[str | None, str | None]]]:
    """What the simulator holds of the kinds these resources touch: (id, name) pairs."""
    out = {}
    for path, tag in (
        ("/datacenters", "data_center"),
        ("/clusters", "cluster"),
        ("/networks", "network"),
        ("/vnicprofiles", "vnic_profile"),
    ):
        xml = e2e.sim("GET", API + path)
        out[path] = sorted(
            (re.search(r'id="([^"]+)"', b).group(1), field(b, "name"))  # type: ignore[union-attr]
            for b in blocks(xml, tag)
        )
    return out


def ready(e2e: E2E, kind: str, name: str) -> dict[str, Any] | None:
    status = e2e.get(kind, name).get("status") or {}
    for condition in status.get("conditions") or []:
        if condition["type"] == "Ready" and condition["status"] == "True":
            return dict(status)
    return None


def test_datacenter_cluster_and_network_converge_change_and_go(e2e: E2E) -> None:
    before = snapshot(e2e)
    e2e.kubectl("apply", "-f", "-", input=SEED)
    for kind, name in (("rdc", "mydc"), ("rcl", "mycluster"), ("lnet", "rhevm2")):
        e2e.kubectl("wait", "--for=condition=Ready", f"{kind}/{name}", "--timeout=60s")

    dc = by_name(e2e, "/datacenters", "data_center")["mydc"]
    dc_id = e2e.get("rdc", "mydc")["status"]["id"]
    assert f'id="{dc_id}"' in dc

    # The cluster, field by field.
    cl_status = e2e.get("rcl", "mycluster")["status"]
    cl = by_name(e2e, "/clusters", "cluster")["mycluster"]
    assert f'id="{cl_status["id"]}"' in cl
    assert field(cl, "cpu/type") == WESTMERE
    assert field(cl, "memory_policy/over_commit/percent") == "150"
    assert field(cl, "data_center@id") == dc_id == cl_status["dataCenterId"]
    assert cl_status["state"] == "up"

    # The network, field by field, and the cluster's networks.
    net_status = e2e.get("lnet", "rhevm2")["status"]
    nets = {
        field(b, "name") or "": b
        for b in blocks(e2e.sim("GET", f"{API}/datacenters/{dc_id}/networks"), "network")
    }
    assert sorted(nets) == ["rhevm", "rhevm2"]
    assert f'id="{net_status["id"]}"' in nets["rhevm2"]
    assert field(nets["rhevm2"], "vlan@id") == "2"
    assert field(nets["rhevm2"], "data_center@id") == dc_id
    on_cluster = by_name(e2e, f"/clusters/{cl_status['id']}/networks", "network")
    assert sorted(on_cluster) == ["rhevm", "rhevm2"]
    assert field(on_cluster["rhevm2"], "required") == "true"
    assert field(on_cluster["rhevm2"], "status") == "operational"
    assert net_status["state"] == "operational"
    [entry] = net_status["clusters"]
    assert (entry["name"], entry["id"], entry["attached"], entry["operational"]) == (
        "mycluster",
        cl_status["id"],
        True,
        True,
    )

    table = e2e.kubectl("get", "lnet").stdout.splitlines()
    header = table[0].split()
    assert "VLAN" in header
    row = dict(zip(header, table[1].split(), strict=False))
    assert (row["NAME"], row["READY"], row["DATACENTER"], row["VLAN"]) == (
        "rhevm2",
        "True",
        "mydc",
        "2",
    )

    # A VLAN change reaches RHEV-M and is recorded as an Event.
    e2e.kubectl("patch", "lnet", "rhevm2", "--type", "merge", "-p", '{"spec": {"vlan": 3}}')
    e2e.wait_for(
        "VLAN 3 in the simulator",
        lambda: field(e2e.sim("GET", f"{API}/networks/{net_status['id']}"), "vlan@id") == "3",
    )
    e2e.wait_for(
        "Ready at generation 2",
        lambda: (s := ready(e2e, "lnet", "rhevm2")) and s.get("observedGeneration") == 2,
    )
    e2e.wait_for(
        "the Updated event",
        lambda: "Updated network rhevm2: vlan 2 -> 3" in e2e.kubectl("get", "events").stdout,
    )
    assert "3" in e2e.kubectl("get", "lnet", "rhevm2").stdout.splitlines()[1].split()

    # Deleting in reverse order leaves the simulator as it started.
    e2e.kubectl("delete", "lnet", "rhevm2", "--timeout=60s")
    assert "rhevm2" not in by_name(e2e, f"/clusters/{cl_status['id']}/networks", "network")
    e2e.kubectl("delete", "rcl", "mycluster", "--timeout=60s")
    e2e.kubectl("delete", "rdc", "mydc", "--timeout=60s")
    assert snapshot(e2e) == before
