"""LogicalNetwork reconciler against the simulator (manual clock), without kopf."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rhev_operator.rhevm import ClusterNetworkAttach, NetworkCreate, NetworkUpdate

LNET = "LogicalNetwork"


def ready(h: Any, name: str) -> bool:
    condition = h.condition(LNET, name)
    return condition is not None and condition["status"] == "True"


def attached(h: Any, cluster: str) -> dict[str, Any]:
    """name -> the network as attached to that cluster."""
    cl = h.client.clusters.find(cluster)
    return {n.name: n for n in h.client.networks.cluster_networks(cl.id).list()}


def network(h: Any, name: str, dc: str = "mydc") -> Any:
    dc_id = h.client.datacenters.find(dc).id
    found = h.client.networks.in_data_center(dc_id, name)
    return found[0] if found else None


def writes(simulator: Any) -> int:
    counts = simulator.control("GET", "/sim/stats")["requests"]
    return sum(v for k, v in counts.items() if k.split()[0] in ("POST", "PUT", "DELETE"))


def seed(h: Any, *clusters: str) -> None:
    """A data center mydc with clusters, each Ready."""
    h.apply("RhevDataCenter", "mydc", {"storageType": "nfs"})
    h.run("RhevDataCenter", "mydc")
    for name in clusters:
        h.apply("RhevCluster", name, {"dataCenter": "mydc"})
        h.run("RhevCluster", name)


def test_create_attach_rerun_drift_vlan_change_and_delete(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    seed(h, "mycluster")
    spec: dict[str, Any] = {
        "dataCenter": "mydc",
        "vlan": 2,
        "stp": True,
        "mtu": 9000,
        "description": "the seed's second network",
        "clusters": ["mycluster"],
    }
    h.apply(LNET, "rhevm2", spec)
    outcome = h.run(LNET, "rhevm2")
    assert [e.reason for e in outcome.events] == ["Created", "Attached"]
    assert ready(h, "rhevm2")
    net = network(h, "rhevm2")
    assert (net.vlan_id, net.stp, net.mtu) == (2, True, 9000)
    assert net.description == "the seed's second network"
    view = attached(h, "mycluster")
    assert sorted(view) == ["rhevm", "rhevm2"]
    assert view["rhevm2"].required is True and view["rhevm2"].status == "operational"
    status = h.status(LNET, "rhevm2")
    assert status["id"] == net.id and status["state"] == "operational"
    assert (status["clusterNames"], status["mtu"]) == ("mycluster", 9000)
    cluster_id = h.client.clusters.find("mycluster").id
    assert status["clusters"] == [
        {
            "name": "mycluster",
            "id": cluster_id,
            "attached": True,
            "operational": True,
            "required": True,
            "managed": True,
        }
    ]
    assert "VLAN 2" in h.condition(LNET, "rhevm2")["message"]

    # Running again sends nothing.
    before = writes(simulator)
    outcome = h.run(LNET, "rhevm2")
    assert outcome.events == [] and writes(simulator) == before

    # Drift by hand (VLAN, STP) is corrected with one Event naming the changes.
    h.client.networks.update(net.id, NetworkUpdate(vlan_id=7, stp=False))
    outcome = h.run(LNET, "rhevm2")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert "vlan 7 -> 2" in outcome.events[0].message and "stp" in outcome.events[0].message
    assert network(h, "rhevm2").vlan_id == 2 and network(h, "rhevm2").stp is True

    # A VLAN change in the spec is applied.
    h.apply(LNET, "rhevm2", {**spec, "vlan": 3})
    outcome = h.run(LNET, "rhevm2")
    assert [e.message for e in outcome.events] == ["Updated network rhevm2: vlan 2 -> 3"]
    assert network(h, "rhevm2").vlan_id == 3
    assert ready(h, "rhevm2") and h.status(LNET, "rhevm2")["observedGeneration"] == 2

    # Delete detaches from the cluster and removes the network and its vNIC profile.
    outcome = h.run(LNET, "rhevm2", delete=True)
    assert outcome.finished
    assert [e.reason for e in outcome.events] == ["Detached", "Deleted"]
    assert network(h, "rhevm2") is None
    assert sorted(attached(h, "mycluster")) == ["rhevm"]
    assert all(p.name != "rhevm2" for p in h.client.networks.vnic_profiles.list())


def test_waits_for_the_data_center_and_the_clusters(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "rhevm2", {"dataCenter": "mydc", "vlan": 2, "clusters": ["a", "b"]})
    h.run(LNET, "rhevm2")
    condition = h.condition(LNET, "rhevm2")
    assert condition["reason"] == "WaitingForDependency" and "mydc" in condition["message"]

    # The data center appears: the network is created; both clusters are still missing.
    seed(h)
    h.run(LNET, "rhevm2")
    assert network(h, "rhevm2") is not None
    condition = h.condition(LNET, "rhevm2")
    assert condition["reason"] == "WaitingForDependency" and "RhevCluster a" in condition["message"]
    assert [c["attached"] for c in h.status(LNET, "rhevm2")["clusters"]] == [False, False]

    # Cluster a appears (b not yet): a is attached and the resource still waits for b.
    seed(h, "a")
    outcome = h.run(LNET, "rhevm2")
    assert [e.message for e in outcome.events] == [
        "Attached network rhevm2 to cluster a (required: true)"
    ]
    assert h.condition(LNET, "rhevm2")["reason"] == "WaitingForDependency"
    assert "RhevCluster b" in h.condition(LNET, "rhevm2")["message"]
    assert [(c["name"], c["attached"]) for c in h.status(LNET, "rhevm2")["clusters"]] == [
        ("a", True),
        ("b", False),
    ]

    seed(h, "b")
    h.run(LNET, "rhevm2")
    assert ready(h, "rhevm2")
    assert "rhevm2" in attached(h, "a") and "rhevm2" in attached(h, "b")


def test_attach_and_detach_follow_the_list(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    seed(h, "a", "b", "c")
    # c has the network attached by hand before the resource takes it over.
    dc_id = h.client.datacenters.find("mydc").id
    net = h.client.networks.add(NetworkCreate(name="lan", data_center_id=dc_id, vlan_id=5))
    c_id = h.client.clusters.find("c").id
    h.client.networks.cluster_networks(c_id).attach(
        ClusterNetworkAttach(network_id=net.id, required=False)
    )
    h.apply(
        LNET,
        "lan",
        {"dataCenter": "mydc", "adopt": True, "required": False, "clusters": ["a", "b", "c"]},
    )
    outcome = h.run(LNET, "lan")
    assert [e.reason for e in outcome.events] == ["Adopted", "Attached", "Attached"]
    clusters = h.status(LNET, "lan")["clusters"]
    assert [(c["name"], c["attached"], c["managed"]) for c in clusters] == [
        ("a", True, True),
        ("b", True, True),
        ("c", True, False),
    ]
    assert attached(h, "a")["lan"].required is False

    # b and c leave the list: b (attached by this resource) is detached, c is left alone.
    h.apply(
        LNET, "lan", {"dataCenter": "mydc", "adopt": True, "required": False, "clusters": ["a"]}
    )
    outcome = h.run(LNET, "lan")
    assert [e.message for e in outcome.events] == ["Detached network lan from cluster b"]
    assert "lan" not in attached(h, "b") and "lan" in attached(h, "c")
    assert [c["name"] for c in h.status(LNET, "lan")["clusters"]] == ["a"]
    assert ready(h, "lan")

    # required changes in place.
    h.apply(LNET, "lan", {"dataCenter": "mydc", "adopt": True, "required": True, "clusters": ["a"]})
    outcome = h.run(LNET, "lan")
    assert [e.message for e in outcome.events] == ["Network lan is now required in cluster a"]
    assert attached(h, "a")["lan"].required is True

    # Adopted: the default deletion policy is Retain.
    outcome = h.run(LNET, "lan", delete=True)
    assert [e.reason for e in outcome.events] == ["Retained"]
    assert network(h, "lan") is not None


def test_per_cluster_status_follows_the_hosts(
    simulator_factory: Any, reconciler_harness: Any
) -> None:
    sim = simulator_factory(
        {"hosts": [{"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"}]}
    )
    h = reconciler_harness(sim)
    spec: dict[str, Any] = {"vlan": 2, "clusters": ["Default"]}
    h.apply(LNET, "storage", spec)
    h.run(LNET, "storage")
    # hv01 is up in Default and lacks the (required) network.
    entry = h.status(LNET, "storage")["clusters"][0]
    assert (entry["name"], entry["attached"], entry["operational"]) == ("Default", True, False)
    assert h.status(LNET, "storage")["state"] == "non_operational"
    assert ready(h, "storage")
    assert "not operational in Default" in h.condition(LNET, "storage")["message"]

    h.apply(LNET, "storage", {**spec, "required": False})
    h.run(LNET, "storage")
    entry = h.status(LNET, "storage")["clusters"][0]
    assert (entry["attached"], entry["operational"], entry["required"]) == (True, True, False)
    assert h.status(LNET, "storage")["state"] == "operational"


def test_management_network_is_adopted_never_deleted(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "mgmt", {"name": "rhevm", "clusters": ["Default"]})
    h.run(LNET, "mgmt")
    stalled = h.condition(LNET, "mgmt", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "AlreadyExists"

    spec = {"name": "rhevm", "adopt": True, "deletionPolicy": "Delete", "clusters": ["Default"]}
    h.apply(LNET, "mgmt", spec)
    outcome = h.run(LNET, "mgmt")
    assert [e.reason for e in outcome.events] == ["Adopted"]
    assert ready(h, "mgmt")
    entry = h.status(LNET, "mgmt")["clusters"][0]
    assert (entry["attached"], entry["managed"]) == (True, False)

    outcome = h.run(LNET, "mgmt", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert "rhevm" in attached(h, "Default")
    assert network(h, "rhevm", "Default") is not None


def test_retain_keeps_the_network(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "keep", {"deletionPolicy": "Retain", "clusters": ["Default"]})
    h.run(LNET, "keep")
    outcome = h.run(LNET, "keep", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert network(h, "keep", "Default") is not None
    assert "keep" in attached(h, "Default")


def test_kubectl_columns_show_the_mtu_and_clusters_at_defaults(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "plain", {"dataCenter": "Default"})
    h.run(LNET, "plain")
    status = h.status(LNET, "plain")
    assert status["mtu"] == 1500  # RHEV-M says 0: its default
    assert status.get("clusterNames") is None
    h.apply(LNET, "plain", {"dataCenter": "Default", "clusters": ["Default"]})
    h.run(LNET, "plain")
    assert h.status(LNET, "plain")["clusterNames"] == "Default"


def test_a_refused_vlan_change_is_stalled_with_the_engines_message(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "lan", {"vlan": 2})
    h.run(LNET, "lan")
    net_id = h.status(LNET, "lan")["id"]
    # What an engine answers while hosts carry the network.
    said = "Cannot edit Network. The network is in use by Host(s): hv01."
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": f"/networks/{net_id}$", "method": "PUT", "status": 409, "detail": f"[{said}]"},
    )
    h.apply(LNET, "lan", {"vlan": 3})
    h.run(LNET, "lan")
    stalled = h.condition(LNET, "lan", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "UpdateRefused"
    assert said in stalled["message"] and "vlan 2 -> 3" in stalled["message"]
    assert network(h, "lan", "Default").vlan_id == 2

    simulator.control("DELETE", "/sim/faults")
    h.run(LNET, "lan")
    assert ready(h, "lan") and network(h, "lan", "Default").vlan_id == 3


def test_a_cluster_of_another_data_center_is_stalled(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    seed(h, "a")
    h.apply(LNET, "lan", {"clusters": ["a"]})  # the network is in Default
    h.run(LNET, "lan")
    stalled = h.condition(LNET, "lan", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "ClusterInOtherDataCenter"
    assert "lan" not in attached(h, "a")


def test_a_crash_after_create_is_recognised_by_the_owner_marker(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    body = h.apply(LNET, "lan", {"vlan": 4, "clusters": ["Default"]})
    h.run(LNET, "lan")
    body["status"] = {}  # the status patch was lost: as after a crash before it landed
    outcome = h.run(LNET, "lan")
    assert outcome.events == [] and ready(h, "lan")
    assert [n.name for n in h.client.networks.list()].count("lan") == 1
    # The network is its own, so the attachment it finds is taken as its own too.
    assert h.status(LNET, "lan")["clusters"][0]["managed"] is True
    h.apply(LNET, "lan", {"vlan": 4, "clusters": []})
    outcome = h.run(LNET, "lan")
    assert [e.reason for e in outcome.events] == ["Detached"]
    assert "lan" not in attached(h, "Default")
    assert h.status(LNET, "lan")["state"] == "defined"


def test_delete_waits_while_the_network_is_in_use(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "lan", {"clusters": ["Default"]})
    h.run(LNET, "lan")
    net_id = h.status(LNET, "lan")["id"]
    said = "Cannot remove Network. The following Logical Network: 'lan' is being used by VM(s)"
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": f"/networks/{net_id}$", "method": "DELETE", "status": 409, "detail": said},
    )
    outcome = h.run(LNET, "lan", delete=True)
    assert not outcome.finished
    condition = h.condition(LNET, "lan", "Reconciling")
    assert condition["reason"] == "NetworkInUse" and said in condition["message"]
    assert network(h, "lan", "Default") is not None

    simulator.control("DELETE", "/sim/faults")
    outcome = h.run(LNET, "lan", delete=True)
    assert outcome.finished and network(h, "lan", "Default") is None


def test_a_move_to_another_data_center_is_stalled_and_nothing_is_sent(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    seed(h)
    h.apply(LNET, "lan", {"vlan": 2})  # in Default
    h.run(LNET, "lan")
    before = writes(simulator)
    h.apply(LNET, "lan", {"vlan": 2, "dataCenter": "mydc"})
    h.run(LNET, "lan")
    stalled = h.condition(LNET, "lan", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "DataCenterChangeRefused"
    assert writes(simulator) == before
    assert network(h, "lan", "Default") is not None and network(h, "lan") is None


def test_delete_in_use_past_its_deadline_is_stalled_with_the_engines_words(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(LNET, "lan", {"clusters": ["Default"], "timeouts": {"operationSeconds": 60}})
    h.run(LNET, "lan")
    cl_id = h.client.clusters.find("Default").id
    net_id = h.status(LNET, "lan")["id"]
    said = "Cannot remove Network. The following Logical Network: 'lan' is being used by VM(s)"
    simulator.control(
        "POST",
        "/sim/faults",
        {
            "path": f"/clusters/{cl_id}/networks/{net_id}$",
            "method": "DELETE",
            "status": 409,
            "detail": said,
        },
    )
    h.run(LNET, "lan", delete=True)
    op = h.status(LNET, "lan")["operation"]
    assert op["action"] == "AwaitNetworkUnused"
    assert h.condition(LNET, "lan", "Reconciling")["reason"] == "NetworkInUse"
    assert "detach network lan from cluster Default" in h.status(LNET, "lan")["message"]
    h.run(LNET, "lan", delete=True)
    assert h.status(LNET, "lan")["operation"] == op  # the same deadline on every pass

    op["deadline"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    outcome = h.run(LNET, "lan", delete=True)
    stalled = h.condition(LNET, "lan", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout" and not outcome.finished
    assert "AwaitNetworkUnused did not finish" in stalled["message"]
    assert f"RHEV-M said: {said}" in stalled["message"]
    assert "lan" in attached(h, "Default")

    simulator.control("DELETE", "/sim/faults")
    outcome = h.run(LNET, "lan", delete=True)
    assert outcome.finished and network(h, "lan", "Default") is None
