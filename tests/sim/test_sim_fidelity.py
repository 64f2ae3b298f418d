"""Simulator fidelity, round two: behaviour checked against the engine's source.

Each test names the ovirt-engine (or ovirt-engine-api-model) file and class it follows.
"""

from __future__ import annotations

from collections.abc import Callable

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, fault_detail, inventory

Factory = Callable[..., SimHandle]


def test_http_codes_follow_the_engine_messages_error_types(simulator_factory: Factory) -> None:
    """common/errors/EngineMessage gives each message an ErrorType that restapi
    util/ErrorMessageHelper turns into the status: VDS_CANNOT_ADD_MORE_THEN_ONE_HOST_TO_
    LOCAL_STORAGE (CONSTRAINT_VIOLATION), ACTION_TYPE_FAILED_MANAGEMENT_NETWORK_UNSET and
    ACTION_TYPE_FAILED_CANNOT_CHANGE_VNIC_PROFILE_NETWORK (BAD_PARAMETERS) are 400."""
    inv = inventory([{"name": "hv01", "cluster": "loc1", "status": "up"}])
    inv["datacenters"] = [{"name": "Default"}, {"name": "Loc", "local": True}]
    inv["clusters"] = [
        {"name": "Default", "data_center": "Default"},
        {"name": "loc1", "data_center": "Loc"},
    ]
    inv["storage_domains"] = []
    sim = simulator_factory(inv)
    api = Api(sim)
    r = api.call(
        "POST",
        "/hosts",
        "<host><name>hv02</name><address>10.0.0.12</address><root_password>x</root_password>"
        "<cluster><name>loc1</name></cluster></host>",
    )
    assert r.status_code == 400, r.text
    assert 'Cannot add more than one Host to "Local Storage" Data Center' in fault_detail(r)

    cl = api.get("/clusters", search="name=Default")[0].get("id")
    mgmt = api.get("/networks", search="name=rhevm")[0].get("id")
    r = api.call(
        "PUT",
        f"/clusters/{cl}/networks/{mgmt}",
        "<network><usages><usage>vm</usage></usages></network>",
    )
    assert r.status_code == 400 and "Unsetting management network property" in fault_detail(r)

    storage = api.get("/networks", search="name=storage")[0].get("id")
    profile = api.get(f"/networks/{mgmt}/vnicprofiles")[0].get("id")
    r = api.call(
        "PUT", f"/vnicprofiles/{profile}", f'<vnic_profile><network id="{storage}"/></vnic_profile>'
    )
    assert r.status_code == 400 and "network cannot be changed" in fault_detail(r)


def test_activate_is_refused_only_for_up_and_non_responsive_hosts(
    simulator_factory: Factory,
) -> None:
    """bll validator/HostValidator.validateStatusForActivation: VDS_ALREADY_UP and
    VDS_NON_RESPONSIVE are the only status refusals (ActivateVdsCommand.validate); a host
    pending approval may be activated."""
    sim = simulator_factory(
        inventory(
            [
                {"name": "hv01", "status": "up"},
                {"name": "hv02", "status": "pending_approval"},
            ]
        )
    )
    api = Api(sim)
    r = api.action(api.host("hv01").get("id"), "activate")
    assert r.status_code == 409 and "Host in Up status" in fault_detail(r)
    r = api.action(api.host("hv02").get("id"), "activate")
    assert r.status_code == 200, r.text
    assert api.status("hv02") == "unassigned"
    assert len(api.events(16)) == 1  # VDS_ACTIVATE
    sim.advance(60)
    # The host answers, so the activation ends (it is not installed: NonOperational is fine).
    assert api.status("hv02") in ("up", "non_operational")
