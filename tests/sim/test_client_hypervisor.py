"""The RHEV-M client's hosts against the simulator: CRUD, the actions (approve, activate,
deactivate, fence, install, forceselectspm), NICs, network attachments, setupnetworks and
fence agents, with the simulator's manual clock driving the state machines."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rhev_operator.rhevm import (
    ClusterNetworkAttach,
    ConnectionConfig,
    FenceAgentCreate,
    FenceAgentUpdate,
    HostCreate,
    HostUpdate,
    NetworkAttachmentSpec,
    NetworkCreate,
    RhevmClient,
    errors,
    jobs_state,
)
from rhevsim.testing import SimHandle

NICS = [{"name": "eth0", "mac": "52:54:00:00:00:11"}, {"name": "eth1", "mac": "52:54:00:00:01:11"}]
INVENTORY = {
    "storage_domains": [
        {
            "name": "nfs1",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"},
            "data_center": "Default",
            "status": "active",
        }
    ],
    "hosts": [
        {"name": "hv01", "address": "10.0.0.11", "status": "up", "spm_priority": 5, "nics": NICS},
        {"name": "hv02", "address": "10.0.0.12", "status": "up", "spm_priority": 3, "nics": NICS},
        {"name": "hv03", "address": "10.0.0.13", "status": "pending_approval", "type": "rhev_h"},
    ],
}


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    s = simulator_factory(INVENTORY)
    s.advance(120)  # let the SPM election settle
    return s


@pytest.fixture
def client(sim: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def host(client: RhevmClient, name: str) -> str:
    h = client.hosts.find(name)
    assert h is not None, name
    return h.id


def test_hosts_are_read_with_cluster_and_spm(client: RhevmClient) -> None:
    hosts = {h.name: h for h in client.hosts.list()}
    assert set(hosts) == {"hv01", "hv02", "hv03"}
    cl = client.clusters.find("Default")
    assert cl is not None
    hv01 = hosts["hv01"]
    assert (hv01.address, hv01.status, hv01.cluster_id) == ("10.0.0.11", "up", cl.id)
    assert hv01.spm_priority == 5 and hv01.spm_status == "spm"
    assert hosts["hv02"].spm_status == "none"
    assert hosts["hv03"].status == "pending_approval" and hosts["hv03"].type == "rhev_h"
    assert client.hosts.find("hv0") is None  # exact match only, unlike xCAT's name=hv0*
    assert [h.name for h in client.hosts.list(search="status=up")] == ["hv01", "hv02"]
    dc = client.datacenters.find("Default")
    assert dc is not None and dc.status == "up"


def test_add_host_installs_and_comes_up(sim: SimHandle, client: RhevmClient) -> None:
    cid = client.new_correlation_id()
    new = client.hosts.add(
        HostCreate(
            name="hv04",
            address="10.0.0.14",
            cluster_name="Default",
            root_password="r00t",
            spm_priority=-1,
        ),
        correlation_id=cid,
    )
    assert new.status == "installing" and new.spm_priority == -1
    assert jobs_state(client.jobs.find_by_correlation_id(cid)) == "started"
    sim.advance(300)
    up = client.hosts.get(new.id)
    assert up.status == "up" and up.spm_status == "none"
    assert jobs_state(client.jobs.find_by_correlation_id(cid)) == "finished"
    with pytest.raises(errors.AlreadyExists):
        client.hosts.add(HostCreate(name="hv04", address="10.0.0.99", cluster_name="Default"))


def test_maintenance_and_activation(sim: SimHandle, client: RhevmClient) -> None:
    hv02 = host(client, "hv02")
    res = client.hosts.deactivate(hv02)
    assert res.status in ("complete", "pending") and res.correlation_id
    assert client.hosts.get(hv02).status in ("preparing_for_maintenance", "maintenance")
    sim.advance(30)
    assert client.hosts.get(hv02).status == "maintenance"
    with pytest.raises(errors.Conflict) as again:
        client.hosts.deactivate(hv02)
    assert "aintenance" in (again.value.detail or "")
    client.hosts.activate(hv02)
    sim.advance(30)
    assert client.hosts.get(hv02).status == "up"


def test_update_spm_priority_and_force_select_spm(sim: SimHandle, client: RhevmClient) -> None:
    hv02 = host(client, "hv02")
    updated = client.hosts.update(hv02, HostUpdate(spm_priority=9, description="second"))
    assert updated.spm_priority == 9 and updated.description == "second"
    assert updated.address == "10.0.0.12"  # untouched: only set fields were sent
    client.hosts.force_select_spm(hv02)
    sim.advance(120)
    assert client.hosts.get(hv02).spm_status == "spm"
    assert client.hosts.get(host(client, "hv01")).spm_status == "none"


def test_fence_status_and_manual_fence_rules(client: RhevmClient) -> None:
    hv01 = host(client, "hv01")
    with pytest.raises(errors.Conflict) as info:
        client.hosts.fence(hv01, "manual")  # an Up host cannot be "confirmed rebooted"
    assert info.value.status == 409 and (info.value.path or "").endswith(f"/hosts/{hv01}/fence")
    with pytest.raises(ValueError, match="fence_type"):
        client.hosts.fence(hv01, "reboot")


def test_approve_pending_host(sim: SimHandle, client: RhevmClient) -> None:
    hv03 = host(client, "hv03")
    cl = client.clusters.find("Default")
    assert cl is not None
    res = client.hosts.approve(hv03, cluster_id=cl.id)
    assert res.done or res.status == "pending"
    sim.advance(300)
    assert client.hosts.get(hv03).status == "up"
    with pytest.raises(errors.Conflict):
        client.hosts.approve(hv03)  # only pending_approval / install_failed hosts


def test_reinstall_from_maintenance(sim: SimHandle, client: RhevmClient) -> None:
    hv02 = host(client, "hv02")
    client.hosts.deactivate(hv02)
    sim.advance(30)
    client.hosts.install(hv02, root_password="r00t", activate=True)
    assert client.hosts.get(hv02).status == "installing"
    sim.advance(300)
    assert client.hosts.get(hv02).status == "up"


def test_remove_host_needs_maintenance(sim: SimHandle, client: RhevmClient) -> None:
    hv02 = host(client, "hv02")
    with pytest.raises(errors.Conflict):
        client.hosts.remove(hv02)
    client.hosts.deactivate(hv02)
    sim.advance(30)
    client.hosts.remove(hv02)
    with pytest.raises(errors.NotFound):
        client.hosts.get(hv02)


def test_nics_attachments_and_setup_networks(sim: SimHandle, client: RhevmClient) -> None:
    hv01 = host(client, "hv01")
    nics = {n.name: n for n in client.hosts.nics(hv01).list()}
    assert {"eth0", "eth1"} <= set(nics)
    assert nics["eth0"].mac == "52:54:00:00:00:11"
    assert client.hosts.nics(hv01).get(nics["eth1"].id) == nics["eth1"]
    mgmt = client.networks.find("rhevm")
    assert mgmt is not None
    atts = client.hosts.network_attachments(hv01).list()
    assert [(a.network_id, a.host_nic_id) for a in atts] == [(mgmt.id, nics["eth0"].id)]

    dc = client.datacenters.find("Default")
    cl = client.clusters.find("Default")
    assert dc is not None and cl is not None
    net = client.networks.add(NetworkCreate(name="rhevm2", data_center_id=dc.id, vlan_id=2))
    client.networks.cluster_networks(cl.id).attach(
        ClusterNetworkAttach(network_id=net.id, required=False)
    )
    client.hosts.deactivate(hv01)
    sim.advance(60)
    cid = client.new_correlation_id()
    res = client.hosts.setup_networks(
        hv01,
        modified_network_attachments=[
            NetworkAttachmentSpec(
                network_id=net.id,
                host_nic_name="eth1",
                boot_protocol="static",
                address="10.1.0.236",
                netmask="255.255.255.0",
            )
        ],
        check_connectivity=True,
        commit_on_success=True,
        correlation_id=cid,
    )
    assert res.correlation_id == cid
    sim.advance(30)
    by_net = {a.network_id: a for a in client.hosts.network_attachments(hv01).list()}
    assert set(by_net) == {mgmt.id, net.id}
    new = by_net[net.id]
    assert new.host_nic_id == nics["eth1"].id
    assert new.ip_assignments and new.ip_assignments[0].assignment_method == "static"
    assert new.ip_assignments[0].address == "10.1.0.236"

    res = client.hosts.setup_networks(hv01, removed_network_attachments=[new.id])
    sim.advance(30)
    assert net.id not in {a.network_id for a in client.hosts.network_attachments(hv01).list()}


def test_fence_agents_crud_never_reads_the_password(client: RhevmClient) -> None:
    hv01 = host(client, "hv01")
    agents = client.hosts.fence_agents(hv01)
    assert agents.list() == []
    agent = agents.add(
        FenceAgentCreate(
            type="ipmilan",
            address="10.0.0.101",
            port=623,
            username="USERID",
            password="PASSW0RD",
            order=1,
            options={"lanplus": "1"},
        )
    )
    assert (agent.type, agent.address, agent.port, agent.username) == (
        "ipmilan",
        "10.0.0.101",
        623,
        "USERID",
    )
    assert agent.options == {"lanplus": "1"} and "PASSW0RD" not in repr(agent)
    changed = agents.update(agent.id, FenceAgentUpdate(port=6230))
    assert changed.port == 6230 and changed.address == "10.0.0.101"
    assert agents.list() == [changed]
    agents.remove(agent.id)
    assert agents.list() == []
