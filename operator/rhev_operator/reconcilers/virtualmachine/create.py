"""VirtualMachine creation [`mkvm`] and configuration [`chvm`, `rsetboot`, `wvid`]: memory,
CPU, boot order and display, changed at once on a stopped VM and staged for the next start
on a running one."""

from __future__ import annotations

from typing import Any

from rhev_operator.api import VirtualMachine
from rhev_operator.api.conditions import get_condition
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    UPDATE_HINT,
    Stall,
    Wait,
    before_create,
    claim,
    created,
    owner_comment,
    resolve,
    stall_when_refused,
)
from rhev_operator.reconcilers.virtualmachine.common import (
    BOOT_DEVICES,
    CREATE,
    RUNNING,
    VP,
    _dc_id,
    _manages_nics,
    _observe,
    _Plan,
    _refresh,
    _set,
    finder,
    template_finder,
)
from rhev_operator.reconcilers.virtualmachine.disks import _domain_for
from rhev_operator.reconcilers.virtualmachine.nics import _profile_for
from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    Cluster,
    Host,
    Template,
    VmCreate,
    VmUpdate,
)
from rhev_operator.rhevm.virtualmachine import VmDetail

# -- creation ------------------------------------------------------------------------------


def _template(p: VP, res: VirtualMachine) -> Template:
    tpl: Template = resolve(p, "VmTemplate", res.spec.template, template_finder(p.ctx.client))
    if tpl.status not in (None, "ok"):
        raise Wait(
            "WaitingForDependency",
            f"waiting for template {tpl.name}: it is {tpl.status} (a VM is made from a "
            "template once it is ok)",
            5.0,
        )
    return tpl


def _placement_host(p: VP, res: VirtualMachine, cluster: Cluster) -> Host:
    ref = res.spec.placement.host
    assert ref is not None
    host: Host = resolve(p, "Hypervisor", ref, finders.hosts(p.ctx.client))
    if host.cluster_id != cluster.id:
        raise Stall(
            "HostNotInCluster",
            f"spec.placement.host: host {host.name} is not in cluster {cluster.name}; a VM "
            "runs on hosts of its own cluster: choose one of them, or move the host",
        )
    return host


def _create(p: VP, res: VirtualMachine, plan: _Plan) -> VmDetail:
    """Everything the VM needs must be there first (no half-built VM), then one POST."""
    spec = res.spec
    cluster = plan.cluster
    template = _template(p, res)
    if spec.placement.host is not None:
        plan.host = _placement_host(p, res, cluster)
    dc_id = _dc_id(p, cluster)
    blank = template.id == BLANK_TEMPLATE_ID
    if _manages_nics(res, blank):
        for nic in spec.nics:
            _profile_for(p, res, nic, cluster, dc_id)
    for index, disk in enumerate(spec.disks):
        _domain_for(p, disk, index, dc_id)
    found = _observe(p, res, confirm=True)
    if found is not None:
        claim(p, found, spec.adopt)
        return found
    fields = _config_fields(res, blank=blank)
    if plan.host is not None:
        fields["placement_host_ids"] = (plan.host.id,)
    if spec.placement.affinity is not None:
        fields["placement_affinity"] = spec.placement.affinity
    cid = before_create(p, CREATE, spec.timeouts.disk_creation_seconds)
    vm = p.ctx.client.vms.add(
        VmCreate(
            name=res.rhev_name,
            cluster_id=cluster.id,
            template_id=template.id,
            comment=owner_comment(p.ctx.uid),
            **fields,
        ),
        correlation_id=cid,
    )
    created(p, finder(p.ctx.client), vm, f"VM {vm.name} in cluster {cluster.name}")
    if vm.status != "image_locked":
        p.end_operation()  # made at once: nothing is in flight
    return _refresh(p, vm.id)


def _config_fields(res: VirtualMachine, *, blank: bool) -> dict[str, Any]:
    """Memory, CPU, boot order and display as the spec sets them (with its defaults when the
    VM comes from Blank, as `mkvm` did)."""
    spec = res.spec
    out: dict[str, Any] = {}
    if blank or _set(spec, "memory"):
        out["memory"] = spec.memory
    if blank or _set(spec, "cpu"):
        if blank or _set(spec.cpu, "sockets"):
            out["cpu_sockets"] = spec.cpu.sockets
        if blank or _set(spec.cpu, "cores"):
            out["cpu_cores"] = spec.cpu.cores
    if blank or _set(spec, "boot_order"):
        out["boot_devices"] = tuple(BOOT_DEVICES[d] for d in spec.boot_order)
    if spec.display is not None:
        out["display_type"] = spec.display
    return out


# -- configuration -------------------------------------------------------------------------


def _staged_this_generation(p: VP) -> bool:
    c = get_condition(p.status.conditions, "Reconciling")
    return (
        c is not None
        and c.status == "True"
        and c.reason == "PendingRestart"
        and c.observed_generation == p.ctx.generation
    )


def _staged_before(p: VP) -> bool:
    c = get_condition(p.status.conditions, "Reconciling")
    return c is not None and c.status == "True" and c.reason == "PendingRestart"


def _ensure_config(p: VP, res: VirtualMachine, vm: VmDetail, plan: _Plan) -> VmDetail:
    """Cold fields (memory, CPU, boot, display) at once when stopped, else staged for the
    next start; hot fields (name, placement) at once."""
    spec = res.spec
    want = _config_fields(res, blank=False)
    have: dict[str, Any] = {
        "memory": vm.memory,
        "cpu_sockets": vm.cpu_sockets,
        "cpu_cores": vm.cpu_cores,
        "boot_devices": tuple(vm.boot_devices),
        "display_type": vm.display_type,
    }
    cold = {k: v for k, v in want.items() if have.get(k) != v}
    hot: dict[str, Any] = {}
    if vm.cluster_id != plan.cluster.id:
        if vm.status == "down":
            hot["cluster_id"] = plan.cluster.id
        else:
            plan.pending.append(f"the move to cluster {plan.cluster.name}")
    if vm.name != res.rhev_name:
        hot["name"] = res.rhev_name
    if spec.placement.affinity is not None and vm.placement_affinity != spec.placement.affinity:
        hot["placement_affinity"] = spec.placement.affinity
    if plan.host is not None and tuple(vm.placement_host_ids) != (plan.host.id,):
        hot["placement_host_ids"] = (plan.host.id,)
    ha = spec.high_availability
    if ha is not None:
        if vm.high_availability != ha.enabled:
            hot["high_availability"] = ha.enabled
        if ha.priority is not None and vm.high_availability_priority != ha.priority:
            hot["high_availability_priority"] = ha.priority
    memory = cold.get("memory")
    if memory is not None and vm.memory_guaranteed is not None and vm.memory_guaranteed > memory:
        cold["memory_guaranteed"] = memory  # RHEV-M refuses guaranteed > memory
    if memory is not None and vm.memory_max is not None and vm.memory_max < memory:
        cold["memory_max"] = memory * 4  # the engine's default ratio
    running = vm.status in RUNNING or vm.status == "suspended"
    if running:
        if cold:
            plan.pending.append(_describe(cold))
            if not (_staged_this_generation(p) and vm.next_run_configuration_exists):
                vm = _update(p, vm, cold, next_run=True)
                p.did(
                    "Staged",
                    f"Staged {_describe(cold)} of VM {vm.name} for its next start (it is "
                    f"{vm.status})",
                )
        elif (
            want
            and vm.next_run_configuration_exists
            and _staged_before(p)
            and not _staged_this_generation(p)
        ):
            # The spec went back to what runs: drop what was staged for the next start.
            vm = _update(p, vm, dict(want), next_run=True)
        cold = {}
    changes = {**cold, **hot}
    if changes:
        vm = _update(p, vm, changes, next_run=False)
        p.did("Updated", f"Updated VM {vm.name}: {_describe(changes)}")
    return vm


def _describe(changes: dict[str, Any]) -> str:
    words = {
        "memory": "memory",
        "memory_guaranteed": None,
        "memory_max": None,
        "cpu_sockets": "CPU sockets",
        "cpu_cores": "CPU cores",
        "boot_devices": "boot order",
        "display_type": "display",
        "name": "name",
        "cluster_id": "cluster",
        "placement_affinity": "placement affinity",
        "placement_host_ids": "placement host",
        "high_availability": "high availability",
        "high_availability_priority": "high availability priority",
    }
    return ", ".join(w for k in sorted(changes) if (w := words.get(k)))


def _update(p: VP, vm: VmDetail, changes: dict[str, Any], *, next_run: bool) -> VmDetail:
    doing = f"change {_describe(changes)} of VM {vm.name}"
    with stall_when_refused("UpdateRefused", doing, UPDATE_HINT):
        p.ctx.client.vms.update(
            vm.id,
            VmUpdate(**changes),
            next_run=True if next_run else None,
            correlation_id=p.ctx.correlation_id(),
        )
    return _refresh(p, vm.id)
