"""Host creation and the /hosts CRUD handlers (add, update, remove, install on add)."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    created,
    delete_complete,
    get_or_404,
    list_response,
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER, DataCenter
from rhevsim.event import CODES
from rhevsim.fenceagent import FenceAgent, apply_agent_body
from rhevsim.hostnic import NetworkAttachment, new_nic
from rhevsim.hypervisor.host import (
    REMOVABLE,
    Host,
    dc_of,
    find_machine,
    hosts_state,
    management_network,
    vms_on,
)
from rhevsim.hypervisor.spm import elect, release_spm
from rhevsim.hypervisor.status import cluster_name, end_job_once, install_host, new_flow
from rhevsim.network import Network
from rhevsim.xmlutil import Element, boolean, has, integer, text

if TYPE_CHECKING:
    from rhevsim.registry import Machine, Registry


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


def list_hosts(req: Request) -> Response:
    return list_response(req, req.reg.all(Host), "hosts")


def get_host(req: Request) -> Response:
    return xml_response(get_or_404(req, Host).render(req.ctx))


def cluster_from(req: Request, el: Element | None) -> Cluster | None:
    return ref_from_body(req, Cluster, el)


def add_host(req: Request) -> Response:
    reg = req.reg
    body = req.body
    require(body, "Host", "add", "name", "address")
    name = text(body, "name") or ""
    address = text(body, "address") or ""
    _check_name(reg, name, "add")
    _check_address(reg, address, "add")
    cluster = cluster_from(req, body.find("cluster") if body is not None else None)
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
        # VDS_CANNOT_ADD_MORE_THEN_ONE_HOST_TO_LOCAL_STORAGE: CONSTRAINT_VIOLATION, a 400.
        raise errors.bad_request('Cannot add more than one Host to "Local Storage" Data Center')
    spm_priority = _spm_priority(body, "add")
    # BackendHostsResource.add: `activate` and `reboot` default to true.
    activate = req.query_bool("activate", True)
    reboot = req.query_bool("reboot", True)
    job = reg.start_job(f"Adding new Host {name} to Cluster {cluster.name}", req.correlation_id)
    machine = find_machine(reg, name, address)
    h = new_host(reg, name, address, cluster, machine=machine, correlation_id=job.correlation_id)
    h.description = text(body, "description")
    h.comment = text(body, "comment")
    port = integer(body, "port")
    if port:
        h.port = port
    if spm_priority is not None:
        h.spm_priority = spm_priority
    _apply_pm(req, h, body, "add")
    install_host(reg, h, job, activate, reboot=reboot)
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
        h.agents.clear()
        for i, a_el in enumerate(agents_el.findall("agent")):
            agent = FenceAgent(id=req.reg.new_id(), host_id=h.id, order=i + 1)
            apply_agent_body(agent, a_el, action)
            h.agents.append(agent)
    elif text(pm, "address"):
        # v3 style: <power_management><address/><type/><username/><password/>.
        agent = FenceAgent(id=req.reg.new_id(), host_id=h.id, order=1)

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


def update_host(req: Request) -> Response:
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
    cluster = cluster_from(req, body.find("cluster") if body is not None else None)
    moving = cluster is not None and cluster.id != h.cluster_id
    if moving and h.status not in ("maintenance", "pending_approval", "install_failed"):
        raise errors.conflict(
            "Cannot edit Host. Host parameters cannot be modified while Host is operational.\n"
            "Please switch Host to Maintenance mode first."
        )
    prio = _spm_priority(body, "edit")
    job = reg.start_job(f"Updating Host {h.name} properties", req.correlation_id)
    if moving and cluster is not None:
        move_to_cluster(reg, h, cluster)
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
    end_job_once(reg, job)
    return xml_response(h.render(req.ctx))


def move_to_cluster(reg: Registry, h: Host, cluster: Cluster) -> None:
    """ChangeVDSCluster: networks not in the new cluster go; the management one is remapped."""
    old_dc = dc_of(reg, h)
    h.cluster_id = cluster.id

    mgmt = management_network(reg, cluster)
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


def remove_host(req: Request) -> Response:
    h = get_or_404(req, Host)
    reg = req.reg
    reg.check_unlocked(h, "remove")
    req.query_bool("force")  # accepted (gluster only in the engine)
    if h.status not in REMOVABLE:
        raise errors.conflict(
            "Cannot remove Host. Host is operational. Please switch Host to Maintenance mode first."
        )
    if vms_on(reg, h):
        raise errors.conflict("Cannot remove Host. One or more VMs are still running on this Host.")
    job = reg.start_job(
        f"Removing Host {h.name} from Cluster {cluster_name(reg, h)}", req.correlation_id
    )
    new_flow(reg, h)
    dc = dc_of(reg, h)
    reg.remove(h)
    if dc is not None:
        st = hosts_state(reg)
        if st.blocked.get(dc.id) == h.id or dc.spm_host_id == h.id:
            st.blocked.pop(dc.id, None)
            release_spm(reg, dc)
        elect(reg, dc, job.correlation_id)
    reg.event(
        CODES["USER_REMOVE_VDS"],
        f"Host {h.name} was removed by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        host=h,
    )
    end_job_once(reg, job)
    return delete_complete(req)
