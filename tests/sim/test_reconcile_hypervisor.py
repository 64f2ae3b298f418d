"""Hypervisor reconciler against the simulator (manual clock), without kopf.

BMCs run in a subprocess (`bmc=True`): the reconciler's IPMI client and the BMC server never
share a process."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from rhev_operator.reconcilers.base import Context, Outcome
from rhev_operator.rhevm import ClusterNetworkUpdate, FenceAgentUpdate, HostUpdate
from rhevsim.testing import SimHandle
from tests.fixtures.bmc import BMC_PASSWORD, BMC_USER, machine_entries
from tests.fixtures.reconcile import Harness

pytestmark = pytest.mark.timeout(120)

HV = "Hypervisor"
ROOT_PASSWORD = "Root-S3cret-9"  # distinctive: finding it in a log is a real leak
NFS = {
    "name": "nfs1",
    "type": "data",
    "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"},
    "data_center": "Default",
    "status": "active",
}
CLUSTERS = [
    {"name": "Default", "data_center": "Default"},
    {"name": "other", "data_center": "Default"},
]
NICS = [{"name": "eth0", "mac": "52:54:00:00:00:11"}, {"name": "eth1", "mac": "52:54:00:00:01:11"}]


@dataclass
class HvHarness(Harness):
    """The reconciler harness with Secrets (as the handlers read them from kopf's index) and a
    clock that can be moved ahead of the real one, for deadlines."""

    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    skew: float = 0.0

    def context(self, body: dict[str, Any]) -> Context:
        ctx = super().context(body)
        ctx.secrets = self._secret
        ctx.now = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.skew)
        return ctx

    def _secret(self, name: str) -> Mapping[str, str] | None:
        return self.secrets.get(name)

    def reasons(self, outcome: Outcome) -> list[str]:
        return [e.reason for e in outcome.events]

    def ready(self, name: str) -> bool:
        c = self.condition(HV, name)
        return c is not None and c["status"] == "True"

    def reason(self, name: str) -> str:
        c = self.condition(HV, name)
        return "" if c is None else str(c["reason"])


@pytest.fixture
def harness(reconciler_harness: Any) -> Callable[[SimHandle], HvHarness]:
    def make(sim: SimHandle) -> HvHarness:
        base = reconciler_harness(sim)
        return HvHarness(base.client, base.inventory)

    return make


def host_of(sim: SimHandle, name: str) -> Any:
    return sim.find("host", name)


def converge(h: HvHarness, sim: SimHandle, name: str, step: float = 30, limit: int = 40) -> None:
    """Run passes, advancing the clock between them, until Ready (bounded)."""
    for _ in range(limit):
        h.run(HV, name)
        if h.ready(name):
            return
        sim.advance(step)
    raise AssertionError(f"{name} not Ready: {h.status(HV, name)}")


def machine(sim: SimHandle, name: str) -> dict[str, Any]:
    result: dict[str, Any] = sim.control("GET", f"/sim/machines/{name}")
    return result


def bmc_spec(machines: list[dict[str, Any]], name: str) -> dict[str, Any]:
    port = next(m["bmc"]["port"] for m in machines if m["name"] == name)
    return {"address": "127.0.0.1", "port": port, "credentialsSecret": "bmc"}


BMC_SECRET = {"username": BMC_USER, "password": BMC_PASSWORD}


# -- registration, approval, installation -----------------------------------------------------


def test_a_registering_rhevh_host_is_approved_into_its_cluster(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(
        {
            "clusters": CLUSTERS,
            "hosts": [{"name": "rhevh1", "address": "10.0.0.21", "status": "pending_approval",
                       "type": "rhev_h", "nics": NICS}],
        }
    )  # fmt: skip
    h = harness(sim)
    h.apply(HV, "rhevh1", {"address": "10.0.0.21", "cluster": "other"})
    outcome = h.run(HV, "rhevh1")
    assert h.reasons(outcome) == ["Registered", "Approved"]
    assert h.reason("rhevh1") == "InstallingHost"
    assert h.status(HV, "rhevh1")["operation"]["action"] == "InstallHost"
    assert host_of(sim, "rhevh1").status == "installing"

    converge(h, sim, "rhevh1")
    status = h.status(HV, "rhevh1")
    assert status["state"] == "up" and status["cluster"] == "other"
    assert status.get("operation") is None
    assert "Installed" in [e.reason for o in h.outcomes for e in o.events]
    host = host_of(sim, "rhevh1")
    assert host.cluster_id == sim.find("cluster", "other").id
    # Approved hosts carry the owner marker: the default deletion policy is Delete.
    assert h.bodies[(HV, "rhevh1")]["metadata"]["uid"] in (host.comment or "")

    # A second pass changes nothing.
    assert h.run(HV, "rhevh1").events == []


def test_approve_false_waits_for_a_human(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(
        {"hosts": [{"name": "rhevh1", "status": "pending_approval", "type": "rhev_h"}]}
    )
    h = harness(sim)
    h.apply(HV, "rhevh1", {"address": "rhevh1", "approve": False})
    h.run(HV, "rhevh1")
    assert h.reason("rhevh1") == "WaitingForApproval"
    assert "spec.approve" in h.status(HV, "rhevh1")["message"]
    assert host_of(sim, "rhevh1").status == "pending_approval"


def test_a_rhevh_host_that_never_registers_waits_without_acting(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory()
    h = harness(sim)
    h.apply(HV, "rhevh9", {"address": "10.9.9.9"})
    outcome = h.run(HV, "rhevh9")
    assert outcome.events == [] and h.reason("rhevh9") == "WaitingForRegistration"
    assert "spec.provision" in h.status(HV, "rhevh9")["message"]
    # Waiting costs no request of its own: the inventory's one list per tick is enough.
    h.client.session.reset_counts()
    for _ in range(3):
        h.run(HV, "rhevh9")
    assert h.client.request_counts.get(("GET", "hosts")) == 3


def test_a_rhevh_host_without_provision_stalls_past_registration_seconds_then_is_taken(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    machines = machine_entries(["node7"])
    sim = simulator_factory({"clusters": CLUSTERS, "machines": machines})
    h = harness(sim)
    address = machines[0]["address"]
    spec = {"address": address, "timeouts": {"registrationSeconds": 100}}
    h.apply(HV, "node7", spec)
    h.run(HV, "node7")
    assert h.reason("node7") == "WaitingForRegistration"
    op = h.status(HV, "node7")["operation"]
    assert op["action"] == "AwaitHostRegistration"
    h.run(HV, "node7")
    assert h.status(HV, "node7")["operation"] == op  # one deadline, not one per pass
    h.skew = 101
    outcome = h.run(HV, "node7")
    stalled = h.condition(HV, "node7", "Stalled")
    assert stalled is not None and stalled["status"] == "True"
    assert stalled["reason"] == "Timeout"
    message = stalled["message"]
    assert "AwaitHostRegistration did not finish" in message
    assert "RHEV-M reported nothing" in message  # there is no host to have events about
    assert f"Boot host {address} with RHEV-H and point it at this RHEV-M" in message
    assert "set spec.provision" in message
    assert h.reasons(outcome) == ["Timeout"]  # one Warning Event
    assert machine(sim, "node7")["power"] == "off"  # nothing was done to the machine

    # A human boots it from the network: RHEV-H installs and registers itself.
    sim.control("POST", "/sim/machines/node7/boot", {"device": "network"})
    sim.control("POST", "/sim/machines/node7/power", {"on": True})
    sim.advance(130)
    outcome = h.run(HV, "node7")
    assert h.reasons(outcome) == ["Registered", "Approved"]
    assert h.status(HV, "node7")["operation"]["action"] == "InstallHost"
    converge(h, sim, "node7")
    stalled = h.condition(HV, "node7", "Stalled")
    assert stalled is None or stalled["status"] != "True"
    assert h.status(HV, "node7").get("operation") is None


def test_approve_false_waits_for_a_human_without_a_deadline(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(
        {"hosts": [{"name": "rhevh1", "status": "pending_approval", "type": "rhev_h"}]}
    )
    h = harness(sim)
    short = {"registrationSeconds": 10, "operationSeconds": 10}
    h.apply(HV, "rhevh1", {"address": "rhevh1", "approve": False, "timeouts": short})
    h.run(HV, "rhevh1")
    message = h.status(HV, "rhevh1")["message"]
    assert "a human must approve it in RHEV-M" in message and "spec.approve: true" in message
    assert h.status(HV, "rhevh1").get("operation") is None
    h.skew = 10_000  # long past every deadline: still a wait for a human, not Stalled
    h.run(HV, "rhevh1")
    assert h.reason("rhevh1") == "WaitingForApproval"
    stalled = h.condition(HV, "rhevh1", "Stalled")
    assert stalled is None or stalled["status"] != "True"
    assert host_of(sim, "rhevh1").status == "pending_approval"
    h.apply(HV, "rhevh1", {"address": "rhevh1", "approve": True})
    outcome = h.run(HV, "rhevh1")
    assert h.reasons(outcome) == ["Approved"]


def test_a_rhel_host_is_added_with_its_root_password_which_never_leaks(
    simulator_factory: Callable[..., SimHandle],
    harness: Callable[[SimHandle], HvHarness],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = simulator_factory({"storage_domains": [NFS]})
    h = harness(sim)
    h.client.session.trace = True  # even the REST trace must mask it
    h.apply(HV, "rhel1", {"address": "10.0.0.31", "type": "rhel", "rootPasswordSecret": "root",
                          "spmPriority": 7})  # fmt: skip

    # Without the Secret: Stalled, naming the field and the key.
    h.run(HV, "rhel1")
    stalled = h.condition(HV, "rhel1", "Stalled")
    assert stalled is not None and stalled["reason"] == "MissingSecret"
    assert "spec.rootPasswordSecret" in stalled["message"] and "default/root" in stalled["message"]
    assert host_of(sim, "rhel1") is None

    h.secrets["root"] = {"password": ROOT_PASSWORD}
    outcome = h.run(HV, "rhel1")
    assert h.reasons(outcome) == ["Created"]
    host = host_of(sim, "rhel1")
    assert host is not None and host.status == "installing" and host.spm_priority == 7
    converge(h, sim, "rhel1")
    assert h.status(HV, "rhel1")["state"] == "up"

    everything = json.dumps([h.bodies[(HV, "rhel1")]]) + json.dumps(
        [[e.message for e in o.events] for o in h.outcomes]
    )
    assert ROOT_PASSWORD not in everything
    assert ROOT_PASSWORD not in caplog.text
    assert "rhel1" in caplog.text  # the log did record the actions


def test_a_failed_installation_stalls_with_the_engines_words_and_retries_when_touched(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    # The machine is powered off: RHEV-M cannot reach it over SSH.
    machines = [{"name": "rhel2", "address": "10.0.0.32", "nics": NICS}]
    sim = simulator_factory({"machines": machines})
    h = harness(sim)
    h.secrets["root"] = {"password": ROOT_PASSWORD}
    spec = {"address": "10.0.0.32", "type": "rhel", "rootPasswordSecret": "root"}
    h.apply(HV, "rhel2", spec)
    h.run(HV, "rhel2")
    sim.advance(200)
    h.run(HV, "rhel2")
    stalled = h.condition(HV, "rhel2", "Stalled")
    assert stalled is not None and stalled["reason"] == "InstallFailed"
    assert "Failed to connect to the host via SSH" in stalled["message"]
    assert h.run(HV, "rhel2").events == []  # stays stalled, no retry loop

    sim.control("POST", "/sim/machines/rhel2/power", {"on": True})
    h.apply(HV, "rhel2", {**spec, "spmPriority": 3})  # touching the spec retries
    outcome = h.run(HV, "rhel2")
    assert "Reinstalling" in h.reasons(outcome)
    converge(h, sim, "rhel2")


def test_installation_past_its_deadline_stalls_quoting_the_engine_job(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory()
    h = harness(sim)
    h.secrets["root"] = {"password": ROOT_PASSWORD}
    h.apply(HV, "slow", {"address": "10.0.0.33", "type": "rhel", "rootPasswordSecret": "root",
                         "timeouts": {"hostInstallSeconds": 60}})  # fmt: skip
    h.run(HV, "slow")
    h.skew = 61  # the simulator's clock stands still: installation is still going on
    h.run(HV, "slow")
    stalled = h.condition(HV, "slow", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "InstallHost did not finish" in stalled["message"]
    assert "RHEV-M said: job started: Adding new Host slow" in stalled["message"]


# -- interfaces, SPM priority, state, cluster ----------------------------------------------


def _up_host_inventory(**extra: Any) -> dict[str, Any]:
    return {
        "clusters": CLUSTERS,
        "networks": [
            {"name": "storage", "data_center": "Default", "vlan": 20,
             "clusters": [{"name": "Default", "required": False},
                          {"name": "other", "required": False}]},
        ],
        "hosts": [{"name": "hv1", "address": "10.0.0.11", "status": "up", "nics": NICS,
                   "comment": ""}],
        **extra,
    }  # fmt: skip


STATIC = {"network": "storage", "nic": "eth1", "bootProtocol": "static", "ip": "10.1.0.11",
          "netmask": "255.255.255.0"}  # fmt: skip


def setupnetworks_calls(h: HvHarness) -> int:
    return sum(n for (m, k), n in h.client.request_counts.items() if k.endswith("setupnetworks"))


def test_interfaces_are_applied_on_the_up_host_only_when_they_differ(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    """The engine runs setupnetworks on Up hosts (bll network/host/HostValidator
    LEGAL_STATUSES): no maintenance, so no VM migrates for an interface change."""
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "interfaces": [STATIC]})
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["Adopted", "NetworksSetUp"]
    assert outcome.events[-1].message == "Set up networks of host hv1: storage on eth1"
    assert setupnetworks_calls(h) == 1
    assert host_of(sim, "hv1").status == "up"
    converge(h, sim, "hv1", step=10)
    assert not [e for o in h.outcomes for e in o.events if e.reason == "MovingToMaintenance"]

    host = host_of(sim, "hv1")
    net = sim.find("network", "storage")
    att = next(a for a in host.attachments if a.network_id == net.id)
    assert (att.nic_name, att.boot_protocol, att.address, att.netmask) == (
        "eth1", "static", "10.1.0.11", "255.255.255.0"
    )  # fmt: skip
    # In sync: further passes send no setupnetworks and do not leave up.
    for _ in range(2):
        assert h.run(HV, "hv1").events == []
    assert setupnetworks_calls(h) == 1 and host.status == "up"

    # A different address is a difference: applied the same way.
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True,
                        "interfaces": [{**STATIC, "ip": "10.1.0.12"}]})  # fmt: skip
    converge(h, sim, "hv1", step=10)
    assert setupnetworks_calls(h) == 2 and att.address == "10.1.0.12"


def test_a_non_operational_host_gets_its_networks_as_it_is_then_is_activated(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    """setupnetworks on a NonOperational host (network/host/HostValidator takes it); the
    engine does not look again by itself, so the operator activates it, and it comes up."""
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True})
    converge(h, sim, "hv1")
    cl = h.client.clusters.find("Default")
    hv1 = h.client.hosts.find("hv1")
    assert cl is not None and hv1 is not None
    net_id = sim.find("network", "storage").id
    h.client.networks.cluster_networks(cl.id).update(net_id, ClusterNetworkUpdate(required=True))
    h.client.hosts.deactivate(hv1.id)
    sim.advance(10)
    h.run(HV, "hv1")  # activates it (spec.state up): non_operational, storage missing
    sim.advance(10)
    assert host_of(sim, "hv1").status == "non_operational"
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "interfaces": [STATIC]})
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["NetworksSetUp", "Activating"]
    converge(h, sim, "hv1", step=10)
    assert host_of(sim, "hv1").status == "up"
    assert not [e for o in h.outcomes for e in o.events if e.reason == "MovingToMaintenance"]


def test_maintenance_the_engine_refuses_is_stalled_in_its_words_never_forced(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    """bll MaintenanceNumberOfVdssCommand.validate refuses a host running a pinned VM
    (VDS_CANNOT_MAINTENANCE_IT_INCLUDES_NON_MIGRATABLE_VM): Stalled with that message; the
    VM keeps running; once it is stopped, the next pass gets the host to maintenance."""
    sim = simulator_factory(
        _up_host_inventory(
            vms=[{"name": "pinned", "cluster": "Default", "status": "up", "host": "hv1",
                  "placement": {"affinity": "pinned", "hosts": ["hv1"]}}]
        )
    )  # fmt: skip
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "state": "maintenance"})
    h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "MaintenanceRefused"
    assert "The non-migratable VMs are: pinned." in stalled["message"]
    assert host_of(sim, "hv1").status == "up"
    assert sim.find("vm", "pinned").status == "up"
    h.run(HV, "hv1")  # asked again, refused again: still stalled, nothing forced
    assert h.condition(HV, "hv1", "Stalled") is not None
    with sim.lock:
        sim.find("vm", "pinned").status = "down"
        sim.find("vm", "pinned").host_id = None
    converge(h, sim, "hv1", step=10)
    assert host_of(sim, "hv1").status == "maintenance"


def test_an_unknown_nic_is_stalled_naming_the_field(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True,
                        "interfaces": [{**STATIC, "nic": "eth7"}]})  # fmt: skip
    h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "NoSuchNic"
    assert "spec.interfaces[0].nic" in stalled["message"] and "eth0, eth1" in stalled["message"]
    assert host_of(sim, "hv1").status == "up"  # nothing was done to the host


def test_spm_priority_state_and_cluster(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    spec: dict[str, Any] = {"address": "10.0.0.11", "adopt": True, "spmPriority": 9}
    h.apply(HV, "hv1", spec)
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["Adopted", "Updated"] and h.ready("hv1")
    assert host_of(sim, "hv1").spm_priority == 9

    h.apply(HV, "hv1", {**spec, "state": "maintenance"})
    assert h.reasons(h.run(HV, "hv1")) == ["MovingToMaintenance"]
    assert h.reason("hv1") == "MovingToMaintenance"
    converge(h, sim, "hv1", step=10)
    assert host_of(sim, "hv1").status == "maintenance"
    assert h.status(HV, "hv1")["state"] == "maintenance"

    h.apply(HV, "hv1", {**spec, "state": "up"})
    assert h.reasons(h.run(HV, "hv1")) == ["Activating"]
    converge(h, sim, "hv1", step=10)
    assert host_of(sim, "hv1").status == "up"

    # Another cluster: to maintenance, moved, activated again.
    h.apply(HV, "hv1", {**spec, "cluster": "other"})
    converge(h, sim, "hv1", step=10)
    reasons = [e.reason for o in h.outcomes[-8:] for e in o.events]
    assert reasons[-3:] == ["MovingToMaintenance", "ChangedCluster", "Activating"]
    assert h.status(HV, "hv1")["cluster"] == "other"
    assert host_of(sim, "hv1").cluster_id == sim.find("cluster", "other").id


def test_a_cluster_resource_not_ready_is_waited_for(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(
        {"hosts": [{"name": "rhevh1", "status": "pending_approval", "type": "rhev_h"}]}
    )
    h = harness(sim)
    h.apply("RhevCluster", "mycluster", {"dataCenter": "Default"})  # never reconciled: not Ready
    h.apply(HV, "rhevh1", {"address": "rhevh1", "cluster": "mycluster"})
    h.run(HV, "rhevh1")
    assert h.reason("rhevh1") == "WaitingForDependency"
    assert host_of(sim, "rhevh1").status == "pending_approval"


def test_an_existing_host_is_not_taken_without_adopt_and_adopted_ones_are_retained(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11"})
    h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "AlreadyExists"
    assert "spec.adopt" in stalled["message"]

    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True})
    h.run(HV, "hv1")
    assert h.ready("hv1") and h.condition(HV, "hv1", "Stalled") is None
    outcome = h.run(HV, "hv1", delete=True)
    assert outcome.finished and h.reasons(outcome) == ["Retained"]
    assert host_of(sim, "hv1").status == "up"


def test_delete_goes_through_maintenance_then_removes(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(
        {"hosts": [{"name": "rhevh1", "status": "pending_approval", "type": "rhev_h"}]}
    )
    h = harness(sim)
    h.apply(HV, "rhevh1", {"address": "rhevh1"})
    converge(h, sim, "rhevh1")
    outcome = h.run(HV, "rhevh1", delete=True)
    assert not outcome.finished and h.reasons(outcome) == ["MovingToMaintenance"]
    assert host_of(sim, "rhevh1").status == "preparing_for_maintenance"
    outcome = h.run(HV, "rhevh1", delete=True)
    assert not outcome.finished and outcome.events == []  # waits it out
    sim.advance(10)
    outcome = h.run(HV, "rhevh1", delete=True)
    assert outcome.finished and h.reasons(outcome) == ["Deleted"]
    assert host_of(sim, "rhevh1") is None


# -- IPMI: power management, provisioning, SPM fencing -------------------------------------


def _bmc_sim(
    factory: Callable[..., SimHandle], names: list[str], **inventory: Any
) -> tuple[SimHandle, list[dict[str, Any]]]:
    machines = machine_entries(names)
    for i, m in enumerate(machines):
        m["nics"] = [{"name": "eth0", "mac": f"52:54:00:00:02:{i:02x}"},
                     {"name": "eth1", "mac": f"52:54:00:00:03:{i:02x}"}]  # fmt: skip
    return factory({"machines": machines, **inventory}, bmc=True), machines


def test_provision_over_ipmi_then_registration_then_approval_with_power_management(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, machines = _bmc_sim(simulator_factory, ["node1"])
    address = machines[0]["address"]
    h = harness(sim)
    h.secrets["bmc"] = dict(BMC_SECRET)
    spec = {"address": address, "bmc": bmc_spec(machines, "node1"),
            "provision": {"bootDevice": "network", "powerOn": True}}  # fmt: skip
    h.apply(HV, "node1", spec)
    outcome = h.run(HV, "node1")
    assert h.reasons(outcome) == ["Provisioned"]
    assert machine(sim, "node1")["power"] == "on"
    assert h.reason("node1") == "WaitingForRegistration"
    assert h.status(HV, "node1")["operation"]["action"] == "ProvisionHost"
    # Resumed (e.g. after a restart) it does not power-cycle the machine again.
    assert h.run(HV, "node1").events == []

    sim.advance(130)  # RHEV-H installs from the network and registers itself
    outcome = h.run(HV, "node1")
    assert h.reasons(outcome) == ["Registered", "Approved"]
    converge(h, sim, "node1")
    status = h.status(HV, "node1")
    assert status["state"] == "up" and status["powerState"] == "on"
    reasons = [e.reason for o in h.outcomes for e in o.events]
    assert reasons.count("PowerManagement") == 2  # the agent, then enabling it

    host = host_of(sim, "node1")
    assert host.pm_enabled
    [agent] = host.agents
    assert (agent.agent_type, agent.address, agent.port, agent.username) == (
        "ipmilan", "127.0.0.1", machines[0]["bmc"]["port"], BMC_USER
    )  # fmt: skip
    assert agent.options == {"lanplus": "1"}
    # RHEV-M itself can reach the BMC with those credentials.
    result = h.client.hosts.fence(host.id, "status")
    assert result.power_status == "on"

    # A changed password in the Secret is carried to the agent (RHEV-M never shows it).
    assert h.run(HV, "node1").events == []
    h.secrets["bmc"] = {"username": BMC_USER, "password": "another-pw"}
    outcome = h.run(HV, "node1")
    assert h.reasons(outcome) == ["PowerManagement"]
    assert host.agents[0].password == "another-pw"
    assert "another-pw" not in json.dumps(h.bodies[(HV, "node1")]) + outcome.events[0].message

    # An agent changed by hand in RHEV-M is put back.
    h.client.hosts.fence_agents(host.id).update(agent.id, FenceAgentUpdate(address="10.9.9.9"))
    outcome = h.run(HV, "node1")
    assert h.reasons(outcome) == ["PowerManagement"]
    assert "address, port, user or options" in outcome.events[0].message
    assert host.agents[0].address == "127.0.0.1"


def test_registration_past_its_deadline_stalls(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, machines = _bmc_sim(simulator_factory, ["node1"])
    h = harness(sim)
    h.secrets["bmc"] = dict(BMC_SECRET)
    h.apply(HV, "node1", {"address": machines[0]["address"], "bmc": bmc_spec(machines, "node1"),
                          "provision": {"bootDevice": "disk"},
                          "timeouts": {"registrationSeconds": 100}})  # fmt: skip
    h.run(HV, "node1")
    h.skew = 101
    h.run(HV, "node1")
    stalled = h.condition(HV, "node1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "ProvisionHost" in stalled["message"] and "to register" in stalled["message"]


def test_wrong_bmc_credentials_are_stalled(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, machines = _bmc_sim(simulator_factory, ["node1"])
    h = harness(sim)
    h.secrets["bmc"] = {"username": BMC_USER, "password": "wrong-pw"}
    h.apply(HV, "node1", {"address": machines[0]["address"], "bmc": bmc_spec(machines, "node1"),
                          "provision": {}})  # fmt: skip
    h.run(HV, "node1")
    stalled = h.condition(HV, "node1", "Stalled")
    assert stalled is not None and stalled["reason"] == "BmcAuthenticationFailed"
    assert "Secret bmc" in stalled["message"] and "wrong-pw" not in stalled["message"]
    assert machine(sim, "node1")["power"] == "off"


def _two_spm_hosts(
    simulator_factory: Callable[..., SimHandle],
    harness: Callable[[SimHandle], HvHarness],
    auto_confirm: bool,
    policy: dict[str, Any] | None = None,
) -> tuple[SimHandle, HvHarness]:
    """hv1 (the SPM) and hv2 up with power management over their simulated BMCs; the
    cluster's fencing policy as `policy` (through the RhevCluster resource)."""
    sim, machines = _bmc_sim(
        simulator_factory,
        ["hv1", "hv2"],
        storage_domains=[NFS],
        hosts=[
            {"name": "hv1", "machine": "hv1", "status": "up", "spm_priority": 8},
            {"name": "hv2", "machine": "hv2", "status": "up", "spm_priority": 5},
        ],
    )
    h = harness(sim)
    h.secrets["bmc"] = dict(BMC_SECRET)
    if policy is not None:
        h.apply("RhevCluster", "default", {"name": "Default", "adopt": True, "fencing": policy})
        h.run("RhevCluster", "default")
    for name in ("hv1", "hv2"):
        h.apply(HV, name, {"address": next(m["address"] for m in machines if m["name"] == name),
                           "adopt": True, "bmc": bmc_spec(machines, name),
                           "fencing": {"autoConfirm": auto_confirm}})  # fmt: skip
        converge(h, sim, name)
    assert h.status(HV, "hv1")["spm"] is True and h.status(HV, "hv1")["spmStatus"] == "spm"
    assert h.status(HV, "hv2")["spm"] is False
    h.apply("RhevDataCenter", "default", {"name": "Default", "adopt": True})
    h.run("RhevDataCenter", "default")
    assert "SPM: hv1" in h.status("RhevDataCenter", "default")["message"]
    return sim, h


def test_a_dead_spm_is_left_to_the_engines_fencing_without_ipmi_power_commands(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, h = _two_spm_hosts(simulator_factory, harness, auto_confirm=True)
    fencing = h.status(HV, "hv1")["fencing"]
    assert fencing["engine"] is True and "with hv2 as fence proxy" in fencing["reason"]
    assert h.status("RhevDataCenter", "default")["spmFenceable"] is True

    sim.control("POST", "/sim/hosts/hv1/fail")  # the machine hangs: VDSM stops answering
    sim.advance(40)
    outcome = h.run(HV, "hv1")
    assert outcome.events == [] and h.reason("hv1") == "EngineGracePeriod"
    assert "RHEV-M waits out its grace period" in h.condition(HV, "hv1", "Reconciling")["message"]
    sim.advance(40)  # the SPM's grace (80 s) is over: non_responsive
    outcome = h.run(HV, "hv1")
    assert outcome.events == [] and h.reason("hv1") == "EngineFencing"
    assert h.status(HV, "hv1")["operation"]["action"] == "AwaitEngineFencing"
    h.run("RhevDataCenter", "default")
    reconciling = h.condition("RhevDataCenter", "default", "Reconciling")
    assert reconciling is not None and reconciling["reason"] == "WaitingForSPM"
    assert "SPM host hv1 is non_responsive" in reconciling["message"]
    sim.advance(5)  # soft fencing failed; the engine sends the stop through the agent
    h.run(HV, "hv1")
    message = h.condition(HV, "hv1", "Reconciling")["message"]
    assert h.reason("hv1") == "EngineFencing" and "Power management stop of Host hv1" in message
    sim.advance(10)
    h.run(HV, "hv1")
    assert h.reason("hv1") == "Rebooting" and h.status(HV, "hv1")["spm"] is False
    sim.advance(12)  # the election
    h.run(HV, "hv2")
    assert h.status(HV, "hv2")["spm"] is True
    converge(h, sim, "hv1", step=10)
    assert h.status(HV, "hv1").get("operation") is None
    # The engine power-cycled hv1 through its agent; the operator sent no power command.
    assert machine(sim, "hv1")["fence_agent"] == {"on": 1, "off": 1}
    assert "ipmi" not in machine(sim, "hv1")
    assert not {"PoweredOff", "PoweredOn", "ConfirmedReboot"} & {
        e.reason for o in h.outcomes for e in o.events
    }


def test_past_engine_fencing_seconds_auto_confirm_takes_over(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    """The engine could fence (power management, policy on, a proxy) but has not done so by
    timeouts.engineFencingSeconds: the operator's autoConfirm fencing goes ahead."""
    sim, h = _two_spm_hosts(simulator_factory, harness, auto_confirm=True)
    sim.control("POST", "/sim/hosts/hv1/fail")
    sim.advance(80)  # non_responsive; the engine's soft fencing is still running
    outcome = h.run(HV, "hv1")
    assert outcome.events == [] and h.reason("hv1") == "EngineFencing"
    h.skew = 601  # timeouts.engineFencingSeconds (600) later, as far as the operator knows
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["FencingSpm", "PoweredOff", "ConfirmedReboot"]
    warning = outcome.events[0].message
    assert "RHEV-M did not fence host hv1 within timeouts.engineFencingSeconds" in warning
    assert machine(sim, "hv1")["ipmi"] == {"on": 0, "off": 1}
    assert h.reason("hv1") == "WaitingForSPM"


def test_with_engine_fencing_disabled_auto_confirm_fences_the_dead_spm_over_ipmi(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, h = _two_spm_hosts(simulator_factory, harness, auto_confirm=True,
                            policy={"enabled": False})  # fmt: skip
    assert host_of(sim, "hv1") is not None
    cluster = sim.find("cluster", "Default")
    assert cluster.fencing_enabled is False  # enforced through the RhevCluster resource
    fencing = h.status(HV, "hv1")["fencing"]
    assert fencing == {
        "engine": False,
        "reason": "the fencing policy of cluster Default is disabled",
    }
    h.run("RhevDataCenter", "default")
    assert h.status("RhevDataCenter", "default")["spmFenceable"] is False
    assert (
        "failover cannot happen automatically" in h.status("RhevDataCenter", "default")["message"]
    )

    sim.control("POST", "/sim/hosts/hv1/fail")
    sim.advance(80)
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["FencingSpm", "PoweredOff", "ConfirmedReboot"]
    assert h.reason("hv1") == "WaitingForSPM"
    assert machine(sim, "hv1")["ipmi"] == {"on": 0, "off": 1}
    assert machine(sim, "hv1")["power"] == "off"
    assert "fence_agent" not in machine(sim, "hv1")
    outcome = h.run(HV, "hv1")
    assert outcome.events == [] and h.reason("hv1") == "WaitingForSPM"  # no power on yet
    sim.advance(12)  # hv2 is elected; the domain is unknown for one monitoring cycle
    h.run(HV, "hv1")
    assert h.reason("hv1") == "WaitingForSPM"
    assert "unknown: nfs1 (unknown)" in h.condition(HV, "hv1", "Reconciling")["message"]
    sim.advance(10)
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["PoweredOn"] and h.reason("hv1") == "Rebooting"
    assert machine(sim, "hv1")["ipmi"] == {"on": 1, "off": 1}
    h.run(HV, "hv2")
    assert h.status(HV, "hv2")["spm"] is True
    converge(h, sim, "hv1", step=10)
    assert h.status(HV, "hv1")["spm"] is False and h.status(HV, "hv1").get("operation") is None


def test_without_auto_confirm_a_dead_spm_the_engine_cannot_fence_is_stalled_with_instructions(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim, h = _two_spm_hosts(simulator_factory, harness, auto_confirm=False,
                            policy={"enabled": False})  # fmt: skip
    sim.control("POST", "/sim/hosts/hv1/fail")
    sim.advance(80)
    outcome = h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "ManualFenceRequired"
    assert (
        "became Non Responsive and was not restarted due to disabled fencing"
        in (stalled["message"])
    )
    assert "Confirm 'Host has been rebooted'" in stalled["message"]
    assert "moves to hv2" in stalled["message"]
    assert h.reasons(outcome) == ["ManualFenceRequired"]  # the Stall's one Warning
    assert machine(sim, "hv1")["power"] == "on"
    assert "ipmi" not in machine(sim, "hv1") and h.status(HV, "hv1")["spm"] is True
    assert h.run(HV, "hv1").events == []  # said once


def test_an_interface_removed_from_the_spec_is_detached_only_if_the_operator_attached_it(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    inv = _up_host_inventory()
    inv["networks"].append(
        {"name": "backend", "data_center": "Default", "vlan": 30, "clusters": [{"name": "Default"}]}
    )
    # Found on the host: an attachment the operator did not make.
    inv["hosts"][0]["networks"] = [{"network": "backend", "nic": "eth0"}]
    sim = simulator_factory(inv)
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "interfaces": [STATIC]})
    converge(h, sim, "hv1", step=10)
    assert h.status(HV, "hv1")["attachedNetworks"] == ["storage"]
    host = host_of(sim, "hv1")
    nets = {sim.find("network", n).id: n for n in ("storage", "backend", "rhevm")}
    assert sorted(nets[a.network_id] for a in host.attachments) == ["backend", "rhevm", "storage"]

    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "interfaces": []})
    reasons: list[str] = []
    for _ in range(12):
        reasons += h.reasons(h.run(HV, "hv1"))
        if h.ready("hv1"):
            break
        sim.advance(10)
    # On the Up host directly, as the engine allows (HostValidator.LEGAL_STATUSES).
    assert reasons == ["NetworksSetUp"]
    assert any("detached storage" in e.message for o in h.outcomes for e in o.events)
    assert sorted(nets[a.network_id] for a in host.attachments) == ["backend", "rhevm"]
    assert h.status(HV, "hv1").get("attachedNetworks") is None
    calls = setupnetworks_calls(h)
    for _ in range(2):  # backend (found) and rhevm (management) are left alone
        assert h.run(HV, "hv1").events == []
    assert setupnetworks_calls(h) == calls and host.status == "up"


def test_interfaces_with_update_of_host_made_by_hand_are_corrected(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "spmPriority": 2})
    h.run(HV, "hv1")
    host = host_of(sim, "hv1")
    h.client.hosts.update(host.id, HostUpdate(spm_priority=6))
    outcome = h.run(HV, "hv1")
    assert h.reasons(outcome) == ["Updated"] and host.spm_priority == 2


def test_a_crash_after_adding_is_recognised_and_steady_passes_list_hosts_once(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.secrets["root"] = {"password": ROOT_PASSWORD}
    body = h.apply(HV, "rhel1", {"address": "10.0.0.31", "type": "rhel",
                                 "rootPasswordSecret": "root"})  # fmt: skip
    h.run(HV, "rhel1")
    body["status"] = {}  # the status patch was lost: as after a crash before it landed
    outcome = h.run(HV, "rhel1")
    assert "Created" not in h.reasons(outcome)
    assert [x.name for x in h.client.hosts.list()].count("rhel1") == 1
    converge(h, sim, "rhel1")

    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True, "interfaces": [STATIC]})
    converge(h, sim, "hv1", step=10)
    h.client.session.reset_counts()
    for _ in range(3):
        h.run(HV, "hv1")
        h.run(HV, "rhel1")
    counts = h.client.request_counts
    # One list of /hosts per tick (harness.run refreshes the inventory once per pass), with
    # NICs, attachments and agents inlined: nothing per host.
    assert counts.get(("GET", "hosts"), 0) == 6
    per_host = {k: n for k, n in counts.items() if k[1].startswith("hosts/")}
    assert per_host == {}, per_host


# -- waits without an operation of the operator's, bounded --------------------------------


def test_a_non_operational_host_past_the_deadline_is_stalled_with_the_engines_words(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True,
                        "timeouts": {"operationSeconds": 60}})  # fmt: skip
    converge(h, sim, "hv1")
    # The storage network becomes required in the cluster; hv1 lacks it. A human moves it
    # to maintenance; the operator activates it (spec.state up) and RHEV-M finds the network
    # missing.
    cl = h.client.clusters.find("Default")
    hv1 = h.client.hosts.find("hv1")
    assert cl is not None and hv1 is not None
    net_id = sim.find("network", "storage").id
    h.client.networks.cluster_networks(cl.id).update(net_id, ClusterNetworkUpdate(required=True))
    h.client.hosts.deactivate(hv1.id)
    sim.advance(10)
    assert h.reasons(h.run(HV, "hv1")) == ["Activating"]
    sim.advance(10)
    assert host_of(sim, "hv1").status == "non_operational"
    h.run(HV, "hv1")
    assert h.reason("hv1") == "NonOperational"
    op = h.status(HV, "hv1")["operation"]
    assert op["action"] == "AwaitHostUp"
    h.run(HV, "hv1")
    assert h.status(HV, "hv1")["operation"] == op  # the same deadline on every pass

    h.skew = 61
    outcome = h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "AwaitHostUp did not finish" in stalled["message"]
    assert "host hv1 is non_operational" in stalled["message"]
    assert "RHEV-M said: " in stalled["message"]
    assert h.reasons(outcome) == ["Timeout"]
    assert h.run(HV, "hv1").events == []  # said once

    # The network is optional again: the host is activated and the wait is over.
    h.client.networks.cluster_networks(cl.id).update(net_id, ClusterNetworkUpdate(required=False))
    h.client.hosts.activate(hv1.id)
    converge(h, sim, "hv1", step=10)
    assert h.status(HV, "hv1").get("operation") is None
    assert h.condition(HV, "hv1", "Stalled") is None


def test_a_host_that_stops_responding_past_the_deadline_is_stalled_with_the_engines_event(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], HvHarness]
) -> None:
    sim = simulator_factory(_up_host_inventory())
    h = harness(sim)
    h.apply(HV, "hv1", {"address": "10.0.0.11", "adopt": True,
                        "timeouts": {"operationSeconds": 60}})  # fmt: skip
    converge(h, sim, "hv1")
    sim.control("POST", "/sim/hosts/hv1/fail")
    sim.advance(60)  # the grace of a host that is not SPM
    assert host_of(sim, "hv1").status == "non_responsive"
    outcome = h.run(HV, "hv1")
    assert outcome.events == [] and h.reason("hv1") == "HostNotResponding"
    assert h.status(HV, "hv1")["operation"]["action"] == "AwaitHostResponding"

    h.skew = 61
    outcome = h.run(HV, "hv1")
    stalled = h.condition(HV, "hv1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "AwaitHostResponding did not finish" in stalled["message"]
    assert "host hv1 does not respond to RHEV-M (non_responsive)" in stalled["message"]
    said = stalled["message"].split("RHEV-M said: ")[1]
    assert "hv1" in said and "(event " in said  # the engine's own event about the host
    assert h.reasons(outcome) == ["Timeout"]
