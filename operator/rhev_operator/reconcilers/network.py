"""LogicalNetwork: a logical network of a data center, attached to clusters [`cfgve -t nw`].

Ladder: resolve the data center (wait for it) -> observe the network among the data
center's networks (names are unique per data center only) -> create or claim -> refuse a
data-center move -> correct drift on the fields the spec sets (description, VLAN, STP,
MTU, name) -> attach to the listed clusters (each a RhevCluster resource or a RHEV-M
cluster; wait for them) with `required` -> detach from clusters no longer listed -> report.

Clusters: `status.clusters` has one entry per listed cluster (attached, required,
operational as RHEV-M reports it on /clusters/{id}/networks/{nid}) and `managed: true`
where this resource made the attachment (or found one on a network it created itself, as
after a crash that lost the status). Only those are detached when the cluster leaves
spec.clusters; an attachment the operator found (the management network's, or one made by
hand before adoption) is left alone. One missing cluster does not hold up the others: they
are attached, and the resource waits (WaitingForDependency) for the rest.

State: RHEV-M reports a network's status per cluster only, so `status.state` sums up the
listed clusters: `operational` when it is attached and operational in each, else
`non_operational`; `defined` when spec.clusters is empty. Ready does not wait for
`operational`: hosts get the network through their Hypervisor resources, and those may
wait for this network, so Ready means "the network matches its spec".

VLAN, STP and MTU changes are sent as they are; when RHEV-M refuses one (e.g. while hosts
use the network) the resource is Stalled with the engine's message. A VLAN removed from
the spec is not enforced (untagging needs `vlan` to be set to the intended tag).

The management network (`rhevm`) can be adopted and attached, but is never removed:
its deletion always ends as Retained. Delete otherwise detaches the network from every
cluster of its data center, then removes it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

from rhev_operator.api import MANAGEMENT_NETWORK, LogicalNetwork, LogicalNetworkStatus
from rhev_operator.api.network import NetworkClusterStatus
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    UPDATE_HINT,
    Context,
    Finder,
    Outcome,
    Pass,
    Stall,
    Wait,
    before_create,
    claim,
    created,
    deletion_start,
    engine_says,
    observe,
    owned_by,
    owner_comment,
    refused,
    removed_unless_refused,
    resolve,
    run_ladder,
    stall_when_refused,
)
from rhev_operator.rhevm import (
    Cluster,
    ClusterNetworkAttach,
    ClusterNetworkUpdate,
    DataCenter,
    Network,
    NetworkCreate,
    NetworkUpdate,
    errors,
)

P = Pass[LogicalNetworkStatus]

#: status.state when spec.clusters is empty (the network exists in its data center).
DEFINED = "defined"
OPERATIONAL = "operational"


finder = finders.networks


attachments = finders.cluster_networks


def reconcile(ctx: Context, resource: LogicalNetwork) -> Outcome:
    return run_ladder(P(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: P, res: LogicalNetwork) -> str:
    spec = res.spec
    name = res.rhev_name
    client = p.ctx.client
    dc: DataCenter = resolve(p, "RhevDataCenter", spec.data_center, finders.datacenters(client))
    find = finder(client, dc.id)
    net: Network | None = observe(p, find, name)
    if net is None:
        cid = before_create(p)
        net = client.networks.add(
            NetworkCreate(
                name=name,
                data_center_id=dc.id,
                description=spec.description,
                comment=owner_comment(p.ctx.uid),
                vlan_id=spec.vlan,
                stp=spec.stp,
                mtu=spec.mtu,
            ),
            correlation_id=cid,
        )
        created(p, find, net, f"network {name} in data center {dc.name}" + _vlan_text(net))
    else:
        claim(p, net, spec.adopt)
    if net.data_center_id and net.data_center_id != dc.id:
        raise Stall(
            "DataCenterChangeRefused",
            f"network {net.name} belongs to another data center (id {net.data_center_id}); "
            f"RHEV-M does not move a network to another data center ({dc.name}). Set "
            "spec.dataCenter back, or delete this resource and create the network anew.",
        )
    net = _ensure_fields(p, res, net, find)
    _ensure_clusters(p, res, net, dc)
    return _summary(p, res, net, dc)


def _vlan_text(net: Network) -> str:
    return f" (VLAN {net.vlan_id})" if net.vlan_id is not None else ""


def _ensure_fields(p: P, res: LogicalNetwork, net: Network, find: Finder) -> Network:
    """Correct drift on what the spec sets (and only that), with one Event."""
    spec = res.spec
    changes: dict[str, object] = {}
    if spec.description is not None and (net.description or "") != spec.description:
        changes["description"] = spec.description
    if spec.vlan is not None and net.vlan_id != spec.vlan:
        changes["vlan_id"] = spec.vlan
    if spec.stp is not None and net.stp != spec.stp:
        changes["stp"] = spec.stp
    if spec.mtu is not None and net.mtu != spec.mtu:
        changes["mtu"] = spec.mtu
    if net.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if not changes:
        return net
    what = ", ".join(_change_text(key, getattr(net, key), value) for key, value in changes.items())
    hint = (
        "RHEV-M may refuse this while hosts or VMs use the network: take it off the "
        "hosts' interfaces (Hypervisor spec.interfaces) and VM NICs first, or set the "
        "spec back."
        if {"vlan_id", "mtu", "stp"} & changes.keys()
        else UPDATE_HINT
    )
    with stall_when_refused("UpdateRefused", f"change network {net.name} ({what})", hint):
        updated = p.ctx.client.networks.update(
            net.id, NetworkUpdate(**changes), correlation_id=p.ctx.correlation_id()
        )
    p.ctx.inventory.remember(find.key, updated)
    p.did("Updated", f"Updated network {res.rhev_name}: {what}")
    return updated


def _change_text(key: str, old: object, new: object) -> str:
    label = {"vlan_id": "vlan"}.get(key, key)
    if key == "description":
        return label
    return f"{label} {'unset' if old is None else old} -> {new}"


# -- clusters -----------------------------------------------------------------------------


def _entry(cl: Cluster, view: Network | None, managed: bool) -> NetworkClusterStatus:
    if view is None:
        return NetworkClusterStatus(name=cl.name, id=cl.id, managed=managed)
    return NetworkClusterStatus(
        name=cl.name,
        id=cl.id,
        attached=True,
        operational=None if view.status is None else view.status == OPERATIONAL,
        required=view.required,
        managed=managed,
    )


def _ensure_clusters(p: P, res: LogicalNetwork, net: Network, dc: DataCenter) -> None:
    """Attach to every listed cluster, detach from the ones this resource attached that are
    no longer listed; status.clusters is rewritten on the way, even when a step stops."""
    client = p.ctx.client
    find_cluster = finders.clusters(client)
    entries: list[NetworkClusterStatus] = []
    leftover = list(p.status.clusters)  # entries of clusters that are no longer listed
    pending: Wait | None = None

    def take(cluster_id: str | None, name: str) -> NetworkClusterStatus | None:
        for entry in leftover:
            same_id = cluster_id is not None and entry.id == cluster_id
            if same_id or ((entry.id is None or cluster_id is None) and entry.name == name):
                leftover.remove(entry)
                return entry
        return None

    def commit() -> None:
        p.status.clusters = entries + [e for e in leftover if e.managed]
        _name_clusters(p)

    for ref in res.spec.clusters:
        try:
            cl: Cluster = resolve(p, "RhevCluster", ref, find_cluster)
        except Wait as wait:
            pending = pending or wait
            target = p.ctx.refs.resolve("RhevCluster", ref)
            before = take(target.id, target.name)
            entries.append(before or NetworkClusterStatus(name=target.name, id=target.id))
            continue
        before = take(cl.id, cl.name)
        if cl.data_center_id != dc.id:
            entries.append(before or _entry(cl, None, False))
            commit()
            raise Stall(
                "ClusterInOtherDataCenter",
                f"cluster {cl.name} (spec.clusters) is not in data center {dc.name}, where "
                f"network {net.name} is; a network can be attached only to the clusters of "
                "its own data center. Fix spec.clusters or spec.dataCenter.",
            )
        try:
            entries.append(_attach(p, res, net, cl, before))
        except (Stall, Wait, errors.RhevmError):
            entries.append(before or _entry(cl, None, False))
            commit()
            raise
    commit()
    _detach_unlisted(p, net, find_cluster, [e for e in leftover if e.managed])
    if pending is not None:
        raise pending


def _attach(
    p: P, res: LogicalNetwork, net: Network, cl: Cluster, before: NetworkClusterStatus | None
) -> NetworkClusterStatus:
    required = res.spec.required
    key = finders.attachments_key(cl.id)
    view = attachments(p.ctx, cl.id).get(net.id)
    # Found attached with no record (a status lost in a crash): the network is this
    # resource's own creation, so the attachment is taken to be its own too.
    managed = before.managed if before is not None else owned_by(net.comment, p.ctx.uid)
    service = p.ctx.client.networks.cluster_networks(cl.id)
    try:
        if view is None:
            view = service.attach(
                ClusterNetworkAttach(network_id=net.id, required=required),
                correlation_id=p.ctx.correlation_id(),
            )
            managed = True
            p.ctx.inventory.remember(key, view)
            p.did(
                "Attached",
                f"Attached network {net.name} to cluster {cl.name}"
                + ("" if view.required is None else f" (required: {str(view.required).lower()})"),
            )
        elif required is not None and view.required != required:
            view = service.update(
                net.id,
                ClusterNetworkUpdate(required=required),
                correlation_id=p.ctx.correlation_id(),
            )
            p.ctx.inventory.remember(key, view)
            p.did(
                "Updated",
                f"Network {net.name} is now {'required' if required else 'optional'} "
                f"in cluster {cl.name}",
            )
    except errors.RhevmError as exc:
        if not refused(exc):
            raise
        raise Stall(
            "AttachRefused",
            f"RHEV-M refused to attach network {net.name} to cluster {cl.name} as "
            f"{'required' if required else 'listed'}: {engine_says(exc)}",
        ) from None
    return _entry(cl, view, managed)


def _detach_unlisted(
    p: P, net: Network, find_cluster: Finder, unlisted: list[NetworkClusterStatus]
) -> None:
    """Detach from the clusters this resource attached that spec.clusters no longer lists;
    each entry leaves status.clusters once its cluster no longer has the network."""
    clusters = p.ctx.inventory.collection(find_cluster.key, find_cluster.lister)
    for entry in unlisted:
        cl = clusters.get(entry.id or "") or next(
            (c for c in clusters.values() if c.name == entry.name), None
        )
        if cl is not None and net.id in attachments(p.ctx, cl.id):
            try:
                with contextlib.suppress(errors.NotFound):  # already detached
                    p.ctx.client.networks.cluster_networks(cl.id).detach(
                        net.id, correlation_id=p.ctx.correlation_id()
                    )
            except errors.RhevmError as exc:
                if not refused(exc):
                    raise
                raise Stall(
                    "DetachRefused",
                    f"RHEV-M refused to detach network {net.name} from cluster {cl.name} "
                    f"(no longer in spec.clusters): {engine_says(exc)}. Take the network off "
                    "what uses it in that cluster, or list the cluster again.",
                ) from None
            p.ctx.inventory.forget(finders.attachments_key(cl.id), net.id)
            p.did("Detached", f"Detached network {net.name} from cluster {cl.name}")
        p.status.clusters = [e for e in p.status.clusters if e is not entry]
        _name_clusters(p)


def _name_clusters(p: P) -> None:
    """status.clusterNames, the kubectl column: the attached clusters, comma-separated."""
    names = [e.name for e in p.status.clusters if e.attached]
    p.status.cluster_names = ",".join(names) or None


#: The MTU RHEV-M gives a network whose MTU is 0 ("the default").
DEFAULT_MTU = 1500


def _summary(p: P, res: LogicalNetwork, net: Network, dc: DataCenter) -> str:
    text = f"network {net.name}{_vlan_text(net)} in data center {dc.name}"
    p.status.mtu = net.mtu or DEFAULT_MTU
    if not res.spec.clusters:
        p.status.state = DEFINED
        return text
    listed = p.status.clusters
    down = [e.name for e in listed if not (e.attached and e.operational)]
    p.status.state = OPERATIONAL if not down else "non_operational"
    text += ", attached to " + ", ".join(e.name for e in listed)
    if down:
        text += (
            f"; not operational in {', '.join(down)} (an up host of the cluster lacks the "
            "network: give it to the hosts through their Hypervisor interfaces, or make it "
            "not required)"
        )
    return text


# -- deletion -----------------------------------------------------------------------------


def _observe_for_delete(p: P, res: LogicalNetwork) -> Network | None:
    """The network by status.id, else by name in its data center (if that can be found)."""
    client = p.ctx.client
    target = p.ctx.refs.resolve("RhevDataCenter", res.spec.data_center)
    dcs = finders.datacenters(client)
    dc = p.ctx.inventory.find(dcs.key, dcs.lister, id=target.id, name=target.name)
    if dc is not None:
        found: Network | None = observe(p, finder(client, dc.id), res.rhev_name)
        return found
    if p.status.id:
        with contextlib.suppress(errors.NotFound):
            return client.networks.get(p.status.id)
    return None


#: The wait while RHEV-M refuses to detach or remove the network (hosts or VMs use it).
AWAIT_UNUSED = "AwaitNetworkUnused"


def delete(ctx: Context, resource: LogicalNetwork) -> Outcome:
    def steps(p: P) -> str:
        net = _observe_for_delete(p, resource)
        keep = None
        if net is not None and net.name == MANAGEMENT_NETWORK:
            keep = f"Left the management network {net.name} in RHEV-M (it is never removed)"
        done = deletion_start(p, net, "network", never_removed=keep)
        if done is not None or net is None:
            return done or ""
        find_cluster = finders.clusters(ctx.client)
        clusters = ctx.inventory.collection(find_cluster.key, find_cluster.lister)
        for cl in clusters.values():
            if cl.data_center_id != net.data_center_id or net.id not in attachments(ctx, cl.id):
                continue
            service = ctx.client.networks.cluster_networks(cl.id)
            _unless_in_use(
                p,
                resource,
                net,
                functools.partial(service.detach, net.id),
                f"detach network {net.name} from cluster {cl.name}",
            )
            ctx.inventory.forget(finders.attachments_key(cl.id), net.id)
            p.did("Detached", f"Detached network {net.name} from cluster {cl.name}")
        _unless_in_use(
            p,
            resource,
            net,
            functools.partial(ctx.client.networks.remove, net.id),
            f"remove network {net.name}",
        )
        p.end_operation()
        ctx.inventory.forget(("dc_networks", net.data_center_id or ""), net.id)
        p.did("Deleted", f"Removed network {net.name}")
        return "removed from RHEV-M"

    return run_ladder(P(ctx, resource), steps)


def _unless_in_use(
    p: P, res: LogicalNetwork, net: Network, send: Callable[[str], object], what: str
) -> None:
    """Send a detach or the removal; while RHEV-M refuses (hosts or VMs use the network:
    their resources are deleted too, or a human takes it off them) wait, bounded by
    operationSeconds for detaches and removal together."""
    removed_unless_refused(
        p,
        send,
        what=what,
        action=AWAIT_UNUSED,
        reason="NetworkInUse",
        timeout_seconds=res.spec.timeouts.operation_seconds,
        hint="Take the network off the hosts' interfaces and VM NICs RHEV-M names (or "
        "delete their resources); the deletion goes on once nothing uses it.",
    )
