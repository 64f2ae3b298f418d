"""RhevCluster: a cluster of hosts in a RHEV-M data center [`cfgve -t cl`].

Ladder: resolve the data center (wait for it) -> observe the cluster (by status.id, else
name) -> create or claim -> refuse a data-center move -> correct drift on the fields the
spec sets -> report.

State: RHEV-M gives clusters no status, so `status.state` is `up` whenever the cluster
exists in RHEV-M (and stays unset until it does); whether it matches the spec is what the
Ready condition says. `status.dataCenterId` is the RHEV-M id of its data center.

Moving a cluster to another data center: RHEV-M refuses it, so a spec.dataCenter that
names another data center than the cluster's is Stalled (DataCenterChangeRefused) before
anything is sent.

`memoryOvercommit` has a default (100): it is sent when the cluster is created, but drift
is corrected only when the spec sets it, so an adopted cluster keeps its own policy.
"""

from __future__ import annotations

import functools

from rhev_operator.api import RhevCluster, RhevClusterStatus
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    UPDATE_HINT,
    Context,
    Outcome,
    Pass,
    Stall,
    before_create,
    claim,
    created,
    deletion_start,
    observe,
    owner_comment,
    removed_unless_refused,
    resolve,
    run_ladder,
    stall_when_refused,
)
from rhev_operator.rhevm import (
    Cluster,
    ClusterCreate,
    ClusterUpdate,
    DataCenter,
)

#: What status.state says for a cluster that exists (RHEV-M clusters have no status).
STATE = "up"


finder = finders.clusters


def reconcile(ctx: Context, resource: RhevCluster) -> Outcome:
    return run_ladder(Pass[RhevClusterStatus](ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: Pass[RhevClusterStatus], res: RhevCluster) -> str:
    spec = res.spec
    name = res.rhev_name
    dcs = finders.datacenters(p.ctx.client)
    dc: DataCenter = resolve(p, "RhevDataCenter", spec.data_center, dcs)
    find = finder(p.ctx.client)
    cluster: Cluster | None = observe(p, find, name)
    if cluster is None:
        cid = before_create(p)
        cluster = p.ctx.client.clusters.add(
            ClusterCreate(
                name=name,
                data_center_id=dc.id,
                description=spec.description,
                comment=owner_comment(p.ctx.uid),
                cpu_type=spec.cpu_type,
                memory_overcommit=spec.memory_overcommit,
                transparent_hugepages=spec.memory_hugepages,
            ),
            correlation_id=cid,
        )
        created(p, find, cluster, f"cluster {name} in data center {dc.name}")
    else:
        claim(p, cluster, spec.adopt)
    _refuse_move(p, cluster, dc)
    cluster = _ensure_fields(p, res, cluster)
    p.status.state = STATE
    p.status.data_center_id = cluster.data_center_id
    return f"cluster {cluster.name} in data center {dc.name}"


def _refuse_move(p: Pass[RhevClusterStatus], cluster: Cluster, dc: DataCenter) -> None:
    if not cluster.data_center_id or cluster.data_center_id == dc.id:
        return
    items = p.ctx.inventory.collection(
        finders.datacenters(p.ctx.client).key, finders.datacenters(p.ctx.client).lister
    )
    current = items.get(cluster.data_center_id)
    where = current.name if current is not None else cluster.data_center_id
    p.status.data_center_id = cluster.data_center_id
    raise Stall(
        "DataCenterChangeRefused",
        f"cluster {cluster.name} is in data center {where}; RHEV-M does not move a cluster "
        f"to another data center ({dc.name}). Set spec.dataCenter back to {where}, or delete "
        f"this resource (and the cluster) and create it again in {dc.name}.",
    )


def _ensure_fields(p: Pass[RhevClusterStatus], res: RhevCluster, cluster: Cluster) -> Cluster:
    """Correct drift on what the spec sets (and only that), with one Event."""
    spec = res.spec
    changes: dict[str, object] = {}
    if spec.description is not None and (cluster.description or "") != spec.description:
        changes["description"] = spec.description
    if spec.cpu_type is not None and cluster.cpu_type != spec.cpu_type:
        changes["cpu_type"] = spec.cpu_type
    if (
        "memory_overcommit" in spec.model_fields_set
        and cluster.memory_overcommit != spec.memory_overcommit
    ):
        changes["memory_overcommit"] = spec.memory_overcommit
    if spec.memory_hugepages is not None and cluster.transparent_hugepages != spec.memory_hugepages:
        changes["transparent_hugepages"] = spec.memory_hugepages
    changes.update(_fencing_changes(res, cluster))
    if cluster.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if not changes:
        return cluster
    fields = ", ".join(sorted(changes))
    with stall_when_refused(
        "UpdateRefused", f"change {fields} of cluster {cluster.name}", UPDATE_HINT
    ):
        updated = p.ctx.client.clusters.update(
            cluster.id, ClusterUpdate(**changes), correlation_id=p.ctx.correlation_id()
        )
    p.ctx.inventory.remember(finder(p.ctx.client).key, updated)
    p.did("Updated", f"Updated cluster {res.rhev_name}: {fields}")
    return updated


def _fencing_changes(res: RhevCluster, cluster: Cluster) -> dict[str, object]:
    """The fencing policy fields the spec sets and RHEV-M differs on."""
    fencing = res.spec.fencing
    if fencing is None:
        return {}
    want: dict[str, object] = {}
    if fencing.enabled is not None:
        want["fencing_enabled"] = fencing.enabled
    if fencing.skip_if_storage_active is not None:
        want["fencing_skip_if_sd_active"] = fencing.skip_if_storage_active
    broken = fencing.skip_if_connectivity_broken
    if broken is not None and broken.enabled is not None:
        want["fencing_skip_if_connectivity_broken"] = broken.enabled
    if broken is not None and broken.threshold is not None:
        want["fencing_connectivity_threshold"] = broken.threshold
    out = {k: v for k, v in want.items() if getattr(cluster, k) != v}
    pair = ("fencing_skip_if_connectivity_broken", "fencing_connectivity_threshold")
    if any(k in out for k in pair):  # one element on the wire: send both halves
        for k in pair:
            current = getattr(cluster, k)
            if k not in out and current is not None:
                out[k] = current
    return out


#: The wait while RHEV-M refuses to remove the cluster (hosts or VMs still in it).
AWAIT_UNUSED = "AwaitClusterUnused"


def delete(ctx: Context, resource: RhevCluster) -> Outcome:
    def steps(p: Pass[RhevClusterStatus]) -> str:
        find = finder(ctx.client)
        cluster: Cluster | None = observe(p, find, resource.rhev_name)
        done = deletion_start(p, cluster, "cluster")
        if done is not None or cluster is None:
            return done or ""
        # Hosts or VMs still in it go first (their resources are deleted too, or a human
        # moves them): wait for them, bounded by operationSeconds.
        removed_unless_refused(
            p,
            functools.partial(ctx.client.clusters.remove, cluster.id),
            what=f"remove cluster {cluster.name}",
            action=AWAIT_UNUSED,
            reason="ClusterInUse",
            timeout_seconds=resource.spec.timeouts.operation_seconds,
            hint="Move or remove the hosts and VMs RHEV-M names (or delete their resources); "
            "the removal goes on once they are gone.",
        )
        p.end_operation()
        ctx.inventory.forget(find.key, cluster.id)
        p.did("Deleted", f"Removed cluster {cluster.name}")
        return "removed from RHEV-M"

    return run_ladder(Pass[RhevClusterStatus](ctx, resource), steps)
