"""The /sim control endpoints: fault rules, API down, clock, stats, machines."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import requests
from lxml import etree

from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")


def api_get(sim: SimHandle, path: str = "/datacenters") -> requests.Response:
    return requests.get(sim.api_url + path, auth=AUTH, timeout=10)


def test_fault_rule_with_status_and_count(simulator: SimHandle) -> None:
    ids = simulator.control(
        "POST", "/sim/faults", {"path": "/datacenters$", "method": "GET", "status": 500, "count": 2}
    )
    assert ids == {"ids": [1]}
    codes = [api_get(simulator).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    r = requests.get(simulator.url + "/sim/faults", timeout=10)
    assert r.json() == {"rules": []}  # used up


def test_fault_body_is_an_engine_fault(simulator: SimHandle) -> None:
    simulator.control(
        "POST", "/sim/faults", {"path": "/clusters", "status": 409, "detail": "[busy]"}
    )
    r = api_get(simulator, "/clusters")
    fault = etree.fromstring(r.content)
    assert r.status_code == 409 and fault.tag == "fault" and fault.findtext("detail") == "[busy]"
    assert api_get(simulator, "/datacenters").status_code == 200  # other paths unaffected
    simulator.control("DELETE", "/sim/faults")
    assert api_get(simulator, "/clusters").status_code == 200


def test_fault_reset_closes_the_connection(simulator: SimHandle) -> None:
    simulator.control("POST", "/sim/faults", {"path": ".*", "status": "reset", "count": 1})
    with pytest.raises(requests.ConnectionError):
        api_get(simulator)
    assert api_get(simulator).status_code == 200


def test_latency_rule_delays_without_blocking_other_requests(simulator: SimHandle) -> None:
    import threading

    simulator.control("POST", "/sim/faults", {"path": "/clusters$", "latency": 1.0, "count": 1})
    results: list[int] = []
    t = threading.Thread(target=lambda: results.append(api_get(simulator, "/clusters").status_code))
    t.start()
    # While the slow request waits, the registry is free: this answers.
    assert api_get(simulator, "/datacenters").status_code == 200
    t.join(timeout=10)
    assert results == [200]


def test_probability_is_deterministic_per_seed(simulator_factory: Any) -> None:
    def pattern(seed: int) -> list[int]:
        sim = simulator_factory(seed=seed)
        sim.control(
            "POST", "/sim/faults", {"path": "/datacenters$", "status": 503, "probability": 0.5}
        )
        return [api_get(sim).status_code for _ in range(12)]

    a, b = pattern(3), pattern(3)
    assert a == b and 503 in a and 200 in a


def test_bad_fault_rule_names_the_field(simulator: SimHandle) -> None:
    for rule, field in (
        ({"path": "(", "status": 500}, "path"),
        ({"status": 42}, "status"),
        ({"probability": 2, "status": 500}, "probability"),
        ({"colour": "red"}, "colour"),
        ({"path": "x"}, "status"),
    ):
        r = requests.post(simulator.url + "/sim/faults", json=rule, timeout=10)
        assert r.status_code == 400 and field in r.json()["error"], (rule, r.text)


def test_api_down_503_and_reset_then_up(simulator: SimHandle) -> None:
    simulator.control("POST", "/sim/api/down", {})
    assert api_get(simulator).status_code == 503
    simulator.control("POST", "/sim/api/down", {"mode": "reset"})
    with pytest.raises(requests.ConnectionError):
        api_get(simulator)
    # Control endpoints keep answering while the API is down.
    assert requests.get(simulator.url + "/sim/stats", timeout=10).status_code == 200
    simulator.control("POST", "/sim/api/up")
    assert api_get(simulator).status_code == 200


def test_clock_advance_over_http_runs_due_transitions(simulator: SimHandle) -> None:
    fired: list[float] = []
    with simulator.lock:
        simulator.reg.schedule(10.0, lambda: fired.append(simulator.reg.clock.now()))
        start = simulator.reg.clock.now()
    assert simulator.control("POST", "/sim/clock/advance", {"seconds": 9})["ran"] == 0
    out = simulator.control("POST", "/sim/clock/advance", {"seconds": 5})
    assert out["ran"] == 1 and fired == [start + 10]
    assert out["now"] == start + 14


def test_clock_advance_refused_on_real_clock(simulator_factory: Any) -> None:
    sim = simulator_factory(clock="real")
    r = requests.post(sim.url + "/sim/clock/advance", json={"seconds": 1}, timeout=10)
    assert r.status_code == 409


def test_real_clock_runs_transitions_scaled(simulator_factory: Any) -> None:
    import time

    sim = simulator_factory(clock="real", time_scale=100.0)
    fired: list[bool] = []
    with sim.lock:
        sim.reg.schedule(20.0, lambda: fired.append(True))  # 0.2 s of real time
    deadline = time.monotonic() + 10
    while not fired and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fired == [True]


def test_stats_count_requests_by_path_template_and_objects(simulator: SimHandle) -> None:
    dc = simulator.find("datacenter", "Default")
    api_get(simulator, "/datacenters")
    api_get(simulator, f"/datacenters/{dc.id}")
    api_get(simulator, f"/datacenters/{dc.id}")
    stats = simulator.control("GET", "/sim/stats")
    assert stats["requests"]["GET /datacenters"] == 1
    assert stats["requests"]["GET /datacenters/{id}"] == 2
    assert stats["objects"]["datacenter"] == 1 and stats["objects"]["cluster"] == 1


def test_machines_power_and_boot(simulator_factory: Any) -> None:
    sim = simulator_factory(
        {
            "machines": [
                {
                    "name": "hv01",
                    "address": "10.0.0.11",
                    "nics": [{"name": "eth0", "mac": "52:54:00:00:00:11"}],
                    "bmc": {"port": 16230, "username": "admin", "password": "secret"},
                }
            ]
        }
    )
    seen: list[tuple[str, bool, str]] = []
    with sim.lock:
        sim.reg.hooks.machine_power.append(
            lambda reg, m: seen.append((m.name, m.powered_on, m.boot_device))
        )
    [m] = sim.control("GET", "/sim/machines")["machines"]
    assert m["power"] == "off" and m["bmc"] == {"port": 16230, "username": "admin"}  # no password
    assert (
        sim.control("POST", "/sim/machines/hv01/boot", {"device": "network"})["boot_device"]
        == "network"
    )
    assert sim.control("POST", "/sim/machines/hv01/power", {"on": True})["power"] == "on"
    assert seen == [("hv01", True, "network")]
    r = requests.post(sim.url + "/sim/machines/hv01/boot", json={"device": "usb"}, timeout=10)
    assert r.status_code == 400 and "device" in r.json()["error"]
    r = requests.get(sim.url + "/sim/machines/nope", timeout=10)
    assert r.status_code == 404


def test_unknown_host_fail_is_an_error(simulator: SimHandle) -> None:
    r = requests.post(simulator.url + "/sim/hosts/ghost/fail", timeout=10)
    assert r.status_code in (404, 501) and "error" in r.json()


def test_control_rejects_non_json(simulator: SimHandle) -> None:
    req = urllib.request.Request(simulator.url + "/sim/faults", data=b"{oops", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and "JSON" in json.loads(exc.read())["error"]


def test_a_failing_transition_does_not_stop_the_real_clock(simulator_factory: Any) -> None:
    import time

    sim = simulator_factory(clock="real", time_scale=100.0)
    fired: list[bool] = []

    def broken() -> None:
        raise RuntimeError("boom")

    with sim.lock:
        sim.reg.schedule(1.0, broken)
        sim.reg.schedule(5.0, lambda: fired.append(True))
    deadline = time.monotonic() + 10
    while not fired and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fired == [True]
    assert sim.control("GET", "/sim/stats")["transition_errors"] == 1
