"""The Host entity, its relations to clusters, data centers and VMs, and its XML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim.cluster import Cluster
from rhevsim.datacenter import DataCenter
from rhevsim.event import CODES
from rhevsim.fenceagent import FenceAgent, agents_of
from rhevsim.hostnic import HostNic, NetworkAttachment, all_nics
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.network import Network, management_network_of
from rhevsim.xmlutil import Element

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
    "VDS_SOFT_RECOVER": 75,
    "VDS_MAINTENANCE": 15,
    "VDS_ACTIVATE": 16,
    "USER_VDS_START": 20,
    "USER_VDS_STOP": 21,
    "USER_VDS_RESTART": 41,
    "USER_ADD_VDS": 42,
    "USER_UPDATE_VDS": 43,
    "USER_REMOVE_VDS": 44,
    "VDS_RECOVER_FAILED": 19,
    "SYSTEM_VDS_RESTART": 121,
    "SYSTEM_FAILED_VDS_RESTART": 122,
    "USER_FORCE_SELECTED_SPM": 159,
    "IRS_HOSTED_ON_VDS": 204,
    "VDS_MANUAL_FENCE_STATUS": 494,
    "VDS_AUTO_FENCE_STATUS": 539,
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
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_NO_HOST_FOR_SPM": 979,
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC": 980,
    "NETWORK_COMMINT_NETWORK_CHANGES": 1104,
    "VDS_ALERT_FENCE_IS_NOT_CONFIGURED": 9000,
    "VDS_ALERT_FENCE_OPERATION_FAILED": 9002,
    "VDS_ALERT_FENCE_NO_PROXY_HOST": 9004,
    "VDS_ALERT_FENCE_OPERATION_SKIPPED_BROKEN_CONNECTIVITY": 9013,
    "VDS_ALERT_NOT_RESTARTED_DUE_TO_POLICY": 9014,
    "VDS_ALERT_FENCE_DISABLED_BY_CLUSTER_POLICY": 9015,
    "FENCE_OPERATION_STARTED": 9017,
    "FENCE_OPERATION_SUCCEEDED": 9018,
    "FENCE_OPERATION_FAILED": 9019,
    "VDS_ALERT_NO_PM_CONFIG_FENCE_OPERATION_SKIPPED": 9028,
    "VDS_HOST_NOT_RESPONDING_CONNECTING": 9008,
    "PERSIST_SETUP_NETWORK_ON_HOST_FINISHED": 10903,
}


for _k, _v in HOST_CODES.items():
    CODES.setdefault(_k, _v)


# Default step durations (simulated seconds), near a real engine with ansible host-deploy.
TIMINGS: dict[str, float] = {
    "host.install": 120.0,  # installing -> reboot (or initializing / maintenance)
    "host.reboot": 60.0,  # install's SshHostReboot: reboot -> initializing (or maintenance)
    "host.initialize": 10.0,  # initializing -> up
    "host.activate": 5.0,  # unassigned -> up
    "host.maintenance": 5.0,  # preparing_for_maintenance -> maintenance
    "host.register": 120.0,  # machine network boot -> pending_approval host
    "host.boot": 60.0,  # machine power on (disk) -> VDSM answers (connecting)
    "host.connect": 5.0,  # connecting -> up
    # Grace before a host that stops answering is non_responsive (VdsManager
    # calcTimeoutToFence): TimeoutToResetVdsInSeconds, + DelayResetForSpmInSeconds when it is
    # the SPM, + DelayResetPerVmInSeconds per running VM.
    "host.non_responsive": 60.0,
    "host.non_responsive.spm": 20.0,
    "host.non_responsive.per_vm": 0.5,
    "host.soft_fence": 5.0,  # SshSoftFencing: SSH to the host to restart VDSM (fails if dead)
    "host.fence": 10.0,  # fence agent power operation
    "spm.elect": 2.0,  # problematic (searching) -> contend
    "spm.start": 10.0,  # contend -> up (SPM started)
    # Domains a data center reported unknown while it had no SPM are active again one
    # storage-domain monitoring cycle after an SPM runs (vdsm's domain monitor, 10 s).
    "storage.monitor": 10.0,
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
    # How it failed: "machine" (dead: no storage lease either; a restart through the fence
    # agent revives it) or "network" (cut off from the engine, still renewing its storage
    # lease and running its VMs; a reboot does not mend the network).
    fail_mode: str = "machine"
    in_fence_flow: bool = False  # VdsNotRespondingTreatment running (VDS.isInFenceFlow)
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
            "active_vms": len(vms_on(reg, self)),
        }


@dataclass
class _State:
    preferred: dict[str, str] = field(default_factory=dict)  # dc -> forceselectspm host
    blocked: dict[str, str] = field(default_factory=dict)  # dc -> non-responsive SPM host
    searching: dict[str, int] = field(default_factory=dict)  # dc -> election generation
    gen: dict[str, int] = field(default_factory=dict)
    listeners: list[Callable[[Registry, Host, str], None]] = field(default_factory=list)
    # Run when a host's grace period ends (rhevsim.hypervisor.fencing's treatment).
    treatment: Callable[[Registry, Host], None] | None = None


def hosts_state(reg: Registry) -> _State:
    return reg.module_state(_State)


def on_status_change(reg: Registry, fn: Callable[[Registry, Host, str], None]) -> None:
    """Call fn(reg, host, old_status) after every host status change (with the lock held)."""
    hosts_state(reg).listeners.append(fn)


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
    if hosts_state(reg).blocked.get(dc.id) == host.id:
        return "spm"  # the engine still records the unreachable host as SPM
    return dc.spm_status


def machine_of(reg: Registry, host: Host) -> Machine | None:
    if host.machine:
        return reg.machines.get(host.machine)
    return None


def find_machine(reg: Registry, name: str, address: str) -> Machine | None:
    m = reg.machines.get(name)
    if m is not None:
        return m
    return next((m for m in reg.machines.values() if address and m.address == address), None)


def vms_on(reg: Registry, host: Host) -> list[Entity]:
    return [
        v
        for v in reg.iter_kind("vm")
        if getattr(v, "host_id", None) == host.id and getattr(v, "status", "down") != "down"
    ]


def grace_seconds(reg: Registry, h: Host) -> float:
    """VdsManager.calcTimeoutToFence: TimeoutToResetVdsInSeconds (60) +
    DelayResetForSpmInSeconds (20) when the host is (or contends for) SPM +
    DelayResetPerVmInSeconds (0.5) per VM running on it."""
    spm = spm_status_of(reg, h) != "none"
    return (
        reg.timing("host.non_responsive")
        + (reg.timing("host.non_responsive.spm") if spm else 0.0)
        + reg.timing("host.non_responsive.per_vm") * len(vms_on(reg, h))
    )


def is_powered(reg: Registry, host: Host) -> bool:
    m = machine_of(reg, host)
    return m.powered_on if m is not None else host.virtual_power


def reachable(reg: Registry, host: Host) -> bool:
    return is_powered(reg, host) and not host.failed


def host_has_network(reg: Registry, host: Entity, net: Entity) -> bool:
    return isinstance(host, Host) and any(a.network_id == net.id for a in host.attachments)


def management_network(reg: Registry, cl: Cluster | None) -> Network | None:
    if cl is None:
        return None

    return management_network_of(reg, cl)


def missing_required(reg: Registry, host: Host) -> list[str]:
    out = []
    for n in reg.all(Network):
        att = n.clusters.get(host.cluster_id or "")
        if att is not None and att.required and not host_has_network(reg, host, n):
            out.append(n.name)
    return sorted(out)


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
    used = sum(int(getattr(v, "memory", 0) or 0) for v in vms_on(reg, h))
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
    vms = vms_on(reg, h)
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
