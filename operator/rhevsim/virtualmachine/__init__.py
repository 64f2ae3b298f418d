"""Virtual machines (/vms), their NICs (/vms/{id}/nics, /templates/{id}/nics) and power.

States (VmStatus) and the steps the clock runs (timing keys, simulated seconds):

    add from a template with disks: image_locked --vm.create/disk.copy--> down
    start:    down --> wait_for_launch --vm.launch 3--> powering_up --vm.boot 15--> up
              suspended --> restoring_state --vm.restore 8--> up;  paused --> up
    stop:     (running) --> powering_down --vm.stop 1--> down;  suspended --> down
    shutdown: up --> powering_down --vm.shutdown 10--> down  (not up yet: a stop)
    suspend:  up --> saving_state --vm.suspend 8--> suspended
    reboot:   up|powering_up --> reboot_in_progress --vm.reboot 10--> up
    reset:    (running) stays as it is: a hard reset of the guest (cluster level 4.6+)
    start with <vm><os><boot><devices> (Run Once): this run boots from those devices
              (`run_once` true, `?current=true` shows them); the VM's boot order is unchanged
    migrate:  up --> migrating --vm.migrate 10--> up on the target;  cancelmigration --> up

A host is chosen by placement: the VM's placement hosts (pinned or preferred) that are up,
else any up host of its cluster, fewest running VMs first. Changes to a running VM's
memory/CPU follow UpdateVmCommand: `?next_run=true` stages them for the next start
(`next_run_configuration_exists`), without it memory grows and sockets change at once
(hot plug, memory in 256 MiB steps), everything else is staged. The staged configuration
becomes current when the VM goes down.

Host helpers for the hypervisor package: `vms_on_host`, `host_lost` (VMs -> unknown),
`host_fenced` (unknown -> down), `maintenance_refusal`, `stuck_vms` and `evacuate`
(maintenance).

Inventory `vms:`: `{name, cluster, template (default Blank), memory, cpu: {sockets, cores,
threads}, os, boot, display, type, high_availability, description, status: down|up|
suspended, host (for up), placement: {affinity, hosts: [names]}, disks: [...], nics:
[{name, profile | network, interface, mac}], id}` (disks as in rhevsim.vmtemplate).

The package: `entity` (the Vm and Nic entities, placement on hosts, transitions, lookups,
the MAC pool), `crud` (the /vms CRUD handlers), `power` (run, run once, stop, suspend,
reboot, reset, migrate; reactions to host events), `nics` (the NIC handlers), `inventory`
(inventory and builder); this module registers the routes and hooks. The graphics consoles
of VMs are rhevsim.graphicsconsole's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.api import Api, empty_collections
from rhevsim.hypervisor.host import on_status_change
from rhevsim.model import Entity
from rhevsim.virtualmachine.crud import add_vm, get_vm_handler, list_vms, remove_vm, update_vm
from rhevsim.virtualmachine.entity import (
    TIMINGS,
    VM_LINK_PLURALS,
    Nic,
    Vm,
    transition,
    vms_on_host,
)
from rhevsim.virtualmachine.inventory import build_inventory, load_inventory, nics_from_inventory
from rhevsim.virtualmachine.nics import add_nic, get_nic, list_nics, remove_nic, update_nic
from rhevsim.virtualmachine.power import (
    cancel_migration,
    evacuate,
    host_fenced,
    host_lost,
    maintenance_refusal,
    migrate,
    reboot,
    reset,
    shutdown,
    simple_action,
    start_vm,
    stop_vm,
    stuck_vms,
    suspend,
)
from rhevsim.vmtemplate.entity import Template

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def register(api: Api) -> None:
    api.route("GET", "/vms", list_vms)
    api.route("POST", "/vms", add_vm)
    api.route("GET", "/vms/{id}", get_vm_handler)
    api.route("PUT", "/vms/{id}", update_vm)
    api.route("DELETE", "/vms/{id}", remove_vm)
    api.action("/vms/{id}", "start", start_vm)
    api.action("/vms/{id}", "stop", stop_vm)
    api.action("/vms/{id}", "shutdown", shutdown)
    api.action("/vms/{id}", "suspend", suspend)
    api.action("/vms/{id}", "reboot", reboot)
    api.action("/vms/{id}", "reset", reset)
    api.action("/vms/{id}", "migrate", migrate)
    api.action("/vms/{id}", "cancelmigration", cancel_migration)
    api.action("/vms/{id}", "export", simple_action("export", "Exporting VM"))
    api.action(
        "/vms/{id}", "reordermacaddresses", simple_action("reorder MACs of", "Reordering MACs")
    )

    empty_collections(api, Vm, "/vms/{id}", VM_LINK_PLURALS)
    nic_links = {
        "networkfilterparameters": "network_filter_parameters",
        "reporteddevices": "reported_devices",
        "statistics": "statistics",
    }
    empty_collections(api, Vm, "/vms/{id}/nics/{nic}", nic_links)
    empty_collections(api, Template, "/templates/{id}/nics/{nic}", nic_links)
    for owner in ("vms", "templates"):
        base = f"/{owner}/{{id}}/nics"
        api.route("GET", base, list_nics)
        api.route("POST", base, add_nic)
        api.route("GET", base + "/{nic}", get_nic)
        api.route("PUT", base + "/{nic}", update_nic)
        api.route("DELETE", base + "/{nic}", remove_nic)


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)
    on_status_change(reg, _host_status_changed)
    reg.hooks.maintenance_refusal = maintenance_refusal
    reg.hooks.stuck_vms = stuck_vms


def _host_status_changed(reg: Registry, host: Entity, old: str) -> None:
    """Follow the hosts: unknown with a dead host, migrate away from maintenance, down when
    the host was fenced, back to up when it answers again."""
    new = getattr(host, "status", "")
    if old == "fenced" or new in ("reboot", "down", "installing", "install_failed"):
        host_fenced(reg, host)
    elif new == "non_responsive":
        host_lost(reg, host)
    elif new == "preparing_for_maintenance":
        evacuate(reg, host)
    elif new == "maintenance":
        for vm in vms_on_host(reg, host.id):
            if vm.status == "migrating" and vm.finish_migration is not None:
                vm.finish_migration()  # maintenance waits for the migrations it started
    elif new == "up":
        for vm in reg.all(Vm):
            if vm.host_id == host.id and vm.status in ("unknown", "not_responding"):
                transition(vm, "up")


__all__ = [
    "Nic",
    "Vm",
    "build_inventory",
    "load_inventory",
    "nics_from_inventory",
    "register",
    "setup",
]
