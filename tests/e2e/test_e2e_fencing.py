"""SPM failover end to end: kubectl -> local Kubernetes API -> operator -> simulator, with the
machines' BMCs served over IPMI (UDP) by a subprocess the operator's IPMI client talks to.

A two-host data center (hv1 the SPM) whose SPM host dies: RHEV-M fences it itself (the
operator sends no IPMI power command and an HA VM is restarted on hv2), or the cluster's
fencing policy is off and `fencing.autoConfirm` lets the operator fence it over IPMI. The
engine cannot fence (skip rule, wrong BMC password, BMC unreachable, a lone host): without
autoConfirm the Hypervisor is Stalled with what a human must do.

The two recovery paths print their figures (run with -s): simulated seconds from the SPM
host's failure to all storage domains active again, against the engine's floor for that
path, and the calls made meanwhile (IPMI power commands by machine, the operator's REST
calls from /sim/stats less the test's own polls).
"""

from __future__ import annotations

import base64
import re
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rhevsim.bmc import BmcProcess, spawn
from tests.fixtures.bmc import BMC_PASSWORD, BMC_USER, machine_entries
from tests.fixtures.operator import E2E

pytestmark = pytest.mark.timeout(240)

#: Simulated seconds per real second: the grace period of an SPM host (80 s) takes 8 s.
SCALE = 10
#: The engine's timings (rhevsim defaults, after ovirt-engine): grace of an SPM host
#: (TimeoutToResetVdsInSeconds 60 + DelayResetForSpmInSeconds 20, + 0.5 s per VM), soft
#: fencing, the agent's stop, the election (2 + 10), one domain monitoring cycle.
GRACE, PER_VM, SOFT, STOP, ELECT, MONITOR = 80.0, 0.5, 5.0, 10.0, 12.0, 10.0

NFS = {"name": "nfs1", "type": "data", "data_center": "Default", "status": "active",
       "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"}}  # fmt: skip


def inventory(
    names: list[str], *, wrong_password: bool = False, vm: bool = False
) -> dict[str, Any]:
    machines = machine_entries(names)
    if wrong_password:  # the BMC's password differs from the Secret's
        machines[0]["bmc"]["password"] = "not-the-secret"
    out: dict[str, Any] = {
        "machines": [{**m, "power": "on"} for m in machines],
        "hosts": [
            {"name": n, "machine": n, "status": "up", "spm_priority": 8 - i}
            for i, n in enumerate(names)
        ],
        "storage_domains": [NFS],
    }
    if vm:
        out["vms"] = [{"name": "havm", "status": "up", "host": names[0]}]
    return out


def manifests(
    inv: dict[str, Any], *, auto_confirm: bool, policy: str | None, vm: bool = False
) -> str:
    secret = f"""
    apiVersion: v1
    kind: Secret
    metadata: {{name: bmc}}
    data:
      username: {base64.b64encode(BMC_USER.encode()).decode()}
      password: {base64.b64encode(BMC_PASSWORD.encode()).decode()}
    """
    docs = [textwrap.dedent(secret)]
    if policy is not None:
        docs.append(
            textwrap.dedent(f"""
        apiVersion: rhev.io/v1alpha1
        kind: RhevCluster
        metadata: {{name: default}}
        spec: {{name: Default, adopt: true, fencing: {policy}}}
        """)
        )
    for m in inv["machines"]:
        docs.append(
            textwrap.dedent(f"""
        apiVersion: rhev.io/v1alpha1
        kind: Hypervisor
        metadata: {{name: {m["name"]}}}
        spec:
          address: {m["address"]}
          adopt: true
          bmc: {{address: 127.0.0.1, port: {m["bmc"]["port"]}, credentialsSecret: bmc}}
          fencing: {{autoConfirm: {str(auto_confirm).lower()}}}
        """)
        )
    docs.append(
        textwrap.dedent("""
    apiVersion: rhev.io/v1alpha1
    kind: RhevDataCenter
    metadata: {name: default}
    spec: {name: Default, adopt: true}
    """)
    )
    if vm:
        docs.append(
            textwrap.dedent("""
        apiVersion: rhev.io/v1alpha1
        kind: VirtualMachine
        metadata: {name: havm}
        spec: {adopt: true, powerState: Running, nics: [], bootOrder: [hd],
               highAvailability: {enabled: true, priority: 50}}
        """)
        )
    return "---".join(docs)


class Watch:
    """The test's view of the simulator, counting its own REST polls (to subtract them)."""

    def __init__(self, e2e: E2E) -> None:
        self.e2e = e2e
        self.polls = 0

    def api(self, path: str) -> str:
        self.polls += 1
        return str(self.e2e.sim("GET", f"/ovirt-engine/api{path}"))

    def now(self) -> float:
        return float(self.e2e.sim("GET", "/sim/clock")["now"])

    def rest_total(self) -> int:
        stats = self.e2e.sim("GET", "/sim/stats")["requests"]
        return sum(n for k, n in stats.items() if not k.split(" ", 1)[1].startswith("/sim/"))

    def requests(self, fragment: str) -> int:
        stats = self.e2e.sim("GET", "/sim/stats")["requests"]
        return sum(n for k, n in stats.items() if fragment in k)

    def domains(self) -> list[str]:
        dc = re.search(r'<data_center href="[^"]*" id="([^"]+)"', self.api("/datacenters"))
        assert dc is not None
        xml = self.api(f"/datacenters/{dc.group(1)}/storagedomains")
        return re.findall(r"<status>(\w+)</status>", xml)

    def host(self, name: str) -> str:
        xml = self.api(f"/hosts?search=name%3D{name}")
        return xml

    def machine(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.e2e.sim("GET", f"/sim/machines/{name}")
        return result


def condition(e2e: E2E, kind: str, name: str, type_: str) -> dict[str, Any] | None:
    status = e2e.get(kind, name).get("status") or {}
    for c in status.get("conditions") or []:
        if c["type"] == type_ and c["status"] == "True":
            return dict(c)
    return None


def all_ready(e2e: E2E, *names: str) -> bool:
    return all(condition(e2e, "hv", n, "Ready") for n in names)


@pytest.fixture
def bmcs(e2e: E2E, request: pytest.FixtureRequest) -> Iterator[BmcProcess]:
    machines = request.node.callspec.params["e2e"]["inventory"]["machines"]
    process = spawn(e2e.sim_url, machines)
    try:
        yield process
    finally:
        process.stop()


def _recover(e2e: E2E, w: Watch, reasons: set[str]) -> tuple[float, float]:
    """Fail hv1 (the SPM); wait for all domains active with hv2 as SPM, collecting the
    Hypervisor hv1's Reconciling/Stalled reasons. (failure time, recovered time), sim s."""
    assert "<status>spm</status>" in w.host("hv1")
    t0 = w.now()
    e2e.sim("POST", "/sim/hosts/hv1/fail")
    seen_unknown = False

    def recovered() -> bool:
        nonlocal seen_unknown
        for type_ in ("Reconciling", "Stalled"):
            c = condition(e2e, "hv", "hv1", type_)
            if c is not None:
                reasons.add(str(c["reason"]))
        statuses = w.domains()
        seen_unknown = seen_unknown or "unknown" in statuses
        spm2 = "<status>spm</status>" in w.host("hv2")
        return seen_unknown and spm2 and statuses == ["active"]

    e2e.wait_for("domains active with hv2 as SPM", recovered, timeout=120, interval=0.1)
    return t0, w.now()


def _report(label: str, elapsed: float, floor: float, figures: dict[str, Any]) -> None:
    print(f"\n[{label}] failure -> all storage domains active: {elapsed:.1f} s simulated; "
          f"engine floor {floor:.1f} s; ratio {elapsed / floor:.2f}; {figures}")  # fmt: skip


INV_ENGINE = inventory(["hv1", "hv2"], vm=True)


@pytest.mark.parametrize("e2e", [{"inventory": INV_ENGINE, "time_scale": SCALE}], indirect=True)
def test_engine_fences_the_dead_spm_the_operator_sends_no_power_command_ha_vm_moves(
    e2e: E2E, bmcs: BmcProcess
) -> None:
    e2e.kubectl("apply", "-f", "-", input=manifests(INV_ENGINE, auto_confirm=True, policy=None,
                                                     vm=True))  # fmt: skip
    e2e.wait_for("both Ready", lambda: all_ready(e2e, "hv1", "hv2"), timeout=90)
    e2e.wait_for("havm Ready", lambda: condition(e2e, "rvm", "havm", "Ready"), timeout=60)
    w = Watch(e2e)
    e2e.wait_for(
        "HA enforced",
        lambda: (
            "<enabled>true</enabled>"
            in re.sub(
                r"\s", "", w.api("/vms?search=name%3Dhavm").split("<high_availability>")[1][:80]
            )
        ),
    )
    assert e2e.get("hv", "hv1")["status"]["fencing"]["engine"] is True
    rest0, polls0 = w.rest_total(), w.polls
    bmc_lines0 = len(bmcs.lines)
    reasons: set[str] = set()
    t0, t1 = _recover(e2e, w, reasons)
    rest = w.rest_total() - rest0 - (w.polls - polls0)
    assert {"EngineGracePeriod", "EngineFencing"} <= reasons, reasons
    assert "ManualFenceRequired" not in reasons
    m1 = w.machine("hv1")
    assert m1["fence_agent"] == {"on": 1, "off": 1} or m1["fence_agent"]["off"] == 1
    assert "ipmi" not in m1 and "ipmi" not in w.machine("hv2")  # no IPMI power command
    assert not any(("power_on" in x or "power_off" in x) and "set" in x
                   for x in list(bmcs.lines)[bmc_lines0:])  # fmt: skip
    # The HA VM was restarted on hv2 by the engine; the operator never started it.
    hv2 = re.search(r'<host href="[^"]*" id="([^"]+)"', w.host("hv2"))
    assert hv2 is not None

    def ha_on_hv2() -> bool:
        xml = w.api("/vms?search=name%3Dhavm")
        return "<status>up</status>" in xml and f'id="{hv2.group(1)}"' in xml

    e2e.wait_for("havm up on hv2", ha_on_hv2, timeout=60)
    assert w.requests("/vms/{id}/start") == 0
    floor = GRACE + PER_VM + SOFT + STOP + ELECT + MONITOR
    _report("engine fencing", t1 - t0, floor, {
        "ipmi_power_commands": 0, "fence_agent": m1["fence_agent"], "operator_rest_calls": rest,
        "bmc_ipmi_lines": len(list(bmcs.lines)[bmc_lines0:])})  # fmt: skip
    e2e.wait_for("hv1 back", lambda: all_ready(e2e, "hv1"), timeout=90)


INV_AUTO = inventory(["hv1", "hv2"])


@pytest.mark.parametrize("e2e", [{"inventory": INV_AUTO, "time_scale": SCALE}], indirect=True)
def test_with_the_policy_disabled_auto_confirm_fences_over_ipmi_and_powers_on_after(
    e2e: E2E, bmcs: BmcProcess
) -> None:
    e2e.kubectl("apply", "-f", "-", input=manifests(INV_AUTO, auto_confirm=True,
                                                     policy="{enabled: false}"))  # fmt: skip
    e2e.wait_for("both Ready", lambda: all_ready(e2e, "hv1", "hv2"), timeout=90)
    w = Watch(e2e)
    e2e.wait_for(
        "policy enforced",
        lambda: (
            "<fencing_policy><enabled>false</enabled>"
            in re.sub(r"\s", "", w.api("/clusters?search=name%3DDefault"))
        ),
    )
    e2e.wait_for("not fenceable", lambda: not e2e.get("hv", "hv1")["status"]["fencing"]["engine"])
    rest0, polls0 = w.rest_total(), w.polls
    bmc_lines0 = len(bmcs.lines)
    reasons: set[str] = set()
    t0, t1 = _recover(e2e, w, reasons)
    rest = w.rest_total() - rest0 - (w.polls - polls0)
    m1 = w.machine("hv1")
    assert m1["ipmi"]["off"] == 1 and "fence_agent" not in m1, m1
    assert "WaitingForSPM" in reasons or "FencingSpm" in reasons, reasons
    e2e.wait_for("hv1 powered on", lambda: w.machine("hv1")["ipmi"]["on"] == 1, timeout=60)
    events = e2e.kubectl("get", "events").stdout
    for reason in ("PoweredOff", "ConfirmedReboot", "PoweredOn"):
        assert reason in events, reason
    assert w.requests("/hosts/{id}/fence") == 1  # one confirmation, for a host verified off
    floor = GRACE + ELECT + MONITOR
    _report("autoConfirm", t1 - t0, floor, {
        "ipmi_power_commands": w.machine("hv1")["ipmi"], "operator_rest_calls": rest,
        "bmc_ipmi_lines": len(list(bmcs.lines)[bmc_lines0:])})  # fmt: skip
    e2e.wait_for("hv1 back", lambda: all_ready(e2e, "hv1"), timeout=90)


def _stalled(e2e: E2E, name: str) -> dict[str, Any]:
    found: dict[str, Any] = e2e.wait_for(
        f"{name} Stalled", lambda: condition(e2e, "hv", name, "Stalled"), timeout=90
    )
    return found


INV_SKIP = inventory(["hv1", "hv2"])


@pytest.mark.parametrize("e2e", [{"inventory": INV_SKIP, "time_scale": SCALE}], indirect=True)
def test_skip_if_storage_active_leaves_a_cut_off_spm_to_a_human(e2e: E2E, bmcs: BmcProcess) -> None:
    policy = "{skipIfStorageActive: true}"
    e2e.kubectl("apply", "-f", "-", input=manifests(INV_SKIP, auto_confirm=False, policy=policy))
    e2e.wait_for("both Ready", lambda: all_ready(e2e, "hv1", "hv2"), timeout=90)
    assert (
        "unless it still renews its storage lease"
        in e2e.get("hv", "hv1")["status"]["fencing"]["reason"]
    )
    e2e.sim("POST", "/sim/hosts/hv1/fail", {"mode": "network"})
    stalled = _stalled(e2e, "hv1")
    assert stalled["reason"] == "ManualFenceRequired"
    assert "was not restarted due to the Cluster Fencing Policy" in stalled["message"]
    assert "Confirm 'Host has been rebooted'" in stalled["message"]
    w = Watch(e2e)
    assert "ipmi" not in w.machine("hv1") and "fence_agent" not in w.machine("hv1")
    assert w.machine("hv1")["power"] == "on"


INV_PW = inventory(["hv1", "hv2"], wrong_password=True)
INV_UNREACHABLE = inventory(["hv1", "hv2"])


@pytest.mark.parametrize(
    ("e2e", "breakage"),
    [({"inventory": INV_PW, "time_scale": SCALE}, "password"),
     ({"inventory": INV_UNREACHABLE, "time_scale": SCALE}, "unreachable")],
    indirect=["e2e"],
)  # fmt: skip
def test_a_failing_fence_agent_leaves_the_operator_stalled_with_the_engines_words(
    e2e: E2E, bmcs: BmcProcess, breakage: str
) -> None:
    inv = INV_PW if breakage == "password" else INV_UNREACHABLE
    e2e.kubectl("apply", "-f", "-", input=manifests(inv, auto_confirm=False, policy=None))
    if breakage == "password":
        # The operator cannot read hv1's power over IPMI either; hv2 is Ready.
        e2e.wait_for("hv2 Ready", lambda: all_ready(e2e, "hv2"), timeout=90)
        e2e.wait_for(
            "agent configured",
            lambda: "ipmilan" in Watch(e2e).api("/hosts?search=name%3Dhv1&follow=agents"),
        )
    else:
        e2e.wait_for("both Ready", lambda: all_ready(e2e, "hv1", "hv2"), timeout=90)
        e2e.sim("POST", "/sim/machines/hv1/bmc", {"reachable": False})
    e2e.sim("POST", "/sim/hosts/hv1/fail")
    stalled = _stalled(e2e, "hv1")
    assert stalled["reason"] == "ManualFenceRequired", stalled
    assert "RHEV-M did not fence host hv1" in stalled["message"]
    assert "(event 9019)" in stalled["message"] or "(event 122)" in stalled["message"]
    w = Watch(e2e)
    assert "<status>not_operational</status>" in w.api("/datacenters?search=name%3DDefault")
    assert "ipmi" not in w.machine("hv1")
    dc = e2e.get("rdc", "default")["status"]
    assert "SPM host hv1 is non_responsive" in dc["message"]


INV_ONE = inventory(["hv1"])


@pytest.mark.parametrize("e2e", [{"inventory": INV_ONE, "time_scale": SCALE}], indirect=True)
def test_a_lone_spm_host_is_never_fenced_nor_confirmed(e2e: E2E, bmcs: BmcProcess) -> None:
    e2e.kubectl("apply", "-f", "-", input=manifests(INV_ONE, auto_confirm=True, policy=None))
    e2e.wait_for("Ready", lambda: all_ready(e2e, "hv1"), timeout=90)
    fencing = e2e.get("hv", "hv1")["status"]["fencing"]
    assert fencing["engine"] is False and "never fences a lone host" in fencing["reason"]
    e2e.wait_for("dc says so", lambda: e2e.get("rdc", "default")["status"].get("spmFenceable")
                 is False)  # fmt: skip
    e2e.sim("POST", "/sim/hosts/hv1/fail")
    stalled = _stalled(e2e, "hv1")
    assert stalled["reason"] == "SpmHostLost"
    assert "the only host of its data center" in stalled["message"]
    time.sleep(1.0)  # a few passes more: still nothing sent
    w = Watch(e2e)
    assert "ipmi" not in w.machine("hv1") and w.requests("/hosts/{id}/fence") == 0
