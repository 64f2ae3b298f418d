"""RhevDataCenter reconciler against the simulator (manual clock), without kopf."""

from __future__ import annotations

from typing import Any


def test_create_then_drift_is_corrected_and_delete_removes(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "mydc", {"storageType": "localfs", "description": "first"})
    outcome = h.run("RhevDataCenter", "mydc")
    assert [e.reason for e in outcome.events] == ["Created"]
    dc = h.client.datacenters.find("mydc")
    assert dc is not None and dc.local is True and dc.description == "first"
    assert h.status("RhevDataCenter", "mydc")["id"] == dc.id
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"

    # Running again changes nothing and creates no duplicate.
    outcome = h.run("RhevDataCenter", "mydc")
    assert outcome.events == []
    assert [d.name for d in h.client.datacenters.list()].count("mydc") == 1

    # Drift made in RHEV-M on a field the spec sets is corrected, with an Event.
    from rhev_operator.rhevm import DataCenterUpdate

    h.client.datacenters.update(dc.id, DataCenterUpdate(description="changed by hand"))
    outcome = h.run("RhevDataCenter", "mydc")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert h.client.datacenters.get(dc.id).description == "first"

    outcome = h.run("RhevDataCenter", "mydc", delete=True)
    assert outcome.finished
    assert h.client.datacenters.find("mydc") is None


def test_a_crash_after_create_is_recognised_by_the_owner_marker(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    body = h.apply("RhevDataCenter", "mydc", {})
    h.run("RhevDataCenter", "mydc")
    body["status"] = {}  # the status patch was lost: as after a crash before it landed
    outcome = h.run("RhevDataCenter", "mydc")
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"
    assert outcome.events == []
    assert [d.name for d in h.client.datacenters.list()].count("mydc") == 1


def test_retain_leaves_the_datacenter(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "keep", {"deletionPolicy": "Retain"})
    h.run("RhevDataCenter", "keep")
    outcome = h.run("RhevDataCenter", "keep", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert h.client.datacenters.find("keep") is not None


def test_rhevm_down_is_reported_as_reconciling_not_a_crash(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "mydc", {})
    simulator.control("POST", "/sim/api/down", {"mode": "503"})
    h.run("RhevDataCenter", "mydc")
    ready = h.condition("RhevDataCenter", "mydc")
    assert ready is not None and ready["status"] == "False"
    assert ready["reason"] == "RhevmUnavailable"
    simulator.control("POST", "/sim/api/up")
    h.run("RhevDataCenter", "mydc")
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"


def test_adopting_a_local_datacenter_without_storage_type_keeps_it_local(
    simulator: Any, reconciler_harness: Any
) -> None:
    from rhev_operator.rhevm import DataCenterCreate

    h = reconciler_harness(simulator)
    h.client.datacenters.add(DataCenterCreate(name="localdc", local=True))
    h.apply("RhevDataCenter", "localdc", {"adopt": True})
    outcome = h.run("RhevDataCenter", "localdc")
    assert [e.reason for e in outcome.events] == ["Adopted"]
    assert h.client.datacenters.find("localdc").local is True
    # Said explicitly, the spec wins and the change is an Event.
    h.apply("RhevDataCenter", "localdc", {"adopt": True, "storageType": "nfs"})
    outcome = h.run("RhevDataCenter", "localdc")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert h.client.datacenters.find("localdc").local is False
