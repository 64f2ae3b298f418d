"""VirtualMachine NICs, matched by name: added, updated, and removed (unplugged first) when
this resource created them."""

from __future__ import annotations

import contextlib
from typing import Any

from rhev_operator.api import VirtualMachine
from rhev_operator.api.virtualmachine import VmNic as VmNicSpec
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    Wait,
    owned_by,
    owner_comment,
    resolve,
)
from rhev_operator.reconcilers.virtualmachine.common import (
    VP,
    _blank,
    _dc_id,
    _manages_nics,
    _Plan,
    _profiles,
    _refresh,
    _set,
)
from rhev_operator.rhevm import (
    Cluster,
    Network,
    VmNicCreate,
    VmNicUpdate,
    VnicProfile,
    errors,
)
from rhev_operator.rhevm.virtualmachine import VmDetail

# -- NICs ----------------------------------------------------------------------------------


def _profile_for(
    p: VP, res: VirtualMachine, nic: VmNicSpec, cluster: Cluster, dc_id: str
) -> VnicProfile:
    """The vNIC profile of the NIC's network in the VM's data center (the one named like
    the network, else its first); the network must be attached to the VM's cluster."""
    index = res.spec.nics.index(nic)
    net: Network = resolve(p, "LogicalNetwork", nic.network, finders.networks(p.ctx.client, dc_id))
    if net.id not in finders.cluster_networks(p.ctx, cluster.id):
        raise Wait(
            "WaitingForDependency",
            f"nics[{index}]: waiting for network {net.name} to be attached to cluster "
            f"{cluster.name} (a VM NIC can only use a network of its cluster)",
            5.0,
        )
    profiles = [pr for pr in _profiles(p.ctx).values() if pr.network_id == net.id]
    if not profiles:
        raise Wait(
            "WaitingForDependency",
            f"nics[{index}]: network {net.name} has no vNIC profile (it is not a VM network?)",
            10.0,
        )
    profiles.sort(key=lambda pr: (pr.name != net.name, pr.name))
    return profiles[0]


def _ensure_nics(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> VmDetail:
    spec = res.spec
    if not _manages_nics(res, _blank(vm)):
        return vm
    dc_id = _dc_id(p, plan.cluster)
    by_name = {n.name: n for n in vm.nics}
    running = vm.status != "down"
    for nic in spec.nics:
        profile = _profile_for(p, res, nic, plan.cluster, dc_id)
        have = by_name.get(nic.name)
        if have is None:
            p.ctx.client.vms.nics(vm.id).add(
                VmNicCreate(
                    name=nic.name,
                    interface=nic.model,
                    vnic_profile_id=profile.id,
                    description=owner_comment(p.ctx.uid),
                ),
                correlation_id=p.ctx.correlation_id(),
            )
            p.did(
                "NicAdded", f"Added NIC {nic.name} ({nic.model}) on {nic.network} to VM {vm.name}"
            )
            vm = _refresh(p, vm.id)
            continue
        changes: dict[str, Any] = {}
        if have.vnic_profile_id != profile.id:
            changes["vnic_profile_id"] = profile.id
        if _set(nic, "model") and have.interface != nic.model:
            if running and have.plugged:
                plan.pending.append(f"the model of NIC {nic.name}")
            else:
                changes["interface"] = nic.model
        if changes:
            p.ctx.client.vms.nics(vm.id).update(
                have.id, VmNicUpdate(**changes), correlation_id=p.ctx.correlation_id()
            )
            p.did("NicUpdated", f"Updated NIC {nic.name} of VM {vm.name}: {', '.join(changes)}")
            vm = _refresh(p, vm.id)
    listed = {nic.name for nic in spec.nics}
    for have in vm.nics:
        if have.name in listed or not owned_by(have.description, p.ctx.uid):
            continue
        nics = p.ctx.client.vms.nics(vm.id)
        if running and have.plugged:
            nics.update(have.id, VmNicUpdate(plugged=False), correlation_id=p.ctx.correlation_id())
        with contextlib.suppress(errors.NotFound):
            nics.remove(have.id, correlation_id=p.ctx.correlation_id())
        p.did("NicRemoved", f"Removed NIC {have.name} of VM {vm.name} (no longer in spec.nics)")
        vm = _refresh(p, vm.id)
    return vm
