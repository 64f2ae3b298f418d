"""The seed's environment (xcat-rhev-guide: cfgve + rhev-h hosts) from an empty simulator.

`kubectl apply` of a data center, a cluster, a VLAN network attached to the cluster, two
RHEV-H hypervisors that the operator boots over IPMI (static secondary interface on the
network, power management) and two NFS data domains. All become Ready, RHEV-M matches the
spec field by field, and the `lsve -t dc` view can be read back from kubectl. Then day-2
changes, deletion in reverse order back to the starting state, and a one-shot apply in
reverse order that converges all the same.
"""

from __future__ import annotations

import base64
import json
import random
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from rhevsim.bmc import BmcProcess, spawn
from tests.fixtures.bmc import BMC_USER, machine_entries
from tests.fixtures.operator import E2E

pytestmark = pytest.mark.timeout(420)

BMC_PASSWORD = "Seed-Bmc-S3cret"
MACHINES = machine_entries(["rhevh1", "rhevh2"], password=BMC_PASSWORD)
for _i, _m in enumerate(MACHINES):
    _m["nics"] = [
        {"name": "eth0", "mac": f"52:54:00:00:20:{_i:02x}"},
        {"name": "eth1", "mac": f"52:54:00:00:21:{_i:02x}"},
    ]
INVENTORY: dict[str, Any] = {"machines": MACHINES}
KINDS = ("rdc", "rcl", "lnet", "hv", "rsd")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def documents() -> list[str]:
    docs = [
        f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: bmc}}
        data: {{username: {b64(BMC_USER)}, password: {b64(BMC_PASSWORD)}}}
        """,
        """
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {name: mydc}
        spec: {storageType: nfs, description: seed data center}
        """,
        """
        apiVersion: rhev.io/v1alpha1
        kind: RhevCluster
        metadata: {name: mycluster}
        spec: {dataCenter: mydc, cpuType: Intel Westmere Family}
        """,
        """
        apiVersion: rhev.io/v1alpha1
        kind: LogicalNetwork
        metadata: {name: rhevm2}
        spec: {dataCenter: mydc, vlan: 2, clusters: [mycluster]}
        """,
    ]
    for i, m in enumerate(MACHINES):
        docs.append(f"""
        apiVersion: rhev.io/v1alpha1
        kind: Hypervisor
        metadata: {{name: {m["name"]}}}
        spec:
          address: {m["address"]}
          cluster: mycluster
          spmPriority: {8 - i}
          interfaces:
          - {{network: rhevm2, nic: eth1, bootProtocol: static, ip: 10.1.0.{236 + i},
              netmask: 255.255.255.0}}
          bmc: {{address: 127.0.0.1, port: {m["bmc"]["port"]}, credentialsSecret: bmc}}
          provision: {{bootDevice: network, powerOn: true}}
        """)
    for name, host, path in (("image", "rhevh1", "/vfsimg"), ("data2", "rhevh2", "/data2")):
        docs.append(f"""
        apiVersion: rhev.io/v1alpha1
        kind: StorageDomain
        metadata: {{name: {name}}}
        spec:
          dataCenter: mydc
          storageType: nfs
          nfs: {{address: nfs.example, path: {path}}}
          host: {host}
        """)
    return [textwrap.dedent(d) for d in docs]


@pytest.fixture
def bmcs(e2e: E2E) -> Iterator[BmcProcess]:
    process = spawn(e2e.sim_url, MACHINES)
    try:
        yield process
    finally:
        process.stop()


def sim_snapshot(e2e: E2E) -> dict[str, list[str]]:
    """What RHEV-M holds, by collection: the names and ids of its objects."""
    out = {}
    for collection in (
        "datacenters",
        "clusters",
        "networks",
        "vnicprofiles",
        "storagedomains",
        "hosts",
    ):
        root = etree.fromstring(e2e.sim("GET", f"/ovirt-engine/api/{collection}").encode())
        out[collection] = sorted(f"{m.findtext('name')}:{m.get('id')}" for m in root)
    return out


def xml_of(e2e: E2E, path: str, name: str) -> str:
    """The XML of the member of a collection with this name."""
    root = etree.fromstring(e2e.sim("GET", f"/ovirt-engine/api/{path}").encode())
    for member in root:
        if member.findtext("name") == name:
            return etree.tostring(member, encoding="unicode")
    raise AssertionError(f"{name} not in {path}")


def all_ready(e2e: E2E) -> bool:
    for kind in KINDS:
        items = json.loads(e2e.kubectl("get", kind, "-o", "json").stdout)["items"]
        for item in items:
            conditions = (item.get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return False
    return True


def status(e2e: E2E, kind: str, name: str) -> dict[str, Any]:
    return dict(e2e.get(kind, name).get("status") or {})


def wait_state(e2e: E2E, kind: str, name: str, state: str) -> None:
    def check() -> bool:
        s = status(e2e, kind, name)
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in s.get("conditions") or []
        )
        return ready and s.get("state") == state

    e2e.wait_for(f"{kind}/{name} {state}", check, timeout=120)


def delete_in_reverse(e2e: E2E) -> None:
    for kind, names in (
        ("rsd", ["data2", "image"]),
        ("hv", ["rhevh2", "rhevh1"]),
        ("lnet", ["rhevm2"]),
        ("rcl", ["mycluster"]),
        ("rdc", ["mydc"]),
    ):
        for name in names:
            e2e.kubectl("delete", kind, name, "--timeout=180s", timeout=200)


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_seed_environment_converges_changes_and_goes(e2e: E2E, bmcs: BmcProcess) -> None:
    start = sim_snapshot(e2e)
    e2e.kubectl("apply", "-f", "-", input="---".join(documents()))
    e2e.wait_for("everything Ready", lambda: all_ready(e2e), timeout=240)
    e2e.wait_for(
        "the data center up", lambda: status(e2e, "rdc", "mydc").get("state") == "up", timeout=120
    )

    # RHEV-M matches the spec, field by field.
    dc = xml_of(e2e, "datacenters", "mydc")
    assert "<local>false</local>" in dc and "<description>seed data center</description>" in dc
    assert "<status>up</status>" in dc
    cluster = xml_of(e2e, "clusters", "mycluster")
    assert "<type>Intel Westmere Family</type>" in cluster
    assert status(e2e, "rdc", "mydc")["id"] in cluster
    network = xml_of(e2e, "networks", "rhevm2")
    network_id = status(e2e, "lnet", "rhevm2")["id"]
    assert re.search(r"<vlan id=\"2\"", network) or "<id>2</id>" in network
    cluster_id = status(e2e, "rcl", "mycluster")["id"]
    assert "rhevm2" in e2e.sim("GET", f"/ovirt-engine/api/clusters/{cluster_id}/networks")
    hosts = e2e.sim("GET", "/ovirt-engine/api/hosts?follow=network_attachments,agents")
    for i in range(2):
        assert f"<address>10.1.0.{236 + i}</address>" in hosts
    for i, machine in enumerate(MACHINES):
        host = etree.fromstring(xml_of(e2e, "hosts?follow=agents", machine["name"]).encode())
        agents = host.findall("agents/agent")
        assert [(a.findtext("type"), a.findtext("port")) for a in agents] == [
            ("ipmilan", str(machine["bmc"]["port"]))
        ]
        assert host.findtext("power_management/enabled") == "true"
        assert host.findtext("cluster/name") in (None, "mycluster")
        assert host.find("cluster").get("id") == cluster_id
        assert host.findtext("spm/priority") == str(8 - i)
    dc_id = status(e2e, "rdc", "mydc")["id"]
    attached = e2e.sim("GET", f"/ovirt-engine/api/datacenters/{dc_id}/storagedomains")
    assert attached.count("<status>active</status>") == 2
    assert attached.count("<master>true</master>") == 1

    # The `lsve -t dc` view from kubectl: data center, clusters, domains with master and sizes,
    # networks.
    rdc = e2e.kubectl("get", "rdc", "mydc").stdout
    assert re.search(r"mydc\s+up\s+True", rdc)
    rsd = e2e.kubectl("get", "rsd", "-o", "wide").stdout
    assert "MASTER" in rsd.splitlines()[0] and "AVAILABLE" in rsd.splitlines()[0]
    masters = [status(e2e, "rsd", n)["master"] for n in ("image", "data2")]
    assert sorted(masters) == [False, True]
    assert all(status(e2e, "rsd", n)["availableBytes"] > 0 for n in ("image", "data2"))
    lnet = e2e.kubectl("get", "lnet", "rhevm2", "-o", "yaml").stdout
    assert "mycluster" in lnet and "vlan: 2" in lnet
    hv = e2e.kubectl("get", "hv", "-o", "wide").stdout.splitlines()
    spm_column = hv[0].split().index("SPM")
    assert sorted(line.split()[spm_column] for line in hv[1:]) == ["false", "true"]
    for name, path in (("image", "/vfsimg"), ("data2", "/data2")):
        storage = etree.fromstring(xml_of(e2e, "storagedomains", name).encode())
        assert storage.findtext("storage/type") == "nfs"
        assert storage.findtext("storage/address") == "nfs.example"
        assert storage.findtext("storage/path") == path
        assert storage.findtext("type") == "data"
    for i, machine in enumerate(MACHINES):
        host_id = status(e2e, "hv", machine["name"])["id"]
        attachments = etree.fromstring(
            e2e.sim("GET", f"/ovirt-engine/api/hosts/{host_id}/networkattachments").encode()
        )
        on_rhevm2 = [
            a
            for a in attachments
            if a.find("network") is not None and a.find("network").get("id") == network_id
        ]
        assert len(on_rhevm2) == 1
        ip = on_rhevm2[0].find("ip_address_assignments/ip_address_assignment/ip")
        assert ip is not None
        assert (ip.findtext("address"), ip.findtext("netmask")) == (
            f"10.1.0.{236 + i}",
            "255.255.255.0",
        )

    # Day 2: the VLAN, a host to maintenance and back, a domain to maintenance and back,
    # detached and attached again.
    e2e.kubectl("patch", "lnet", "rhevm2", "--type", "merge", "-p", '{"spec":{"vlan":3}}')
    e2e.wait_for(
        "VLAN 3 in RHEV-M",
        lambda: re.search(r"<vlan id=\"3\"|<id>3</id>", xml_of(e2e, "networks", "rhevm2")),
    )
    for state in ("maintenance", "up"):
        e2e.kubectl(
            "patch", "hv", "rhevh2", "--type", "merge", "-p", json.dumps({"spec": {"state": state}})
        )
        wait_state(e2e, "hv", "rhevh2", state)
    for state, seen in (
        ("maintenance", "maintenance"),
        ("active", "active"),
        ("detached", "unattached"),
        ("active", "active"),
    ):
        e2e.kubectl(
            "patch", "rsd", "data2", "--type", "merge", "-p", json.dumps({"spec": {"state": state}})
        )
        wait_state(e2e, "rsd", "data2", seen)

    delete_in_reverse(e2e)
    assert sim_snapshot(e2e) == start
    assert BMC_PASSWORD not in e2e.operator_log.read_text()


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_seed_applied_in_one_shot_in_any_order_converges(
    e2e: E2E, bmcs: BmcProcess, order: str
) -> None:
    docs = documents()
    if order == "reversed":
        docs.reverse()
    else:
        random.Random(7).shuffle(docs)
    e2e.kubectl("apply", "-f", "-", input="---".join(docs))
    e2e.wait_for("everything Ready", lambda: all_ready(e2e), timeout=240)
    dc_id = status(e2e, "rdc", "mydc")["id"]
    attached = e2e.sim("GET", f"/ovirt-engine/api/datacenters/{dc_id}/storagedomains")
    assert attached.count("<status>active</status>") == 2
