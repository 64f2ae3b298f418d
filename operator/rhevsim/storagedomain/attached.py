"""Storage domains attached to a data center (/datacenters/{id}/storagedomains)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    action_complete,
    created,
    delete_complete,
    get_or_404,
    list_response,
    xml_response,
)
from rhevsim.datacenter import DataCenter, active_hosts
from rhevsim.event import CODES
from rhevsim.storagedomain.entity import (
    AttachedStorageDomain,
    StorageDomain,
    attached_to,
    begin_activate,
    begin_attach,
    begin_deactivate,
    begin_detach,
    master_of,
    render_domain,
    status_illegal,
)
from rhevsim.xmlutil import text

if TYPE_CHECKING:
    pass


def _dc(req: Request) -> DataCenter:
    return get_or_404(req, DataCenter, "dc")


def _attached(req: Request) -> tuple[DataCenter, StorageDomain]:
    dc = _dc(req)
    sd = req.reg.get(StorageDomain, req.params["id"])
    if sd is None or sd.data_center_id != dc.id:
        raise errors.not_found_url()
    return dc, sd


def _attached_for(
    req: Request, action: str, statuses: tuple[str, ...]
) -> tuple[DataCenter, StorageDomain]:
    """The attached domain of an action that needs it unlocked and in one of `statuses`."""
    dc, sd = _attached(req)
    req.reg.check_unlocked(sd, action)
    if sd.dc_status not in statuses:
        raise status_illegal(action, sd)
    return dc, sd


def list_attached(req: Request) -> Response:
    dc = _dc(req)
    views = [
        AttachedStorageDomain(id=sd.id, name=sd.name, sd=sd) for sd in attached_to(req.reg, dc.id)
    ]
    return list_response(req, views, "storage_domains", searchable=False)


def get_attached(req: Request) -> Response:
    _, sd = _attached(req)
    return xml_response(render_domain(req.ctx, sd, attached_view=True))


def attach_domain(req: Request) -> Response:
    reg = req.reg
    dc = _dc(req)
    body = req.body
    ident = body.get("id") if body is not None else None
    name = text(body, "name")
    if not ident and not name:
        raise errors.incomplete("StorageDomain", ["id|name"], "add")
    if ident:
        sd = reg.get(StorageDomain, ident)
        if sd is None:
            raise errors.ApiError(404, errors.OPERATION_FAILED, f"Entity not found: {ident}")
    else:
        sd = reg.by_name(StorageDomain, name or "")
        if sd is None:
            raise errors.entity_not_found("Storage", "name", name or "")
    reg.check_unlocked(sd, "attach")
    reg.check_unlocked(dc, "attach", "Storage")
    if sd.data_center_id is not None:
        raise errors.conflict(
            "Cannot attach Storage. The relevant Storage Domain is inaccessible.\n-Please handle "
            "Storage Domain issues and retry the operation."
        )
    if sd.storage_type == "localfs" and not dc.local:
        raise errors.conflict(
            "Cannot attach a local Storage Domain to a shared storage Data Center."
        )
    current = list(attached_to(reg, dc.id))
    master = master_of(reg, dc.id)
    if master is None and sd.domain_type != "data":
        raise errors.conflict(
            "Cannot attach Storage Domain.\n-Please attach Data Domain to the Data Center first."
        )
    if sd.domain_type == "iso" and any(o.domain_type == "iso" for o in current):
        raise errors.conflict(
            "Cannot attach more than one ISO Storage Domain to the same Data Center. If you want "
            "to use a newly created Domain, detach the existing attached Domain and attach the "
            "new one."
        )
    if sd.domain_type == "export" and any(o.domain_type == "export" for o in current):
        raise errors.conflict(
            "Cannot attach more than one Import/Export Storage Domain to the same Data Center. "
            "If you want to use a newly created Domain, detach the existing attached Domain and "
            "attach the new one."
        )
    if not active_hosts(reg, dc):
        raise errors.conflict("Cannot attach Storage. There is no active Host in the Data Center.")
    if master is not None and master.dc_status != "active":
        raise errors.conflict(
            "Failed to attach Storage due to an error on the Data Center master Storage Domain."
            "\n-Please activate the master Storage Domain first."
        )
    job = reg.start_job(
        f"Attaching Storage Domain {sd.name} to Data Center {dc.name}", req.correlation_id
    )
    begin_attach(reg, sd, dc, job)
    view = AttachedStorageDomain(id=sd.id, name=sd.name, sd=sd)
    return created(req, view)


def _master_must_be_active(req: Request, dc: DataCenter, sd: StorageDomain, action: str) -> None:
    """StorageDomainCommandBase.checkMasterDomainIsUp (ACTION_TYPE_FAILED_MASTER_STORAGE_
    DOMAIN_NOT_ACTIVE, CONFLICT): a non-master domain needs an active master."""
    if sd.master:
        return
    master = master_of(req.reg, dc.id)
    if master is None or master.dc_status != "active":
        raise errors.conflict(
            f"Failed to {action} Storage due to an error on the Data Center master Storage "
            "Domain.\n-Please activate the master Storage Domain first."
        )


def activate_domain(req: Request) -> Response:
    """ActivateStorageDomainCommand.validate: not in an uninitialized data center; from
    Inactive, Unknown, Maintenance or PreparingForMaintenance; a non-master domain only
    while the master is active (the master role never moves by activation); an active host."""
    reg = req.reg
    dc, sd = _attached(req)
    if not (sd.dc_status == "preparing_for_maintenance" and sd.lock == "deactivate"):
        reg.check_unlocked(sd, "activate")
    if sd.dc_status not in ("maintenance", "inactive", "unknown", "preparing_for_maintenance"):
        raise status_illegal("activate", sd)
    if dc.status == "uninitialized":
        raise errors.conflict("Cannot activate Storage. Unknown Data Center status.")
    _master_must_be_active(req, dc, sd, "activate")
    if not active_hosts(reg, dc):
        raise errors.conflict(
            "Cannot activate Storage. There is no active Host in the Data Center."
        )
    job = reg.start_job(
        f"Activating Storage Domain {sd.name} on Data Center {dc.name}", req.correlation_id
    )
    begin_activate(reg, sd, dc, job)
    return action_complete(req, job)


def deactivate_domain(req: Request) -> Response:
    reg = req.reg
    dc, sd = _attached_for(req, "deactivate", ("active", "inactive", "unknown"))
    if sd.master:
        others_data = [
            o
            for o in attached_to(reg, dc.id)
            if o is not sd and o.domain_type == "data" and o.dc_status == "active"
        ]
        non_data = [
            o
            for o in attached_to(reg, dc.id)
            if o.domain_type != "data" and o.dc_status == "active"
        ]
        if non_data and not others_data:
            raise errors.conflict(
                "Cannot deactivate a Master Storage Domain while there are active non-data "
                "domains in the Data Center.\n-Please deactivate all the non-data domains first."
            )
    running = [
        vm
        for vm in reg.iter_kind("vm")
        if getattr(vm, "status", "down") not in ("down", "suspended")
        and sd.id in set(getattr(vm, "storage_domain_ids", lambda: [])())
    ]
    # `force` only lets the deactivation go on when the OVF update fails
    # (DeactivateStorageDomainWithOvfUpdateCommand); the running-VM check stays
    # (DeactivateStorageDomainCommand.validate, ACTION_TYPE_FAILED_DETECTED_ACTIVE_VMS).
    if running:
        raise errors.conflict(
            'Cannot deactivate Storage. VMs in a state other than "Down" or "Suspended" were '
            "detected.\n-Please ensure all VMs associated with this Storage Domain are stopped "
            "and in the Down or Suspended state first."
        )
    job = reg.start_job(
        f"Deactivating Storage Domain {sd.name} in Data Center {dc.name}", req.correlation_id
    )
    begin_deactivate(reg, sd, dc, job)
    return action_complete(req, job)


def detach_domain(req: Request) -> Response:
    reg = req.reg
    dc, sd = _attached_for(req, "detach", ("maintenance",))
    others = [o for o in attached_to(reg, dc.id) if o is not sd]
    if sd.master and others:
        raise errors.conflict(
            "Cannot detach the master Storage Domain from the Data Center while there are other "
            "storage domains attached to it.\n-Please try to activate another Storage Domain in "
            "the Data Center."
        )
    _master_must_be_active(req, dc, sd, "detach")
    job = reg.start_job(
        f"Detaching Storage Domain {sd.name} from Data Center {dc.name}", req.correlation_id
    )
    begin_detach(reg, sd, dc, job)
    return delete_complete(req)


def set_master(req: Request) -> Response:
    reg = req.reg
    dc = get_or_404(req, DataCenter)
    el = req.body.find("storage_domain") if req.body is not None else None
    ident = el.get("id") if el is not None else None
    name = text(el, "name") if el is not None else None
    if not ident and not name:
        raise errors.incomplete("Action", ["storageDomain.id|name"], "setMaster")
    sd = reg.resolve(StorageDomain, ident, name)
    if sd.data_center_id != dc.id:
        raise errors.conflict(
            "Cannot set master Storage Domain. Storage Domain is not attached to the Data Center."
        )
    if sd.domain_type != "data" or sd.dc_status != "active":
        raise status_illegal("set master", sd)
    reg.check_unlocked(sd, "set master")
    job = reg.start_job(
        f"Switching master storage domain from "
        f"{getattr(master_of(reg, dc.id), 'name', '')} to {sd.name}",
        req.correlation_id,
    )
    old = master_of(reg, dc.id)
    if old is not None and old is not sd:
        old.master = False
        sd.master = True
        sd.lock = "setmaster"

        def done() -> None:
            sd.lock = None
            reg.event(
                CODES["RECONSTRUCT_MASTER_DONE"],
                f"Reconstruct Master Domain for Data Center {dc.name} completed.",
                correlation_id=job.correlation_id,
                user=None,
                data_center=dc,
                storage_domain=sd,
            )
            reg.end_job(job)

        reg.schedule("storagedomain.activate", done, f"setmaster {sd.name}")
    else:
        reg.end_job(job)
    return action_complete(req, job)
