"""vNIC profiles (/vnicprofiles and /networks/{id}/vnicprofiles).

Each new VM network gets a profile of the same name; VM NICs name a profile
(`<vnic_profile id=".."/>`), which is how rhevsim.virtualmachine finds the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    created,
    delete_complete,
    empty_collections,
    get_or_404,
    list_response,
    require,
    xml_response,
)
from rhevsim.datacenter import DataCenter
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError, find
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.network import Network
from rhevsim.xmlutil import Element, boolean, has, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

USER = "admin@internal-authz"


@dataclass(kw_only=True, eq=False)
class VnicProfile(Entity):
    KIND = "vnicprofile"
    TAG = "vnic_profile"
    PLURAL = "vnic_profiles"
    PATH = "vnicprofiles"
    TYPE_NAME = "VM network interface profile"
    REF_NAME = "VnicProfile"

    network_id: str
    port_mirroring: bool = False
    pass_through: str = "disabled"
    migratable: bool | None = None

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.common(el, self)
        ctx.link(el, self, "permissions")
        pt = etree.SubElement(el, "pass_through")
        etree.SubElement(pt, "mode").text = self.pass_through
        etree.SubElement(el, "port_mirroring").text = "true" if self.port_mirroring else "false"
        if self.migratable is not None:
            etree.SubElement(el, "migratable").text = "true" if self.migratable else "false"
        ctx.ref_id(el, "network", "networks", self.network_id)
        net = ctx.reg.get(Network, self.network_id)
        if net is not None:
            # The engine's default "No Network Filter" is vdsm-no-mac-spoofing.
            etree.SubElement(
                el,
                "network_filter",
                {
                    "href": f"{ctx.base}/networkfilters/d2370ab4-fee3-11e9-a310-8c1645ce738e",
                    "id": "d2370ab4-fee3-11e9-a310-8c1645ce738e",
                },
            )
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        net = reg.get(Network, self.network_id)
        dc = reg.get(DataCenter, net.data_center_id) if net else None
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "network": net.name if net else None,
            "datacenter": dc.name if dc else None,
            "port_mirroring": self.port_mirroring,
        }


def profiles_of(reg: Registry, net: Entity) -> list[VnicProfile]:
    return [p for p in reg.all(VnicProfile) if p.network_id == net.id]


def new_profile(
    reg: Registry,
    net: Network,
    name: str,
    *,
    correlation_id: str | None = None,
    ident: str | None = None,
    port_mirroring: bool = False,
) -> VnicProfile:
    p = reg.add(
        VnicProfile(
            id=ident or reg.new_id(),
            name=name,
            network_id=net.id,
            port_mirroring=port_mirroring,
        )
    )
    dc = reg.get(DataCenter, net.data_center_id)
    reg.event(
        CODES["ADD_VNIC_PROFILE"],
        f"VM network interface profile {name} was added to network {net.name} in Data Center: "
        f"{dc.name if dc else ''}. (User: {USER})",
        correlation_id=correlation_id,
        data_center=dc,
    )
    return p


def _users(reg: Registry, profile: VnicProfile) -> list[Entity]:
    out = []
    for vm in reg.iter_kind("vm"):
        fn = getattr(vm, "vnic_profile_ids", None)
        if fn is not None and profile.id in fn():
            out.append(vm)
    return out


def _add(req: Request, net: Network | None = None) -> Response:
    reg = req.reg
    body = req.body
    require(body, "VnicProfile", "add", "name")
    if net is None:
        el = body.find("network") if body is not None else None
        ident = el.get("id") if el is not None else None
        if not ident:
            raise errors.incomplete("VnicProfile", ["network.id"], "add")
        net = reg.get(Network, ident)
        if net is None:
            raise errors.entity_not_found("Network", "id", ident)
    name = text(body, "name") or ""
    if any(p.name == name for p in profiles_of(reg, net)):
        raise errors.conflict(
            "Cannot add VM network interface profile. The VM network interface profile's name "
            "is already used by an existing profile for the same network.\n-Please choose a "
            "different name."
        )
    if not net.vm_network:
        raise errors.conflict(
            "Cannot add VM network interface profile. The network is not a VM network."
        )
    with reg.job(f"Adding vNIC profile {name}", req.correlation_id) as job:
        p = new_profile(
            reg,
            net,
            name,
            correlation_id=job.correlation_id,
            port_mirroring=bool(boolean(body, "port_mirroring")),
        )
        p.description = text(body, "description")
        p.comment = text(body, "comment")
        mig = boolean(body, "migratable")
        if mig is not None:
            p.migratable = mig
    return created(req, p)


def _update(req: Request) -> Response:
    p = get_or_404(req, VnicProfile)
    reg = req.reg
    body = req.body
    net = reg.get(Network, p.network_id)
    new_net = body.find("network") if body is not None else None
    if new_net is not None and new_net.get("id") and new_net.get("id") != p.network_id:
        # ACTION_TYPE_FAILED_CANNOT_CHANGE_VNIC_PROFILE_NETWORK: BAD_PARAMETERS, a 400.
        raise errors.bad_request(
            "Cannot update VM network interface profile. VM network interface profile's "
            "network cannot be changed."
        )
    name = text(body, "name")
    if (
        name is not None
        and name != p.name
        and net is not None
        and any(o.name == name and o.id != p.id for o in profiles_of(reg, net))
    ):
        raise errors.conflict(
            "Cannot update VM network interface profile. The VM network interface profile's "
            "name is already used by an existing profile for the same network.\n-Please "
            "choose a different name."
        )
    with reg.job(f"Updating vNIC profile {p.name}", req.correlation_id) as job:
        if name is not None:
            p.name = name
        if has(body, "description"):
            p.description = text(body, "description") or ""
        if has(body, "comment"):
            p.comment = text(body, "comment") or ""
        pm = boolean(body, "port_mirroring")
        if pm is not None:
            p.port_mirroring = pm
        mig = boolean(body, "migratable")
        if mig is not None:
            p.migratable = mig
        dc = reg.get(DataCenter, net.data_center_id) if net else None
        reg.event(
            CODES["UPDATE_VNIC_PROFILE"],
            f"VM network interface profile {p.name} was updated for network "
            f"{net.name if net else ''} in Data Center: {dc.name if dc else ''}. (User: {USER})",
            correlation_id=job.correlation_id,
            data_center=dc,
        )
    return xml_response(p.render(req.ctx))


def _remove(req: Request) -> Response:
    p = get_or_404(req, VnicProfile)
    reg = req.reg
    users = _users(reg, p)
    if users:
        raise errors.conflict(
            "Cannot remove VM network interface profile. The VM network interface profile is "
            f"in use by the following VM(s): {', '.join(v.name for v in users)}."
        )
    net = reg.get(Network, p.network_id)
    with reg.job(f"Removing vNIC profile {p.name}", req.correlation_id) as job:
        reg.remove(p)
        dc = reg.get(DataCenter, net.data_center_id) if net else None
        reg.event(
            CODES["REMOVE_VNIC_PROFILE"],
            f"VM network interface profile {p.name} was removed from network "
            f"{net.name if net else ''} in Data Center: {dc.name if dc else ''}. (User: {USER})",
            correlation_id=job.correlation_id,
            data_center=dc,
        )
    return delete_complete(req)


def _on_network_added(reg: Registry, net: Entity, correlation_id: str | None) -> None:
    if isinstance(net, Network):
        new_profile(reg, net, net.name, correlation_id=correlation_id)


def setup(reg: Registry) -> None:
    reg.hooks.network_added.append(_on_network_added)


def register(api: Api) -> None:
    api.route(
        "GET",
        "/vnicprofiles",
        lambda req: list_response(req, req.reg.all(VnicProfile), "vnic_profiles"),
    )
    api.route("POST", "/vnicprofiles", _add)
    api.route(
        "GET",
        "/vnicprofiles/{id}",
        lambda req: xml_response(get_or_404(req, VnicProfile).render(req.ctx)),
    )
    api.route("PUT", "/vnicprofiles/{id}", _update)
    empty_collections(api, VnicProfile, "/vnicprofiles/{id}", {"permissions": "permissions"})
    api.route("DELETE", "/vnicprofiles/{id}", _remove)

    def list_net(req: Request) -> Response:
        net = get_or_404(req, Network, "net")
        return list_response(req, profiles_of(req.reg, net), "vnic_profiles", searchable=False)

    def get_net(req: Request) -> Response:
        net = get_or_404(req, Network, "net")
        p = get_or_404(req, VnicProfile)
        if p.network_id != net.id:
            raise errors.not_found_url()
        return xml_response(p.render(req.ctx))

    api.route("GET", "/networks/{net}/vnicprofiles", list_net)
    api.route(
        "POST",
        "/networks/{net}/vnicprofiles",
        lambda req: _add(req, get_or_404(req, Network, "net")),
    )

    def remove_net(req: Request) -> Response:
        net = get_or_404(req, Network, "net")
        if get_or_404(req, VnicProfile).network_id != net.id:
            raise errors.not_found_url()
        return _remove(req)

    api.route("GET", "/networks/{net}/vnicprofiles/{id}", get_net)
    api.route("DELETE", "/networks/{net}/vnicprofiles/{id}", remove_net)


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, p in enumerate(find(inv, "vnic_profiles")):
        dc = reg.by_name(DataCenter, str(p.get("data_center", "Default")))
        net = next(
            (
                n
                for n in reg.all(Network)
                if n.name == p.get("network") and dc is not None and n.data_center_id == dc.id
            ),
            None,
        )
        if net is None:
            raise InventoryError(
                f"vnic_profiles[{i}].network: no network {p.get('network')!r} in data center "
                f"{p.get('data_center', 'Default')!r}"
            )
        if not any(x.name == p["name"] for x in profiles_of(reg, net)):
            new_profile(
                reg,
                net,
                str(p["name"]),
                ident=p.get("id"),
                port_mirroring=bool(p.get("port_mirroring", False)),
            )
