"""Host actions: install, activate, deactivate, fence, SPM selection, networks; the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    action_complete,
    get_or_404,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER
from rhevsim.event import CODES
from rhevsim.hostnic import NetworkAttachment, parse_changes, validate_result
from rhevsim.hypervisor.crud import (
    cluster_from,
    move_to_cluster,
)
from rhevsim.hypervisor.fencing import agent_power, agent_reaches_bmc
from rhevsim.hypervisor.host import (
    FENCE_TYPES,
    MANUAL_FENCE_OK,
    NOT_ANSWERING,
    Host,
    cluster_of,
    dc_of,
    hosts_in_dc,
    hosts_state,
    is_powered,
    reachable,
    spm_status_of,
    vms_on,
)
from rhevsim.hypervisor.spm import elect, host_fenced
from rhevsim.hypervisor.status import (
    FENCE_JOB_VERBS,
    cluster_name,
    come_up,
    connect_host,
    dhcp_lease,
    end_job_once,
    go_unresponsive,
    install_host,
    new_flow,
    set_status,
    step_host,
)
from rhevsim.network import recompute_cluster_status
from rhevsim.xmlutil import Element, boolean, text

if TYPE_CHECKING:
    from rhevsim.job import Job
    from rhevsim.registry import Registry


def approve_host(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "approve")
    if h.status not in ("pending_approval", "install_failed", "installing_os"):
        raise errors.conflict(
            'Cannot approve RHVH Host.\n-Host must be in "Pending Approval" or "Install Failed" '
            "status in order to be approved."
        )
    body = req.body
    cluster = cluster_from(req, body.find("cluster") if body is not None else None)
    if cluster is None and body is not None:
        cluster = cluster_from(req, body.find("host/cluster"))
    # BackendHostResource.approve: activate and reboot default to true.
    activate = _flag(req, "activate", True)
    reboot = _flag(req, "reboot", True)
    job = reg.start_job(
        f"Adding new Host {h.name} (Approve process) to Cluster {cluster_name(reg, h, cluster)}",
        req.correlation_id,
    )
    if cluster is not None and cluster.id != h.cluster_id:
        move_to_cluster(reg, h, cluster)
    install_host(reg, h, job, activate, approve=True, reboot=reboot)
    return action_complete(req, job)


def install_action(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "install")
    if h.status not in ("maintenance", "install_failed", "non_operational", "pending_approval"):
        raise errors.conflict("Cannot install Host. Please move Host to Maintenance mode first.")
    # BackendHostResource.install: `activate` defaults to false here (true on add and
    # approve), `reboot` to true.
    activate = _flag(req, "activate", False)
    reboot = _flag(req, "reboot", True)
    job = reg.start_job(f"Installing Host {h.name}", req.correlation_id)
    install_host(reg, h, job, activate, reboot=reboot)
    return action_complete(req, job)


def _flag(req: Request, name: str, default: bool) -> bool:
    """An action flag: the `<action>` element, else the query parameter, else `default`."""
    v = boolean(req.body, name)
    return req.query_bool(name, default) if v is None else v


def activate_host(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "activate")
    if h.status == "up":
        raise errors.conflict("Cannot activate Host. Host in Up status.")
    if h.status == "non_responsive":
        raise errors.conflict("Cannot activate Host. Host is in non responsive state.")
    # validator/HostValidator.validateStatusForActivation refuses only Up and NonResponsive.
    job = reg.start_job(f"Invoking Activate Host {h.name}", req.correlation_id)
    new_flow(reg, h, job)
    h.admin_maintenance = False
    set_status(reg, h, "unassigned", job.correlation_id)
    reg.event(
        CODES["VDS_ACTIVATE"],
        f"Activation of host {h.name} initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        host=h,
    )

    def activated() -> None:
        if reachable(reg, h):
            come_up(reg, h, job.correlation_id)
        else:
            go_unresponsive(reg, h, job.correlation_id)
        end_job_once(reg, job, h.status == "up")

    step_host(reg, h, "host.activate", activated)
    return action_complete(req, job)


def deactivate_host(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "maintenance")
    st = hosts_state(reg)
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
    if h.status in ("installing", "initializing"):
        raise errors.locked("maintenance", "Host")
    if h.status not in MAINTENANCE_STATUSES:
        raise errors.conflict("Cannot switch Host to Maintenance mode, Host is not operational.")
    refusal = reg.hooks.maintenance_refusal(reg, h) if reg.hooks.maintenance_refusal else None
    if refusal:
        raise errors.failed(409, *refusal)
    reason = text(req.body, "reason")
    job = reg.start_job(f"Moving Host(s) {h.name} to Maintenance", req.correlation_id)
    new_flow(reg, h, job)
    h.admin_maintenance = True
    cid = job.correlation_id

    def done() -> None:
        stuck = reg.hooks.stuck_vms(reg, h) if reg.hooks.stuck_vms else []
        if stuck:
            # MaintenanceVdsCommand: a VM that cannot migrate keeps the host in
            # PreparingForMaintenance (the command fails; no VM is ever powered off).
            end_job_once(reg, job, False)
            return
        enter_maintenance(reg, h, cid)
        end_job_once(reg, job)

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
    if h.status in NOT_ANSWERING or h.status in ("install_failed", "error", "non_operational"):
        done()
    else:
        # SPM is passed on (the host is no longer Up) while VMs migrate away.
        set_status(reg, h, "preparing_for_maintenance", cid)
        step_host(reg, h, "host.maintenance", done)
    return action_complete(req, job)


# MaintenanceNumberOfVdssCommand.validate: other statuses get
# VDS_CANNOT_MAINTENANCE_VDS_IS_NOT_OPERATIONAL.
MAINTENANCE_STATUSES = (
    "maintenance",
    "non_responsive",
    "up",
    "error",
    "preparing_for_maintenance",
    "down",
    "non_operational",
    "install_failed",
)


def enter_maintenance(reg: Registry, h: Host, correlation_id: str | None = None) -> None:
    set_status(reg, h, "maintenance", correlation_id)
    reg.event(
        CODES["VDS_MAINTENANCE"],
        f"Host {h.name} was switched to Maintenance Mode.",
        correlation_id=correlation_id,
        user=None,
        host=h,
    )


def vms_left_host(reg: Registry, h: Host) -> None:
    """HostMonitoring: a host preparing for maintenance with no VM left goes to Maintenance."""
    if h.status != "preparing_for_maintenance" or not h.admin_maintenance:
        return
    if not vms_on(reg, h):
        enter_maintenance(reg, h)


def fence_host(req: Request) -> Response:
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
    if not agent_reaches_bmc(reg, h):
        raise errors.conflict(f"Cannot {action} Host. Fence operation failed.")
    maint_after = boolean(body, "maintenance_after_restart") is True
    job = reg.start_job(
        f"{FENCE_JOB_VERBS[ftype]} Host {h.name} (Fencing) on Cluster {cluster_name(reg, h)}",
        req.correlation_id,
    )
    cid = job.correlation_id
    code, verb = {
        "restart": ("USER_VDS_RESTART", "restarted"),
        "start": ("USER_VDS_START", "started"),
        "stop": ("USER_VDS_STOP", "stopped"),
    }[ftype]
    new_flow(reg, h, job)
    if ftype == "stop":
        agent_power(reg, h, False)
        set_status(reg, h, "down", cid)
        host_fenced(reg, h, cid)
        reg.event(
            CODES[code], f"Host {h.name} was {verb} by {ENGINE_USER}.", correlation_id=cid, host=h
        )
        end_job_once(reg, job)
        return action_complete(req, job)
    if ftype == "restart":
        was_maint = h.status == "maintenance" or maint_after
        agent_power(reg, h, False)
        set_status(reg, h, "reboot", cid)
        host_fenced(reg, h, cid)  # RestartVds runs FenceVdsManualy: SPM released, VMs down
        h.admin_maintenance = was_maint
    else:
        if h.status == "maintenance":
            h.admin_maintenance = True
        else:
            # StartVds from down/non_responsive: Reboot, then monitoring brings it Up.
            h.admin_maintenance = False
            set_status(reg, h, "reboot", cid)

    def powered_on() -> None:
        agent_power(reg, h, True)
        reg.event(
            CODES[code], f"Host {h.name} was {verb} by {ENGINE_USER}.", correlation_id=cid, host=h
        )
        end_job_once(reg, job)

        def booted() -> None:
            if not reachable(reg, h):
                return
            if h.status == "maintenance":
                return
            connect_host(reg, h, cid)

        step_host(reg, h, "host.boot", booted)

    step_host(reg, h, "host.fence", powered_on)
    return action_complete(req, job)


def _fence_status(req: Request, h: Host) -> Response:
    reg = req.reg
    job = reg.start_job(f"Getting power status of Host {h.name}", req.correlation_id)
    act = etree.Element("action")
    if not h.agents or not agent_reaches_bmc(reg, h):
        end_job_once(reg, job, False)
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
    etree.SubElement(pm, "status").text = "on" if is_powered(reg, h) else "off"
    req.ctx.ref(act, "host", h)
    reg.event(
        CODES["VDS_FENCE_STATUS"],
        f"Host {h.name} power management was verified successfully.",
        correlation_id=job.correlation_id,
        host=h,
    )
    end_job_once(reg, job)
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
    dc = dc_of(reg, h)
    if dc is not None and not dc.local and spm_status_of(reg, h) == "spm":
        # FenceVdsManualyCommand.validate: for the SPM, another Up host of the pool
        # (initializeVds) and a pool in NotOperational, NonResponsive or Maintenance.
        others = [x for x in hosts_in_dc(reg, dc.id) if x is not h and x.status == "up"]
        if not others:
            raise errors.conflict(
                "Cannot confirm 'Host has been rebooted' Host. There is no active Host in the "
                "Data Center."
            )
        if dc.status not in ("not_operational", "problematic", "maintenance"):
            raise errors.conflict(
                "Cannot confirm 'Host has been rebooted' Host. Unknown Data Center status."
            )
    job = reg.start_job(f"Fencing Host {h.name} manually", req.correlation_id)
    reg.event(
        CODES["VDS_MANUAL_FENCE_STATUS"],
        f"Manual fence for host {h.name} was started.",
        correlation_id=job.correlation_id,
        host=h,
    )
    for fn in list(hosts_state(reg).listeners):
        fn(reg, h, "fenced")  # VMs of the host go down (ClearNonResponsiveVdsVms)
    host_fenced(reg, h, job.correlation_id)
    end_job_once(reg, job)
    return action_complete(req, job)


def force_select_spm(req: Request) -> Response:
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
    hosts_state(reg).preferred[dc.id] = h.id
    reg.event(
        CODES["USER_FORCE_SELECTED_SPM"],
        f"Host {h.name} was force selected by {ENGINE_USER}",
        correlation_id=job.correlation_id,
        host=h,
        data_center=dc,
    )
    elect(reg, dc, job.correlation_id)
    end_job_once(reg, job)
    return action_complete(req, job)


def refresh_host(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    job = reg.start_job(f"Refreshing Host {h.name} capabilities", req.correlation_id)
    if reachable(reg, h):
        reg.event(
            CODES["HOST_REFRESHED_CAPABILITIES"],
            f"Successfully refreshed the capabilities of host {h.name}.",
            correlation_id=job.correlation_id,
            host=h,
        )
    end_job_once(reg, job, reachable(reg, h))
    return action_complete(req, job)


def commit_net_config(req: Request) -> Response:
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
    end_job_once(reg, job)
    return action_complete(req, job)


# network/host/HostValidator.LEGAL_STATUSES: setupnetworks on Maintenance, Up, NonOperational.
SETUP_NETWORKS_STATUSES = ("maintenance", "up", "non_operational")


def setup_networks(req: Request, h: Host, body: Element | None, single: bool = False) -> Job:
    """HostSetupNetworks: validate the whole resulting configuration, then apply it."""

    reg = req.reg
    reg.check_unlocked(h, "setup", "Networks")
    if h.status not in SETUP_NETWORKS_STATUSES:
        # network/host/HostValidator.LEGAL_STATUSES (ACTION_TYPE_FAILED_VDS_STATUS_ILLEGAL).
        raise errors.conflict(
            "Cannot setup Networks. Operation can be performed only when Host status is "
            "Maintenance,Up,NonOperational."
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
                att.address, att.netmask, att.gateway = dhcp_lease(h.address)
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
        recompute_cluster_status(reg, cl)
    end_job_once(reg, job)
    return job


def setup_networks_handler(req: Request) -> Response:
    h = get_or_404(req, Host)
    job = setup_networks(req, h, req.body)
    if req.expect_202():
        act = etree.Element("action")
        req.ctx.ref(act, "job", job)
        etree.SubElement(act, "status").text = "in_progress"
        return xml_response(act, 202)
    return action_complete(req, job)


def sync_all_networks(req: Request) -> Response:
    """SyncAllHostNetworks: a persistent setupnetworks of the out-of-sync attachments only;
    with none out of sync the engine does nothing."""
    h = get_or_404(req, Host)
    stale = [a for a in h.attachments if not a.in_sync]
    if not stale:
        job = req.reg.start_job(f"Synchronizing all networks of Host {h.name}", req.correlation_id)
        end_job_once(req.reg, job)
        return action_complete(req, job)
    body = etree.Element("action")
    wrap = etree.SubElement(body, "synchronized_network_attachments")
    for a in stale:
        etree.SubElement(wrap, "network_attachment", id=a.id)
    etree.SubElement(body, "commit_on_success").text = "true"
    return action_complete(req, setup_networks(req, h, body))


def noop_action(verb: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        h = get_or_404(req, Host)
        job = req.reg.start_job(f"{verb} on Host {h.name}", req.correlation_id)
        end_job_once(req.reg, job)
        return action_complete(req, job)

    return handler


def empty_collection(plural: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        get_or_404(req, Host)
        return xml_response(etree.Element(plural))

    return handler
