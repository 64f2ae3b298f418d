"""Hosts (/hosts): lifecycle, power management, SPM election, machine registration.

The package: `host` (the entity, its relations and XML), `spm` (SPM election), `status`
(the status machinery and install flow), `crud` (creation and the CRUD handlers),
`machines` (physical machines powering on and off), `actions` (the host actions),
`inventory` (inventory and builder), `nics` and `fenceagents` (the host NIC and fence
agent sub-collections); this module registers the routes and hooks.

Inventory key `hosts:` (all keys but `name` optional):

    hosts:
      - name: hv01
        address: 10.0.0.11          # default: the machine's address, else the name
        cluster: Default
        status: up                   # up | maintenance | pending_approval | non_responsive |
                                     # install_failed | non_operational | down
        spm_priority: 5              # -1 (never) .. 10
        type: rhel                   # rhel | rhev_h | ovirt_node
        machine: hv01                # the physical machine (default: same name or address)
        nics: [{name: eth0, mac: "52:54:00:00:00:11"}]   # default: the machine's NICs
        memory_gib: 64
        cpu: {sockets: 2, cores: 8, threads: 2}
        networks:                    # extra network attachments (management is automatic)
          - {network: storage, nic: eth1, boot_protocol: static,
             ip: 10.1.0.11, netmask: 255.255.255.0}
        power_management: {enabled: true, agents: [{address: 127.0.0.1, port: 6230,
                           username: admin, password: admin}]}

Host states (HostStatus) and the transitions simulated here, each step a timing key:

    POST /hosts            installing --host.install--> initializing --host.initialize--> up
                           (?activate=false: installing -> maintenance)
    approve                pending_approval|install_failed -> installing -> ... -> up
    activate               maintenance -> unassigned --host.activate--> up
    deactivate             up -> preparing_for_maintenance --host.maintenance--> maintenance
    machine on, boot net   (no host) --host.register--> pending_approval (like RHEV-H)
    machine on, boot disk  non_responsive --host.boot--> connecting --host.connect--> up
    machine off, /fail     connecting --grace--> non_responsive (grace: host.non_responsive
                           + host.non_responsive.spm for the SPM + .per_vm per running VM)
    non-responding         (fencing) policy on, agent, proxy: --host.soft_fence--> stop via
      treatment            the agent --host.fence--> reboot (SPM released, VMs down, HA VMs
                           restarted elsewhere) --host.fence--> power on --host.boot--> up
    fence restart          reboot --host.fence--> (power on) --host.boot--> connecting -> up
    fence stop / start     (maintenance) -> down / down -> reboot -> ...

An Up host whose cluster has a required network the host lacks becomes non_operational.

SPM (the engine's IrsProxy election): per data center with a usable master domain, among its
Up hosts with spm priority > -1, highest priority first (a forceselectspm host before all,
ties by name): the data center is problematic while searching (`spm.elect`), contend while
the winner starts (`spm.start`), then up. When the SPM host stops answering the data center
stays problematic and no new SPM is elected until the host is fenced (restart) or confirmed
rebooted (fence manual); deactivating the SPM host passes the role on.

Other modules: `up_hosts_in_cluster(reg, cluster_id)`, `hosts_in_dc(reg, dc_id)`,
`on_status_change(reg, fn)` (fn(reg, host, old_status) after every status change; VMs use
it to migrate away from a host going to maintenance or to go down with a dead host),
`spm_host(reg, dc_id)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.hypervisor import fenceagents, nics
from rhevsim.hypervisor.actions import (
    activate_host,
    approve_host,
    commit_net_config,
    deactivate_host,
    empty_collection,
    fence_host,
    force_select_spm,
    install_action,
    noop_action,
    refresh_host,
    setup_networks,
    setup_networks_handler,
    sync_all_networks,
)
from rhevsim.hypervisor.crud import add_host, get_host, list_hosts, remove_host, update_host
from rhevsim.hypervisor.fencing import non_responding_treatment
from rhevsim.hypervisor.host import (
    TIMINGS,
    Host,
    host_has_network,
    hosts_in_dc,
    hosts_state,
    on_status_change,
    spm_host,
    up_hosts_in_cluster,
)
from rhevsim.hypervisor.inventory import build_inventory, load_inventory
from rhevsim.hypervisor.machines import host_fail, host_heal, machine_power_changed
from rhevsim.hypervisor.spm import dc_status_changed

if TYPE_CHECKING:
    from rhevsim.api import Api
    from rhevsim.registry import Registry


def register(api: Api) -> None:
    api.route("GET", "/hosts", list_hosts)
    api.route("POST", "/hosts", add_host)
    api.route("GET", "/hosts/{id}", get_host)
    api.route("PUT", "/hosts/{id}", update_host)
    api.route("DELETE", "/hosts/{id}", remove_host)
    api.action("/hosts/{id}", "approve", approve_host)
    api.action("/hosts/{id}", "install", install_action)
    api.action("/hosts/{id}", "activate", activate_host)
    api.action("/hosts/{id}", "deactivate", deactivate_host)
    api.action("/hosts/{id}", "fence", fence_host)
    api.action("/hosts/{id}", "forceselectspm", force_select_spm)
    api.action("/hosts/{id}", "refresh", refresh_host)
    api.action("/hosts/{id}", "commitnetconfig", commit_net_config)
    api.action("/hosts/{id}", "setupnetworks", setup_networks_handler)
    api.action("/hosts/{id}", "syncallnetworks", sync_all_networks)
    for verb in ("enrollcertificate", "upgradecheck"):
        api.action("/hosts/{id}", verb, noop_action(verb))
    for path, plural in (
        ("affinitylabels", "affinity_labels"),
        ("devices", "host_devices"),
        ("hooks", "hooks"),
        ("katelloerrata", "katello_errata"),
        ("numanodes", "host_numa_nodes"),
        ("permissions", "permissions"),
        ("statistics", "statistics"),
        ("storage", "host_storages"),
        ("storageconnectionextensions", "storage_connection_extensions"),
        ("tags", "tags"),
        ("unmanagednetworks", "unmanaged_networks"),
        ("externalnetworkproviderconfigurations", "external_network_provider_configurations"),
    ):
        api.route("GET", f"/hosts/{{id}}/{path}", empty_collection(plural))
    nics.register(api)
    fenceagents.register(api)


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)
    reg.hooks.dc_status_listeners.append(dc_status_changed)
    hosts_state(reg).treatment = non_responding_treatment
    reg.hooks.host_fail = host_fail
    reg.hooks.host_heal = host_heal
    reg.hooks.machine_power.append(machine_power_changed)
    reg.hooks.host_has_network = host_has_network
    reg.hooks.active_hosts = lambda r, dc_id: list(
        h for h in hosts_in_dc(r, dc_id) if h.status == "up"
    )


__all__ = [
    "Host",
    "build_inventory",
    "hosts_in_dc",
    "load_inventory",
    "on_status_change",
    "register",
    "setup",
    "setup_networks",
    "spm_host",
    "up_hosts_in_cluster",
]
