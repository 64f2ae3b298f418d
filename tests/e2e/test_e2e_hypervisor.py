"""Hypervisor end to end: kubectl -> local Kubernetes API -> operator -> simulator, with the
machines' BMCs served over IPMI (UDP) by a subprocess the operator's IPMI client talks to.

Two machines are powered off with no host in RHEV-M. The operator boots them from the network
over IPMI, they register (RHEV-H), are approved, come up non_operational (the required network
rhevm2 is missing), get their static rhevm2 interface as they are (the engine runs
setupnetworks on NonOperational hosts), their power management, and are activated; one of
them becomes SPM (the data center has an active master domain)."""

from __future__ import annotations

import base64
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from rhevsim.bmc import BmcProcess, spawn
from tests.fixtures.bmc import BMC_USER, machine_entries
from tests.fixtures.operator import E2E

pytestmark = pytest.mark.timeout(180)

#: Distinctive, so that finding it in the operator's log is a real leak.
BMC_PASSWORD = "Bmc-S3cret-7"
MACHINES = machine_entries(["rhevh1", "rhevh2"], password=BMC_PASSWORD)
for _i, _m in enumerate(MACHINES):
    _m["nics"] = [
        {"name": "eth0", "mac": f"52:54:00:00:10:{_i:02x}"},
        {"name": "eth1", "mac": f"52:54:00:00:11:{_i:02x}"},
    ]

INVENTORY: dict[str, Any] = {
    "machines": MACHINES,
    "networks": [
        {"name": "rhevm2", "data_center": "Default", "vlan": 2,
         "clusters": [{"name": "Default", "required": True}]},
    ],
    "storage_domains": [
        {"name": "nfs1", "type": "data", "data_center": "Default", "status": "active",
         "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"}},
    ],
}  # fmt: skip


def manifests() -> str:
    docs = [
        textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: bmc}}
        data:
          username: {base64.b64encode(BMC_USER.encode()).decode()}
          password: {base64.b64encode(BMC_PASSWORD.encode()).decode()}
        """)
    ]
    for i, m in enumerate(MACHINES):
        docs.append(
            textwrap.dedent(f"""
            apiVersion: rhev.io/v1alpha1
            kind: Hypervisor
            metadata: {{name: {m["name"]}}}
            spec:
              address: {m["address"]}
              spmPriority: {8 - i}
              interfaces:
              - {{network: rhevm2, nic: eth1, bootProtocol: static, ip: 10.1.0.{236 + i},
                  netmask: 255.255.255.0}}
              bmc: {{address: 127.0.0.1, port: {m["bmc"]["port"]}, credentialsSecret: bmc}}
              provision: {{bootDevice: network, powerOn: true}}
            """)
        )
    return "---".join(docs)


@pytest.fixture
def bmcs(e2e: E2E) -> Iterator[BmcProcess]:
    process = spawn(e2e.sim_url, MACHINES)
    try:
        yield process
    finally:
        process.stop()


def hosts(e2e: E2E) -> dict[str, str]:
    """name -> the simulator's XML of that host (followed: NICs, attachments, agents)."""
    xml = e2e.sim("GET", "/ovirt-engine/api/hosts?follow=network_attachments,agents")
    blocks = re.findall(r"<host [^>]*>.*?</host>", xml, re.S)
    out = {}
    for block in blocks:
        name = re.search(r"<name>(.*?)</name>", block)
        assert name is not None
        out[name.group(1)] = block
    return out


def ready(e2e: E2E, name: str) -> dict[str, Any] | None:
    status = e2e.get("hv", name).get("status") or {}
    for condition in status.get("conditions") or []:
        if condition["type"] == "Ready" and condition["status"] == "True":
            return dict(status)
    return None


def rows(e2e: E2E) -> dict[str, list[str]]:
    out = e2e.kubectl("get", "hv", "-o", "wide").stdout.splitlines()
    header = out[0].split()
    assert header[:5] == ["NAME", "STATE", "READY", "SPM", "POWER"], header
    return {line.split()[0]: line.split() for line in out[1:]}


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_two_hypervisors_register_through_their_bmcs_and_one_becomes_spm(
    e2e: E2E, bmcs: BmcProcess
) -> None:
    e2e.kubectl("apply", "-f", "-", input=manifests())
    e2e.wait_for("both Ready", lambda: ready(e2e, "rhevh1") and ready(e2e, "rhevh2"), timeout=120)
    e2e.wait_for("an SPM", lambda: any(row[3] == "true" for row in rows(e2e).values()))

    table = rows(e2e)
    assert {row[1] for row in table.values()} == {"up"}
    assert {row[4] for row in table.values()} == {"on"}  # POWER over IPMI
    assert sorted(row[3] for row in table.values()) == ["false", "true"]
    # Priority only decides among hosts that are up at election time, and the two come up
    # in either order: the SPM is whichever the engine elected, as its own view shows.
    spm = next(name for name, row in table.items() if row[3] == "true")
    other = "rhevh2" if spm == "rhevh1" else "rhevh1"
    # Power on over IPMI, as the BMC process logged it.
    assert any(line.endswith("power_on") for line in bmcs.lines)

    sim = hosts(e2e)
    for i, name in enumerate(("rhevh1", "rhevh2")):
        xml = sim[name]
        assert "<status>up</status>" in xml
        assert f"<address>10.1.0.{236 + i}</address>" in xml  # the static rhevm2 interface
        assert "<assignment_method>static</assignment_method>" in xml
        assert "<type>ipmilan</type>" in xml and f"<port>{MACHINES[i]['bmc']['port']}</port>" in xml
        assert re.search(r"<power_management>.*?<enabled>true</enabled>", xml, re.S)
    events = e2e.kubectl("get", "events").stdout
    for reason in ("Provisioned", "Approved", "NetworksSetUp", "PowerManagement"):
        assert reason in events, reason

    # The SPM host to maintenance: the role moves to the other one; then back up.
    assert "<status>spm</status>" in hosts(e2e)[spm]
    e2e.kubectl("patch", "hv", spm, "--type", "merge", "-p", '{"spec": {"state": "maintenance"}}')
    e2e.wait_for(
        f"{spm} in maintenance",
        lambda: (s := ready(e2e, spm)) is not None and s["state"] == "maintenance",
    )
    e2e.wait_for(f"{other} SPM", lambda: rows(e2e)[other][3] == "true")
    assert "<status>maintenance</status>" in hosts(e2e)[spm]
    e2e.kubectl("patch", "hv", spm, "--type", "merge", "-p", '{"spec": {"state": "up"}}')
    e2e.wait_for(
        f"{spm} up again",
        lambda: (s := ready(e2e, spm)) is not None and s["state"] == "up",
    )
    assert rows(e2e)[spm][3] == "false"
    assert BMC_PASSWORD not in e2e.operator_log.read_text()
