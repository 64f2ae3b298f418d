"""Clusters through the official SDK: CRUD, references, refusals, management network."""

from __future__ import annotations

from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
import requests
from lxml import etree

from rhevsim.testing import SimHandle


def clusters(conn: Any) -> Any:
    return conn.system_service().clusters_service()


def test_default_cluster_belongs_to_default_dc(sdk_connection: Any) -> None:
    cl = clusters(sdk_connection).list()[0]
    assert cl.name == "Default"
    dc = sdk_connection.follow_link(cl.data_center)
    assert dc.name == "Default"
    assert cl.memory_policy.over_commit.percent == 100
    assert cl.memory_policy.transparent_huge_pages.enabled is True
    assert (cl.version.major, cl.version.minor) == (4, 7)


def test_add_with_data_center_by_name_and_update(sdk_connection: Any) -> None:
    svc = clusters(sdk_connection)
    cl = svc.add(
        types.Cluster(
            name="prod",
            description="production",
            cpu=types.Cpu(type="Intel Haswell Family"),
            data_center=types.DataCenter(name="Default"),
            memory_policy=types.MemoryPolicy(
                over_commit=types.MemoryOverCommit(percent=150),
                transparent_huge_pages=types.TransparentHugePages(enabled=False),
            ),
        )
    )
    assert cl.cpu.type == "Intel Haswell Family"
    assert cl.cpu.architecture == types.Architecture.X86_64
    assert cl.memory_policy.over_commit.percent == 150
    assert cl.memory_policy.transparent_huge_pages.enabled is False
    one = svc.cluster_service(cl.id)
    one.update(
        types.Cluster(
            memory_policy=types.MemoryPolicy(over_commit=types.MemoryOverCommit(percent=200))
        )
    )
    got = one.get()
    assert got.memory_policy.over_commit.percent == 200 and got.description == "production"
    # The management network is attached, required, with the management role.
    nets = one.networks_service().list()
    assert [n.name for n in nets] == ["rhevm"]
    assert nets[0].required is True
    assert types.NetworkUsage.MANAGEMENT in nets[0].usages
    assert nets[0].status == types.NetworkStatus.OPERATIONAL
    one.remove()
    assert [c.name for c in svc.list()] == ["Default"]


def test_missing_data_center_reference_is_404_entity_not_found(sdk_connection: Any) -> None:
    with pytest.raises(sdk.NotFoundError) as info:
        clusters(sdk_connection).add(
            types.Cluster(name="x", data_center=types.DataCenter(name="Nope"))
        )
    assert "Entity not found: Datacenter: name=Nope" in str(info.value)


def test_missing_data_center_is_incomplete(sdk_connection: Any) -> None:
    with pytest.raises(sdk.Error) as info:
        clusters(sdk_connection).add(types.Cluster(name="x"))
    assert info.value.code == 400
    assert "Cluster [dataCenter.name|id] required for add" in str(info.value)


def test_duplicate_name_and_bad_cpu_are_refused(sdk_connection: Any) -> None:
    svc = clusters(sdk_connection)
    with pytest.raises(sdk.Error) as info:
        svc.add(types.Cluster(name="Default", data_center=types.DataCenter(name="Default")))
    assert info.value.code == 409
    assert "[Cannot create Cluster. Cluster name is already in use.]" in str(info.value)
    with pytest.raises(sdk.Error) as info:
        svc.add(
            types.Cluster(
                name="c2",
                cpu=types.Cpu(type="Zilog Z80"),
                data_center=types.DataCenter(name="Default"),
            )
        )
    assert info.value.code == 400 and "The chosen CPU is not supported." in str(info.value)


def test_local_data_center_takes_one_cluster(sdk_connection: Any) -> None:
    dc = (
        sdk_connection.system_service()
        .data_centers_service()
        .add(types.DataCenter(name="loc", local=True))
    )
    dc_clusters = (
        sdk_connection.system_service()
        .data_centers_service()
        .data_center_service(dc.id)
        .clusters_service()
    )
    dc_clusters.add(types.Cluster(name="loc1"))
    assert [c.name for c in dc_clusters.list()] == ["loc1"]
    with pytest.raises(sdk.Error) as info:
        dc_clusters.add(types.Cluster(name="loc2"))
    assert 'Cannot add more than one Cluster to a Data Center with "Local Storage".' in str(
        info.value
    )


def test_cluster_list_search_by_datacenter(simulator: SimHandle) -> None:
    r = requests.get(
        simulator.api_url + "/clusters",
        params={"search": "datacenter=Default"},
        auth=("admin@internal", "admin"),
        timeout=10,
    )
    root = etree.fromstring(r.content)
    assert [c.findtext("name") for c in root] == ["Default"]
    assert root[0].find("data_center").get("href").startswith("/ovirt-engine/api/datacenters/")


def test_locked_cluster_refuses_changes(simulator: SimHandle, sdk_connection: Any) -> None:
    cl = simulator.find("cluster", "Default")
    with simulator.lock:
        cl.lock = "upgrade"
    with pytest.raises(sdk.Error) as info:
        clusters(sdk_connection).cluster_service(cl.id).update(types.Cluster(description="d"))
    assert info.value.code == 409
    assert (
        "Cannot update Cluster. Related operation is currently in progress. Please try again later."
        in str(info.value)
    )


def test_actions_answer_complete_with_a_job(sdk_connection: Any, simulator: SimHandle) -> None:
    cl = simulator.find("cluster", "Default")
    r = requests.post(
        simulator.api_url + f"/clusters/{cl.id}/resetemulatedmachine",
        data="<action/>",
        headers={"Content-Type": "application/xml"},
        auth=("admin@internal", "admin"),
        timeout=10,
    )
    el = etree.fromstring(r.content)
    assert r.status_code == 200 and el.findtext("status") == "complete"
    assert el.find("job").get("href").startswith("/ovirt-engine/api/jobs/")
    clusters(sdk_connection).cluster_service(cl.id).sync_all_networks()
