"""Host status machinery: transitions, non-operational checks, status listeners."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER
from rhevsim.event import CODES
from rhevsim.hostnic import NetworkAttachment, new_nic
from rhevsim.hypervisor.host import (
    Host,
    cluster_of,
    dc_of,
    grace_seconds,
    hosts_state,
    management_network,
    missing_required,
    reachable,
)
from rhevsim.hypervisor.spm import elect
from rhevsim.network import Network, recompute_cluster_status

if TYPE_CHECKING:
    from rhevsim.job import Job
    from rhevsim.registry import Registry


def set_status(
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
            recompute_cluster_status(reg, cl)
    for fn in list(hosts_state(reg).listeners):
        fn(reg, h, old)
    dc = dc_of(reg, h)
    if dc is not None:
        elect(reg, dc, correlation_id)


def new_flow(reg: Registry, h: Host, job: Job | None = None) -> int:
    """Start a new flow: pending steps of the old one do nothing, its job fails, its lock
    goes (the engine command was overtaken, e.g. the machine lost power while installing)."""
    h.gen += 1
    if h.flow_job is not None:
        end_job_once(reg, h.flow_job, False)
    h.flow_job = job
    h.lock = None
    return h.gen


FENCE_JOB_VERBS = {"restart": "Restarting", "start": "Starting", "stop": "Stopping"}


def cluster_name(reg: Registry, h: Host, cluster: Cluster | None = None) -> str:
    cl = cluster or cluster_of(reg, h)
    return cl.name if cl else ""


def end_job_once(reg: Registry, job: Job, succeeded: bool = True) -> None:
    if job.status == "started":
        reg.end_job(job, succeeded)


def step_host(
    reg: Registry, h: Host, timing: str | float, fn: Callable[[], None], label: str = ""
) -> None:
    """Run fn after `timing` unless the host was removed or a newer flow started."""
    gen = h.gen

    def run() -> None:
        if reg.get(Host, h.id) is h and h.gen == gen:
            fn()

    reg.schedule(timing, run, label or f"{timing} {h.name}")


def come_up(reg: Registry, h: Host, correlation_id: str | None) -> None:
    """Monitoring after VDSM answers: up, or non_operational when required networks miss."""
    if h.admin_maintenance:
        set_status(reg, h, "maintenance", correlation_id)
        return
    missing = missing_required(reg, h)
    cl = cluster_of(reg, h)
    if missing:
        set_status(reg, h, "non_operational", correlation_id, "network_unreachable")
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
    set_status(reg, h, "up", correlation_id)
    reg.event(
        CODES["VDS_DETECTED"],
        f"Status of host {h.name} was set to Up.",
        correlation_id=correlation_id,
        user=None,
        host=h,
        cluster=cl,
    )


def connect_host(reg: Registry, h: Host, correlation_id: str | None = None) -> None:
    """VDSM answers again: connecting -> (host.connect) -> up / maintenance."""
    new_flow(reg, h)
    set_status(reg, h, "connecting", correlation_id)

    def connected() -> None:
        if not reachable(reg, h):
            go_unresponsive(reg, h)
            return
        come_up(reg, h, correlation_id)

    step_host(reg, h, "host.connect", connected)


def go_unresponsive(reg: Registry, h: Host, correlation_id: str | None = None) -> None:
    """VDSM stopped answering: connecting (grace) -> non_responsive."""
    if h.status in ("non_responsive", "pending_approval", "install_failed", "down"):
        return
    if h.status == "installing":
        # host-deploy loses its SSH session: the installation fails.
        new_flow(reg, h)
        set_status(reg, h, "install_failed", correlation_id)
        reg.event(
            CODES["VDS_INSTALL_FAILED"],
            f"Host {h.name} installation failed. Network error during communication with the host.",
            "error",
            correlation_id=correlation_id,
            user=None,
            host=h,
        )
        return
    new_flow(reg, h)
    grace = grace_seconds(reg, h)
    if h.status != "connecting":
        set_status(reg, h, "connecting", correlation_id)
        reg.event(
            CODES["VDS_HOST_NOT_RESPONDING_CONNECTING"],
            f"Host {h.name} is not responding. It will stay in Connecting state for a grace "
            f"period of {int(grace)} seconds and after that an attempt to fence the host will be "
            "issued.",
            "warning",
            user=None,
            host=h,
        )

    def lost() -> None:
        if reachable(reg, h):
            connect_host(reg, h)
            return
        set_status(reg, h, "non_responsive", correlation_id)
        reg.event(
            CODES["VDS_FAILURE"], f"Host {h.name} is non responsive.", "error", user=None, host=h
        )
        treatment = hosts_state(reg).treatment
        if treatment is not None:
            treatment(reg, h)

    step_host(reg, h, grace, lost, f"grace {h.name}")


def install_host(
    reg: Registry,
    h: Host,
    job: Job | None,
    activate: bool,
    approve: bool = False,
    *,
    reboot: bool = True,
) -> None:
    """installing --host.install--> reboot --host.reboot--> initializing --host.initialize-->
    up, or maintenance without `activate` (hostdeploy/InstallVdsInternalCommand: the
    SshHostReboot after deploy when `reboot`, then Maintenance or Initializing)."""
    new_flow(reg, h, job)
    h.admin_maintenance = False
    cid = job.correlation_id if job else None
    set_status(reg, h, "installing", cid)
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
        if not reachable(reg, h):
            set_status(reg, h, "install_failed", cid)
            reg.event(
                CODES["VDS_INSTALL_FAILED"],
                f"Host {h.name} installation failed. Failed to connect to the host via SSH.",
                "error",
                correlation_id=cid,
                host=h,
            )
            if job:
                end_job_once(reg, job, False)
            return
        ensure_management(reg, h)
        reg.event(CODES["VDS_INSTALL"], f"Host {h.name} installed", correlation_id=cid, host=h)
        if approve:
            reg.event(
                CODES["VDS_APPROVE"],
                f"Host {h.name} was successfully approved by user {ENGINE_USER}.",
                correlation_id=cid,
                host=h,
            )
        if reboot:
            set_status(reg, h, "reboot", cid)
            step_host(reg, h, "host.reboot", rebooted)
        else:
            rebooted()

    def rebooted() -> None:
        if reboot and not reachable(reg, h):
            set_status(reg, h, "install_failed", cid)
            if job:
                end_job_once(reg, job, False)
            return
        if not activate:
            h.admin_maintenance = True
            set_status(reg, h, "maintenance", cid)
            if job:
                end_job_once(reg, job)
            return
        set_status(reg, h, "initializing", cid)

        def initialized() -> None:
            if not reachable(reg, h):
                go_unresponsive(reg, h, cid)
            else:
                come_up(reg, h, cid)
            if job:
                end_job_once(reg, job, h.status == "up")

        step_host(reg, h, "host.initialize", initialized)

    step_host(reg, h, "host.install", installed)


def ensure_management(reg: Registry, h: Host) -> None:
    """The management network on the first NIC with DHCP (host-deploy configures it)."""
    mgmt = management_network(reg, cluster_of(reg, h))
    if mgmt is None or any(a.network_id == mgmt.id for a in h.attachments):
        return
    if not h.nics:
        h.nics.append(new_nic(reg, h.id, "eth0"))
    # Drop a stale management attachment of another data center (cluster moved).

    for a in list(h.attachments):
        n = reg.get(Network, a.network_id)
        if n is None or h.cluster_id not in n.clusters:
            h.attachments.remove(a)
    address, netmask, gateway = dhcp_lease(h.address)
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


def dhcp_lease(address: str) -> tuple[str | None, str | None, str | None]:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return (None, None, None)
    net = ipaddress.IPv4Network(f"{ip}/24", strict=False)
    return (str(ip), "255.255.255.0", str(net.network_address + 1))
