"""IPMI against the simulator: the BMC subprocess (``--sim-url``) is a front for the machines
whose power and boot device live in rhevsim, as ``rhevsim serve`` runs them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import etree

from rhev_operator.ipmi import BmcClient, BootDevice
from rhevsim import testing as sim_testing
from tests.fixtures.bmc import machine_entries

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sim() -> Iterator[Any]:
    machines = machine_entries(["h1", "h2"])
    for i, machine in enumerate(machines):
        machine["nics"] = [{"name": "eth0", "mac": f"52:54:00:00:01:{i:02x}"}]
    with sim_testing.running_simulator({"machines": machines}, clock="manual", bmc=True) as handle:
        assert handle.bmc is not None, "running_simulator(bmc=True) started no BMCs"
        handle.machines = machines
        yield handle


def client_for(sim: Any, name: str) -> BmcClient:
    bmc = next(m["bmc"] for m in sim.machines if m["name"] == name)
    return BmcClient("127.0.0.1", bmc["username"], bmc["password"], port=bmc["port"])


def machine(sim: Any, name: str) -> dict[str, Any]:
    result: dict[str, Any] = sim.control("GET", f"/sim/machines/{name}")
    return result


def test_power_and_boot_over_ipmi_change_the_simulated_machine(sim: Any) -> None:
    h1 = client_for(sim, "h1")
    assert h1.power_state() == "off"
    assert machine(sim, "h1")["power"] == "off"

    h1.set_boot_device("network", persistent=True)
    assert machine(sim, "h1")["boot_device"] == "network"
    assert h1.boot_device() == BootDevice("network", persistent=True)

    h1.power_on()
    assert machine(sim, "h1")["power"] == "on"
    assert h1.power_state() == "on"
    assert machine(sim, "h2")["power"] == "off"
    sim.bmc.wait_for(lambda line: line == f"[h1:{h1.port}] power_on")

    h1.set_boot_device("cd")
    assert machine(sim, "h1")["boot_device"] == "cdrom"
    assert h1.boot_device() == BootDevice("cd", persistent=False)

    h1.power_off()
    assert machine(sim, "h1")["power"] == "off"


def test_the_bmc_reads_state_changed_in_the_simulator(sim: Any) -> None:
    h2 = client_for(sim, "h2")
    assert h2.power_state() == "off"
    sim.control("POST", "/sim/machines/h2/power", {"on": True})
    assert h2.power_state() == "on"
    sim.control("POST", "/sim/machines/h2/boot", {"device": "disk"})
    assert h2.boot_device().device == "disk"
    # Reset of a running machine goes through the simulator as off, then on.
    h2.reset()
    assert machine(sim, "h2")["power"] == "on"
    sim.bmc.wait_for(lambda line: line == f"[h2:{h2.port}] power_reset")


def _get(sim: Any, path: str) -> etree._Element:
    response = requests.get(
        sim.api_url + path,
        auth=("admin@internal", "admin"),
        headers={"Accept": "application/xml"},
        timeout=10,
    )
    response.raise_for_status()
    return etree.fromstring(response.content)


def hosts(sim: Any) -> dict[str, str]:
    return {
        str(host.findtext("name")): str(host.findtext("status"))
        for host in _get(sim, "/hosts").findall("host")
    }


def host_id(sim: Any, name: str) -> str:
    for host in _get(sim, "/hosts").findall("host"):
        if host.findtext("name") == name:
            return str(host.get("id"))
    raise AssertionError(f"no host {name}")


def advance_until(sim: Any, name: str, status: str, step: float = 60, limit: int = 60) -> None:
    """Advance the manual clock step by step (bounded) until host `name` has `status`."""
    for _ in range(limit):
        if hosts(sim).get(name) == status:
            return
        sim.advance(step)
    raise AssertionError(f"host {name} is {hosts(sim).get(name)!r}, not {status!r}")


def test_network_boot_over_ipmi_registers_a_host_that_follows_the_power(sim: Any) -> None:
    assert sim.reg.hooks.machine_power, "the simulator registers hosts on power-on"
    h1 = client_for(sim, "h1")
    h1.set_boot_device("network")
    h1.power_on()
    assert "h1" not in hosts(sim)
    advance_until(sim, "h1", "pending_approval")  # RHEV-H installed and registered itself
    assert "h2" not in hosts(sim)  # never powered on

    response = requests.post(
        f"{sim.api_url}/hosts/{host_id(sim, 'h1')}/approve",
        data="<action><cluster><name>Default</name></cluster></action>",
        auth=("admin@internal", "admin"),
        headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        timeout=10,
    )
    response.raise_for_status()
    advance_until(sim, "h1", "up")

    # From now on boot from disk; powered off over IPMI the host stops answering ...
    h1.set_boot_device("disk", persistent=True)
    h1.power_off()
    advance_until(sim, "h1", "non_responsive")
    # ... and powered on again it comes back up.
    h1.power_on()
    advance_until(sim, "h1", "up")
    assert h1.power_state() == "on"
