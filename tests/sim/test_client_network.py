"""The RHEV-M client's logical networks, cluster network attachments and vNIC profiles
against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rhev_operator.rhevm import (
    ClusterNetworkAttach,
    ClusterNetworkUpdate,
    ConnectionConfig,
    NetworkCreate,
    NetworkUpdate,
    RhevmClient,
    VnicProfileCreate,
    VnicProfileUpdate,
    errors,
)
from rhevsim.testing import SimHandle


@pytest.fixture
def client(simulator: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=simulator.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def ids(client: RhevmClient) -> tuple[str, str]:
    dc = client.datacenters.find("Default")
    cl = client.clusters.find("Default")
    assert dc is not None and cl is not None
    return dc.id, cl.id


def test_management_network_is_in_the_data_center_and_cluster(client: RhevmClient) -> None:
    dc_id, cl_id = ids(client)
    (mgmt,) = client.networks.in_data_center(dc_id, "rhevm")
    assert mgmt.data_center_id == dc_id
    attached = {n.id: n for n in client.networks.cluster_networks(cl_id).list()}
    assert mgmt.id in attached and attached[mgmt.id].required is True
    assert "management" in attached[mgmt.id].usages  # a role per cluster
    assert attached[mgmt.id].cluster_id == cl_id


def test_network_crud_and_vnic_profiles(client: RhevmClient) -> None:
    dc_id, _ = ids(client)
    net = client.networks.add(
        NetworkCreate(
            name="rhevm2", data_center_id=dc_id, vlan_id=2, usages=("vm",), description="seed"
        )
    )
    assert (net.name, net.vlan_id, net.data_center_id, net.usages) == ("rhevm2", 2, dc_id, ("vm",))
    assert client.networks.find("rhevm2") == net
    up = client.networks.update(net.id, NetworkUpdate(mtu=9000))
    assert up.mtu == 9000 and up.vlan_id == 2 and up.description == "seed"

    # a VM network gets a profile of its own name
    (own,) = client.vnic_profiles.list(network_id=net.id)
    assert own.name == "rhevm2" and own.network_id == net.id
    assert client.vnic_profiles.find_for_network(net.id, "rhevm2") == own
    extra = client.vnic_profiles.add(
        VnicProfileCreate(name="rhevm2-mirror", network_id=net.id, port_mirroring=True)
    )
    assert extra.port_mirroring is True and extra.network_id == net.id
    assert client.vnic_profiles.get(extra.id) == extra
    changed = client.vnic_profiles.update(extra.id, VnicProfileUpdate(description="d"))
    assert changed.description == "d" and changed.port_mirroring is True
    assert {p.name for p in client.vnic_profiles.list(network_id=net.id)} == {
        "rhevm2",
        "rhevm2-mirror",
    }
    client.vnic_profiles.remove(extra.id)
    with pytest.raises(errors.NotFound):
        client.vnic_profiles.get(extra.id)

    client.networks.remove(net.id)
    with pytest.raises(errors.NotFound):
        client.networks.get(net.id)
    assert client.networks.in_data_center(dc_id, "rhevm2") == []


def test_duplicate_network_name_in_data_center(client: RhevmClient) -> None:
    dc_id, _ = ids(client)
    with pytest.raises(errors.AlreadyExists) as info:
        client.networks.add(NetworkCreate(name="rhevm", data_center_id=dc_id))
    assert not info.value.retryable  # name in use: retrying cannot help


def test_attach_update_detach_network_to_cluster(simulator: SimHandle, client: RhevmClient) -> None:
    dc_id, cl_id = ids(client)
    net = client.networks.add(NetworkCreate(name="storage", data_center_id=dc_id, vlan_id=20))
    cn = client.networks.cluster_networks(cl_id)
    attached = cn.attach(ClusterNetworkAttach(network_id=net.id, required=False))
    assert attached.id == net.id and attached.required is False
    simulator.advance(5)
    (seen,) = [n for n in cn.list() if n.id == net.id]
    assert seen.status == "operational" and seen.cluster_id == cl_id
    updated = cn.update(net.id, ClusterNetworkUpdate(required=True))
    assert updated.required is True
    with pytest.raises(errors.Conflict):
        cn.attach(ClusterNetworkAttach(network_id=net.id))
    cn.detach(net.id)
    assert net.id not in {n.id for n in cn.list()}
    with pytest.raises(errors.NotFound):
        cn.get(net.id)
