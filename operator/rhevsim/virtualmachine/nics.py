"""VM and template NIC handlers (/vms/{id}/nics, /templates/{id}/nics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    created,
    delete_complete,
    list_response,
    member_or_404,
    require,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk.entity import path_owner
from rhevsim.event import CODES
from rhevsim.virtualmachine.entity import (
    NIC_INTERFACES,
    NIC_TYPE_WORDS,
    STATUS_WORDS,
    Nic,
    allocate_mac,
    claim_mac,
    release_mac,
)
from rhevsim.xmlutil import Element, boolean, enum, has, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

NIC_FORBIDDEN = frozenset(
    {
        "wait_for_launch",
        "powering_down",
        "powering_up",
        "reboot_in_progress",
        "migrating",
        "suspended",
        "paused",
        "saving_state",
        "restoring_state",
        "image_locked",
        "not_responding",
        "unassigned",
        "unknown",
    }
)


def _nic(owner: Any, ident: str) -> Nic:
    return member_or_404(owner.nics, ident)  # type: ignore[no-any-return]


def _profile(req: Request, owner: Any, el: Element | None, action: str) -> str | None:
    """The vNIC profile id of `<vnic_profile id=..>`; it must serve the owner's cluster."""
    if el is None:
        return None
    ident = el.get("id")
    if not ident:
        return None  # an empty profile: the NIC is unplugged from any network
    profile = req.reg.objects.get("vnicprofile", {}).get(ident)
    if profile is None:
        raise errors.bad_request(
            f"Cannot {action} Interface. The specified VM network interface profile doesn't exist."
        )
    net = req.reg.objects.get("network", {}).get(getattr(profile, "network_id", ""))
    cluster_id = owner.cluster_id
    if cluster_id is not None and (net is None or cluster_id not in getattr(net, "clusters", {})):
        raise errors.conflict("The specified Logical Network doesn't exist in the current Cluster.")
    return ident


def _nic_event(reg: Registry, code: str, nic: Nic, owner: Any, verb: str, cid: str | None) -> None:
    where = "from" if verb == "removed" else "for" if verb == "updated" else "to"
    kind = "VM" if owner.KIND == "vm" else "Template"
    reg.event(
        CODES[code],
        f"Interface {nic.name} ({NIC_TYPE_WORDS.get(nic.interface, nic.interface)}) was {verb} "
        f"{where} {kind} {owner.name}. (User: {ENGINE_USER})",
        correlation_id=cid,
        **({"vm": owner} if owner.KIND == "vm" else {"template": owner}),
    )


def list_nics(req: Request) -> Response:
    return list_response(req, path_owner(req).nics, "nics", searchable=False)


def get_nic(req: Request) -> Response:
    return xml_response(_nic(path_owner(req), req.params["nic"]).render(req.ctx))


def add_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    body = req.body
    require(body, "Nic", "add", "name")
    reg.check_unlocked(owner, "add", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot add Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    name = text(body, "name") or ""
    if any(n.name == name for n in owner.nics):
        raise errors.conflict("Network interface name is already in use")
    interface = enum(body, "interface", NIC_INTERFACES, "NicInterface") or "virtio"
    profile_id = _profile(
        req, owner, body.find("vnic_profile") if body is not None else None, "add"
    )
    mac: str | None = None
    if owner.KIND == "vm":
        given = text(body, "mac/address")
        if given:
            claim_mac(reg, given, owner.name)
            mac = given.lower()
        else:
            mac = allocate_mac(reg)
    linked, plugged = boolean(body, "linked"), boolean(body, "plugged")
    with reg.job(f"Adding Interface {name} to {owner.name}", req.correlation_id) as job:
        nic = Nic(
            id=reg.new_id(),
            name=name,
            owner_path=owner.PATH,
            owner_id=owner.id,
            interface=interface,
            mac=mac,
            vnic_profile_id=profile_id,
            linked=True if linked is None else linked,
            plugged=True if plugged is None else plugged,
        )
        nic.description = text(body, "description")
        owner.nics.append(nic)
        _nic_event(reg, "NETWORK_ADD_VM_INTERFACE", nic, owner, "added", job.correlation_id)
    return created(req, nic)


def update_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    nic = _nic(owner, req.params["nic"])
    body = req.body
    reg.check_unlocked(owner, "update", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot update Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    name = text(body, "name")
    if name is not None and name != nic.name and any(n.name == name for n in owner.nics):
        raise errors.conflict("Network interface name is already in use")
    interface = enum(body, "interface", NIC_INTERFACES, "NicInterface")
    if (
        interface is not None
        and interface != nic.interface
        and owner.KIND == "vm"
        and owner.running
        and nic.plugged
    ):
        raise errors.conflict(
            "Cannot update Interface. Updating the interface type requires unplugging the "
            "interface first."
        )
    profile_el = body.find("vnic_profile") if body is not None else None
    profile_id = _profile(req, owner, profile_el, "update")
    new_mac = text(body, "mac/address")
    if new_mac is not None and owner.KIND == "vm" and new_mac.lower() != nic.mac:
        claim_mac(reg, new_mac, owner.name)
        release_mac(reg, nic.mac)
        nic.mac = new_mac.lower()
    with reg.job(f"Updating Interface {nic.name} of {owner.name}", req.correlation_id) as job:
        if name is not None:
            nic.name = name
        if interface is not None:
            nic.interface = interface
        if profile_el is not None:
            nic.vnic_profile_id = profile_id
        for key in ("linked", "plugged"):
            v = boolean(body, key)
            if v is not None:
                setattr(nic, key, v)
        if has(body, "description"):
            nic.description = text(body, "description") or ""
        _nic_event(reg, "NETWORK_UPDATE_VM_INTERFACE", nic, owner, "updated", job.correlation_id)
    return xml_response(nic.render(req.ctx))


def remove_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    nic = _nic(owner, req.params["nic"])
    reg.check_unlocked(owner, "remove", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot remove Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    with reg.job(f"Removing Interface {nic.name} from {owner.name}", req.correlation_id) as job:
        owner.nics.remove(nic)
        release_mac(reg, nic.mac)
        _nic_event(reg, "NETWORK_REMOVE_VM_INTERFACE", nic, owner, "removed", job.correlation_id)
    return delete_complete(req)
