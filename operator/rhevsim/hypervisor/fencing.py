"""The engine's own fencing of a host that stopped answering.

Follows ovirt-engine: VdsManager (the grace period, calcTimeoutToFence), the
non-responding treatment (bll/pm/VdsNotRespondingTreatmentCommand: the cluster's fencing
policy, the connectivity threshold, SshSoftFencing, power management, skip if the storage
domain lease is still renewed), RestartVdsCommand (StopVds, FenceVdsManualy: the SPM is
released and the host's VMs go down, StartVds) and the audit log types they write.

The restart goes through the machine's simulated BMC: `agent_power` changes the machine's
power and counts it under `fence_agent` in /sim/machines/{name}, apart from the IPMI
commands clients send to the BMC (counted under `ipmi`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rhevsim.cluster import Cluster
from rhevsim.datacenter import recompute_status
from rhevsim.event import CODES
from rhevsim.fenceagent import agents_of
from rhevsim.hypervisor.host import (
    Host,
    cluster_of,
    dc_of,
    hosts_in_dc,
    machine_of,
    reachable,
    spm_status_of,
)
from rhevsim.hypervisor.spm import host_fenced
from rhevsim.hypervisor.status import connect_host, set_status, step_host

if TYPE_CHECKING:
    from rhevsim.registry import Registry


@dataclass(frozen=True)
class Policy:
    """A cluster's fencing policy (FencingPolicy; RHEV-M's defaults)."""

    enabled: bool = True
    skip_if_sd_active: bool = False
    skip_if_connectivity_broken: bool = False
    threshold: int = 50


def policy_of(cluster: Cluster | None) -> Policy:
    """The cluster's fencing policy (rhevsim.cluster's fencing_* fields)."""
    if cluster is None:
        return Policy()
    return Policy(
        enabled=cluster.fencing_enabled,
        skip_if_sd_active=cluster.fencing_skip_if_sd_active,
        skip_if_connectivity_broken=cluster.fencing_skip_if_connectivity_broken,
        threshold=cluster.fencing_connectivity_threshold,
    )


def agent_reaches_bmc(reg: Registry, h: Host) -> bool:
    """Some agent (in order) reaches the machine's BMC with the right credentials."""
    m = machine_of(reg, h)
    if m is not None and m.bmc and m.bmc.get("reachable") is False:
        return False
    for a in agents_of(h):
        if m is None or not m.bmc:
            return True
        user, pw = m.bmc.get("username"), m.bmc.get("password")
        port = m.bmc.get("port")
        if user is not None and a.username != str(user):
            continue
        if pw is not None and a.password != str(pw):
            continue
        if port is not None and a.port is not None and int(a.port) != int(port):
            continue
        return True
    return False


def agent_power(reg: Registry, h: Host, on: bool) -> None:
    """A power operation of the engine's fence agent (through the BMC), counted apart."""
    m = machine_of(reg, h)
    if m is None:
        h.virtual_power = on
        return
    counters = m.extra.setdefault("fence_agent", {"on": 0, "off": 0})
    counters["on" if on else "off"] += 1
    if m.powered_on != on:
        m.powered_on = on
        if on and m.boot_device == "network":
            m.boot_device = "disk"


def lease_renewed(reg: Registry, h: Host) -> bool:
    """The host still renews its storage domain lease (cut off from the engine only)."""
    return h.failed and h.fail_mode == "network" and reachable_machine(reg, h)


def reachable_machine(reg: Registry, h: Host) -> bool:
    m = machine_of(reg, h)
    return m.powered_on if m is not None else h.virtual_power


def fence_proxy(reg: Registry, h: Host) -> Host | None:
    """FenceProxyLocator: another Up, answering host of the data center."""
    dc = dc_of(reg, h)
    pool = hosts_in_dc(reg, dc.id) if dc is not None else []
    return next(
        (x for x in sorted(pool, key=lambda x: x.name) if x is not h and x.status == "up"
         and reachable(reg, x)),
        None,
    )  # fmt: skip


def _alert(reg: Registry, h: Host, code: str, text: str, severity: str = "alert") -> None:
    reg.event(CODES[code], text, severity, user=None, host=h, cluster=cluster_of(reg, h))


def non_responding_treatment(reg: Registry, h: Host) -> None:
    """VdsNotRespondingTreatmentCommand, run when the grace period ends."""
    if h.in_fence_flow:
        return
    cl = cluster_of(reg, h)
    policy = policy_of(cl)
    if not policy.enabled:
        _alert(
            reg,
            h,
            "VDS_ALERT_FENCE_DISABLED_BY_CLUSTER_POLICY",
            f"Host {h.name} became Non Responsive and was not restarted due to disabled "
            "fencing in the Cluster Fencing Policy.",
        )
        return
    if policy.skip_if_connectivity_broken and cl is not None:
        members = [x for x in reg.all(Host) if x.cluster_id == cl.id]
        broken = sum(1 for x in members if x.status in ("connecting", "non_responsive"))
        percents = int(broken / len(members) * 100) if members else 0
        if percents >= policy.threshold:
            _alert(
                reg,
                h,
                "VDS_ALERT_FENCE_OPERATION_SKIPPED_BROKEN_CONNECTIVITY",
                f"Host {h.name} became non responsive and was not restarted due to Fencing "
                f"Policy: {percents} percents of the Hosts in the Cluster have connectivity "
                "issues.",
            )
            return
    h.in_fence_flow = True
    step_host(reg, h, "host.soft_fence", lambda: _after_soft_fence(reg, h, policy))


def _after_soft_fence(reg: Registry, h: Host, policy: Policy) -> None:
    """SshSoftFencing failed (the host does not answer SSH either): hard fencing."""
    if reachable(reg, h):
        h.in_fence_flow = False
        reg.event(
            CODES["VDS_SOFT_RECOVER"],
            f"Soft fencing on host {h.name} was successful.",
            user=None,
            host=h,
        )
        connect_host(reg, h)
        return
    if not h.pm_enabled or not h.agents:
        h.in_fence_flow = False
        _alert(
            reg,
            h,
            "VDS_ALERT_NO_PM_CONFIG_FENCE_OPERATION_SKIPPED",
            f"Host {h.name} became non responsive. It has no power management configured. "
            'Please check the host status, manually reboot it, and click "Confirm Host Has '
            'Been Rebooted"',
        )
        return
    if policy.skip_if_sd_active and lease_renewed(reg, h):
        # StopVds: the host still renews its lease on a storage domain -> skipped.
        h.in_fence_flow = False
        _alert(
            reg,
            h,
            "VDS_ALERT_NOT_RESTARTED_DUE_TO_POLICY",
            f"Host {h.name} became non responsive and was not restarted due to the Cluster "
            "Fencing Policy.",
        )
        return
    _fence_op_event(reg, h, "stop", "STARTED")
    if fence_proxy(reg, h) is None or not agent_reaches_bmc(reg, h):
        _restart_failed(reg, h)
        return

    def stopped() -> None:
        agent_power(reg, h, False)
        _fence_op_event(reg, h, "stop", "SUCCEEDED")
        reg.event(
            CODES["VDS_AUTO_FENCE_STATUS"], f"Auto fence for host {h.name} was started.",
            user=None, host=h,
        )  # fmt: skip
        if h.fail_mode == "machine":
            h.failed = False  # the restart revives a hung machine
        set_status(reg, h, "reboot")  # its VMs go down (HA ones are restarted elsewhere)
        host_fenced(reg, h, None)  # FenceVdsManualy: the SPM role is released
        _fence_op_event(reg, h, "start", "STARTED")
        step_host(reg, h, "host.fence", started)

    def started() -> None:
        agent_power(reg, h, True)
        h.in_fence_flow = False
        _fence_op_event(reg, h, "start", "SUCCEEDED")
        reg.event(
            CODES["SYSTEM_VDS_RESTART"], f"Host {h.name} was restarted by the engine.",
            user=None, host=h,
        )  # fmt: skip
        reg.event(CODES["VDS_RECOVER"], f"Host {h.name} is rebooting.", user=None, host=h)
        step_host(reg, h, "host.boot", lambda: connect_host(reg, h) if reachable(reg, h) else None)

    step_host(reg, h, "host.fence", stopped)


def _fence_op_event(reg: Registry, h: Host, action: str, outcome: str) -> None:
    verb = {"STARTED": "initiated", "SUCCEEDED": "succeeded", "FAILED": "failed"}[outcome]
    reg.event(
        CODES[f"FENCE_OPERATION_{outcome}"],
        f"Power management {action} of Host {h.name} {verb}.",
        "error" if outcome == "FAILED" else "normal",
        user=None,
        host=h,
    )


def _restart_failed(reg: Registry, h: Host) -> None:
    """The agent could not stop the host (no proxy, BMC unreachable, wrong credentials):
    the host stays non_responsive; a non-responsive SPM moves its pool to NotOperational."""
    h.in_fence_flow = False
    _fence_op_event(reg, h, "stop", "FAILED")
    reg.event(
        CODES["SYSTEM_FAILED_VDS_RESTART"],
        f"A restart initiated by the engine to Host {h.name} has failed.",
        "error",
        user=None,
        host=h,
    )
    _alert(
        reg,
        h,
        "VDS_ALERT_FENCE_OPERATION_FAILED",
        f"Failed to power fence host {h.name}. Please check the host status and it's power "
        'management settings, and then manually reboot it and click "Confirm Host Has Been '
        'Rebooted"',
    )
    reg.event(
        CODES["VDS_RECOVER_FAILED"], f"Host {h.name} failed to recover.", "error", user=None, host=h
    )
    dc = dc_of(reg, h)
    if dc is not None and spm_status_of(reg, h) == "spm":
        dc.spm_fence_failed = True
        reg.event(
            CODES["SYSTEM_CHANGE_STORAGE_POOL_STATUS_NO_HOST_FOR_SPM"],
            f"Fencing failed on Storage Pool Manager {h.name} for Data Center {dc.name}. "
            "Setting status to Non-Operational.",
            "error",
            user=None,
            host=h,
            data_center=dc,
        )
        recompute_status(reg, dc)
