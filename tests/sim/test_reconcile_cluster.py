"""RhevCluster reconciler against the simulator (manual clock), without kopf."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rhev_operator.rhevm import ClusterUpdate

WESTMERE = "Intel Westmere Family"


def writes(simulator: Any) -> dict[str, int]:
    """The simulator's count of cluster writes so far, by request template."""
    counts = simulator.control("GET", "/sim/stats")["requests"]
    return {k: v for k, v in counts.items() if k.split()[0] in ("POST", "PUT", "DELETE")}


def seconds(op: dict[str, Any]) -> float:
    """How long an operation record allows, from its timestamps."""
    started = dt.datetime.fromisoformat(op["started"].replace("Z", "+00:00"))
    deadline = dt.datetime.fromisoformat(op["deadline"].replace("Z", "+00:00"))
    return (deadline - started).total_seconds()


def ready(h: Any, name: str) -> bool:
    condition = h.condition("RhevCluster", name)
    return condition is not None and condition["status"] == "True"


def test_create_rerun_drift_and_delete(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "mydc", {"storageType": "nfs"})
    h.run("RhevDataCenter", "mydc")
    spec = {
        "dataCenter": "mydc",
        "cpuType": WESTMERE,
        "memoryOvercommit": 150,
        "memoryHugepages": False,
        "description": "the seed cluster",
    }
    h.apply("RhevCluster", "mycluster", spec)
    outcome = h.run("RhevCluster", "mycluster")
    assert [e.reason for e in outcome.events] == ["Created"]
    assert ready(h, "mycluster")
    cl = h.client.clusters.find("mycluster")
    dc = h.client.datacenters.find("mydc")
    assert cl is not None and dc is not None
    assert (cl.cpu_type, cl.memory_overcommit, cl.transparent_hugepages) == (WESTMERE, 150, False)
    assert cl.description == "the seed cluster" and cl.data_center_id == dc.id
    status = h.status("RhevCluster", "mycluster")
    assert (status["id"], status["state"], status["dataCenterId"]) == (cl.id, "up", dc.id)
    assert status["observedGeneration"] == 1

    # The data center's management network is attached to the new cluster by RHEV-M.
    names = [n.name for n in h.client.networks.cluster_networks(cl.id).list()]
    assert names == ["rhevm"]

    # Running again sends nothing and creates no duplicate.
    before = writes(simulator)
    outcome = h.run("RhevCluster", "mycluster")
    assert outcome.events == [] and writes(simulator) == before
    assert [c.name for c in h.client.clusters.list()].count("mycluster") == 1

    # Drift on the fields the spec sets is corrected, with one Event naming them.
    h.client.clusters.update(
        cl.id,
        ClusterUpdate(cpu_type="Intel Nehalem Family", memory_overcommit=200, description="x"),
    )
    outcome = h.run("RhevCluster", "mycluster")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert "cpu_type" in outcome.events[0].message
    assert "memory_overcommit" in outcome.events[0].message
    cl = h.client.clusters.get(cl.id)
    assert (cl.cpu_type, cl.memory_overcommit, cl.description) == (
        WESTMERE,
        150,
        "the seed cluster",
    )

    # A spec change is carried over (hugepages on).
    h.apply("RhevCluster", "mycluster", {**spec, "memoryHugepages": True})
    h.run("RhevCluster", "mycluster")
    assert h.client.clusters.get(cl.id).transparent_hugepages is True
    assert h.status("RhevCluster", "mycluster")["observedGeneration"] == 2

    outcome = h.run("RhevCluster", "mycluster", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Deleted"]
    assert h.client.clusters.find("mycluster") is None


def test_waits_for_a_missing_data_center_then_proceeds(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevCluster", "mycluster", {"dataCenter": "mydc"})
    h.run("RhevCluster", "mycluster")
    condition = h.condition("RhevCluster", "mycluster")
    assert condition is not None and condition["status"] == "False"
    assert condition["reason"] == "WaitingForDependency"
    assert "mydc" in condition["message"]
    assert h.client.clusters.find("mycluster") is None

    # The data center resource exists but is not Ready yet: still waiting.
    h.apply("RhevDataCenter", "mydc", {})
    h.run("RhevCluster", "mycluster")
    assert h.condition("RhevCluster", "mycluster")["reason"] == "WaitingForDependency"
    assert "not Ready" in h.condition("RhevCluster", "mycluster")["message"]

    h.run("RhevDataCenter", "mydc")
    h.run("RhevCluster", "mycluster")
    assert ready(h, "mycluster")
    dc = h.client.datacenters.find("mydc")
    assert h.client.clusters.find("mycluster").data_center_id == dc.id


def test_an_existing_cluster_needs_adopt_and_is_retained(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    default = h.client.clusters.find("Default")
    assert default is not None
    h.client.clusters.update(default.id, ClusterUpdate(memory_overcommit=200))
    h.apply("RhevCluster", "default", {"name": "Default"})
    h.run("RhevCluster", "default")
    stalled = h.condition("RhevCluster", "default", "Stalled")
    assert stalled is not None and stalled["reason"] == "AlreadyExists"
    assert "spec.adopt" in stalled["message"]
    assert h.status("RhevCluster", "default").get("id") is None

    h.apply("RhevCluster", "default", {"name": "Default", "adopt": True})
    outcome = h.run("RhevCluster", "default")
    assert [e.reason for e in outcome.events] == ["Adopted"]
    assert ready(h, "default")
    # memoryOvercommit was not set in the spec: the adopted cluster keeps its own.
    assert h.client.clusters.get(default.id).memory_overcommit == 200
    assert (h.condition("RhevCluster", "default", "Stalled") or {}).get("status") != "True"

    outcome = h.run("RhevCluster", "default", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert h.client.clusters.find("Default") is not None


def test_retain_leaves_a_created_cluster(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevCluster", "keep", {"deletionPolicy": "Retain"})
    h.run("RhevCluster", "keep")
    assert ready(h, "keep")
    outcome = h.run("RhevCluster", "keep", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert h.client.clusters.find("keep") is not None


def test_a_move_to_another_data_center_is_stalled_and_nothing_is_sent(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "other", {})
    h.run("RhevDataCenter", "other")
    h.apply("RhevCluster", "mycluster", {"cpuType": WESTMERE})
    h.run("RhevCluster", "mycluster")
    assert ready(h, "mycluster")

    before = writes(simulator)
    h.apply("RhevCluster", "mycluster", {"cpuType": WESTMERE, "dataCenter": "other"})
    h.run("RhevCluster", "mycluster")
    stalled = h.condition("RhevCluster", "mycluster", "Stalled")
    assert stalled is not None and stalled["status"] == "True"
    assert stalled["reason"] == "DataCenterChangeRefused"
    assert "Default" in stalled["message"] and "other" in stalled["message"]
    assert h.condition("RhevCluster", "mycluster")["status"] == "False"
    assert writes(simulator) == before
    default_dc = h.client.datacenters.find("Default")
    assert h.client.clusters.find("mycluster").data_center_id == default_dc.id

    # Setting it back makes it Ready again.
    h.apply("RhevCluster", "mycluster", {"cpuType": WESTMERE, "dataCenter": "Default"})
    h.run("RhevCluster", "mycluster")
    assert ready(h, "mycluster")


def test_a_crash_after_create_is_recognised_by_the_owner_marker(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    body = h.apply("RhevCluster", "mycluster", {})
    h.run("RhevCluster", "mycluster")
    body["status"] = {}  # the status patch was lost: as after a crash before it landed
    outcome = h.run("RhevCluster", "mycluster")
    assert outcome.events == [] and ready(h, "mycluster")
    assert [c.name for c in h.client.clusters.list()].count("mycluster") == 1


def test_an_engine_refusal_quotes_the_engine(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevCluster", "mycluster", {"memoryOvercommit": 900})
    h.run("RhevCluster", "mycluster")
    # The engine takes 100 .. 400 only; the model allows more, so RHEV-M has the last word.
    stalled = h.condition("RhevCluster", "mycluster", "Stalled")
    assert stalled is not None and stalled["status"] == "True"
    assert "between 100 and 400" in stalled["message"]
    assert h.client.clusters.find("mycluster") is None


def test_delete_waits_while_the_engine_refuses(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevCluster", "mycluster", {})
    h.run("RhevCluster", "mycluster")
    cluster_id = h.status("RhevCluster", "mycluster")["id"]
    said = "Cannot remove Cluster. Cluster contains one or more Hosts"
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": f"/clusters/{cluster_id}$", "method": "DELETE", "status": 409, "detail": said},
    )
    outcome = h.run("RhevCluster", "mycluster", delete=True)
    assert not outcome.finished
    condition = h.condition("RhevCluster", "mycluster", "Reconciling")
    assert condition["reason"] == "ClusterInUse" and said in condition["message"]
    assert h.client.clusters.find("mycluster") is not None

    simulator.control("DELETE", "/sim/faults")
    outcome = h.run("RhevCluster", "mycluster", delete=True)
    assert outcome.finished and h.client.clusters.find("mycluster") is None


def push_deadline_back(h: Any, kind: str, name: str) -> None:
    """As if the in-flight operation's deadline had passed (the operator's clock is the wall
    clock; the simulator's stands still)."""
    op = h.bodies[(kind, name)]["status"]["operation"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    op["deadline"] = past.isoformat().replace("+00:00", "Z")


def test_delete_refused_past_its_deadline_is_stalled_with_the_engines_words(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevCluster", "mycluster", {"timeouts": {"operationSeconds": 60}})
    h.run("RhevCluster", "mycluster")
    cluster_id = h.status("RhevCluster", "mycluster")["id"]
    said = "Cannot remove Cluster. Cluster contains one or more Hosts"
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": f"/clusters/{cluster_id}$", "method": "DELETE", "status": 409, "detail": said},
    )
    h.run("RhevCluster", "mycluster", delete=True)
    op = h.status("RhevCluster", "mycluster")["operation"]
    assert op["action"] == "AwaitClusterUnused"
    assert seconds(op) == 60
    h.run("RhevCluster", "mycluster", delete=True)  # before the deadline: still waiting
    assert h.condition("RhevCluster", "mycluster", "Reconciling")["reason"] == "ClusterInUse"
    assert h.status("RhevCluster", "mycluster")["operation"] == op  # the same deadline

    push_deadline_back(h, "RhevCluster", "mycluster")
    outcome = h.run("RhevCluster", "mycluster", delete=True)
    stalled = h.condition("RhevCluster", "mycluster", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout" and not outcome.finished
    assert "AwaitClusterUnused did not finish" in stalled["message"]
    assert said in stalled["message"] and "Move or remove the hosts" in stalled["message"]
    assert [e.type for e in outcome.events] == ["Warning"]
    assert h.client.clusters.find("mycluster") is not None

    # Still retried on every pass: once the engine agrees, it is removed.
    simulator.control("DELETE", "/sim/faults")
    outcome = h.run("RhevCluster", "mycluster", delete=True)
    assert outcome.finished and h.client.clusters.find("mycluster") is None
