"""Host networking in the simulator over raw HTTP: NICs, network attachments, setupnetworks
(on Maintenance, Up and NonOperational hosts), static IPs, VLANs, commitnetconfig,
required networks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, fault_detail, inventory

Factory = Callable[..., SimHandle]

STATIC_STORAGE = (
    "<network_attachment><network><name>storage</name></network>"
    "<host_nic><name>eth1</name></host_nic>"
    "<ip_address_assignments><ip_address_assignment>"
    "<assignment_method>static</assignment_method>"
    "<ip><address>10.1.0.11</address><netmask>255.255.255.0</netmask>"
    "<gateway>10.1.0.1</gateway></ip>"
    "</ip_address_assignment></ip_address_assignments></network_attachment>"
)
DHCP_BACKEND = (
    "<network_attachment><network><name>backend</name></network>"
    "<host_nic><name>eth1</name></host_nic>"
    "<ip_address_assignments><ip_address_assignment>"
    "<assignment_method>dhcp</assignment_method>"
    "</ip_address_assignment></ip_address_assignments></network_attachment>"
)


def _setup(*attachments: str, removed: str = "", commit: bool = False) -> str:
    return (
        "<action><modified_network_attachments>"
        + "".join(attachments)
        + "</modified_network_attachments>"
        + (
            f"<removed_network_attachments>{removed}</removed_network_attachments>"
            if removed
            else ""
        )
        + ("<commit_on_success>true</commit_on_success>" if commit else "")
        + "</action>"
    )


@pytest.fixture
def env(simulator_factory: Factory) -> tuple[SimHandle, Api, str, str]:
    sim = simulator_factory(
        inventory(
            [
                {"name": "hv01", "status": "up"},
                {"name": "hv02", "status": "maintenance"},
            ]
        )
    )
    api = Api(sim)
    return sim, api, api.host("hv01").get("id"), api.host("hv02").get("id")


def test_setupnetworks_applies_on_an_up_host_and_is_refused_outside_the_legal_statuses(
    simulator_factory: Factory,
) -> None:
    """bll network/host/HostValidator: LEGAL_STATUSES = Maintenance, Up, NonOperational
    (ACTION_TYPE_FAILED_VDS_STATUS_ILLEGAL otherwise); the host stays Up."""
    sim = simulator_factory(
        inventory(
            [
                {"name": "hv01", "status": "up"},
                {"name": "hv02", "status": "pending_approval"},
                {"name": "hv03", "status": "non_operational"},
            ]
        )
    )
    api = Api(sim)
    up_id = api.host("hv01").get("id")
    r = api.action(up_id, "setupnetworks", _setup(STATIC_STORAGE, commit=True))
    assert r.status_code == 200, r.text
    assert api.host("hv01").findtext("status") == "up"
    atts = api.get(f"/hosts/{up_id}/networkattachments")
    assert len(atts) == 2
    nop_id = api.host("hv03").get("id")
    r = api.action(nop_id, "setupnetworks", _setup(STATIC_STORAGE))
    assert r.status_code == 200, r.text
    pending_id = api.host("hv02").get("id")
    r = api.action(pending_id, "setupnetworks", _setup(STATIC_STORAGE))
    assert r.status_code == 409
    assert fault_detail(r) == (
        "[Cannot setup Networks. Operation can be performed only when Host status is "
        "Maintenance,Up,NonOperational.]"
    )
    assert "<status>failed</status>" in r.text


def test_setupnetworks_in_maintenance_static_ip_and_vlan(
    env: tuple[SimHandle, Api, str, str],
) -> None:
    _, api, _, hid = env
    r = api.s.post(
        api.url + f"/hosts/{hid}/setupnetworks",
        data=_setup(STATIC_STORAGE, DHCP_BACKEND, commit=True),
        headers={"Correlation-Id": "netsetup"},
    )
    assert r.status_code == 200, r.text
    assert "<status>complete</status>" in r.text
    nics = {n.findtext("name"): n for n in api.get(f"/hosts/{hid}/nics")}
    assert sorted(nics) == ["eth0", "eth1", "eth1.20"]
    vlan = nics["eth1.20"]
    assert vlan.find("vlan").get("id") == "20" and vlan.findtext("base_interface") == "eth1"
    assert vlan.findtext("ip/address") == "10.1.0.11"
    assert vlan.findtext("ip/netmask") == "255.255.255.0"
    assert vlan.findtext("ip/gateway") == "10.1.0.1"
    assert vlan.findtext("boot_protocol") == "static"
    assert nics["eth1"].findtext("boot_protocol") == "dhcp"  # the untagged backend network
    atts = api.get(f"/hosts/{hid}/networkattachments")
    assert len(atts) == 3
    by_net = {}
    for a in atts:
        net = api.get(f"/networks/{a.find('network').get('id')}")
        by_net[net.findtext("name")] = a
    st = by_net["storage"]
    ia = st.find("ip_address_assignments/ip_address_assignment")
    assert ia.findtext("assignment_method") == "static"
    assert ia.findtext("ip/address") == "10.1.0.11"
    assert st.find("host_nic").get("id") == nics["eth1"].get("id")
    assert st.findtext("in_sync") == "true"
    # Per-NIC collection and the single attachment.
    eth1_atts = api.get(f"/hosts/{hid}/nics/{nics['eth1'].get('id')}/networkattachments")
    assert len(eth1_atts) == 2
    one = api.get(f"/hosts/{hid}/networkattachments/{st.get('id')}")
    assert one.get("id") == st.get("id")
    codes = {int(e.findtext("code")) for e in api.get("/events", search="correlation_id=netsetup")}
    assert {10903, 1104} <= codes


def test_setupnetworks_refusals(env: tuple[SimHandle, Api, str, str]) -> None:
    _, api, _, hid = env
    other = STATIC_STORAGE.replace("<name>storage</name>", "<name>other</name>")
    r = api.action(hid, "setupnetworks", _setup(other))
    assert r.status_code == 400
    assert "do not exist in the Host's Cluster: other" in fault_detail(r)
    two_untagged = DHCP_BACKEND.replace("<name>eth1</name>", "<name>eth0</name>")
    r = api.action(hid, "setupnetworks", _setup(two_untagged))
    assert r.status_code == 400 and "only one non-VLAN network" in fault_detail(r)
    no_mask = STATIC_STORAGE.replace("<netmask>255.255.255.0</netmask>", "")
    r = api.action(hid, "setupnetworks", _setup(no_mask))
    assert r.status_code == 400 and "Must define ip address and netmask" in fault_detail(r)
    bad_gw = STATIC_STORAGE.replace("10.1.0.1<", "10.9.0.1<")
    r = api.action(hid, "setupnetworks", _setup(bad_gw))
    assert r.status_code == 400 and "gateway" in fault_detail(r)
    bad_nic = STATIC_STORAGE.replace("<name>eth1</name>", "<name>eth7</name>")
    r = api.action(hid, "setupnetworks", _setup(bad_nic))
    assert r.status_code == 400 and "(name eth7) does not exist" in fault_detail(r)
    mgmt_id = api.get(f"/hosts/{hid}/networkattachments")[0].get("id")
    r = api.action(
        hid,
        "setupnetworks",
        f'<action><removed_network_attachments><network_attachment id="{mgmt_id}"/>'
        "</removed_network_attachments></action>",
    )
    assert r.status_code == 409 and "management network" in fault_detail(r)
    assert len(api.get(f"/hosts/{hid}/networkattachments")) == 1  # nothing applied


def test_modify_and_remove_attachments(env: tuple[SimHandle, Api, str, str]) -> None:
    _, api, _, hid = env
    api.post(f"/hosts/{hid}/setupnetworks", _setup(STATIC_STORAGE), expect=200)
    att = next(
        a
        for a in api.get(f"/hosts/{hid}/networkattachments")
        if a.findtext("ip_address_assignments/ip_address_assignment/assignment_method") == "static"
    )
    aid = att.get("id")
    changed = (
        f'<network_attachment id="{aid}"><ip_address_assignments><ip_address_assignment>'
        "<assignment_method>static</assignment_method><ip><address>10.1.0.99</address>"
        "<netmask>255.255.0.0</netmask></ip></ip_address_assignment></ip_address_assignments>"
        "</network_attachment>"
    )
    api.post(f"/hosts/{hid}/setupnetworks", _setup(changed), expect=200)
    got = api.get(f"/hosts/{hid}/networkattachments/{aid}")
    assert got.findtext("ip_address_assignments/ip_address_assignment/ip/address") == "10.1.0.99"
    assert got.findtext("ip_address_assignments/ip_address_assignment/ip/netmask") == "255.255.0.0"
    api.post(
        f"/hosts/{hid}/setupnetworks",
        f'<action><removed_network_attachments><network_attachment id="{aid}"/>'
        "</removed_network_attachments></action>",
        expect=200,
    )
    assert api.call("GET", f"/hosts/{hid}/networkattachments/{aid}").status_code == 404
    names = [n.findtext("name") for n in api.get(f"/hosts/{hid}/nics")]
    assert "eth1.20" not in names


def test_attachment_collection_add_update_delete(env: tuple[SimHandle, Api, str, str]) -> None:
    _, api, up_id, hid = env
    eth1 = next(n for n in api.get(f"/hosts/{hid}/nics") if n.findtext("name") == "eth1")
    body = STATIC_STORAGE.replace("<host_nic><name>eth1</name></host_nic>", "")
    r = api.call("POST", f"/hosts/{hid}/nics/{eth1.get('id')}/networkattachments", body)
    assert r.status_code == 201, r.text
    aid = etree.fromstring(r.content).get("id")
    r = api.call(
        "PUT",
        f"/hosts/{hid}/networkattachments/{aid}",
        "<network_attachment><ip_address_assignments><ip_address_assignment>"
        "<assignment_method>dhcp</assignment_method></ip_address_assignment>"
        "</ip_address_assignments></network_attachment>",
    )
    assert r.status_code == 200, r.text
    assert "<assignment_method>dhcp</assignment_method>" in r.text
    r = api.call("DELETE", f"/hosts/{hid}/networkattachments/{aid}")
    assert r.status_code == 200
    # The same operations on an Up host are a setupnetworks too, which an Up host takes.
    r = api.call("POST", f"/hosts/{up_id}/networkattachments", STATIC_STORAGE)
    assert r.status_code == 201, r.text
    assert api.host("hv01").findtext("status") == "up"


def test_commitnetconfig_writes_event(env: tuple[SimHandle, Api, str, str]) -> None:
    _, api, up_id, _ = env
    r = api.action(up_id, "commitnetconfig")
    assert r.status_code == 200 and "<status>complete</status>" in r.text
    assert api.events(1104)


def test_missing_required_network_makes_host_non_operational(simulator_factory: Factory) -> None:
    inv = inventory([{"name": "hv02", "status": "maintenance"}])
    inv["networks"][1]["clusters"] = [{"name": "Default", "required": True}]  # backend
    sim = simulator_factory(inv)
    api = Api(sim)
    hid = api.host("hv02").get("id")
    api.action(hid, "activate")
    sim.advance(5)
    host = api.host("hv02")
    assert host.findtext("status") == "non_operational"
    assert host.findtext("status_detail") == "network_unreachable"
    assert api.events(519)
    api.action(hid, "deactivate")
    sim.advance(5)
    assert api.status("hv02") == "maintenance"
    api.post(f"/hosts/{hid}/setupnetworks", _setup(DHCP_BACKEND), expect=200)
    api.action(hid, "activate")
    sim.advance(5)
    assert api.status("hv02") == "up"
    cl = api.get("/clusters", search="name=Default")[0]
    nets = api.get(f"/clusters/{cl.get('id')}/networks")
    backend = next(n for n in nets if n.findtext("name") == "backend")
    assert backend.findtext("status") == "operational"
