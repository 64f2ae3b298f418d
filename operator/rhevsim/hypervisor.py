"""Hosts (/hosts): lifecycle, power management, SPM election, machine registration.

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
    machine off, /fail     connecting --host.non_responsive--> non_responsive
    fence restart          reboot --host.fence--> (power on) --host.boot--> connecting -> up
    fence stop / start     (maintenance) -> down / down -> reboot -> ...

An Up host whose cluster has a required network the host lacks becomes non_operational.

SPM (reference §6.3): per data center with a usable master domain, among its Up hosts with
spm priority > -1, highest priority first (a forceselectspm host before all, ties by name):
the data center is problematic while searching (`spm.elect`), contend while the winner
starts (`spm.start`), then up. When the SPM host stops answering the data center stays
problematic and no new SPM is elected until the host is fenced (restart) or confirmed
rebooted (fence manual); deactivating the SPM host passes the role on.

Other modules: `up_hosts_in_cluster(reg, cluster_id)`, `hosts_in_dc(reg, dc_id)`,
`on_status_change(reg, fn)` (fn(reg, host, old_status) after every status change; VMs use
it to migrate away from a host going to maintenance or to go down with a dead host),
`spm_host(reg, dc_id)`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    action_complete,
    created,
    delete_complete,
    get_or_404,
    list_response,
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER, DataCenter, recompute_status
from rhevsim.event import CODES
from rhevsim.fenceagent import FenceAgent, agents_of
from rhevsim.hostnic import HostNic, NetworkAttachment, new_nic
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, has, integer, text

if TYPE_CHECKING:
    from rhevsim.job import Job
    from rhevsim.network import Network
    from rhevsim.registry import Machine, Registry

HOST_STATUSES = (
    "down",
    "error",
    "initializing",
    "installing",
    "install_failed",
    "maintenance",
    "non_operational",
    "non_responsive",
    "pending_approval",
    "preparing_for_maintenance",
    "connecting",
    "reboot",
    "unassigned",
    "up",
    "installing_os",
    "kdumping",
)
HOST_TYPES = ("rhel", "rhev_h", "ovirt_node")
FENCE_TYPES = ("manual", "restart", "start", "stop", "status")
GiB = 1024**3

# AuditLogType codes this module writes (ovirt-engine AuditLogType.java), shared via CODES.
HOST_CODES: dict[str, int] = {
    "VDS_FAILURE": 12,
    "VDS_DETECTED": 13,
    "VDS_RECOVER": 14,
    "VDS_MAINTENANCE": 15,
    "VDS_ACTIVATE": 16,
    "USER_VDS_START": 20,
    "USER_VDS_STOP": 21,
    "USER_VDS_RESTART": 41,
    "USER_ADD_VDS": 42,
    "USER_UPDATE_VDS": 43,
    "USER_REMOVE_VDS": 44,
    "SYSTEM_VDS_RESTART": 121,
    "USER_FORCE_SELECTED_SPM": 159,
    "IRS_HOSTED_ON_VDS": 204,
    "VDS_MANUAL_FENCE_STATUS": 494,
    "VDS_FENCE_STATUS": 496,
    "VDS_FENCE_STATUS_FAILED": 497,
    "VDS_APPROVE": 498,
    "VDS_INSTALL": 504,
    "VDS_INSTALL_FAILED": 505,
    "VDS_INSTALL_IN_PROGRESS": 509,
    "VDS_SET_NONOPERATIONAL_NETWORK": 519,
    "USER_VDS_MAINTENANCE": 600,
    "HOST_REFRESHED_CAPABILITIES": 606,
    "USER_VDS_MAINTENANCE_WITHOUT_REASON": 620,
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC": 980,
    "NETWORK_COMMINT_NETWORK_CHANGES": 1104,
    "VDS_ALERT_FENCE_IS_NOT_CONFIGURED": 9000,
    "VDS_HOST_NOT_RESPONDING_CONNECTING": 9008,
    "PERSIST_SETUP_NETWORK_ON_HOST_FINISHED": 10903,
}
for _k, _v in HOST_CODES.items():
    CODES.setdefault(_k, _v)

# Default step durations (simulated seconds), near a real engine with ansible host-deploy.
TIMINGS: dict[str, float] = {
    "host.install": 180.0,  # installing -> initializing (or maintenance)
    "host.initialize": 10.0,  # initializing -> up
    "host.activate": 5.0,  # unassigned -> up
    "host.maintenance": 5.0,  # preparing_for_maintenance -> maintenance
    "host.register": 120.0,  # machine network boot -> pending_approval host
    "host.boot": 60.0,  # machine power on (disk) -> VDSM answers (connecting)
    "host.connect": 5.0,  # connecting -> up
    "host.non_responsive": 30.0,  # stops answering: connecting -> non_responsive
    "host.fence": 10.0,  # fence agent power operation
    "spm.elect": 2.0,  # problematic (searching) -> contend
    "spm.start": 10.0,  # contend -> up (SPM started)
}

# Statuses in which RemoveVds is allowed (RemoveVdsCommand.statusLegalForRemove).
REMOVABLE = (
    "non_responsive",
    "maintenance",
    "down",
    "unassigned",
    "install_failed",
    "pending_approval",
    "installing_os",
    "kdumping",
)
# FenceVdsManualyCommand.isLegalStatus.
MANUAL_FENCE_OK = (
    "down",
    "install_failed",
    "maintenance",
    "non_operational",
    "non_responsive",
    "reboot",
    "installing",
    "connecting",
    "kdumping",
)
NOT_ANSWERING = ("non_responsive", "connecting", "reboot", "down")


@dataclass(kw_only=True, eq=False)
class Host(Entity):
    KIND = "host"
    TAG = "host"
    PLURAL = "hosts"
    PATH = "hosts"
    TYPE_NAME = "Host"
    REF_NAME = "Host"

    address: str = ""
    status: str = "maintenance"
    status_detail: str | None = None
    cluster_id: str | None = None
    host_type: str = "rhel"
    port: int = 54321
    spm_priority: int = 5
    machine: str | None = None  # registry.Machine name
    nics: list[HostNic] = field(default_factory=list)
    attachments: list[NetworkAttachment] = field(default_factory=list)
    agents: list[FenceAgent] = field(default_factory=list)
    pm_enabled: bool = False
    pm_automatic: bool = True
    pm_kdump: bool = True
    memory: int = 64 * GiB
    cpu_sockets: int = 2
    cpu_cores: int = 8
    cpu_threads: int = 2
    cpu_name: str = "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz"
    cpu_speed: int = 2500
    os_type: str = "RHEL"
    os_version: tuple[str, str] = ("8", "6")
    # Simulation state.
    failed: bool = False  # /sim/hosts/{name}/fail: VDSM does not answer
    virtual_power: bool = True  # power of a host without a machine
    admin_maintenance: bool = False  # put in maintenance by the admin (returns there)
    net_uncommitted: bool = False
    network_operation: bool = False
    gen: int = 0  # bumped per flow: pending steps of an older flow do nothing
    flow_job: Job | None = field(default=None, repr=False)  # the job of the running flow

    def render(self, ctx: Ctx) -> Element:
        return _render(ctx, self)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        cl = reg.get(Cluster, self.cluster_id) if self.cluster_id else None
        dc = reg.get(DataCenter, cl.data_center_id) if cl and cl.data_center_id else None
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "status": self.status,
            "cluster": cl.name if cl else None,
            "datacenter": dc.name if dc else None,
            "address": self.address,
            "hostname": self.address,
            "type": self.host_type,
            "active_vms": len(_vms_on(reg, self)),
        }


# ---------------------------------------------------------------------- module state


@dataclass
class _State:
    preferred: dict[str, str] = field(default_factory=dict)  # dc -> forceselectspm host
    blocked: dict[str, str] = field(default_factory=dict)  # dc -> non-responsive SPM host
    searching: dict[str, int] = field(default_factory=dict)  # dc -> election generation
    gen: dict[str, int] = field(default_factory=dict)
    listeners: list[Callable[[Registry, Host, str], None]] = field(default_factory=list)


def _state(reg: Registry) -> _State:
    return reg.module_state(_State)


def on_status_change(reg: Registry, fn: Callable[[Registry, Host, str], None]) -> None:
    """Call fn(reg, host, old_status) after every host status change (with the lock held)."""
    _state(reg).listeners.append(fn)


# ---------------------------------------------------------------------- relations


def cluster_of(reg: Registry, host: Host) -> Cluster | None:
    return reg.get(Cluster, host.cluster_id) if host.cluster_id else None


def dc_of(reg: Registry, host: Host) -> DataCenter | None:
    cl = cluster_of(reg, host)
    if cl is None or cl.data_center_id is None:
        return None
    return reg.get(DataCenter, cl.data_center_id)


def hosts_in_dc(reg: Registry, dc_id: str) -> list[Host]:
    clusters = {c.id for c in reg.all(Cluster) if c.data_center_id == dc_id}
    return [h for h in reg.all(Host) if h.cluster_id in clusters]


def up_hosts_in_cluster(reg: Registry, cluster_id: str) -> list[Host]:
    """Up hosts of a cluster (VM placement), in name order."""
    return sorted(
        (h for h in reg.all(Host) if h.cluster_id == cluster_id and h.status == "up"),
        key=lambda h: h.name,
    )


def spm_host(reg: Registry, dc_id: str) -> Host | None:
    """The host holding (or starting) the SPM role of a data center."""
    dc = reg.get(DataCenter, dc_id)
    if dc is None or not dc.spm_host_id:
        return None
    return reg.get(Host, dc.spm_host_id)


def spm_status_of(reg: Registry, host: Host) -> str:
    dc = dc_of(reg, host)
    if dc is None or dc.spm_host_id != host.id:
        return "none"
    if _state(reg).blocked.get(dc.id) == host.id:
        return "spm"  # the engine still records the unreachable host as SPM
    return dc.spm_status


def machine_of(reg: Registry, host: Host) -> Machine | None:
    if host.machine:
        return reg.machines.get(host.machine)
    return None


def _find_machine(reg: Registry, name: str, address: str) -> Machine | None:
    m = reg.machines.get(name)
    if m is not None:
        return m
    return next((m for m in reg.machines.values() if address and m.address == address), None)


def _vms_on(reg: Registry, host: Host) -> list[Entity]:
    return [
        v
        for v in reg.iter_kind("vm")
        if getattr(v, "host_id", None) == host.id and getattr(v, "status", "down") != "down"
    ]


def _powered(reg: Registry, host: Host) -> bool:
    m = machine_of(reg, host)
    return m.powered_on if m is not None else host.virtual_power


def _reachable(reg: Registry, host: Host) -> bool:
    return _powered(reg, host) and not host.failed


def _has_network(reg: Registry, host: Entity, net: Entity) -> bool:
    return isinstance(host, Host) and any(a.network_id == net.id for a in host.attachments)


def _management_network(reg: Registry, cl: Cluster | None) -> Network | None:
    if cl is None:
        return None
    from rhevsim.network import management_network_of

    return management_network_of(reg, cl)


def _missing_required(reg: Registry, host: Host) -> list[str]:
    from rhevsim.network import Network

    out = []
    for n in reg.all(Network):
        att = n.clusters.get(host.cluster_id or "")
        if att is not None and att.required and not _has_network(reg, host, n):
            out.append(n.name)
    return sorted(out)


# ---------------------------------------------------------------------- rendering


def _follows(ctx: Ctx, *names: str) -> str | None:
    return next((n for n in names if n in ctx.follow), None)


def _render(ctx: Ctx, h: Host) -> Element:
    reg = ctx.reg
    el = ctx.el(h)
    ctx.actions(
        el,
        h,
        (
            "activate",
            "approve",
            "commitnetconfig",
            "copyhostnetworks",
            "deactivate",
            "discoveriscsi",
            "enrollcertificate",
            "fence",
            "forceselectspm",
            "install",
            "iscsidiscover",
            "iscsilogin",
            "refresh",
            "setupnetworks",
            "syncallnetworks",
            "unregisteredstoragedomainsdiscover",
            "upgrade",
            "upgradecheck",
        ),
    )
    ctx.common(el, h)
    for rel in ("affinitylabels", "devices", "externalnetworkproviderconfigurations"):
        ctx.link(el, h, rel)
    _sub(ctx, el, h, "fenceagents", "agents", ("fence_agents", "agents"), lambda: agents_of(h))
    for rel in ("hooks", "katelloerrata"):
        ctx.link(el, h, rel)
    _sub(
        ctx,
        el,
        h,
        "networkattachments",
        "network_attachments",
        ("network_attachments",),
        lambda: list(h.attachments),
    )
    from rhevsim.hostnic import all_nics

    _sub(ctx, el, h, "nics", "nics", (), lambda: all_nics(reg, h))
    for rel in (
        "numanodes",
        "permissions",
        "statistics",
        "storage",
        "storageconnectionextensions",
        "tags",
        "unmanagednetworks",
    ):
        ctx.link(el, h, rel)
    sub = etree.SubElement
    sub(el, "address").text = h.address
    sub(el, "auto_numa_status").text = "unknown"
    cert = sub(el, "certificate")
    sub(cert, "organization").text = "rhevsim"
    sub(cert, "subject").text = f"O=rhevsim,CN={h.address}"
    cpu = sub(el, "cpu")
    sub(cpu, "name").text = h.cpu_name
    sub(cpu, "speed").text = str(h.cpu_speed)
    topo = sub(cpu, "topology")
    sub(topo, "cores").text = str(h.cpu_cores)
    sub(topo, "sockets").text = str(h.cpu_sockets)
    sub(topo, "threads").text = str(h.cpu_threads)
    cl = cluster_of(reg, h)
    if cl is not None and cl.cpu_type:
        sub(cpu, "type").text = cl.cpu_type
    dp = sub(el, "device_passthrough")
    sub(dp, "enabled").text = "false"
    sub(el, "external_status").text = "ok"
    hw = sub(el, "hardware_information")
    sub(hw, "family").text = "rhevsim"
    sub(hw, "manufacturer").text = "rhevsim"
    sub(hw, "product_name").text = "Simulated Server"
    sub(hw, "serial_number").text = h.id[:8].upper()
    sub(hw, "uuid").text = h.id
    sub(hw, "version").text = "1.0"
    he = sub(el, "hosted_engine")
    sub(he, "configured").text = "false"
    sub(el, "kdump_status").text = "disabled"
    ksm = sub(el, "ksm")
    sub(ksm, "enabled").text = "false"
    lv = sub(el, "libvirt_version")
    sub(lv, "build").text = "0"
    sub(lv, "full_version").text = "libvirt-8.0.0"
    sub(lv, "major").text = "8"
    sub(lv, "minor").text = "0"
    sub(lv, "revision").text = "0"
    used = sum(int(getattr(v, "memory", 0) or 0) for v in _vms_on(reg, h))
    sub(el, "max_scheduling_memory").text = str(max(0, h.memory - used) if h.status == "up" else 0)
    sub(el, "memory").text = str(h.memory)
    sub(el, "network_operation_in_progress").text = "true" if h.network_operation else "false"
    sub(el, "numa_supported").text = "false"
    os_el = sub(el, "os")
    sub(os_el, "custom_kernel_cmdline").text = ""
    sub(os_el, "type").text = h.os_type
    ver = sub(os_el, "version")
    sub(ver, "full_version").text = f"{h.os_version[0]}.{h.os_version[1]}"
    sub(ver, "major").text = h.os_version[0]
    sub(ver, "minor").text = h.os_version[1]
    sub(el, "ovn_configured").text = "false"
    sub(el, "port").text = str(h.port)
    pm = sub(el, "power_management")
    sub(pm, "automatic_pm_enabled").text = "true" if h.pm_automatic else "false"
    sub(pm, "enabled").text = "true" if h.pm_enabled else "false"
    sub(pm, "kdump_detection").text = "true" if h.pm_kdump else "false"
    first = agents_of(h)[0] if h.agents else None
    if first is not None:
        sub(pm, "address").text = first.address
        sub(pm, "type").text = first.agent_type
        sub(pm, "username").text = first.username
    sub(pm, "pm_proxies")
    sub(el, "protocol").text = "stomp"
    sub(el, "reinstallation_required").text = "false"
    se = sub(el, "se_linux")
    sub(se, "mode").text = "enforcing"
    spm = sub(el, "spm")
    sub(spm, "priority").text = str(h.spm_priority)
    sub(spm, "status").text = spm_status_of(reg, h)
    ssh = sub(el, "ssh")
    sub(ssh, "fingerprint").text = "SHA256:" + h.id.replace("-", "")[:43]
    sub(ssh, "port").text = "22"
    sub(el, "status").text = h.status
    if h.status_detail:
        sub(el, "status_detail").text = h.status_detail
    vms = _vms_on(reg, h)
    summary = sub(el, "summary")
    sub(summary, "active").text = str(len(vms))
    sub(summary, "migrating").text = str(
        sum(1 for v in vms if getattr(v, "status", "") == "migrating")
    )
    sub(summary, "total").text = str(len(vms))
    th = sub(el, "transparent_hugepages")
    sub(th, "enabled").text = "true"
    sub(el, "type").text = h.host_type
    sub(el, "update_available").text = "false"
    v = sub(el, "version")
    sub(v, "build").text = "1"
    sub(v, "full_version").text = "vdsm-4.50.3.4-1.el8"
    sub(v, "major").text = "4"
    sub(v, "minor").text = "50"
    sub(v, "revision").text = "3"
    sub(el, "vgpu_placement").text = "consolidated"
    ctx.ref(el, "cluster", cl)
    return el


def _sub(
    ctx: Ctx,
    el: Element,
    h: Host,
    rel: str,
    plural: str,
    aliases: tuple[str, ...],
    items: Callable[[], list[Any]],
) -> None:
    """A sub-collection link; inlined when followed by its rel or its attribute name."""
    ctx.link(el, h, rel)
    name = _follows(ctx, rel, *aliases)
    if name is not None:
        coll = etree.SubElement(el, plural)
        inner = ctx.nested(name)
        for item in items():
            coll.append(item.render(inner))


# ---------------------------------------------------------------------- status machinery


def _set_status(
    reg: Registry, h: Host, new: str, correlation_id: str | None = None, detail: str | None = None
) -> None:
    old = h.status
    h.status = new
    h.status_detail = detail
    if old == new:
        return
    if new == "up" or old == "up":
        cl = cluster_of(reg, h)
        if cl is not None:
            from rhevsim.network import recompute_cluster_status

            recompute_cluster_status(reg, cl)
    for fn in list(_state(reg).listeners):
        fn(reg, h, old)
    dc = dc_of(reg, h)
    if dc is not None:
        elect(reg, dc, correlation_id)


def _new_flow(reg: Registry, h: Host, job: Job | None = None) -> int:
    """Start a new flow: pending steps of the old one do nothing, its job fails, its lock
    goes (the engine command was overtaken, e.g. the machine lost power while installing)."""
    h.gen += 1
    if h.flow_job is not None:
        _end(reg, h.flow_job, False)
    h.flow_job = job
    h.lock = None
    return h.gen


_FENCE_JOB = {"restart": "Restarting", "start": "Starting", "stop": "Stopping"}


def _cl_name(reg: Registry, h: Host, cluster: Cluster | None = None) -> str:
    cl = cluster or cluster_of(reg, h)
    return cl.name if cl else ""


def _end(reg: Registry, job: Job, succeeded: bool = True) -> None:
    if job.status == "started":
        reg.end_job(job, succeeded)


def _step(reg: Registry, h: Host, timing: str, fn: Callable[[], None], label: str = "") -> None:
    """Run fn after `timing` unless the host was removed or a newer flow started."""
    gen = h.gen

    def run() -> None:
        if reg.get(Host, h.id) is h and h.gen == gen:
            fn()

    reg.schedule(timing, run, label or f"{timing} {h.name}")


def _come_up(reg: Registry, h: Host, correlation_id: str | None) -> None:
    """Monitoring after VDSM answers: up, or non_operational when required networks miss."""
    if h.admin_maintenance:
        _set_status(reg, h, "maintenance", correlation_id)
        return
    missing = _missing_required(reg, h)
    cl = cluster_of(reg, h)
    if missing:
        _set_status(reg, h, "non_operational", correlation_id, "network_unreachable")
        reg.event(
            CODES["VDS_SET_NONOPERATIONAL_NETWORK"],
            f"Host {h.name} does not comply with the cluster {cl.name if cl else ''} networks, "
            f"the following networks are missing on host: '{','.join(missing)}'",
            "warning",
            correlation_id=correlation_id,
            user=None,
            host=h,
            cluster=cl,
        )
        return
    _set_status(reg, h, "up", correlation_id)
    reg.event(
        CODES["VDS_DETECTED"],
        f"Status of host {h.name} was set to Up.",
        correlation_id=correlation_id,
        user=None,
        host=h,
        cluster=cl,
    )


def _connect(reg: Registry, h: Host, correlation_id: str | None = None) -> None:
    """VDSM answers again: connecting -> (host.connect) -> up / maintenance."""
    _new_flow(reg, h)
    _set_status(reg, h, "connecting", correlation_id)

    def connected() -> None:
        if not _reachable(reg, h):
            _go_unresponsive(reg, h)
            return
        _come_up(reg, h, correlation_id)

    _step(reg, h, "host.connect", connected)


def _go_unresponsive(reg: Registry, h: Host, correlation_id: str | None = None) -> None:
    """VDSM stopped answering: connecting (grace) -> non_responsive."""
    if h.status in ("non_responsive", "pending_approval", "install_failed", "down"):
        return
    if h.status == "installing":
        # host-deploy loses its SSH session: the installation fails.
        _new_flow(reg, h)
        _set_status(reg, h, "install_failed", correlation_id)
        reg.event(
            CODES["VDS_INSTALL_FAILED"],
            f"Host {h.name} installation failed. Network error during communication with the host.",
            "error",
            correlation_id=correlation_id,
            user=None,
            host=h,
        )
        return
    _new_flow(reg, h)
    if h.status != "connecting":
        grace = int(reg.timing("host.non_responsive"))
        _set_status(reg, h, "connecting", correlation_id)
        reg.event(
            CODES["VDS_HOST_NOT_RESPONDING_CONNECTING"],
            f"Host {h.name} is not responding. It will stay in Connecting state for a grace "
            f"period of {grace} seconds and after that an attempt to fence the host will be "
            "issued.",
            "warning",
            user=None,
            host=h,
        )

    def lost() -> None:
        if _reachable(reg, h):
            _connect(reg, h)
            return
        _set_status(reg, h, "non_responsive", correlation_id)
        reg.event(
            CODES["VDS_FAILURE"], f"Host {h.name} is non responsive.", "error", user=None, host=h
        )

    _step(reg, h, "host.non_responsive", lost)


def _install(
    reg: Registry, h: Host, job: Job | None, activate: bool, approve: bool = False
) -> None:
    """installing --host.install--> initializing --host.initialize--> up (or maintenance)."""
    _new_flow(reg, h, job)
    h.admin_maintenance = False
    cid = job.correlation_id if job else None
    _set_status(reg, h, "installing", cid)
    h.lock = "install"
    reg.event(
        CODES["VDS_INSTALL_IN_PROGRESS"],
        f"Installing Host {h.name}. Stage: Initializing.",
        correlation_id=cid,
        host=h,
        cluster=cluster_of(reg, h),
    )

    def installed() -> None:
        h.lock = None
        if not _reachable(reg, h):
            _set_status(reg, h, "install_failed", cid)
            reg.event(
                CODES["VDS_INSTALL_FAILED"],
                f"Host {h.name} installation failed. Failed to connect to the host via SSH.",
                "error",
                correlation_id=cid,
                host=h,
            )
            if job:
                _end(reg, job, False)
            return
        _ensure_management(reg, h)
        reg.event(CODES["VDS_INSTALL"], f"Host {h.name} installed", correlation_id=cid, host=h)
        if approve:
            reg.event(
                CODES["VDS_APPROVE"],
                f"Host {h.name} was successfully approved by user {ENGINE_USER}.",
                correlation_id=cid,
                host=h,
            )
        if not activate:
            h.admin_maintenance = True
            _set_status(reg, h, "maintenance", cid)
            if job:
                _end(reg, job)
            return
        _set_status(reg, h, "initializing", cid)

        def initialized() -> None:
            if not _reachable(reg, h):
                _go_unresponsive(reg, h, cid)
            else:
                _come_up(reg, h, cid)
            if job:
                _end(reg, job, h.status == "up")

        _step(reg, h, "host.initialize", initialized)

    _step(reg, h, "host.install", installed)


def _ensure_management(reg: Registry, h: Host) -> None:
    """The management network on the first NIC with DHCP (host-deploy configures it)."""
    mgmt = _management_network(reg, cluster_of(reg, h))
    if mgmt is None or any(a.network_id == mgmt.id for a in h.attachments):
        return
    if not h.nics:
        h.nics.append(new_nic(reg, h.id, "eth0"))
    # Drop a stale management attachment of another data center (cluster moved).
    from rhevsim.network import Network

    for a in list(h.attachments):
        n = reg.get(Network, a.network_id)
        if n is None or h.cluster_id not in n.clusters:
            h.attachments.remove(a)
    address, netmask, gateway = _dhcp_lease(h.address)
    h.attachments.append(
        NetworkAttachment(
            id=reg.new_id(),
            host_id=h.id,
            network_id=mgmt.id,
            nic_name=h.nics[0].name,
            boot_protocol="dhcp",
            address=address,
            netmask=netmask,
            gateway=gateway,
        )
    )


def _dhcp_lease(address: str) -> tuple[str | None, str | None, str | None]:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return (None, None, None)
    net = ipaddress.IPv4Network(f"{ip}/24", strict=False)
    return (str(ip), "255.255.255.0", str(net.network_address + 1))


# ---------------------------------------------------------------------- SPM election


def _release(reg: Registry, dc: DataCenter) -> None:
    dc.spm_host_id = None
    dc.spm_status = "none"


def _candidates(reg: Registry, dc: DataCenter) -> list[Host]:
    st = _state(reg)
    pref = st.preferred.get(dc.id)
    ups = [
        h
        for h in hosts_in_dc(reg, dc.id)
        if h.status == "up" and h.spm_priority > -1 and _reachable(reg, h)
    ]
    return sorted(ups, key=lambda h: (h.id != pref, -h.spm_priority, h.name, h.id))


def _needs_spm(reg: Registry, dc: DataCenter) -> bool:
    from rhevsim.storagedomain import master_of

    master = master_of(reg, dc.id)
    return master is not None and master.dc_status not in (
        "maintenance",
        "preparing_for_maintenance",
        "detaching",
    )


def elect(reg: Registry, dc: DataCenter, correlation_id: str | None = None) -> None:
    """Bring the data center's SPM in line with its hosts and storage (idempotent)."""
    st = _state(reg)
    blocked_id = st.blocked.get(dc.id)
    if blocked_id is not None:
        blocked = reg.get(Host, blocked_id)
        if blocked is not None and dc_of(reg, blocked) is dc:
            if blocked.status == "up" and _reachable(reg, blocked):
                # It answers again: it still holds the SPM lease.
                del st.blocked[dc.id]
                dc.spm_host_id, dc.spm_status = blocked.id, "spm"
            else:
                dc.spm_host_id, dc.spm_status = blocked.id, "none"
            recompute_status(reg, dc, correlation_id)
            return
        del st.blocked[dc.id]
        _release(reg, dc)
    if not _needs_spm(reg, dc):
        st.searching.pop(dc.id, None)
        st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
        _release(reg, dc)
        recompute_status(reg, dc, correlation_id)
        return
    cur = reg.get(Host, dc.spm_host_id) if dc.spm_host_id else None
    if cur is not None and dc.spm_status in ("spm", "contending"):
        in_dc = dc_of(reg, cur) is dc
        if in_dc and cur.status == "up" and _reachable(reg, cur):
            pref = st.preferred.get(dc.id)
            if pref is None or pref == cur.id or dc.spm_status == "contending":
                recompute_status(reg, dc, correlation_id)
                return
            _release(reg, dc)  # forceselectspm: SpmStop on the current one
        elif in_dc and dc.spm_status == "spm" and not _reachable(reg, cur):
            st.blocked[dc.id] = cur.id
            dc.spm_status = "none"
            st.searching.pop(dc.id, None)
            reg.event(
                CODES["SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC"],
                f"Invalid status on Data Center {dc.name}. Setting status to Non Responsive.",
                "warning",
                correlation_id=correlation_id,
                user=None,
                data_center=dc,
            )
            recompute_status(reg, dc, correlation_id)
            return
        else:
            _release(reg, dc)
    elif cur is not None:
        _release(reg, dc)
    if dc.id in st.searching:
        recompute_status(reg, dc, correlation_id)
        return
    gen = st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
    st.searching[dc.id] = gen
    _release(reg, dc)
    recompute_status(reg, dc, correlation_id)

    def pick() -> None:
        if st.searching.get(dc.id) != gen or reg.get(DataCenter, dc.id) is not dc:
            return
        del st.searching[dc.id]
        if dc.spm_host_id is not None or not _needs_spm(reg, dc):
            return  # someone holds the role already, or the storage went away
        cands = _candidates(reg, dc)
        if not cands:
            # Nobody can be SPM (no Up host with priority > -1): stay problematic until a
            # host comes up (its status change re-runs the election).
            recompute_status(reg, dc, correlation_id)
            return
        h = cands[0]
        dc.spm_host_id, dc.spm_status = h.id, "contending"
        recompute_status(reg, dc, correlation_id)

        def started() -> None:
            if st.gen.get(dc.id) != gen or dc.spm_host_id != h.id:
                return
            if h.status != "up" or not _reachable(reg, h) or dc_of(reg, h) is not dc:
                _release(reg, dc)
                elect(reg, dc, correlation_id)
                return
            dc.spm_status = "spm"
            if st.preferred.get(dc.id) == h.id:
                del st.preferred[dc.id]
            reg.event(
                CODES["IRS_HOSTED_ON_VDS"],
                f"Storage Pool Manager runs on Host {h.name} (Address: {h.address}), Data "
                f"Center {dc.name}.",
                correlation_id=correlation_id,
                user=None,
                host=h,
                data_center=dc,
            )
            recompute_status(reg, dc, correlation_id)

        reg.schedule("spm.start", started, f"spm start {h.name}")

    reg.schedule("spm.elect", pick, f"spm elect {dc.name}")


def _elect_now(reg: Registry, dc: DataCenter) -> None:
    """Inventory load: pick the SPM at once (an engine that has been running)."""
    st = _state(reg)
    st.searching.pop(dc.id, None)  # a search started while storage loaded is moot now
    st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
    if not _needs_spm(reg, dc):
        return
    cands = _candidates(reg, dc)
    if cands:
        dc.spm_host_id, dc.spm_status = cands[0].id, "spm"
    recompute_status(reg, dc)


def _fenced(reg: Registry, h: Host, correlation_id: str | None) -> None:
    """The host is known to be down (restart/stop/manual fence): release its SPM role."""
    st = _state(reg)
    dc = dc_of(reg, h)
    if dc is None:
        return
    if st.blocked.get(dc.id) == h.id:
        del st.blocked[dc.id]
        _release(reg, dc)
    elif dc.spm_host_id == h.id:
        _release(reg, dc)
    elect(reg, dc, correlation_id)


def _dc_listener(reg: Registry, dc: Entity) -> None:
    if isinstance(dc, DataCenter):
        elect(reg, dc)


# ---------------------------------------------------------------------- machines


def _machine_power(reg: Registry, m: Machine) -> None:
    h = next((x for x in reg.all(Host) if x.machine == m.name), None)
    if not m.powered_on:
        if h is not None:
            if h.status in ("maintenance",) and h.lock is None:
                h.admin_maintenance = True
            _go_unresponsive(reg, h)
        return
    if m.boot_device == "network":
        _network_boot(reg, m, h)
    elif h is not None and h.status in ("non_responsive", "connecting", "reboot", "down"):
        if h.status == "down":
            _set_status(reg, h, "reboot")
        _new_flow(reg, h)
        _step(reg, h, "host.boot", lambda: _connect(reg, h) if _reachable(reg, h) else None)
    elif h is not None and h.status == "maintenance":
        pass  # stays in maintenance; it answers again


def _network_boot(reg: Registry, m: Machine, h: Host | None) -> None:
    """PXE: the machine installs RHEV-H and registers itself (pending_approval)."""

    def registered() -> None:
        if not m.powered_on:
            return
        host = next((x for x in reg.all(Host) if x.machine == m.name), None)
        if host is None:
            host = new_host(reg, m.name, m.address or m.name, _default_cluster(reg), machine=m)
            host.host_type = "rhev_h"
            reg.event(
                CODES["VDS_DETECTED"],
                f"Status of host {host.name} was set to PendingApproval.",
                user=None,
                host=host,
            )
            host.status = "pending_approval"
        else:
            _new_flow(reg, host)
            host.admin_maintenance = False
            _set_status(reg, host, "pending_approval")
        # A freshly installed node is on the disk now: the next boot is from disk.
        m.boot_device = "disk"

    if h is not None:
        _new_flow(reg, h)
    reg.schedule("host.register", registered, f"register {m.name}")


def _default_cluster(reg: Registry) -> Cluster | None:
    return reg.by_name(Cluster, "Default") or next(iter(reg.all(Cluster)), None)


def _host_fail(reg: Registry, name: str) -> bool:
    h = reg.by_name(Host, name)
    if h is None:
        return False
    h.failed = True
    _go_unresponsive(reg, h)
    return True


def _host_heal(reg: Registry, name: str) -> bool:
    h = reg.by_name(Host, name)
    if h is None:
        return False
    h.failed = False
    if h.status in ("connecting", "non_responsive") and _powered(reg, h):
        _connect(reg, h)
    return True


def _set_power(reg: Registry, h: Host, on: bool) -> None:
    m = machine_of(reg, h)
    if m is None:
        h.virtual_power = on
        return
    if m.powered_on != on:
        m.powered_on = on
        if on:
            m.boot_device = "disk" if m.boot_device == "network" else m.boot_device


# ---------------------------------------------------------------------- creation


def new_host(
    reg: Registry,
    name: str,
    address: str,
    cluster: Cluster | None,
    *,
    machine: Machine | None = None,
    nics: list[dict[str, str]] | None = None,
    ident: str | None = None,
    correlation_id: str | None = None,
    event: bool = True,
) -> Host:
    h = reg.add(
        Host(
            id=ident or reg.new_id(),
            name=name,
            address=address,
            cluster_id=cluster.id if cluster else None,
            machine=machine.name if machine else None,
        )
    )
    specs = nics if nics is not None else (machine.nics if machine else [])
    for spec in specs or [{"name": "eth0"}]:
        h.nics.append(new_nic(reg, h.id, str(spec["name"]), spec.get("mac")))
    if event:
        reg.event(
            CODES["USER_ADD_VDS"],
            f"Host {name} was added by {ENGINE_USER}.",
            correlation_id=correlation_id,
            host=h,
            cluster=cluster,
        )
    return h


_HOSTNAME = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _check_name(reg: Registry, name: str, action: str, exclude: str | None = None) -> None:
    if not name:
        raise errors.bad_request(f"Can not {action} Host. The given name is empty.")
    if len(name) > 255:
        raise errors.bad_request(f"Cannot {action} Host. The given name is too long.")
    if any(h.name == name and h.id != exclude for h in reg.all(Host)):
        raise errors.conflict(
            f"Cannot {action} Host. The Host name is already in use, please choose a unique "
            "name and try again."
        )


def _check_address(reg: Registry, address: str, action: str, exclude: str | None = None) -> None:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not _HOSTNAME.match(address):
            raise errors.bad_request(
                f"Can not {action} Host. The given Host name is invalid. Only Host names "
                "corresponding to RFC-952 and RFC-1123 are allowed."
            ) from None
    if any(h.address == address and h.id != exclude for h in reg.all(Host)):
        raise errors.conflict(f"Cannot {action} Host. Host with the same address already exists.")


# ---------------------------------------------------------------------- handlers: CRUD


def _list(req: Request) -> Response:
    return list_response(req, req.reg.all(Host), "hosts")


def _get(req: Request) -> Response:
    return xml_response(get_or_404(req, Host).render(req.ctx))


def _cluster_from(req: Request, el: Element | None) -> Cluster | None:
    return ref_from_body(req, Cluster, el)


def _add(req: Request) -> Response:
    reg = req.reg
    body = req.body
    require(body, "Host", "add", "name", "address")
    name = text(body, "name") or ""
    address = text(body, "address") or ""
    _check_name(reg, name, "add")
    _check_address(reg, address, "add")
    cluster = _cluster_from(req, body.find("cluster") if body is not None else None)
    if cluster is None:
        cluster = reg.by_name(Cluster, "Default")
        if cluster is None:
            raise errors.entity_not_found("Cluster", "name", "Default")
    pw = text(body, "root_password")
    ssh_key = has(body, "ssh/authentication_method") and (
        (text(body, "ssh/authentication_method") or "").lower() == "publickey"
    )
    if not pw and not ssh_key:
        raise errors.bad_request("Cannot install Host with empty password.")
    dc = reg.get(DataCenter, cluster.data_center_id) if cluster.data_center_id else None
    if (
        dc is not None
        and dc.local
        and any(
            h.cluster_id in {c.id for c in reg.all(Cluster) if c.data_center_id == dc.id}
            for h in reg.all(Host)
        )
    ):
        raise errors.conflict('Cannot add more than one Host to "Local Storage" Data Center')
    spm_priority = _spm_priority(body, "add")
    activate = req.query_bool("activate", True)
    job = reg.start_job(f"Adding new Host {name} to Cluster {cluster.name}", req.correlation_id)
    machine = _find_machine(reg, name, address)
    h = new_host(reg, name, address, cluster, machine=machine, correlation_id=job.correlation_id)
    h.description = text(body, "description")
    h.comment = text(body, "comment")
    port = integer(body, "port")
    if port:
        h.port = port
    if spm_priority is not None:
        h.spm_priority = spm_priority
    _apply_pm(req, h, body, "add")
    _install(reg, h, job, activate)
    return created(req, h)


def _spm_priority(body: Element | None, action: str) -> int | None:
    p = integer(body, "spm/priority")
    if p is None:
        return None
    if not -1 <= p <= 10:
        raise errors.bad_request(
            f"Cannot {action} Host. spm.priority must be between -1 (never) and 10, not {p}."
        )
    return p


def _apply_pm(req: Request, h: Host, body: Element | None, action: str) -> None:
    pm = body.find("power_management") if body is not None else None
    if pm is None:
        return
    enabled = boolean(pm, "enabled")
    agents_el = pm.find("agents")
    if agents_el is not None and len(agents_el):
        from rhevsim.fenceagent import apply_agent_body

        h.agents.clear()
        for i, a_el in enumerate(agents_el.findall("agent")):
            agent = FenceAgent(id=req.reg.new_id(), host_id=h.id, order=i + 1)
            apply_agent_body(agent, a_el, action)
            h.agents.append(agent)
    elif text(pm, "address"):
        # v3 style: <power_management><address/><type/><username/><password/>.
        agent = FenceAgent(id=req.reg.new_id(), host_id=h.id, order=1)
        from rhevsim.fenceagent import apply_agent_body

        apply_agent_body(agent, pm, action)
        h.agents[:] = [agent]
    if enabled and not h.agents:
        raise errors.bad_request(
            f"Cannot {action} Host. Power Management is enabled for Host but no Agent type "
            "selected."
        )
    if enabled is not None:
        h.pm_enabled = enabled
    for attr, path in (("pm_automatic", "automatic_pm_enabled"), ("pm_kdump", "kdump_detection")):
        v = boolean(pm, path)
        if v is not None:
            setattr(h, attr, v)


def _update(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    body = req.body
    reg.check_unlocked(h, "edit")
    name = text(body, "name")
    if name is not None and name != h.name:
        _check_name(reg, name, "edit", h.id)
    address = text(body, "address")
    if address is not None and address != h.address:
        if h.status not in ("maintenance", "pending_approval", "install_failed", "non_responsive"):
            raise errors.bad_request(
                "Host Address can not be modified due to Security restrictions.  In order to "
                "change Host Address, Host has to be reinstalled"
            )
        _check_address(reg, address, "edit", h.id)
    cluster = _cluster_from(req, body.find("cluster") if body is not None else None)
    moving = cluster is not None and cluster.id != h.cluster_id
    if moving and h.status not in ("maintenance", "pending_approval", "install_failed"):
        raise errors.conflict(
            "Cannot edit Host. Host parameters cannot be modified while Host is operational.\n"
            "Please switch Host to Maintenance mode first."
        )
    prio = _spm_priority(body, "edit")
    job = reg.start_job(f"Updating Host {h.name} properties", req.correlation_id)
    if moving and cluster is not None:
        _move_to_cluster(reg, h, cluster)
    if name is not None:
        h.name = name
    if address is not None:
        h.address = address
    if has(body, "description"):
        h.description = text(body, "description") or ""
    if has(body, "comment"):
        h.comment = text(body, "comment") or ""
    port = integer(body, "port")
    if port:
        h.port = port
    _apply_pm(req, h, body, "edit")
    if prio is not None and prio != h.spm_priority:
        h.spm_priority = prio
        dc = dc_of(reg, h)
        if dc is not None:
            elect(reg, dc, job.correlation_id)
    reg.event(
        CODES["USER_UPDATE_VDS"],
        f"Host {h.name} configuration was updated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        host=h,
    )
    _end(reg, job)
    return xml_response(h.render(req.ctx))


def _move_to_cluster(reg: Registry, h: Host, cluster: Cluster) -> None:
    """ChangeVDSCluster: networks not in the new cluster go; the management one is remapped."""
    old_dc = dc_of(reg, h)
    h.cluster_id = cluster.id
    from rhevsim.network import Network

    mgmt = _management_network(reg, cluster)
    keep: list[NetworkAttachment] = []
    for a in h.attachments:
        net = reg.get(Network, a.network_id)
        if net is not None and cluster.id in net.clusters:
            keep.append(a)
        elif net is not None and mgmt is not None and net.name == mgmt.name:
            a.network_id = mgmt.id
            keep.append(a)
    h.attachments[:] = keep
    if old_dc is not None and old_dc is not dc_of(reg, h):
        elect(reg, old_dc)


def _remove(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "remove")
    req.query_bool("force")  # accepted (gluster only in the engine)
    if h.status not in REMOVABLE:
        raise errors.conflict(
            "Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first."
        )
    if _vms_on(reg, h):
        raise errors.conflict("Cannot remove Host. One or more VMs are still running on this Host.")
    job = reg.start_job(
        f"Removing Host {h.name} from Cluster {_cl_name(reg, h)}", req.correlation_id
    )
    _new_flow(reg, h)
    dc = dc_of(reg, h)
    reg.remove(h)
    if dc is not None:
        st = _state(reg)
        if st.blocked.get(dc.id) == h.id or dc.spm_host_id == h.id:
            st.blocked.pop(dc.id, None)
            _release(reg, dc)
        elect(reg, dc, job.correlation_id)
    reg.event(
        CODES["USER_REMOVE_VDS"],
        f"Host {h.name} was removed by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        host=h,
    )
    _end(reg, job)
    return delete_complete(req)


# ---------------------------------------------------------------------- handlers: actions


def _approve(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "approve")
    if h.status not in ("pending_approval", "install_failed", "installing_os"):
        raise errors.conflict(
            'Cannot approve RHVH Host.\n-Host must be in "Pending Approval" or "Install Failed" '
            "status in order to be approved."
        )
    body = req.body
    cluster = _cluster_from(req, body.find("cluster") if body is not None else None)
    if cluster is None and body is not None:
        cluster = _cluster_from(req, body.find("host/cluster"))
    activate = boolean(body, "activate")
    job = reg.start_job(
        f"Adding new Host {h.name} (Approve process) to Cluster {_cl_name(reg, h, cluster)}",
        req.correlation_id,
    )
    if cluster is not None and cluster.id != h.cluster_id:
        _move_to_cluster(reg, h, cluster)
    _install(reg, h, job, activate is not False, approve=True)
    return action_complete(req, job)


def _install_action(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "install")
    if h.status not in ("maintenance", "install_failed", "non_operational", "pending_approval"):
        raise errors.conflict("Cannot install Host. Please move Host to Maintenance mode first.")
    body = req.body
    activate = boolean(body, "activate")
    job = reg.start_job(f"Installing Host {h.name}", req.correlation_id)
    _install(reg, h, job, activate is not False)
    return action_complete(req, job)


def _activate(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "activate")
    if h.status == "up":
        raise errors.conflict("Cannot activate Host. Host in Up status.")
    if h.status == "non_responsive":
        raise errors.conflict("Cannot activate Host. Host is in non responsive state.")
    if h.status not in ("maintenance", "non_operational", "error", "down", "unassigned"):
        raise errors.status_illegal("activate", "Host", "Maintenance")
    job = reg.start_job(f"Invoking Activate Host {h.name}", req.correlation_id)
    _new_flow(reg, h, job)
    h.admin_maintenance = False
    _set_status(reg, h, "unassigned", job.correlation_id)
    reg.event(
        CODES["VDS_ACTIVATE"],
        f"Activation of host {h.name} initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        host=h,
    )

    def activated() -> None:
        if _reachable(reg, h):
            _come_up(reg, h, job.correlation_id)
        else:
            _go_unresponsive(reg, h, job.correlation_id)
        _end(reg, job, h.status == "up")

    _step(reg, h, "host.activate", activated)
    return action_complete(req, job)


def _deactivate(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "maintenance")
    st = _state(reg)
    dc = dc_of(reg, h)
    if h.status == "maintenance":
        raise errors.conflict(
            "Cannot switch Host to Maintenance mode. Host is already in Maintenance mode."
        )
    if dc is not None and dc.spm_host_id == h.id:
        if dc.spm_status == "contending":
            raise errors.conflict(
                "Cannot switch Host to Maintenance mode. Host is contending for Storage Pool "
                "Manager,\nwait for operation to complete and retry."
            )
        if st.blocked.get(dc.id) == h.id:
            raise errors.conflict(
                "Cannot switch Host to Maintenance mode.\nHost is Storage Pool Manager and is "
                "in Non Responsive state.\n- If power management is configured, engine will "
                "try to fence the host automatically.\n- Otherwise, either bring the node back "
                "up, or release the SPM resource."
            )
    if h.status in ("installing", "initializing", "preparing_for_maintenance"):
        raise errors.locked("maintenance", "Host")
    reason = text(req.body, "reason")
    job = reg.start_job(f"Moving Host(s) {h.name} to Maintenance", req.correlation_id)
    _new_flow(reg, h, job)
    h.admin_maintenance = True
    cid = job.correlation_id

    def done() -> None:
        _set_status(reg, h, "maintenance", cid)
        reg.event(
            CODES["VDS_MAINTENANCE"],
            f"Host {h.name} was switched to Maintenance Mode.",
            correlation_id=cid,
            user=None,
            host=h,
        )
        _end(reg, job)

    if reason:
        reg.event(
            CODES["USER_VDS_MAINTENANCE"],
            f"Host {h.name} was switched to Maintenance mode by {ENGINE_USER} (Reason: {reason}).",
            correlation_id=cid,
            host=h,
        )
    else:
        reg.event(
            CODES["USER_VDS_MAINTENANCE_WITHOUT_REASON"],
            f"Host {h.name} was switched to Maintenance mode by {ENGINE_USER}.",
            correlation_id=cid,
            host=h,
        )
    if h.status in NOT_ANSWERING or h.status in ("pending_approval", "install_failed"):
        done()
    else:
        # SPM is passed on (the host is no longer Up) while VMs migrate away.
        _set_status(reg, h, "preparing_for_maintenance", cid)
        _step(reg, h, "host.maintenance", done)
    return action_complete(req, job)


def _fence(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    body = req.body
    ftype = text(body, "fence_type")
    if not ftype:
        raise errors.incomplete("Action", ["fenceType"], "fence")
    ftype = ftype.lower()
    if ftype not in FENCE_TYPES:
        raise errors.invalid_value(ftype.upper(), "FenceType")
    if ftype == "manual":
        return _fence_manual(req, h)
    if ftype == "status":
        return _fence_status(req, h)
    action = {"restart": "restart", "start": "start", "stop": "stop"}[ftype]
    if not h.pm_enabled or not h.agents:
        raise errors.conflict("Cannot fence Host, Host fence is disabled.")
    if ftype == "stop" and h.status != "maintenance":
        raise errors.conflict(
            "Cannot perform Stop operation, Host has to be in Maintenance mode in order to be "
            "stopped."
        )
    if ftype == "start" and h.status not in ("down", "non_responsive", "reboot", "maintenance"):
        raise errors.conflict(
            "Cannot perform Start operation, Host has to be in one of the following statuses: "
            "Down ,Non Responsive or Maintenance."
        )
    if not _agent_works(reg, h):
        raise errors.conflict(f"Cannot {action} Host. Fence operation failed.")
    maint_after = boolean(body, "maintenance_after_restart") is True
    job = reg.start_job(
        f"{_FENCE_JOB[ftype]} Host {h.name} (Fencing) on Cluster {_cl_name(reg, h)}",
        req.correlation_id,
    )
    cid = job.correlation_id
    code, verb = {
        "restart": ("USER_VDS_RESTART", "restarted"),
        "start": ("USER_VDS_START", "started"),
        "stop": ("USER_VDS_STOP", "stopped"),
    }[ftype]
    _new_flow(reg, h, job)
    if ftype == "stop":
        _set_power(reg, h, False)
        _set_status(reg, h, "down", cid)
        _fenced(reg, h, cid)
        reg.event(
            CODES[code], f"Host {h.name} was {verb} by {ENGINE_USER}.", correlation_id=cid, host=h
        )
        _end(reg, job)
        return action_complete(req, job)
    if ftype == "restart":
        was_maint = h.status == "maintenance" or maint_after
        _set_power(reg, h, False)
        _set_status(reg, h, "reboot", cid)
        _fenced(reg, h, cid)  # RestartVds runs FenceVdsManualy: SPM released, VMs down
        h.admin_maintenance = was_maint
    else:
        if h.status == "maintenance":
            h.admin_maintenance = True
        else:
            # StartVds from down/non_responsive: Reboot, then monitoring brings it Up.
            h.admin_maintenance = False
            _set_status(reg, h, "reboot", cid)

    def powered_on() -> None:
        _set_power(reg, h, True)
        reg.event(
            CODES[code], f"Host {h.name} was {verb} by {ENGINE_USER}.", correlation_id=cid, host=h
        )
        _end(reg, job)

        def booted() -> None:
            if not _reachable(reg, h):
                return
            if h.status == "maintenance":
                return
            _connect(reg, h, cid)

        _step(reg, h, "host.boot", booted)

    _step(reg, h, "host.fence", powered_on)
    return action_complete(req, job)


def _agent_works(reg: Registry, h: Host) -> bool:
    """Some agent (in order) reaches the machine's BMC with the right credentials."""
    m = machine_of(reg, h)
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


def _fence_status(req: Request, h: Host) -> Response:
    reg = req.reg
    job = reg.start_job(f"Getting power status of Host {h.name}", req.correlation_id)
    act = etree.Element("action")
    if not h.agents or not _agent_works(reg, h):
        _end(reg, job, False)
        reg.event(
            CODES["VDS_ALERT_FENCE_IS_NOT_CONFIGURED"]
            if not h.agents
            else CODES["VDS_FENCE_STATUS_FAILED"],
            f"Failed to verify Host {h.name} power management.",
            "alert" if not h.agents else "error",
            correlation_id=job.correlation_id,
            host=h,
        )
        fault = etree.SubElement(act, "fault")
        etree.SubElement(fault, "reason").text = (
            "Power Management is not configured for this Host"
            if not h.agents
            else "Failed to get Host power status: the fence agent could not log in"
        )
        pm = etree.SubElement(act, "power_management")
        etree.SubElement(pm, "status").text = "unknown"
        etree.SubElement(act, "status").text = "failed"
        return xml_response(act)
    pm = etree.SubElement(act, "power_management")
    etree.SubElement(pm, "status").text = "on" if _powered(reg, h) else "off"
    req.ctx.ref(act, "host", h)
    reg.event(
        CODES["VDS_FENCE_STATUS"],
        f"Host {h.name} power management was verified successfully.",
        correlation_id=job.correlation_id,
        host=h,
    )
    _end(reg, job)
    req.ctx.ref(act, "job", job)
    etree.SubElement(act, "status").text = "complete"
    return xml_response(act)


def _fence_manual(req: Request, h: Host) -> Response:
    reg = req.reg
    if h.status not in MANUAL_FENCE_OK:
        raise errors.conflict(
            "Cannot confirm 'Host has been rebooted' Host. Valid Host statuses are \"Non "
            'operational", "Maintenance" or "Connecting".'
        )
    job = reg.start_job(f"Fencing Host {h.name} manually", req.correlation_id)
    reg.event(
        CODES["VDS_MANUAL_FENCE_STATUS"],
        f"Manual fence for host {h.name} was started.",
        correlation_id=job.correlation_id,
        host=h,
    )
    for fn in list(_state(reg).listeners):
        fn(reg, h, "fenced")  # VMs of the host go down (ClearNonResponsiveVdsVms)
    _fenced(reg, h, job.correlation_id)
    _end(reg, job)
    return action_complete(req, job)


def _force_select_spm(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    dc = dc_of(reg, h)
    if h.status != "up":
        raise errors.conflict(f"Cannot force select SPM. The Host {h.name} is not active.")
    if dc is None:
        raise errors.conflict("Cannot force select SPM. The Host is not a part of a Storage Pool.")
    if dc.spm_host_id == h.id and dc.spm_status in ("spm", "contending"):
        raise errors.conflict(
            f"Cannot force select SPM. The Host {h.name} is already SPM or contending."
        )
    if h.spm_priority == -1:
        raise errors.bad_request(
            f"Cannot force select SPM. The SPM priority of Host {h.name} is set to 'never'. "
            "This Host cannot be elected as SPM."
        )
    job = reg.start_job(
        f"Force selecting {h.name} as SPM for Data Center {dc.name}", req.correlation_id
    )
    _state(reg).preferred[dc.id] = h.id
    reg.event(
        CODES["USER_FORCE_SELECTED_SPM"],
        f"Host {h.name} was force selected by {ENGINE_USER}",
        correlation_id=job.correlation_id,
        host=h,
        data_center=dc,
    )
    elect(reg, dc, job.correlation_id)
    _end(reg, job)
    return action_complete(req, job)


def _refresh(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    job = reg.start_job(f"Refreshing Host {h.name} capabilities", req.correlation_id)
    if _reachable(reg, h):
        reg.event(
            CODES["HOST_REFRESHED_CAPABILITIES"],
            f"Successfully refreshed the capabilities of host {h.name}.",
            correlation_id=job.correlation_id,
            host=h,
        )
    _end(reg, job, _reachable(reg, h))
    return action_complete(req, job)


def _commit_net(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    job = reg.start_job(
        f"Applying saved network configuration to Host {h.name}", req.correlation_id
    )
    h.net_uncommitted = False
    reg.event(
        CODES["NETWORK_COMMINT_NETWORK_CHANGES"],
        f"Network changes were saved on host {h.name}",
        correlation_id=job.correlation_id,
        host=h,
    )
    _end(reg, job)
    return action_complete(req, job)


def setup_networks(req: Request, h: Host, body: Element | None, single: bool = False) -> Job:
    """HostSetupNetworks: validate the whole resulting configuration, then apply it."""
    from rhevsim.hostnic import parse_changes, validate_result

    reg = req.reg
    reg.check_unlocked(h, "setup", "Networks")
    if h.status != "maintenance":
        # Our contract (issue 3): only in maintenance. A real 4.5 engine also accepts
        # Up and NonOperational hosts.
        raise errors.conflict(
            "Cannot setup Networks. Operation can be performed only when Host status is "
            "Maintenance."
        )
    changes, removed, synced = parse_changes(reg, h, body)
    result: list[NetworkAttachment] = [a for a in h.attachments if a not in removed]
    planned: list[tuple[NetworkAttachment | None, Any]] = []
    for c in changes:
        existing = next((a for a in result if a.id == c.ident), None) if c.ident else None
        if existing is None:
            existing = next((a for a in result if a.network_id == c.network.id), None)
            if existing is not None and single:
                raise (
                    errors.conflict(
                        f"Cannot setup Networks. The following Logical Networks are attached to "
                        f"more than one Network Interface: {c.network.name}."
                    )
                    if existing.nic_name != c.nic_name
                    else errors.conflict(
                        f"Cannot add Network Attachment. Network {c.network.name} is already "
                        f"attached to Network Interface {existing.nic_name}."
                    )
                )
        planned.append((existing, c))
    # Build the resulting list without touching the host yet.
    preview: list[NetworkAttachment] = []
    replaced = {id(e) for e, _ in planned if e is not None}
    for a in result:
        if id(a) not in replaced:
            preview.append(a)
    for existing, c in planned:
        preview.append(
            NetworkAttachment(
                id=existing.id if existing else "new",
                host_id=h.id,
                network_id=c.network.id,
                nic_name=c.nic_name,
            )
        )
    validate_result(reg, h, preview, [c.network for c in changes])
    job = reg.start_job(f"Configuring networks on host {h.name}", req.correlation_id)
    for a in removed:
        h.attachments.remove(a)
    for existing, c in planned:
        att = existing
        if att is None:
            att = NetworkAttachment(
                id=reg.new_id(), host_id=h.id, network_id=c.network.id, nic_name=c.nic_name
            )
            h.attachments.append(att)
        att.network_id = c.network.id
        att.nic_name = c.nic_name
        if c.boot_protocol is not None:
            att.boot_protocol = c.boot_protocol
            if c.boot_protocol == "static":
                att.address, att.netmask, att.gateway = c.address, c.netmask, c.gateway
            elif c.boot_protocol == "dhcp" and att.address is None:
                att.address, att.netmask, att.gateway = _dhcp_lease(h.address)
            elif c.boot_protocol == "none":
                att.address = att.netmask = att.gateway = None
        if c.properties is not None:
            att.properties = c.properties
        att.in_sync = True
    for a in synced:
        a.in_sync = True
    commit = boolean(body, "commit_on_success")
    h.net_uncommitted = commit is not True
    reg.event(
        CODES["PERSIST_SETUP_NETWORK_ON_HOST_FINISHED"],
        f"(1/1): Successfully applied changes on host {h.name}. (User: {ENGINE_USER})",
        correlation_id=job.correlation_id,
        host=h,
    )
    if commit:
        reg.event(
            CODES["NETWORK_COMMINT_NETWORK_CHANGES"],
            f"Network changes were saved on host {h.name}",
            correlation_id=job.correlation_id,
            host=h,
        )
    cl = cluster_of(reg, h)
    if cl is not None:
        from rhevsim.network import recompute_cluster_status

        recompute_cluster_status(reg, cl)
    _end(reg, job)
    return job


def _setup_networks(req: Request) -> Response:
    h = get_or_404(req, Host)
    job = setup_networks(req, h, req.body)
    if req.expect_202():
        act = etree.Element("action")
        req.ctx.ref(act, "job", job)
        etree.SubElement(act, "status").text = "in_progress"
        return xml_response(act, 202)
    return action_complete(req, job)


def _sync_all_networks(req: Request) -> Response:
    """SyncAllHostNetworks: a persistent setupnetworks of the out-of-sync attachments only;
    with none out of sync the engine does nothing."""
    h = get_or_404(req, Host)
    stale = [a for a in h.attachments if not a.in_sync]
    if not stale:
        job = req.reg.start_job(f"Synchronizing all networks of Host {h.name}", req.correlation_id)
        _end(req.reg, job)
        return action_complete(req, job)
    body = etree.Element("action")
    wrap = etree.SubElement(body, "synchronized_network_attachments")
    for a in stale:
        etree.SubElement(wrap, "network_attachment", id=a.id)
    etree.SubElement(body, "commit_on_success").text = "true"
    return action_complete(req, setup_networks(req, h, body))


def _noop(verb: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        h = get_or_404(req, Host)
        job = req.reg.start_job(f"{verb} on Host {h.name}", req.correlation_id)
        _end(req.reg, job)
        return action_complete(req, job)

    return handler


def _empty(plural: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        get_or_404(req, Host)
        return xml_response(etree.Element(plural))

    return handler


def register(api: Api) -> None:
    api.route("GET", "/hosts", _list)
    api.route("POST", "/hosts", _add)
    api.route("GET", "/hosts/{id}", _get)
    api.route("PUT", "/hosts/{id}", _update)
    api.route("DELETE", "/hosts/{id}", _remove)
    api.action("/hosts/{id}", "approve", _approve)
    api.action("/hosts/{id}", "install", _install_action)
    api.action("/hosts/{id}", "activate", _activate)
    api.action("/hosts/{id}", "deactivate", _deactivate)
    api.action("/hosts/{id}", "fence", _fence)
    api.action("/hosts/{id}", "forceselectspm", _force_select_spm)
    api.action("/hosts/{id}", "refresh", _refresh)
    api.action("/hosts/{id}", "commitnetconfig", _commit_net)
    api.action("/hosts/{id}", "setupnetworks", _setup_networks)
    api.action("/hosts/{id}", "syncallnetworks", _sync_all_networks)
    for verb in ("enrollcertificate", "upgradecheck"):
        api.action("/hosts/{id}", verb, _noop(verb))
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
        api.route("GET", f"/hosts/{{id}}/{path}", _empty(plural))
    from rhevsim import fenceagent, hostnic

    hostnic.register(api)
    fenceagent.register(api)


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)
    reg.hooks.dc_status_listeners.append(_dc_listener)
    reg.hooks.host_fail = _host_fail
    reg.hooks.host_heal = _host_heal
    reg.hooks.machine_power.append(_machine_power)
    reg.hooks.host_has_network = _has_network
    reg.hooks.active_hosts = lambda r, dc_id: list(
        h for h in hosts_in_dc(r, dc_id) if h.status == "up"
    )


# ---------------------------------------------------------------------- inventory


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    from rhevsim.inventory import InventoryError, find
    from rhevsim.network import Network

    for i, e in enumerate(find(inv, "hosts")):
        where = f"hosts[{i}]"
        name = str(e["name"])
        if reg.by_name(Host, name) is not None:
            raise InventoryError(f"{where}.name: duplicate host name {name!r}")
        cl_name = str(e.get("cluster", "Default"))
        cluster = reg.by_name(Cluster, cl_name)
        if cluster is None:
            raise InventoryError(f"{where}.cluster: no cluster named {cl_name!r}")
        status = str(e.get("status", "up"))
        if status not in HOST_STATUSES:
            raise InventoryError(f"{where}.status: {status!r} is not one of {HOST_STATUSES}")
        mname = e.get("machine")
        machine = reg.machines.get(str(mname)) if mname else None
        if mname and machine is None:
            raise InventoryError(f"{where}.machine: no machine named {mname!r}")
        if machine is None:
            machine = _find_machine(reg, name, str(e.get("address", "")))
        address = str(e.get("address") or (machine.address if machine else "") or name)
        nics = e.get("nics")
        if nics is not None and (
            not isinstance(nics, list) or not all(isinstance(n, dict) and "name" in n for n in nics)
        ):
            raise InventoryError(f"{where}.nics: expected a list of {{name, mac}}")
        htype = str(e.get("type", "rhel"))
        if htype not in HOST_TYPES:
            raise InventoryError(f"{where}.type: {htype!r} is not one of {HOST_TYPES}")
        prio = e.get("spm_priority", 5)
        if not isinstance(prio, int) or not -1 <= prio <= 10:
            raise InventoryError(f"{where}.spm_priority: expected an integer -1..10")
        h = new_host(
            reg,
            name,
            address,
            cluster,
            machine=machine,
            nics=[{str(k): str(v) for k, v in n.items()} for n in nics] if nics else None,
            ident=e.get("id"),
            event=False,
        )
        h.host_type = htype
        h.spm_priority = prio
        h.description = e.get("description")
        h.comment = e.get("comment")
        if "memory_gib" in e:
            h.memory = int(e["memory_gib"]) * GiB
        cpu = e.get("cpu") or {}
        if not isinstance(cpu, dict):
            raise InventoryError(f"{where}.cpu: expected {{sockets, cores, threads}}")
        h.cpu_sockets = int(cpu.get("sockets", h.cpu_sockets))
        h.cpu_cores = int(cpu.get("cores", h.cpu_cores))
        h.cpu_threads = int(cpu.get("threads", h.cpu_threads))
        h.status = status
        h.admin_maintenance = status == "maintenance"
        if status not in ("pending_approval", "install_failed", "installing_os"):
            _ensure_management(reg, h)
        for j, n in enumerate(e.get("networks") or []):
            w = f"{where}.networks[{j}]"
            if not isinstance(n, dict) or "network" not in n:
                raise InventoryError(f"{w}: expected {{network, nic, boot_protocol, ip, ...}}")
            net = next(
                (
                    x
                    for x in reg.all(Network)
                    if x.name == n["network"] and x.data_center_id == cluster.data_center_id
                ),
                None,
            )
            if net is None:
                raise InventoryError(f"{w}.network: no network {n['network']!r} in the host's DC")
            nic = str(n.get("nic", h.nics[0].name))
            if not any(x.name == nic for x in h.nics):
                raise InventoryError(f"{w}.nic: the host has no NIC {nic!r}")
            bp = str(n.get("boot_protocol", "static" if n.get("ip") else "none"))
            if bp not in ("none", "dhcp", "static"):
                raise InventoryError(f"{w}.boot_protocol: expected none, dhcp or static")
            h.attachments.append(
                NetworkAttachment(
                    id=reg.new_id(),
                    host_id=h.id,
                    network_id=net.id,
                    nic_name=nic,
                    boot_protocol=bp,
                    address=n.get("ip"),
                    netmask=n.get("netmask"),
                    gateway=n.get("gateway"),
                )
            )
        pm = e.get("power_management") or {}
        if not isinstance(pm, dict):
            raise InventoryError(f"{where}.power_management: expected {{enabled, agents}}")
        for k, a in enumerate(pm.get("agents") or []):
            if not isinstance(a, dict) or "address" not in a:
                raise InventoryError(
                    f"{where}.power_management.agents[{k}]: expected {{address, ...}}"
                )
            h.agents.append(
                FenceAgent(
                    id=reg.new_id(),
                    host_id=h.id,
                    address=str(a["address"]),
                    port=int(a["port"]) if a.get("port") is not None else None,
                    agent_type=str(a.get("type", "ipmilan")),
                    username=str(a.get("username", "")),
                    password=str(a.get("password", "")),
                    order=int(a.get("order", k + 1)),
                )
            )
        h.pm_enabled = bool(pm.get("enabled", bool(h.agents)))
        if machine is not None and status in ("up", "maintenance", "non_operational"):
            machine.powered_on = True
        if machine is not None and status in ("down", "non_responsive"):
            pass
    for cl in reg.all(Cluster):
        from rhevsim.network import recompute_cluster_status

        recompute_cluster_status(reg, cl)
    for dc in reg.all(DataCenter):
        _elect_now(reg, dc)


# ---------------------------------------------------------------------- builder


def build_inventory(inv: dict[str, Any], spec: Any) -> None:
    """rhevsim.builder hook: the host part of a generated inventory.

    Every host gets an IPMI fence agent matching its machine's BMC (power management on),
    and SPM priorities vary deterministically (hv001 of each cluster 10, then 5, every
    tenth host -1) so elections have a clear winner and some hosts never compete.
    """
    machines = {m["name"]: m for m in inv.get("machines", [])}
    first_in_cluster: set[str] = set()
    for i, h in enumerate(inv.get("hosts", [])):
        cl = str(h.get("cluster", "Default"))
        if cl not in first_in_cluster:
            first_in_cluster.add(cl)
            h.setdefault("spm_priority", 10)
        else:
            h.setdefault("spm_priority", -1 if i % 10 == 9 else 5)
        m = machines.get(str(h.get("machine", h["name"])))
        bmc = (m or {}).get("bmc") or {}
        if bmc.get("port") and "power_management" not in h:
            h["power_management"] = {
                "enabled": True,
                "agents": [
                    {
                        "address": "127.0.0.1",
                        "port": bmc["port"],
                        "type": "ipmilan",
                        "username": bmc.get("username", "admin"),
                        "password": bmc.get("password", "admin"),
                    }
                ],
            }
