"""The engine's own fencing of a non-responsive host, on the manual clock.

Ground truth (oVirt/ovirt-engine):
- vdsbroker VdsManager.calcTimeoutToFence: the grace period, TimeoutToResetVdsInSeconds (60)
  + DelayResetForSpmInSeconds (20) for the SPM + DelayResetPerVmInSeconds (0.5) per VM;
- bll pm/VdsNotRespondingTreatmentCommand: fencing disabled by the cluster policy (alert 9015),
  the connectivity threshold (9013), SshSoftFencing first, no power management (9028),
  RestartVds; a failed restart of the SPM sets the pool NotOperational (979);
- bll pm/RestartVdsCommand: StopVds, FenceVdsManualy (SPM released, VMs cleared), StartVds;
  FenceVdsBaseCommand's FENCE_OPERATION_STARTED/SUCCEEDED/FAILED (9017-9019);
- the fencing policy's skip_if_sd_active (the host still renews its storage lease: 9014);
- bll storage/FenceVdsManualyCommand.validate: for the SPM another Up host of the pool and a
  pool NotOperational/NonResponsive/Maintenance (AppErrors ACTION_TYPE_FAILED_NO_VDS_IN_POOL);
- bll HaAutoStartVmsRunner, ClearNonResponsiveVdsVmsCommand: HA VMs restarted elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, agent_xml, fault_detail, inventory, run_until

Factory = Callable[..., SimHandle]

PM = "<host><power_management><enabled>true</enabled></power_management></host>"


def _inv(hosts: int = 2, **extra: Any) -> dict[str, Any]:
    names = [f"hv0{i}" for i in range(1, hosts + 1)]
    inv = inventory(
        [{"name": n, "status": "up", "spm_priority": 9 - i} for i, n in enumerate(names)],
        off=(),
    )
    inv.update(extra)
    return inv


def _pm(api: Api, name: str, port: int, password: str = "bmcpw") -> None:
    hid = api.host(name).get("id")
    api.post(f"/hosts/{hid}/fenceagents", agent_xml(password, port=port), expect=201)
    r = api.call("PUT", f"/hosts/{hid}", PM)
    assert r.status_code == 200, r.text


def _policy(api: Api, xml: str) -> None:
    cid = api.get("/clusters", search="name=Default")[0].get("id")
    r = api.call(
        "PUT", f"/clusters/{cid}", f"<cluster><fencing_policy>{xml}</fencing_policy></cluster>"
    )
    assert r.status_code == 200, r.text


def _sd_status(api: Api) -> str:
    dc = api.get("/datacenters", search="name=Default")[0].get("id")
    return str(api.get(f"/datacenters/{dc}/storagedomains")[0].findtext("status"))


def _texts(api: Api, code: int) -> list[str]:
    return [str(e.findtext("description")) for e in api.events(code)]


@pytest.fixture
def two(simulator_factory: Factory) -> tuple[SimHandle, Api]:
    sim = simulator_factory(_inv())
    api = Api(sim)
    assert api.spm("hv01") == "spm"
    _pm(api, "hv01", 6231)
    _pm(api, "hv02", 6232)
    return sim, api


def test_grace_period_is_longer_for_the_spm_and_per_vm(two: tuple[SimHandle, Api]) -> None:
    sim, api = two
    sim.control("POST", "/sim/hosts/hv02/fail")
    assert "grace period of 60 seconds" in _texts(api, 9008)[0]
    sim.advance(59.5)
    assert api.status("hv02") == "connecting"
    sim.advance(0.5)
    assert api.status("hv02") == "non_responsive"
    sim.control("POST", "/sim/hosts/hv01/fail")
    assert any("hv01" in t and "grace period of 80 seconds" in t for t in _texts(api, 9008))


def test_engine_restarts_the_dead_spm_through_its_agent_and_domains_come_back(
    two: tuple[SimHandle, Api],
) -> None:
    sim, api = two
    sim.control("POST", "/sim/hosts/hv01/fail")
    assert api.dc_status() == "problematic" and _sd_status(api) == "unknown"
    sim.advance(80)
    assert api.status("hv01") == "non_responsive" and api.spm("hv01") == "spm"
    sim.advance(5)  # SshSoftFencing fails: the stop is sent through the agent
    assert any("stop of Host hv01 initiated" in t for t in _texts(api, 9017))
    sim.advance(10)
    assert api.status("hv01") == "reboot" and api.spm("hv01") == "none"
    assert sim.control("GET", "/sim/machines/hv01")["power"] == "off"
    assert _texts(api, 539) == ["Auto fence for host hv01 was started."]
    sim.advance(12)  # election: spm.elect 2 + spm.start 10
    assert api.spm("hv02") == "spm" and api.dc_status() == "up"
    assert _sd_status(api) == "unknown"  # until the next domain monitoring cycle
    sim.advance(10)
    assert _sd_status(api) == "active"
    run_until(sim, lambda: api.status("hv01") == "up", limit=120)
    machine = sim.control("GET", "/sim/machines/hv01")
    assert machine["fence_agent"] == {"on": 1, "off": 1} and "ipmi" not in machine
    assert _texts(api, 121) == ["Host hv01 was restarted by the engine."]


def test_fencing_disabled_by_the_cluster_policy(two: tuple[SimHandle, Api]) -> None:
    sim, api = two
    _policy(api, "<enabled>false</enabled>")
    sim.control("POST", "/sim/hosts/hv01/fail")
    sim.advance(80)
    assert _texts(api, 9015) == [
        "Host hv01 became Non Responsive and was not restarted due to disabled fencing in the "
        "Cluster Fencing Policy."
    ]
    sim.advance(600)
    assert api.status("hv01") == "non_responsive" and api.dc_status() == "problematic"
    assert "fence_agent" not in sim.control("GET", "/sim/machines/hv01")
    assert _sd_status(api) == "unknown"


def test_skip_if_storage_domain_active_only_when_the_lease_is_renewed(
    two: tuple[SimHandle, Api],
) -> None:
    sim, api = two
    _policy(api, "<skip_if_sd_active><enabled>true</enabled></skip_if_sd_active>")
    sim.control("POST", "/sim/hosts/hv02/fail", {"mode": "network"})
    sim.advance(60 + 5)
    assert _texts(api, 9014) == [
        "Host hv02 became non responsive and was not restarted due to the Cluster Fencing Policy."
    ]
    sim.advance(300)
    assert api.status("hv02") == "non_responsive"
    assert "fence_agent" not in sim.control("GET", "/sim/machines/hv02")
    # A dead machine renews no lease: the same policy lets the engine fence it.
    sim.control("POST", "/sim/hosts/hv02/heal")
    sim.advance(5)
    assert api.status("hv02") == "up"
    sim.control("POST", "/sim/hosts/hv02/fail")
    sim.advance(60 + 5 + 10)
    assert api.status("hv02") == "reboot"


def test_skip_if_connectivity_broken_past_the_threshold(simulator_factory: Factory) -> None:
    sim = simulator_factory(_inv(3))
    api = Api(sim)
    for i, name in enumerate(("hv01", "hv02", "hv03")):
        _pm(api, name, 6231 + i)
    _policy(
        api,
        "<skip_if_connectivity_broken><enabled>true</enabled><threshold>50</threshold>"
        "</skip_if_connectivity_broken>",
    )
    sim.control("POST", "/sim/hosts/hv02/fail")
    sim.control("POST", "/sim/hosts/hv03/fail")
    sim.advance(60)
    texts = _texts(api, 9013)
    assert any(t.startswith("Host hv02 became non responsive and was not restarted due to "
                            "Fencing Policy: 66 percents") for t in texts)  # fmt: skip
    sim.advance(300)
    assert api.status("hv02") == "non_responsive" and api.status("hv03") == "non_responsive"


@pytest.mark.parametrize("breakage", ["password", "unreachable"])
def test_failing_agent_leaves_the_spm_non_responsive_and_the_pool_not_operational(
    simulator_factory: Factory, breakage: str
) -> None:
    sim = simulator_factory(_inv())
    api = Api(sim)
    _pm(api, "hv01", 6231, password="wrong" if breakage == "password" else "bmcpw")
    if breakage == "unreachable":
        sim.control("POST", "/sim/machines/hv01/bmc", {"reachable": False})
    sim.control("POST", "/sim/hosts/hv01/fail")
    sim.advance(80 + 5)
    assert any("stop of Host hv01 failed" in t for t in _texts(api, 9019))
    assert _texts(api, 122) == ["A restart initiated by the engine to Host hv01 has failed."]
    assert _texts(api, 979) == [
        "Fencing failed on Storage Pool Manager hv01 for Data Center Default. Setting status to "
        "Non-Operational."
    ]
    assert api.dc_status() == "not_operational" and api.spm("hv01") == "spm"
    sim.advance(600)  # the election waits
    assert api.spm("hv02") == "none" and api.status("hv01") == "non_responsive"
    # A human (or the operator) confirms the reboot: the role moves on.
    hid = api.host("hv01").get("id")
    r = api.action(hid, "fence", "<action><fence_type>manual</fence_type></action>")
    assert r.status_code == 200, r.text
    run_until(sim, lambda: api.spm("hv02") == "spm", limit=60)
    run_until(sim, lambda: _sd_status(api) == "active", limit=30)


def test_a_lone_host_is_never_fenced_nor_confirmed(simulator_factory: Factory) -> None:
    sim = simulator_factory(_inv(1))
    api = Api(sim)
    _pm(api, "hv01", 6231)
    sim.control("POST", "/sim/hosts/hv01/fail")
    sim.advance(80 + 5)
    assert _texts(api, 122)  # no proxy host: the restart fails
    assert "fence_agent" not in sim.control("GET", "/sim/machines/hv01")
    hid = api.host("hv01").get("id")
    r = api.action(hid, "fence", "<action><fence_type>manual</fence_type></action>")
    assert r.status_code == 409
    assert fault_detail(r) == (
        "[Cannot confirm 'Host has been rebooted' Host. There is no active Host in the Data "
        "Center.]"
    )


def test_host_without_power_management_waits_for_a_human(simulator_factory: Factory) -> None:
    sim = simulator_factory(_inv())
    api = Api(sim)
    sim.control("POST", "/sim/hosts/hv01/fail")
    sim.advance(85)
    assert _texts(api, 9028)[0].startswith(
        "Host hv01 became non responsive. It has no power management configured."
    )
    sim.advance(600)
    assert api.dc_status() == "problematic" and api.spm("hv01") == "spm"


def test_ha_vm_restarts_on_the_surviving_host_other_vms_go_down(
    simulator_factory: Factory,
) -> None:
    inv = _inv()
    inv["vms"] = [
        {"name": "ha1", "status": "up", "host": "hv01", "high_availability": True},
        {"name": "plain", "status": "up", "host": "hv01"},
    ]
    sim = simulator_factory(inv)
    api = Api(sim)
    _pm(api, "hv01", 6231)
    _pm(api, "hv02", 6232)

    def vm(name: str) -> Any:
        return api.get("/vms", search=f"name={name}")[0]

    sim.control("POST", "/sim/hosts/hv01/fail")
    assert any("grace period of 81 seconds" in t for t in _texts(api, 9008))
    sim.advance(81)
    assert vm("ha1").findtext("status") == "unknown"
    sim.advance(15)  # fenced: both down, the HA one is to be restarted
    assert vm("plain").findtext("status") == "down"
    assert _texts(api, 9602) == [
        "Highly Available VM ha1 failed. It will be restarted automatically."
    ]
    run_until(sim, lambda: vm("ha1").findtext("status") == "up", limit=200)
    ha = vm("ha1")
    assert ha.find("host") is not None
    assert ha.find("host").get("id") == api.host("hv02").get("id")
    assert _texts(api, 506) == ["Trying to restart VM ha1 on Host hv02"]
    assert vm("plain").findtext("status") == "down"
