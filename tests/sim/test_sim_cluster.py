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


def test_cluster_renders_the_engines_fencing_policy_migration_rng_and_mac_pool(
    sdk_connection: Any,
) -> None:
    """restapi ClusterMapper.map(Cluster) always sets fencing_policy (FencingPolicyMapper,
    with the defaults of common/businessentities/FencingPolicy: enabled, threshold 50),
    migration (ClusterMigrationOptionsMapper: inherit, bandwidth AUTO), required RNG sources
    (Cluster.getRequiredRngSources: urandom for 4.x) and the MAC pool (the Default pool of
    dbscripts/data/00210_insert_mac_pools.sql). The Ansible module ovirt_cluster reads all
    of them on its second run."""
    cl = clusters(sdk_connection).list()[0]
    fp = cl.fencing_policy
    assert fp.enabled is True
    assert fp.skip_if_sd_active.enabled is False
    assert fp.skip_if_connectivity_broken.enabled is False
    assert fp.skip_if_connectivity_broken.threshold == 50
    assert fp.skip_if_gluster_bricks_up is False
    assert fp.skip_if_gluster_quorum_not_met is False
    assert cl.migration.auto_converge == types.InheritableBoolean.INHERIT
    assert cl.migration.compressed == types.InheritableBoolean.INHERIT
    assert cl.migration.encrypted == types.InheritableBoolean.INHERIT
    assert cl.migration.bandwidth.assignment_method == (
        types.MigrationBandwidthAssignmentMethod.AUTO
    )
    assert cl.required_rng_sources == [types.RngSource.URANDOM]
    pools = sdk_connection.system_service().mac_pools_service().list()
    assert [p.name for p in pools] == ["Default"]
    assert cl.mac_pool.id == pools[0].id
    assert pools[0].default_pool is True and pools[0].ranges[0].from_.startswith("56:6f:")
    # The href the cluster renders answers (BackendSchedulingPolicyResource).
    policy = sdk_connection.follow_link(cl.scheduling_policy)
    assert policy.name == "none" and policy.default_policy is True
    names = {p.name for p in sdk_connection.system_service().scheduling_policies_service().list()}
    assert {"none", "evenly_distributed", "power_saving", "vm_evenly_distributed"} <= names


def test_fencing_policy_and_references_are_set_on_add_and_update(sdk_connection: Any) -> None:
    """FencingPolicyMapper.map(model, entity) copies only what the body sets; a
    skip_if_connectivity_broken without a threshold sets 50. BackendClustersResource resolves
    the scheduling policy by name."""
    svc = clusters(sdk_connection)
    cl = svc.add(
        types.Cluster(
            name="fenced",
            data_center=types.DataCenter(name="Default"),
            fencing_policy=types.FencingPolicy(
                enabled=False,
                skip_if_sd_active=types.SkipIfSdActive(enabled=True),
                skip_if_connectivity_broken=types.SkipIfConnectivityBroken(
                    enabled=True, threshold=30
                ),
            ),
            scheduling_policy=types.SchedulingPolicy(name="evenly_distributed"),
            required_rng_sources=[types.RngSource.HWRNG],
        )
    )
    assert cl.fencing_policy.enabled is False
    assert cl.fencing_policy.skip_if_sd_active.enabled is True
    assert cl.fencing_policy.skip_if_connectivity_broken.threshold == 30
    assert sdk_connection.follow_link(cl.scheduling_policy).name == "evenly_distributed"
    assert sorted(str(s) for s in cl.required_rng_sources) == ["hwrng", "urandom"]
    one = svc.cluster_service(cl.id)
    one.update(
        types.Cluster(
            fencing_policy=types.FencingPolicy(
                skip_if_connectivity_broken=types.SkipIfConnectivityBroken(enabled=False),
                skip_if_gluster_bricks_up=True,
            )
        )
    )
    got = one.get()
    assert got.fencing_policy.enabled is False  # untouched
    assert got.fencing_policy.skip_if_sd_active.enabled is True  # untouched
    assert got.fencing_policy.skip_if_connectivity_broken.enabled is False
    assert got.fencing_policy.skip_if_connectivity_broken.threshold == 50
    assert got.fencing_policy.skip_if_gluster_bricks_up is True
    with pytest.raises(sdk.NotFoundError):
        one.update(types.Cluster(scheduling_policy=types.SchedulingPolicy(name="nope")))


def test_unknown_scheduling_policy_and_mac_pool_ids_are_404(simulator: SimHandle) -> None:
    auth = ("admin@internal", "admin")
    for path in ("/schedulingpolicies/nope", "/macpools/nope"):
        r = requests.get(simulator.api_url + path, auth=auth, timeout=10)
        assert r.status_code == 404


def test_inventory_sets_the_fencing_policy(simulator_factory: Any) -> None:
    """An inventory cluster takes the API's fencing_policy shape; what it leaves out keeps
    the engine's defaults (common/businessentities/FencingPolicy)."""
    from rhevsim.inventory import InventoryError

    sim = simulator_factory(
        {
            "clusters": [
                {
                    "name": "Default",
                    "data_center": "Default",
                    "fencing_policy": {
                        "enabled": False,
                        "skip_if_connectivity_broken": {"enabled": True, "threshold": 30},
                    },
                }
            ]
        }
    )
    conn = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    try:
        fp = clusters(conn).list()[0].fencing_policy
        assert fp.enabled is False and fp.skip_if_sd_active.enabled is False
        assert fp.skip_if_connectivity_broken.enabled is True
        assert fp.skip_if_connectivity_broken.threshold == 30
    finally:
        conn.close()
    with pytest.raises(InventoryError, match=r"clusters\[0\]\.fencing_policy\.nope"):
        simulator_factory(
            {"clusters": [{"name": "c", "data_center": "Default", "fencing_policy": {"nope": 1}}]}
        )
