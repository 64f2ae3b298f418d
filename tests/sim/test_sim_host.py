"""Hosts in the simulator over raw HTTP: listing, add/install, registration, approve,
maintenance and activation, update, remove, failures. Manual clock throughout."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, agent_xml, fault_detail, inventory, run_until

Factory = Callable[..., SimHandle]


@pytest.fixture
def two_hosts(simulator_factory: Factory) -> tuple[SimHandle, Api]:
    sim = simulator_factory(
        inventory(
            [
                {"name": "hv01", "status": "up", "spm_priority": 7},
                {"name": "hv02", "status": "maintenance"},
            ]
        )
    )
    return sim, Api(sim)


def _add_body(name: str, address: str, extra: str = "") -> str:
    return (
        f"<host><name>{name}</name><address>{address}</address>"
        f"<root_password>secret</root_password><cluster><name>Default</name></cluster>"
        f"{extra}</host>"
    )


def test_list_search_and_spm_element(two_hosts: tuple[SimHandle, Api]) -> None:
    sim, api = two_hosts
    hosts = api.get("/hosts")
    assert sorted(h.findtext("name") for h in hosts) == ["hv01", "hv02"]
    for h in hosts:
        # <spm><priority/><status/></spm> is always present (HostMapper).
        assert h.find("spm/priority") is not None and h.find("spm/status") is not None
        assert h.find("cluster").get("id")
        assert h.findtext("address").startswith("10.0.0.1")
    assert [h.findtext("name") for h in api.get("/hosts", search="status=up")] == ["hv01"]
    assert len(api.get("/hosts", search="cluster=Default and datacenter=Default")) == 2
    assert len(api.get("/hosts", search="status=maintenance or name=hv0*")) == 2
    assert api.spm("hv01") == "spm" and api.spm("hv02") == "none"
    assert api.host("hv01").findtext("spm/priority") == "7"
    assert api.dc_status() == "up"
    with sim.lock:
        from rhevsim import hypervisor

        cl = sim.find("cluster", "Default")
        assert [h.name for h in hypervisor.up_hosts_in_cluster(sim.reg, cl.id)] == ["hv01"]


def test_follow_inlines_nics_attachments_and_agents(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    plain = api.host("hv01")
    assert plain.find("nics") is None and plain.find("network_attachments") is None
    hosts = api.get("/hosts", follow="nics,network_attachments,fence_agents")
    hv01 = next(h for h in hosts if h.findtext("name") == "hv01")
    assert [n.findtext("name") for n in hv01.find("nics")] == ["eth0", "eth1"]
    atts = hv01.find("network_attachments")
    assert len(atts) == 1  # the management network, on the first NIC, DHCP
    assert atts[0].findtext("ip_address_assignments/ip_address_assignment/assignment_method") == (
        "dhcp"
    )
    assert hv01.find("agents") is not None and len(hv01.find("agents")) == 0
    one = api.get(f"/hosts/{hv01.get('id')}", follow="nics")
    assert len(one.find("nics")) == 2


def test_get_unknown_host_is_404_empty(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    r = api.call("GET", "/hosts/00000000-0000-0000-0000-00000000abcd")
    assert r.status_code == 404 and r.content == b""


def test_add_rhel_host_installs_initializes_and_comes_up(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    api = Api(sim)
    r = api.s.post(
        api.url + "/hosts",
        data=_add_body("hv01", "10.0.0.11", "<spm><priority>3</priority></spm>"),
        headers={"Correlation-Id": "addhv01"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/hosts/" + r.text.split('id="')[1].split('"')[0])
    assert api.status("hv01") == "installing"
    jobs = api.get("/jobs", search="correlation_id=addhv01")
    assert jobs[0].findtext("status") == "started"
    sim.advance(119)
    assert api.status("hv01") == "installing"
    sim.advance(1)
    # hostdeploy/InstallVdsInternalCommand: SshHostReboot after deploy (reboot defaults to
    # true in BackendHostsResource.add), then Initializing.
    assert api.status("hv01") == "reboot"
    sim.advance(60)
    assert api.status("hv01") == "initializing"
    sim.advance(10)
    host = api.host("hv01")
    assert host.findtext("status") == "up" and host.findtext("spm/priority") == "3"
    assert api.get("/jobs", search="correlation_id=addhv01")[0].findtext("status") == "finished"
    codes = {int(e.findtext("code")) for e in api.get("/events", search="correlation_id=addhv01")}
    assert {42, 509, 504, 13} <= codes
    nics = api.get(f"/hosts/{host.get('id')}/nics")
    eth0 = next(n for n in nics if n.findtext("name") == "eth0")
    assert eth0.findtext("ip/address") == "10.0.0.11" and eth0.findtext("boot_protocol") == "dhcp"
    assert eth0.findtext("mac/address") == "52:54:00:00:00:11"  # from the machine
    # The only host of a DC with an active master domain becomes SPM.
    run_until(sim, lambda: api.dc_status() == "up")
    assert api.spm("hv01") == "spm"


def test_add_with_activate_false_lands_in_maintenance(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    api = Api(sim)
    r = api.s.post(
        api.url + "/hosts", data=_add_body("hv02", "10.0.0.12"), params={"activate": "false"}
    )
    assert r.status_code == 201, r.text
    sim.advance(180)
    assert api.status("hv02") == "maintenance"


def test_add_refusals_name_the_problem(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    r = api.call("POST", "/hosts", "<host><name>x</name></host>")
    assert r.status_code == 400 and "address" in fault_detail(r)
    r = api.call("POST", "/hosts", _add_body("hv01", "10.9.9.9"))
    assert r.status_code == 409 and "The Host name is already in use" in fault_detail(r)
    r = api.call("POST", "/hosts", _add_body("hvx", "10.0.0.11"))
    assert r.status_code == 409 and "Host with the same address already exists" in fault_detail(r)
    r = api.call("POST", "/hosts", "<host><name>hvy</name><address>10.0.0.99</address></host>")
    assert r.status_code == 400 and "empty password" in fault_detail(r)
    r = api.call(
        "POST",
        "/hosts",
        "<host><name>hvz</name><address>10.0.0.98</address><root_password>x</root_password>"
        "<cluster><name>Nope</name></cluster></host>",
    )
    assert r.status_code == 404 and "Entity not found: Cluster: name=Nope" in fault_detail(r)
    r = api.call(
        "POST", "/hosts", _add_body("hvw", "10.0.0.97", "<spm><priority>11</priority></spm>")
    )
    assert r.status_code == 400 and "spm.priority" in fault_detail(r)


def test_install_fails_when_machine_is_off(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    api = Api(sim)
    api.post("/hosts", _add_body("hv03", "10.0.0.13"))  # machine hv03 is powered off
    sim.advance(180)
    assert api.status("hv03") == "install_failed"
    assert api.events(505)


def test_registration_by_network_boot_then_approve(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    api = Api(sim)
    sim.control("POST", "/sim/machines/hv03/boot", {"device": "network"})
    sim.control("POST", "/sim/machines/hv03/power", {"on": True})
    assert len(api.get("/hosts")) == 0
    sim.advance(119)
    assert len(api.get("/hosts")) == 0
    sim.advance(1)
    host = api.host("hv03")
    assert host.findtext("status") == "pending_approval"
    assert host.findtext("type") == "rhev_h" and host.findtext("address") == "10.0.0.13"
    # The installed node boots from disk from now on.
    assert sim.control("GET", "/sim/machines/hv03")["boot_device"] == "disk"
    hid = host.get("id")
    r = api.action(hid, "approve", "<action><cluster><name>Default</name></cluster></action>")
    assert r.status_code == 200 and "<status>complete</status>" in r.text and "<job" in r.text
    assert api.status("hv03") == "installing"
    r = api.action(hid, "approve")
    assert r.status_code == 409  # locked or wrong status while installing
    sim.advance(180)
    assert api.status("hv03") == "initializing"
    sim.advance(10)
    assert api.status("hv03") == "up"
    assert api.events(498)  # VDS_APPROVE


def test_approve_refused_outside_pending_approval(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    r = api.action(api.host("hv01").get("id"), "approve")
    assert r.status_code == 409
    assert 'must be in "Pending Approval" or "Install Failed"' in fault_detail(r)
    assert "<status>failed</status>" in r.text


def test_maintenance_then_activate(two_hosts: tuple[SimHandle, Api]) -> None:
    sim, api = two_hosts
    hid = api.host("hv02").get("id")
    r = api.action(hid, "deactivate")
    assert r.status_code == 409 and "already in Maintenance mode" in fault_detail(r)
    r = api.action(hid, "activate")
    assert r.status_code == 200
    assert api.status("hv02") == "unassigned"
    sim.advance(5)
    assert api.status("hv02") == "up"
    r = api.action(hid, "activate")
    assert r.status_code == 409 and "Host in Up status" in fault_detail(r)
    r = api.action(hid, "deactivate", "<action><reason>patching</reason></action>")
    assert r.status_code == 200
    assert api.status("hv02") == "preparing_for_maintenance"
    sim.advance(5)
    assert api.status("hv02") == "maintenance"
    msgs = [e.findtext("description") for e in api.events(600)]
    assert any("(Reason: patching)" in (m or "") for m in msgs)


def test_remove_up_host_refused_maintenance_host_removed(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    up_id = api.host("hv01").get("id")
    r = api.call("DELETE", f"/hosts/{up_id}")
    assert r.status_code == 409
    assert fault_detail(r) == (
        "[Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first.]"
    )
    m_id = api.host("hv02").get("id")
    r = api.call("DELETE", f"/hosts/{m_id}")
    assert r.status_code == 200 and "<status>complete</status>" in r.text
    assert api.call("GET", f"/hosts/{m_id}").status_code == 404
    assert api.events(44)


def test_update_fields_and_cluster_only_in_maintenance(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    api.post(
        "/clusters",
        "<cluster><name>c2</name><data_center><name>Default</name></data_center></cluster>",
    )
    up_id = api.host("hv01").get("id")
    r = api.call(
        "PUT",
        f"/hosts/{up_id}",
        "<host><comment>rack 4</comment><spm><priority>9</priority></spm></host>",
    )
    assert r.status_code == 200, r.text
    h = api.host("hv01")
    assert h.findtext("comment") == "rack 4" and h.findtext("spm/priority") == "9"
    r = api.call("PUT", f"/hosts/{up_id}", "<host><cluster><name>c2</name></cluster></host>")
    assert r.status_code == 409 and "switch Host to Maintenance mode first" in fault_detail(r)
    m_id = api.host("hv02").get("id")
    r = api.call(
        "PUT", f"/hosts/{m_id}", "<host><name>hv02b</name><cluster><name>c2</name></cluster></host>"
    )
    assert r.status_code == 200, r.text
    assert api.get("/hosts", search="cluster=c2")[0].findtext("name") == "hv02b"
    r = api.call("PUT", f"/hosts/{m_id}", "<host><name>hv01</name></host>")
    assert r.status_code == 409
    assert api.events(43)


def test_machine_power_off_makes_host_non_responsive_and_back(
    two_hosts: tuple[SimHandle, Api],
) -> None:
    sim, api = two_hosts
    sim.control("POST", "/sim/machines/hv02/power", {"on": False})
    sim.control("POST", "/sim/machines/hv01/power", {"on": False})
    assert api.status("hv01") == "connecting"
    sim.advance(80)  # the SPM's grace: 60 + 20 s
    assert api.status("hv01") == "non_responsive"
    assert api.events(12)
    sim.control("POST", "/sim/machines/hv01/power", {"on": True})
    sim.advance(60)
    assert api.status("hv01") == "connecting"
    sim.advance(5)
    assert api.status("hv01") == "up"
    # A host in maintenance that lost power comes back to maintenance.
    assert api.status("hv02") == "non_responsive"
    sim.control("POST", "/sim/machines/hv02/power", {"on": True})
    run_until(sim, lambda: api.status("hv02") == "maintenance", limit=120)


def test_sim_fail_and_heal(two_hosts: tuple[SimHandle, Api]) -> None:
    sim, api = two_hosts
    assert sim.control("POST", "/sim/hosts/hv01/fail")["state"] == "failed"
    sim.advance(80)
    assert api.status("hv01") == "non_responsive"
    sim.control("POST", "/sim/hosts/hv01/heal")
    sim.advance(5)
    assert api.status("hv01") == "up"
    with pytest.raises(RuntimeError, match="404"):
        sim.control("POST", "/sim/hosts/nope/fail")


def test_actions_on_unknown_or_locked_hosts(two_hosts: tuple[SimHandle, Api]) -> None:
    _, api = two_hosts
    r = api.action("00000000-0000-0000-0000-00000000abcd", "activate")
    assert r.status_code == 404
    api.post("/hosts", _add_body("hv03", "10.0.0.13"))
    hid = api.host("hv03").get("id")
    r = api.call("DELETE", f"/hosts/{hid}")
    assert r.status_code == 409 and "Related operation is currently in progress" in fault_detail(r)
    r = api.action(hid, "refresh")
    assert r.status_code == 200


def test_power_loss_during_install_fails_job_and_unlocks(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory())
    api = Api(sim)
    r = api.s.post(
        api.url + "/hosts",
        data=_add_body("hv01", "10.0.0.11"),
        headers={"Correlation-Id": "lost"},
    )
    assert r.status_code == 201
    sim.advance(60)
    sim.control("POST", "/sim/machines/hv01/power", {"on": False})
    assert api.status("hv01") == "install_failed"
    assert api.get("/jobs", search="correlation_id=lost")[0].findtext("status") == "failed"
    sim.advance(600)  # the overtaken install step does nothing
    assert api.status("hv01") == "install_failed"
    hid = api.host("hv01").get("id")
    sim.control("POST", "/sim/machines/hv01/power", {"on": True})
    # BackendHostResource.install: `activate` defaults to false there.
    r = api.action(
        hid,
        "install",
        "<action><root_password>secret</root_password><activate>true</activate></action>",
    )
    assert r.status_code == 200, r.text
    sim.advance(190)
    assert api.status("hv01") == "up"


def test_host_documents_match_the_api_model(two_hosts: tuple[SimHandle, Api]) -> None:
    from rhevsim.conformance import check_xml

    _, api = two_hosts
    hid = api.host("hv01").get("id")
    api.post(
        f"/hosts/{hid}/fenceagents",
        agent_xml(port=6231, options=False),
    )
    for path in (
        "/hosts?follow=nics,network_attachments,fence_agents",
        f"/hosts/{hid}",
        f"/hosts/{hid}/nics",
        f"/hosts/{hid}/networkattachments?all_content=true",
        f"/hosts/{hid}/fenceagents",
    ):
        r = api.call("GET", path)
        assert r.status_code == 200 and check_xml(r.content) == [], path
    host = api.get(f"/hosts/{hid}")
    for link in host.findall("link"):  # every sub-collection link answers
        r = api.s.get(api.sim.url + link.get("href"), timeout=30)
        assert r.status_code == 200 and check_xml(r.content) == [], link.get("rel")
    r = api.action(hid, "fence", "<action><fence_type>status</fence_type></action>")
    assert check_xml(r.content) == []


def test_builder_hosts_have_power_management_and_priorities(simulator_factory: Factory) -> None:
    from rhevsim.builder import build_inventory

    inv = build_inventory(hosts=12, vms=0, seed=3)
    assert inv["hosts"][0]["spm_priority"] == 10 and inv["hosts"][9]["spm_priority"] == -1
    sim = simulator_factory(inv)
    api = Api(sim)
    assert api.spm("hv001") == "spm" and api.dc_status() == "up"
    h = api.host("hv002")
    assert h.findtext("power_management/enabled") == "true"
    r = api.action(h.get("id"), "fence", "<action><fence_type>status</fence_type></action>")
    assert "<status>on</status>" in r.text
