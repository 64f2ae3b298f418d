"""Fence agents and fencing (status, stop, start, restart, manual) over raw HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, agent_xml, fault_detail, inventory, run_until

Factory = Callable[..., SimHandle]


@pytest.fixture
def env(simulator_factory: Factory) -> tuple[SimHandle, Api, str]:
    sim = simulator_factory(
        inventory([{"name": "hv01", "status": "up"}, {"name": "hv02", "status": "up"}])
    )
    api = Api(sim)
    return sim, api, api.host("hv01").get("id")


def _enable_pm(api: Api, hid: str, password: str = "bmcpw") -> None:
    api.post(f"/hosts/{hid}/fenceagents", agent_xml(password), expect=201)
    r = api.call(
        "PUT",
        f"/hosts/{hid}",
        "<host><power_management><enabled>true</enabled></power_management></host>",
    )
    assert r.status_code == 200, r.text


def test_fence_agents_crud(env: tuple[SimHandle, Api, str]) -> None:
    _, api, hid = env
    r = api.call("POST", f"/hosts/{hid}/fenceagents", agent_xml())
    assert r.status_code == 201, r.text
    assert "<password>" not in r.text  # write-only
    agent = etree.fromstring(r.content)
    aid = agent.get("id")
    assert agent.findtext("address") == "127.0.0.1" and agent.findtext("port") == "6231"
    assert agent.findtext("type") == "ipmilan" and agent.findtext("order") == "1"
    assert agent.findtext("options/option/name") == "lanplus"
    assert r.headers["Location"].endswith(f"/hosts/{hid}/fenceagents/{aid}")
    listed = api.get(f"/hosts/{hid}/fenceagents")
    assert listed.tag == "agents" and [a.get("id") for a in listed] == [aid]
    r = api.call("PUT", f"/hosts/{hid}/fenceagents/{aid}", "<agent><port>6299</port></agent>")
    assert r.status_code == 200 and "<port>6299</port>" in r.text
    assert api.get(f"/hosts/{hid}/fenceagents/{aid}").findtext("port") == "6299"
    r = api.call("POST", f"/hosts/{hid}/fenceagents", "<agent><address>x</address></agent>")
    assert r.status_code == 400 and "required for add" in fault_detail(r)
    r = api.call("POST", f"/hosts/{hid}/fenceagents", agent_xml().replace("ipmilan", "magicbox"))
    # ACTION_TYPE_FAILED_AGENT_NOT_SUPPORTED is CONFLICT in common/errors/EngineMessage: 409.
    assert r.status_code == 409 and "Agent is not supported" in fault_detail(r)
    r = api.call("DELETE", f"/hosts/{hid}/fenceagents/{aid}")
    assert r.status_code == 200
    assert len(api.get(f"/hosts/{hid}/fenceagents")) == 0
    assert api.call("GET", f"/hosts/{hid}/fenceagents/{aid}").status_code == 404


def test_power_management_needs_anagent_xml(env: tuple[SimHandle, Api, str]) -> None:
    _, api, hid = env
    r = api.call(
        "PUT",
        f"/hosts/{hid}",
        "<host><power_management><enabled>true</enabled></power_management></host>",
    )
    assert r.status_code == 400 and "no Agent type selected" in fault_detail(r)
    _enable_pm(api, hid)
    pm = api.host("hv01").find("power_management")
    assert pm.findtext("enabled") == "true" and pm.findtext("type") == "ipmilan"
    assert pm.find("password") is None


def test_fence_status_follows_machine_power(env: tuple[SimHandle, Api, str]) -> None:
    sim, api, hid = env
    r = api.action(hid, "fence", "<action><fence_type>status</fence_type></action>")
    assert r.status_code == 200 and "<status>failed</status>" in r.text  # no agent
    _enable_pm(api, hid)
    r = api.action(hid, "fence", "<action><fence_type>status</fence_type></action>")
    act = etree.fromstring(r.content)
    assert act.findtext("power_management/status") == "on" and act.findtext("status") == "complete"
    sim.control("POST", "/sim/machines/hv01/power", {"on": False})
    act = etree.fromstring(
        api.action(hid, "fence", "<action><fence_type>status</fence_type></action>").content
    )
    assert act.findtext("power_management/status") == "off"
    assert api.events(496)
    r = api.action(hid, "fence", "<action/>")
    assert r.status_code == 400 and "fenceType" in r.text
    r = api.action(hid, "fence", "<action><fence_type>explode</fence_type></action>")
    assert r.status_code == 400 and "not a member of FenceType" in r.text


def test_fence_with_wrong_credentials_fails(env: tuple[SimHandle, Api, str]) -> None:
    _, api, hid = env
    _enable_pm(api, hid, password="wrong")
    act = etree.fromstring(
        api.action(hid, "fence", "<action><fence_type>status</fence_type></action>").content
    )
    assert act.findtext("status") == "failed" and act.find("fault") is not None
    r = api.action(hid, "fence", "<action><fence_type>restart</fence_type></action>")
    assert r.status_code == 409 and "Fence operation failed" in fault_detail(r)


def test_fence_restart_cycles_power_and_host(env: tuple[SimHandle, Api, str]) -> None:
    sim, api, hid = env
    r = api.action(hid, "fence", "<action><fence_type>restart</fence_type></action>")
    assert r.status_code == 409 and "fence is disabled" in fault_detail(r)
    _enable_pm(api, hid)
    r = api.action(hid, "fence", "<action><fence_type>restart</fence_type></action>")
    assert r.status_code == 200, r.text
    assert api.status("hv01") == "reboot"
    assert sim.control("GET", "/sim/machines/hv01")["power"] == "off"
    sim.advance(10)
    assert sim.control("GET", "/sim/machines/hv01")["power"] == "on"
    assert api.events(41)
    run_until(sim, lambda: api.status("hv01") == "up", limit=120)


def test_fence_stop_needs_maintenance_then_start(env: tuple[SimHandle, Api, str]) -> None:
    sim, api, hid = env
    _enable_pm(api, hid)
    r = api.action(hid, "fence", "<action><fence_type>stop</fence_type></action>")
    assert r.status_code == 409 and "has to be in Maintenance mode" in fault_detail(r)
    r = api.action(hid, "fence", "<action><fence_type>start</fence_type></action>")
    assert r.status_code == 409 and "Cannot perform Start operation" in fault_detail(r)
    api.action(hid, "deactivate")
    sim.advance(5)
    r = api.action(hid, "fence", "<action><fence_type>stop</fence_type></action>")
    assert r.status_code == 200
    assert api.status("hv01") == "down"
    assert sim.control("GET", "/sim/machines/hv01")["power"] == "off"
    assert api.events(21)
    r = api.action(hid, "fence", "<action><fence_type>start</fence_type></action>")
    assert r.status_code == 200
    assert api.status("hv01") == "reboot"
    sim.advance(10)
    assert sim.control("GET", "/sim/machines/hv01")["power"] == "on"
    run_until(sim, lambda: api.status("hv01") == "up", limit=120)


def test_manual_fence_only_for_hosts_not_up(env: tuple[SimHandle, Api, str]) -> None:
    sim, api, hid = env
    r = api.action(hid, "fence", "<action><fence_type>manual</fence_type></action>")
    assert r.status_code == 409
    assert "Cannot confirm 'Host has been rebooted' Host" in fault_detail(r)
    sim.control("POST", "/sim/machines/hv01/power", {"on": False})
    sim.advance(80)  # the SPM's grace: 60 s + 20 s (VdsManager.calcTimeoutToFence)
    r = api.action(hid, "fence", "<action><fence_type>manual</fence_type></action>")
    assert r.status_code == 200 and "<status>complete</status>" in r.text
    assert api.status("hv01") == "non_responsive"  # the command does not change the status
    assert api.events(494)
