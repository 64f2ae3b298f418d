"""SPM election in the simulator: priorities, data center problematic/contend/up, a
non-responsive SPM blocking re-election until fenced, deactivation, forceselectspm."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, agent_xml, fault_detail, inventory, run_until

Factory = Callable[..., SimHandle]


def _hosts(status: str = "maintenance") -> list[dict[str, object]]:
    return [
        {"name": "hv01", "status": status, "spm_priority": 2},
        {"name": "hv02", "status": status, "spm_priority": 8},
        {"name": "hv03", "status": status, "spm_priority": -1},
    ]


@pytest.fixture
def up3(simulator_factory: Factory) -> tuple[SimHandle, Api]:
    sim = simulator_factory(inventory(_hosts("up"), off=()))
    return sim, Api(sim)


def test_election_by_priority_with_dc_transitions(simulator_factory: Factory) -> None:
    sim = simulator_factory(inventory(_hosts(), off=()))
    api = Api(sim)
    # All hosts in maintenance: nobody can be SPM.
    assert api.dc_status() == "problematic"
    for name in ("hv01", "hv03"):
        api.action(api.host(name).get("id"), "activate")
    sim.advance(5)
    assert api.dc_status() == "problematic"  # searching
    sim.advance(2)
    assert api.dc_status() == "contend"
    assert api.spm("hv01") == "contending" and api.spm("hv03") == "none"  # -1 never SPM
    sim.advance(10)
    assert api.dc_status() == "up" and api.spm("hv01") == "spm"
    assert any("hv01" in (e.findtext("description") or "") for e in api.events(204))
    # A higher-priority host coming up does not take the role from a working SPM.
    api.action(api.host("hv02").get("id"), "activate")
    sim.advance(30)
    assert api.spm("hv01") == "spm" and api.spm("hv02") == "none"


def test_inventory_election_picks_highest_priority(up3: tuple[SimHandle, Api]) -> None:
    _, api = up3
    assert api.dc_status() == "up"
    assert [api.spm(n) for n in ("hv01", "hv02", "hv03")] == ["none", "spm", "none"]


def test_non_responsive_spm_blocks_election_until_manual_fence(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    sim.control("POST", "/sim/hosts/hv02/fail")
    sim.advance(80)  # grace of an SPM host: 60 + 20 s (VdsManager.calcTimeoutToFence)
    assert api.status("hv02") == "non_responsive"
    assert api.dc_status() == "problematic"
    # No re-election while the SPM may still hold the lease, however long we wait.
    sim.advance(600)
    assert api.dc_status() == "problematic" and api.spm("hv01") == "none"
    assert api.spm("hv02") == "spm"
    hid = api.host("hv02").get("id")
    r = api.action(hid, "deactivate")
    assert r.status_code == 409 and "Storage Pool Manager and is in Non Responsive" in (
        fault_detail(r)
    )
    r = api.action(hid, "fence", "<action><fence_type>manual</fence_type></action>")
    assert r.status_code == 200
    assert api.spm("hv02") == "none"
    run_until(sim, lambda: api.dc_status() == "up", limit=60)
    assert api.spm("hv01") == "spm"


def test_engine_fences_a_dead_spm_with_power_management_and_elects_another(
    up3: tuple[SimHandle, Api],
) -> None:
    """VdsNotRespondingTreatmentCommand -> RestartVdsCommand (StopVds, FenceVdsManualy,
    StartVds): with power management the engine restarts the dead SPM itself."""
    sim, api = up3
    hid = api.host("hv02").get("id")
    api.post(
        f"/hosts/{hid}/fenceagents",
        agent_xml(port=6232, options=False),
        expect=201,
    )
    api.call(
        "PUT",
        f"/hosts/{hid}",
        "<host><power_management><enabled>true</enabled></power_management></host>",
    )
    sim.control("POST", "/sim/machines/hv02/power", {"on": False})
    sim.advance(79)
    assert api.status("hv02") == "connecting" and api.dc_status() == "problematic"
    sim.advance(1)
    assert api.status("hv02") == "non_responsive"
    sim.advance(5 + 10)  # soft fencing fails, the agent stops the host
    assert api.status("hv02") == "reboot" and api.spm("hv02") == "none"
    assert api.events(9018)  # FENCE_OPERATION_SUCCEEDED
    run_until(sim, lambda: api.dc_status() == "up", limit=60)
    assert api.spm("hv01") == "spm"
    # hv02 comes back after the reboot but does not take the role back.
    run_until(sim, lambda: api.status("hv02") == "up", limit=200)
    assert api.spm("hv02") == "none" and api.spm("hv01") == "spm"
    assert api.events(121)  # SYSTEM_VDS_RESTART
    assert sim.control("GET", "/sim/machines/hv02")["fence_agent"] == {"on": 1, "off": 1}


def test_deactivating_spm_passes_the_role(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    api.action(api.host("hv02").get("id"), "deactivate")
    assert api.status("hv02") == "preparing_for_maintenance"
    assert api.spm("hv02") == "none"
    assert api.dc_status() == "problematic"
    run_until(sim, lambda: api.dc_status() == "up", limit=60)
    assert api.spm("hv01") == "spm"
    assert api.status("hv02") == "maintenance"


def test_forceselectspm_moves_the_role(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    hv01, hv02, hv03 = (api.host(n).get("id") for n in ("hv01", "hv02", "hv03"))
    r = api.action(hv02, "forceselectspm")
    assert r.status_code == 409 and "is already SPM or contending" in fault_detail(r)
    r = api.action(hv03, "forceselectspm")
    assert r.status_code == 400 and "set to 'never'" in fault_detail(r)
    r = api.action(hv01, "forceselectspm")
    assert r.status_code == 200, r.text
    assert api.events(159)
    run_until(sim, lambda: api.spm("hv01") == "spm", limit=60)
    assert api.spm("hv02") == "none" and api.dc_status() == "up"
    api.action(hv03, "deactivate")
    sim.advance(5)
    r = api.action(hv03, "forceselectspm")
    assert r.status_code == 409 and "is not active" in fault_detail(r)


def test_no_spm_without_usable_master_domain(simulator_factory: Factory) -> None:
    inv = inventory(_hosts("up"), off=())
    inv["storage_domains"] = []
    sim = simulator_factory(inv)
    api = Api(sim)
    assert api.dc_status() == "uninitialized"
    assert all(api.spm(n) == "none" for n in ("hv01", "hv02", "hv03"))


def test_removing_a_host_with_spm_role_leaves_a_valid_state(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    sim.control("POST", "/sim/hosts/hv02/fail")
    sim.advance(80)
    hid = api.host("hv02").get("id")
    r = api.call("DELETE", f"/hosts/{hid}")
    assert r.status_code == 200  # non_responsive hosts may be removed
    run_until(sim, lambda: api.dc_status() == "up", limit=60)
    assert api.spm("hv01") == "spm"


def test_spm_that_answers_again_keeps_the_role(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    sim.control("POST", "/sim/hosts/hv02/fail")
    sim.advance(30)
    assert api.dc_status() == "problematic"
    sim.control("POST", "/sim/hosts/hv02/heal")
    sim.advance(5)
    assert api.status("hv02") == "up"
    assert api.dc_status() == "up" and api.spm("hv02") == "spm" and api.spm("hv01") == "none"


def test_last_up_host_leaving_leaves_dc_problematic(up3: tuple[SimHandle, Api]) -> None:
    sim, api = up3
    for name in ("hv01", "hv02", "hv03"):
        api.action(api.host(name).get("id"), "deactivate")
    sim.advance(60)
    assert api.dc_status() == "problematic"
    assert all(api.spm(n) == "none" for n in ("hv01", "hv02", "hv03"))
    api.action(api.host("hv03").get("id"), "activate")  # priority -1: never SPM
    sim.advance(60)
    assert api.dc_status() == "problematic"
    api.action(api.host("hv01").get("id"), "activate")
    run_until(sim, lambda: api.dc_status() == "up", limit=60)
    assert api.spm("hv01") == "spm"
