"""Whether RHEV-M will fence a host itself, and what it said about fencing it.

RHEV-M's non-responding treatment restarts a host that stopped answering, after a grace
period, when: the host's power management is enabled with a fence agent, its cluster's
fencing policy is enabled, and another Up host of the data center can act as the fence
proxy (a lone host is never fenced). The policy's skip rules (the host still renews its
storage lease; too many hosts of the cluster non-responsive) can still skip it, and the
agent can fail (BMC unreachable, wrong credentials): the engine's events say so.

Shared by the Hypervisor (status.fencing, the dead SPM) and the RhevDataCenter (is its SPM
host fenceable) reconcilers; it reads only the inventory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rhev_operator.inventory.observer import EventRecord
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import Context
from rhev_operator.rhevm import Cluster
from rhev_operator.rhevm.hypervisor import HostDetail

#: The engine's audit log types (AuditLogType) about its fencing of a host.
CONNECTING = 9008  # VDS_HOST_NOT_RESPONDING_CONNECTING: a failure episode begins
#: The engine will not (or could not) fence: a human or the operator must.
GAVE_UP = {
    19: "VDS_RECOVER_FAILED",
    122: "SYSTEM_FAILED_VDS_RESTART",
    979: "SYSTEM_CHANGE_STORAGE_POOL_STATUS_NO_HOST_FOR_SPM",
    9002: "VDS_ALERT_FENCE_OPERATION_FAILED",
    9004: "VDS_ALERT_FENCE_NO_PROXY_HOST",
    9013: "VDS_ALERT_FENCE_OPERATION_SKIPPED_BROKEN_CONNECTIVITY",
    9014: "VDS_ALERT_NOT_RESTARTED_DUE_TO_POLICY",
    9015: "VDS_ALERT_FENCE_DISABLED_BY_CLUSTER_POLICY",
    9019: "FENCE_OPERATION_FAILED",
    9028: "VDS_ALERT_NO_PM_CONFIG_FENCE_OPERATION_SKIPPED",
}
#: The engine is fencing (or has fenced) the host.
FENCING = {
    14: "VDS_RECOVER",
    121: "SYSTEM_VDS_RESTART",
    539: "VDS_AUTO_FENCE_STATUS",
    9017: "FENCE_OPERATION_STARTED",
    9018: "FENCE_OPERATION_SUCCEEDED",
}
#: The host's statuses in which it counts as lost for the connectivity threshold.
LOST = ("connecting", "non_responsive")


@dataclass(frozen=True)
class Fenceability:
    """Whether RHEV-M will fence the host, and why (or why not) in a sentence."""

    engine: bool
    reason: str


def _dc_hosts(ctx: Context, host: HostDetail) -> tuple[Cluster | None, list[HostDetail]]:
    clusters: dict[str, Cluster] = finders.listed(ctx, finders.clusters(ctx.client))
    cluster = clusters.get(host.cluster_id or "")
    dc_id = cluster.data_center_id if cluster is not None else None
    in_dc = {c.id for c in clusters.values() if dc_id and c.data_center_id == dc_id}
    hosts: dict[str, HostDetail] = finders.listed(ctx, finders.hosts(ctx.client))
    return cluster, [h for h in hosts.values() if h.cluster_id in in_dc]


def fenceability(ctx: Context, host: HostDetail) -> Fenceability:
    """From what RHEV-M shows: power management, the cluster's policy, a proxy host."""
    cluster, dc_hosts = _dc_hosts(ctx, host)
    if not host.power_management_enabled:
        return Fenceability(False, f"power management of host {host.name} is disabled")
    if not host.fence_agents:
        return Fenceability(False, f"host {host.name} has no fence agent")
    cname = cluster.name if cluster is not None else "?"
    if cluster is not None and cluster.fencing_enabled is False:
        return Fenceability(False, f"the fencing policy of cluster {cname} is disabled")
    proxies = sorted(h.name for h in dc_hosts if h.id != host.id and h.status == "up")
    if not proxies:
        return Fenceability(
            False,
            f"no other Up host in the data center of host {host.name} can act as fence proxy "
            "(RHEV-M never fences a lone host)",
        )
    if cluster is not None and cluster.fencing_skip_if_connectivity_broken:
        members = [h for h in dc_hosts if h.cluster_id == cluster.id]
        lost = sum(1 for h in members if h.status in LOST)
        threshold = cluster.fencing_connectivity_threshold or 50
        percents = int(lost / len(members) * 100) if members else 0
        if host.status in LOST and percents >= threshold:
            return Fenceability(
                False,
                f"{percents}% of the hosts of cluster {cname} are non-responsive, at or above "
                f"the fencing policy's threshold of {threshold}%",
            )
    skips = []
    if cluster is not None and cluster.fencing_skip_if_sd_active:
        skips.append("unless it still renews its storage lease")
    if cluster is not None and cluster.fencing_skip_if_connectivity_broken:
        skips.append(
            f"unless {cluster.fencing_connectivity_threshold or 50}% of the cluster's hosts "
            "lose connectivity"
        )
    agent = sorted(host.fence_agents, key=lambda a: (a.order or 0, a.id))[0]
    return Fenceability(
        True,
        f"RHEV-M fences host {host.name} itself through its {agent.type} agent "
        f"({agent.address}), with {proxies[0]} as fence proxy"
        + (f" ({'; '.join(skips)})" if skips else ""),
    )


def episode(ctx: Context, host_id: str) -> list[EventRecord]:
    """The engine's events about the host since it last stopped answering, oldest first."""
    events = ctx.inventory.events_for("host", host_id, limit=60)  # newest first
    out: list[EventRecord] = []
    for event in events:
        out.append(event)
        if event.code == CONNECTING:
            break
    return list(reversed(out))


def gave_up(events: Iterable[EventRecord]) -> EventRecord | None:
    """The engine's event saying it did not (or could not) fence the host, if any."""
    return next((e for e in events if e.code in GAVE_UP), None)


def fencing_events(events: Iterable[EventRecord]) -> list[EventRecord]:
    return [e for e in events if e.code in FENCING]


def quote(events: Iterable[EventRecord]) -> str:
    """The engine's words, for a status message."""
    return "; ".join(f"{e.description} (event {e.code})" for e in events)
