"""Kubernetes faults: every watch and connection of the local API dropped (its objects kept:
`POST /_control/drop-watches`) with a change made right after each drop, none missed; a
resource edited, and one deleted, while its operation is in flight; two replicas started at
once with peering, one acting, the other taking over within the peering lifetime after the
first is SIGKILLed.
"""

from __future__ import annotations

import json
import signal
import textwrap
import urllib.request
from typing import Any

import pytest
import yaml
from lxml import etree

from rhevsim.builder import build_inventory
from tests.e2e.test_fault_crash import sim_names
from tests.fixtures.operator import E2E, ROOT

INVENTORY = build_inventory(hosts=1, vms=0, seed=3)
#: Disk creation lasts long enough (simulated) to edit and delete in the middle of it.
INVENTORY["timings"] = {"disk.create": 400.0}


def drop_watches(e2e: E2E) -> int:
    server = yaml.safe_load(e2e.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    request = urllib.request.Request(server + "/_control/drop-watches", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["dropped"])


def condition(e2e: E2E, kind: str, name: str, type_: str) -> dict[str, Any]:
    for c in (e2e.get(kind, name).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return {}


def is_ready(e2e: E2E, kind: str, name: str) -> bool:
    return condition(e2e, kind, name, "Ready").get("status") == "True"


def dc_description(e2e: E2E, name: str) -> str | None:
    root = etree.fromstring(e2e.sim("GET", "/ovirt-engine/api/datacenters").encode())
    for dc in root:
        if dc.findtext("name") == name:
            return dc.findtext("description")
    return None


def test_dropped_watches_resume_without_missing_a_change(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input="""
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {name: wdc}
spec: {storageType: nfs, description: v0}
""")  # fmt: skip
    e2e.wait_for("wdc Ready", lambda: is_ready(e2e, "rdc", "wdc"))
    drops = []
    for i in range(1, 6):
        drops.append(drop_watches(e2e))
        # A change right after the drop, while the operator reconnects its watches.
        e2e.kubectl("patch", "rdc", "wdc", "--type=merge", "-p", json.dumps(
            {"spec": {"description": f"v{i}"}}))  # fmt: skip
        e2e.kubectl("apply", "-f", "-", input=textwrap.dedent(f"""
            apiVersion: rhev.io/v1alpha1
            kind: RhevCluster
            metadata: {{name: wcl{i}}}
            spec: {{dataCenter: wdc, cpuType: Intel Westmere Family}}
            """))  # fmt: skip
        e2e.wait_for(f"description v{i}", lambda i=i: dc_description(e2e, "wdc") == f"v{i}")
    for i in range(1, 6):
        e2e.wait_for(f"wcl{i} Ready", lambda i=i: is_ready(e2e, "rcl", f"wcl{i}"))
    assert all(n > 0 for n in drops), drops  # every drop cut the operator's open watches
    e2e.kubectl("delete", "rcl", "wcl3")
    drop_watches(e2e)
    e2e.wait_for("wcl3 gone in RHEV-M", lambda: sim_names(e2e)["clusters"]["wcl3"] == 0)
    assert {n: k for n, k in sim_names(e2e)["clusters"].items() if n.startswith("wcl")} == {
        "wcl1": 1, "wcl2": 1, "wcl4": 1, "wcl5": 1}  # fmt: skip
    assert e2e.operator is not None and e2e.operator.poll() is None
    print(f"\nkube faults: dropped watches {drops}")


def vm(name: str, memory: str) -> str:
    return textwrap.dedent(f"""
        apiVersion: rhev.io/v1alpha1
        kind: VirtualMachine
        metadata: {{name: {name}}}
        spec:
          cluster: Default
          memory: {memory}
          nics: [{{name: eth0, network: vmnet}}]
          disks: [{{storageDomain: default-data, size: 2Gi, type: system}}]
        """)


@pytest.mark.fault
@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_edit_and_delete_while_the_operation_is_in_flight(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=vm("edited", "1Gi") + "---" + vm("deleted", "1Gi"))

    def in_flight(name: str) -> bool:
        return condition(e2e, "rvm", name, "Reconciling").get("reason") == "CreatingDisk"

    e2e.wait_for("both disks being made", lambda: in_flight("edited") and in_flight("deleted"))
    e2e.kubectl("apply", "-f", "-", input=vm("edited", "3Gi"))
    e2e.kubectl("delete", "rvm", "deleted", "--wait=false")
    e2e.wait_for("edited Ready", lambda: is_ready(e2e, "rvm", "edited"), timeout=120)
    status = e2e.get("rvm", "edited")["status"]
    assert status["observedGeneration"] == e2e.get("rvm", "edited")["metadata"]["generation"]
    root = etree.fromstring(e2e.sim("GET", f"/ovirt-engine/api/vms/{status['id']}").encode())
    assert root.findtext("memory") == str(3 * 1024**3)
    e2e.wait_for(
        "deleted gone",
        lambda: "deleted" not in e2e.kubectl("get", "rvm", "-o", "name").stdout,
        timeout=120,
    )
    names = sim_names(e2e)
    assert names["vms"] == {"edited": 1}
    disks = etree.fromstring(e2e.sim("GET", "/ovirt-engine/api/disks").encode())
    assert sorted(d.findtext("name") or "" for d in disks) == ["edited_Disk1"]


@pytest.mark.fault
@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_two_replicas_at_once_one_acts_the_other_takes_over_after_a_kill(e2e: E2E) -> None:
    """Builds on tests/e2e/test_e2e_runtime.py (peering, graceful stop): here both start at
    once and the acting one is SIGKILLed (its peering record stays until its lifetime ends)."""
    e2e.kubectl("apply", "-f", str(ROOT / "manifests/deploy/10-peering-crd.yaml"))
    e2e.kubectl("apply", "-f", str(ROOT / "manifests/deploy/30-peering.yaml"))
    common = ("--peering", "rhev-operator", "--peering-lifetime", "10")
    high = e2e.start_operator(*common, "--priority", "20", peering=True)
    low = e2e.start_operator(*common, "--priority", "10", peering=True)
    log = e2e.operator_log.read_text
    e2e.wait_for("both keep-alives", lambda: log().count("Keep-alive in 'rhev-operator'") >= 2)
    # Only one acts: the other started paused (until peering is known) and stays so.
    assert log().count("Resuming operations after the pause") == 1
    e2e.kubectl("apply", "-f", "-", input="""
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {name: peerdc1}
spec: {storageType: nfs}
""")  # fmt: skip
    e2e.wait_for("peerdc1 Ready", lambda: is_ready(e2e, "rdc", "peerdc1"))
    assert sim_names(e2e)["datacenters"]["peerdc1"] == 1
    posts = e2e.sim("GET", "/sim/stats")["requests"].get("POST /datacenters", 0)
    assert posts == 1  # only one replica acted

    high.send_signal(signal.SIGKILL)
    high.wait(timeout=10)
    e2e.procs.remove(high)
    e2e.kubectl("apply", "-f", "-", input="""
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {name: peerdc2}
spec: {storageType: nfs}
""")  # fmt: skip
    # The other replica resumes once the dead one's record expires (10 s here, 60 by default).
    e2e.wait_for("peerdc2 Ready", lambda: is_ready(e2e, "rdc", "peerdc2"), timeout=60)
    assert log().count("Resuming operations after the pause") == 2
    assert sim_names(e2e)["datacenters"]["peerdc2"] == 1
    assert low.poll() is None
