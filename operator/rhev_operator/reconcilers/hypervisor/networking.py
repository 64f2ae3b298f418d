"""Hypervisor cluster and interfaces. A cluster change goes through maintenance (the engine
moves only hosts in maintenance). Interfaces are applied with one `setupnetworks` call on the
host as it is when the engine takes it there (Maintenance, Up, NonOperational: its
network/host/HostValidator), so no VM is migrated for it; through maintenance only where the
engine refuses."""

from __future__ import annotations

from collections.abc import Mapping

from rhev_operator.api import Hypervisor
from rhev_operator.api.fieldtypes import MANAGEMENT_NETWORK
from rhev_operator.api.hypervisor import HostInterface
from rhev_operator.reconcilers.base import (
    Stall,
    Wait,
)
from rhev_operator.reconcilers.hypervisor.common import (
    HostPass,
    _deactivate,
    _networks,
    _refresh,
)
from rhev_operator.rhevm import (
    Cluster,
    HostUpdate,
    Network,
    NetworkAttachmentSpec,
    errors,
)
from rhev_operator.rhevm.hypervisor import HostDetail

# -- cluster and interfaces ------------------------------------------------------------------

# The host statuses in which the engine runs setupnetworks (HostValidator.LEGAL_STATUSES).
SETUP_NETWORKS_STATUSES = ("maintenance", "up", "non_operational")


def _network(p: HostPass, ref: str, dc_id: str | None, field: str) -> Network:
    target = p.ctx.refs.resolve("LogicalNetwork", ref)
    if target.managed and (not target.ready or target.deleting):
        state = "being deleted" if target.deleting else "not Ready yet"
        raise Wait("WaitingForDependency", f"waiting for LogicalNetwork {ref}: it is {state}", 5.0)
    for net in _networks(p.ctx, dc_id).values() if dc_id else ():
        if net.name == target.name:
            return net
    raise Wait(
        "WaitingForDependency",
        f"{field}: waiting for network {target.name!r} in the host's data center "
        "(no such LogicalNetwork Ready and no such network in RHEV-M)",
        5.0,
    )


def _ip_of(host: HostDetail, attachment_id: str) -> tuple[str, str | None, str | None, str | None]:
    att = next(a for a in host.network_attachments if a.id == attachment_id)
    for ip in att.ip_assignments:
        if ip.version in (None, "v4"):
            return (ip.assignment_method or "none", ip.address, ip.netmask, ip.gateway)
    return ("none", None, None, None)


def interface_changes(
    p: HostPass, res: Hypervisor, host: HostDetail, dc_id: str | None
) -> list[NetworkAttachmentSpec]:
    """The attachments setupnetworks must send so the host carries spec.interfaces (only
    those; other networks of the host are left alone). Empty when it already does."""
    nic_names = {nic.id: nic.name for nic in host.nics}
    by_network = {a.network_id: a for a in host.network_attachments if a.network_id}
    out: list[NetworkAttachmentSpec] = []
    for index, iface in enumerate(res.spec.interfaces):
        field = f"spec.interfaces[{index}]"
        network = _network(p, iface.network, dc_id, f"{field}.network")
        att = by_network.get(network.id)
        if att is not None and _matches(host, att.id, nic_names, iface):
            continue
        if iface.nic not in nic_names.values():
            raise Stall(
                "NoSuchNic",
                f"{field}.nic: host {host.name} has no NIC {iface.nic!r}; it has: "
                + (", ".join(sorted(nic_names.values())) or "none"),
            )
        static = iface.boot_protocol == "static"
        out.append(
            NetworkAttachmentSpec(
                id=att.id if att is not None else None,
                network_id=network.id,
                host_nic_name=iface.nic,
                boot_protocol=iface.boot_protocol or "none",
                address=iface.ip if static else None,
                netmask=iface.netmask if static else None,
                gateway=iface.gateway if static else None,
            )
        )
    return out


def interface_removals(
    p: HostPass, res: Hypervisor, host: HostDetail, cluster: Cluster
) -> list[tuple[str, str]]:
    """(attachment id, network name) of the attachments to detach: networks the operator
    attached (status.attachedNetworks) that spec.interfaces no longer lists. Never the
    management network, never an attachment the operator found on the host."""
    recorded = set(p.status.attached_networks or ())
    if not recorded or not cluster.data_center_id:
        return []
    nets = _networks(p.ctx, cluster.data_center_id)
    names = {n.id: n.name for n in nets.values()}
    wanted = {
        _network(p, iface.network, cluster.data_center_id, f"spec.interfaces[{i}].network").name
        for i, iface in enumerate(res.spec.interfaces)
    }
    out = []
    for att in host.network_attachments:
        name = att.network_name or names.get(att.network_id or "")
        if name is None or name not in recorded or name in wanted:
            continue
        if att.network_id == cluster.management_network_id or name == MANAGEMENT_NETWORK:
            continue
        out.append((att.id, name))
    return out


def _record(p: HostPass, add: list[str], drop: list[str]) -> None:
    names = [n for n in (p.status.attached_networks or []) if n not in drop]
    names += [n for n in add if n not in names]
    p.status.attached_networks = sorted(names) or None


def _matches(
    host: HostDetail, att_id: str, nic_names: Mapping[str, str], want: HostInterface
) -> bool:
    att = next(a for a in host.network_attachments if a.id == att_id)
    nic = att.host_nic_name or nic_names.get(att.host_nic_id or "")
    if nic != want.nic:
        return False
    method, address, netmask, gateway = _ip_of(host, att_id)
    if method != (want.boot_protocol or "none"):
        return False
    if want.boot_protocol == "static":
        if (address, netmask) != (want.ip, want.netmask):
            return False
        if want.gateway is not None and gateway != want.gateway:
            return False
    return True


def _ensure_placement(p: HostPass, res: Hypervisor, host: HostDetail, cluster: Cluster) -> None:
    """The cluster (through maintenance; the state step activates the host again), then the
    interfaces (on the host as it is, through maintenance only where the engine refuses)."""
    move = host.cluster_id != cluster.id
    changes = [] if move else interface_changes(p, res, host, cluster.data_center_id)
    removals = [] if move else interface_removals(p, res, host, cluster)
    if not move and cluster.data_center_id:
        names = {n.id: n.name for n in _networks(p.ctx, cluster.data_center_id).values()}
        attached = {
            a.network_name or names.get(a.network_id or "") for a in host.network_attachments
        }
        # A recorded network no longer attached (detached by hand, say) is forgotten.
        stale = [n for n in (p.status.attached_networks or []) if n not in attached]
        if stale:
            _record(p, [], stale)
    if not move and not changes and not removals:
        return
    why = f"to move it to cluster {cluster.name}" if move else "to set up its networks"
    if host.status != "maintenance" and (move or host.status not in SETUP_NETWORKS_STATUSES):
        _deactivate(p, res, host, why)
    client = p.ctx.client
    if move:
        client.hosts.update(
            host.id, HostUpdate(cluster_id=cluster.id), correlation_id=p.ctx.correlation_id()
        )
        p.did("ChangedCluster", f"Moved host {host.name} to cluster {cluster.name}")
        _refresh(p, host.id)
        raise Wait("ChangingCluster", f"host {host.name} moved to cluster {cluster.name}", 0.5)
    try:
        client.hosts.setup_networks(
            host.id,
            modified_network_attachments=changes,
            removed_network_attachments=[att_id for att_id, _ in removals],
            commit_on_success=True,
            correlation_id=p.ctx.correlation_id(),
        )
    except errors.Conflict as exc:
        # An engine that refuses it on this host's status: through maintenance after all.
        if isinstance(exc, errors.Locked) or host.status == "maintenance":
            raise
        _deactivate(p, res, host, f"to set up its networks ({exc.detail or exc})")
    nets = _networks(p.ctx, cluster.data_center_id) if cluster.data_center_id else {}

    def net_name(c: NetworkAttachmentSpec) -> str:
        return str(getattr(nets.get(str(c.network_id)), "name", c.network_id))

    made = [net_name(c) for c in changes if c.id is None]  # attached by the operator
    _record(p, made, [name for _, name in removals])
    done = [f"{net_name(c)} on {c.host_nic_name}" for c in changes]
    done += [f"detached {name}" for _, name in removals]
    p.did("NetworksSetUp", f"Set up networks of host {host.name}: {', '.join(done)}")
    if host.status == "non_operational" and res.spec.state == "up":
        # The engine does not look again by itself (HostSetupNetworksCommand): activating
        # re-checks the host, which comes up if the networks were what it lacked.
        cid = p.ctx.correlation_id()
        client.hosts.activate(host.id, correlation_id=cid)
        p.start("Activate", cid, res.spec.timeouts.operation_seconds)
        p.did("Activating", f"Activating host {host.name} (its networks are set up)")
    _refresh(p, host.id)
    raise Wait("SettingUpNetworks", f"networks of host {host.name} were set up", 0.5)
