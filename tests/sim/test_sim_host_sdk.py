"""Conformance: the official SDK (ovirtsdk4) drives hosts, NICs, network attachments, fence
agents, fencing and SPM selection in the simulator (manual clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import inventory, run_until

Factory = Callable[..., SimHandle]


@pytest.fixture
def env(simulator_factory: Factory) -> Iterator[tuple[SimHandle, sdk.Connection]]:
    sim = simulator_factory(
        inventory(
            [{"name": "hv01", "status": "up"}, {"name": "hv02", "status": "maintenance"}],
            off=(),
        )
    )
    conn = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    try:
        yield sim, conn
    finally:
        conn.close()


def _host(conn: sdk.Connection, name: str) -> types.Host:
    found = conn.system_service().hosts_service().list(search=f"name={name}")
    assert len(found) == 1
    return found[0]


def test_sdk_add_list_and_remove(env: tuple[SimHandle, sdk.Connection]) -> None:
    sim, conn = env
    hosts = conn.system_service().hosts_service()
    added = hosts.add(
        types.Host(
            name="hv03",
            address="10.0.0.13",
            root_password="secret",
            cluster=types.Cluster(name="Default"),
            spm=types.Spm(priority=4),
        ),
        activate=False,
    )
    assert added.status == types.HostStatus.INSTALLING and added.spm.priority == 4
    sim.advance(180)
    svc = hosts.host_service(added.id)
    got = svc.get()
    assert got.status == types.HostStatus.MAINTENANCE
    assert got.spm.status == types.SpmStatus.NONE
    assert got.cluster.id == _host(conn, "hv01").cluster.id
    listed = {h.name: h for h in hosts.list(search="status=up")}
    assert list(listed) == ["hv01"] and listed["hv01"].spm.status == types.SpmStatus.SPM
    with pytest.raises(sdk.Error, match="Host is operational"):
        hosts.host_service(listed["hv01"].id).remove()
    svc.remove()
    with pytest.raises(sdk.NotFoundError):
        svc.get()


def test_sdk_follow_and_sub_collections(env: tuple[SimHandle, sdk.Connection]) -> None:
    _, conn = env
    hosts = (
        conn.system_service()
        .hosts_service()
        .list(follow="nics,network_attachments", search="name=hv01")
    )
    h = hosts[0]
    assert [n.name for n in h.nics] == ["eth0", "eth1"]
    assert len(h.network_attachments) == 1
    svc = conn.system_service().hosts_service().host_service(h.id)
    nics = svc.nics_service().list()
    eth0 = next(n for n in nics if n.name == "eth0")
    assert eth0.ip.address == "10.0.0.11" and eth0.boot_protocol == types.BootProtocol.DHCP
    atts = svc.nics_service().nic_service(eth0.id).network_attachments_service().list()
    assert len(atts) == 1 and atts[0].host_nic.id == eth0.id


def test_sdk_approve_registered_machine(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    conn = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    try:
        sim.control("POST", "/sim/machines/hv03/boot", {"device": "network"})
        sim.control("POST", "/sim/machines/hv03/power", {"on": True})
        sim.advance(120)
        h = _host(conn, "hv03")
        assert h.status == types.HostStatus.PENDING_APPROVAL
        svc = conn.system_service().hosts_service().host_service(h.id)
        svc.approve(cluster=types.Cluster(name="Default"))
        assert svc.get().status == types.HostStatus.INSTALLING
        run_until(sim, lambda: svc.get().status == types.HostStatus.UP, step=5, limit=600)
    finally:
        conn.close()


def test_sdk_maintenance_setup_networks_activate(env: tuple[SimHandle, sdk.Connection]) -> None:
    sim, conn = env
    svc = conn.system_service().hosts_service().host_service(_host(conn, "hv01").id)
    attachment = types.NetworkAttachment(
        network=types.Network(name="storage"),
        host_nic=types.HostNic(name="eth1"),
        ip_address_assignments=[
            types.IpAddressAssignment(
                assignment_method=types.BootProtocol.STATIC,
                ip=types.Ip(address="10.1.0.11", netmask="255.255.255.0"),
            )
        ],
    )
    svc.deactivate()
    sim.advance(5)
    assert svc.get().status == types.HostStatus.MAINTENANCE
    svc.setup_networks(modified_network_attachments=[attachment])
    svc.commit_net_config()
    vlan = next(n for n in svc.nics_service().list() if n.name == "eth1.20")
    assert vlan.ip.address == "10.1.0.11" and vlan.vlan.id == 20
    atts = svc.network_attachments_service().list()
    static = [
        a
        for a in atts
        if a.ip_address_assignments[0].assignment_method == types.BootProtocol.STATIC
    ]
    assert len(static) == 1 and static[0].ip_address_assignments[0].ip.address == "10.1.0.11"
    svc.activate()
    sim.advance(5)
    assert svc.get().status == types.HostStatus.UP


def test_sdk_fence_agents_and_fencing(env: tuple[SimHandle, sdk.Connection]) -> None:
    sim, conn = env
    hid = _host(conn, "hv01").id
    svc = conn.system_service().hosts_service().host_service(hid)
    agents = svc.fence_agents_service()
    agent = agents.add(
        types.Agent(
            address="127.0.0.1",
            port=6231,
            type="ipmilan",
            username="admin",
            password="bmcpw",
            order=1,
        )
    )
    assert agent.password is None and agent.port == 6231
    assert [a.id for a in agents.list()] == [agent.id]
    agents.agent_service(agent.id).update(types.Agent(order=2))
    assert agents.agent_service(agent.id).get().order == 2
    svc.update(types.Host(power_management=types.PowerManagement(enabled=True)))
    pm = svc.fence(fence_type="status")
    assert pm.status == types.PowerManagementStatus.ON
    svc.fence(fence_type="restart")
    assert svc.get().status == types.HostStatus.REBOOT
    run_until(sim, lambda: svc.get().status == types.HostStatus.UP, step=5, limit=300)
    with pytest.raises(sdk.Error, match="Host has been rebooted"):
        svc.fence(fence_type="manual")
    agents.agent_service(agent.id).remove()
    assert agents.list() == []


def test_sdk_force_select_spm(env: tuple[SimHandle, sdk.Connection]) -> None:
    sim, conn = env
    hosts = conn.system_service().hosts_service()
    hv02 = hosts.host_service(_host(conn, "hv02").id)
    hv02.activate()
    sim.advance(5)
    hv02.force_select_spm()
    run_until(sim, lambda: hv02.get().spm.status == types.SpmStatus.SPM, limit=60)
    assert _host(conn, "hv01").spm.status == types.SpmStatus.NONE
    dc = conn.system_service().data_centers_service().list(search="name=Default")[0]
    assert dc.status == types.DataCenterStatus.UP
