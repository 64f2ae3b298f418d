"""Logical networks, cluster attachments and vNIC profiles through the official SDK."""

from __future__ import annotations

from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest

from rhevsim.testing import SimHandle


def nets(conn: Any) -> Any:
    return conn.system_service().networks_service()


def test_management_network_name_is_configurable(simulator_factory: Any) -> None:
    sim = simulator_factory({"engine": {"management_network": "ovirtmgmt"}})
    conn = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    try:
        [net] = conn.system_service().networks_service().list()
        assert net.name == "ovirtmgmt" and net.description == "Management Network"
        [profile] = conn.system_service().vnic_profiles_service().list()
        assert profile.name == "ovirtmgmt" and profile.network.id == net.id
    finally:
        conn.close()


def test_new_network_gets_its_default_profile(sdk_connection: Any) -> None:
    net = nets(sdk_connection).add(
        types.Network(
            name="storage",
            data_center=types.DataCenter(name="Default"),
            vlan=types.Vlan(id=20),
            mtu=9000,
            stp=True,
            description="iscsi",
        )
    )
    assert (net.vlan.id, net.mtu, net.stp) == (20, 9000, True)
    assert net.usages == [types.NetworkUsage.VM]
    profiles = nets(sdk_connection).network_service(net.id).vnic_profiles_service().list()
    assert [p.name for p in profiles] == ["storage"]
    all_profiles = sdk_connection.system_service().vnic_profiles_service().list()
    assert sorted(p.name for p in all_profiles) == ["rhevm", "storage"]


def test_non_vm_network_has_no_profile(sdk_connection: Any) -> None:
    net = nets(sdk_connection).add(
        types.Network(name="mig", data_center=types.DataCenter(name="Default"), usages=[])
    )
    assert not net.usages
    assert nets(sdk_connection).network_service(net.id).vnic_profiles_service().list() == []


def test_duplicate_name_in_data_center_is_409(sdk_connection: Any) -> None:
    with pytest.raises(sdk.Error) as info:
        nets(sdk_connection).add(
            types.Network(name="rhevm", data_center=types.DataCenter(name="Default"))
        )
    assert info.value.code == 409
    assert "The name of the logical network 'rhevm' is already used" in str(info.value)


def test_vlan_out_of_range_is_400(sdk_connection: Any) -> None:
    with pytest.raises(sdk.Error) as info:
        nets(sdk_connection).add(
            types.Network(
                name="v", data_center=types.DataCenter(name="Default"), vlan=types.Vlan(id=5000)
            )
        )
    assert info.value.code == 400 and "VLAN ID must be a number between 0 and 4094." in str(
        info.value
    )


def test_attach_update_detach_on_a_cluster(sdk_connection: Any, simulator: SimHandle) -> None:
    net = nets(sdk_connection).add(
        types.Network(name="data", data_center=types.DataCenter(name="Default"))
    )
    cl = simulator.find("cluster", "Default")
    cn = (
        sdk_connection.system_service().clusters_service().cluster_service(cl.id).networks_service()
    )
    attached = cn.add(types.Network(id=net.id, required=False))
    assert attached.required is False
    assert attached.status == types.NetworkStatus.OPERATIONAL
    assert attached.href == f"/ovirt-engine/api/clusters/{cl.id}/networks/{net.id}"
    with pytest.raises(sdk.Error) as info:
        cn.add(types.Network(id=net.id))
    assert "Logical Network is already attached to Cluster." in str(info.value)
    one = cn.network_service(net.id)
    one.update(types.Network(required=True, usages=[types.NetworkUsage.MIGRATION]))
    got = one.get()
    assert got.required is True and types.NetworkUsage.MIGRATION in got.usages
    one.remove()
    assert [n.name for n in cn.list()] == ["rhevm"]


def test_management_network_cannot_be_removed_or_made_optional(
    sdk_connection: Any, simulator: SimHandle
) -> None:
    mgmt = simulator.find("network", "rhevm")
    with pytest.raises(sdk.Error) as info:
        nets(sdk_connection).network_service(mgmt.id).remove()
    assert info.value.code == 409 and "is mandatory and cannot be removed" in str(info.value)
    cl = simulator.find("cluster", "Default")
    cn = (
        sdk_connection.system_service().clusters_service().cluster_service(cl.id).networks_service()
    )
    with pytest.raises(sdk.Error) as info:
        cn.network_service(mgmt.id).update(types.Network(required=False))
    # ACTION_TYPE_FAILED_MANAGEMENT_NETWORK_REQUIRED is BAD_PARAMETERS (EngineMessage): 400.
    assert info.value.code == 400 and "must be required" in str(info.value)


def test_update_and_remove_network_takes_its_profiles(
    sdk_connection: Any, simulator: SimHandle
) -> None:
    net = nets(sdk_connection).add(
        types.Network(name="tmp", data_center=types.DataCenter(name="Default"))
    )
    nets(sdk_connection).network_service(net.id).update(types.Network(mtu=1400, name="tmp2"))
    got = nets(sdk_connection).network_service(net.id).get()
    assert (got.name, got.mtu) == ("tmp2", 1400)
    nets(sdk_connection).network_service(net.id).remove()
    assert simulator.find("vnicprofile", "tmp") is None


def test_data_center_scoped_collection(sdk_connection: Any, simulator: SimHandle) -> None:
    dc = simulator.find("datacenter", "Default")
    dcn = (
        sdk_connection.system_service()
        .data_centers_service()
        .data_center_service(dc.id)
        .networks_service()
    )
    dcn.add(types.Network(name="scoped"))
    assert sorted(n.name for n in dcn.list()) == ["rhevm", "scoped"]
    assert [
        n.name for n in nets(sdk_connection).list(search="name=scoped and datacenter=Default")
    ] == ["scoped"]


def test_vnic_profiles_crud(sdk_connection: Any, simulator: SimHandle) -> None:
    mgmt = simulator.find("network", "rhevm")
    svc = sdk_connection.system_service().vnic_profiles_service()
    p = svc.add(
        types.VnicProfile(name="mirror", network=types.Network(id=mgmt.id), port_mirroring=True)
    )
    assert p.port_mirroring is True and p.network.id == mgmt.id
    with pytest.raises(sdk.Error) as info:
        svc.add(types.VnicProfile(name="mirror", network=types.Network(id=mgmt.id)))
    assert info.value.code == 409 and "profile's name is already used" in str(info.value)
    svc.profile_service(p.id).update(types.VnicProfile(description="d", port_mirroring=False))
    got = svc.profile_service(p.id).get()
    assert got.description == "d" and got.port_mirroring is False
    svc.profile_service(p.id).remove()
    assert [x.name for x in svc.list()] == ["rhevm"]
    with pytest.raises(sdk.Error) as info:
        svc.add(
            types.VnicProfile(
                name="x", network=types.Network(id="00000000-0000-0000-0000-00000000dead")
            )
        )
    assert info.value.code == 404
    assert "Entity not found: Network: id=00000000-0000-0000-0000-00000000dead" in str(info.value)


def test_inventory_networks_and_profiles(simulator_factory: Any) -> None:
    sim = simulator_factory(
        {
            "networks": [
                {
                    "name": "vlan30",
                    "data_center": "Default",
                    "vlan": 30,
                    "clusters": [{"name": "Default", "required": False}],
                }
            ],
            "vnic_profiles": [{"name": "vlan30-b", "network": "vlan30"}],
        }
    )
    net = sim.find("network", "vlan30")
    cl = sim.find("cluster", "Default")
    assert net.vlan_id == 30 and net.clusters[cl.id].required is False
    assert sim.find("vnicprofile", "vlan30-b").network_id == net.id
    assert sim.find("vnicprofile", "vlan30").network_id == net.id
