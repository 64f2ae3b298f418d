"""Logical networks (/networks, /datacenters/{id}/networks) and their cluster attachments
(/clusters/{id}/networks).

Every data center gets the management network (inventory `engine.management_network`,
default `rhevm`; oVirt 4 calls it `ovirtmgmt`), and every cluster gets it attached as a
required network with the management role. A new VM network gets a vNIC profile of the
same name (vnicprofile.py).

The per-cluster status is `operational` when every Up host of the cluster has the network
attached (for required networks), else `non_operational`. rhevsim.hypervisor tells the module
which networks a host carries through `hooks.host_has_network` and calls
`recompute_cluster_status(reg, cluster)` after it changes a host's networks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.datacenter import DataCenter
from rhevsim.event import CODES
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, has, integer, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

NETWORK_USAGES = ("vm", "display", "migration", "management", "gluster", "default_route")
# Roles that are per cluster rather than per network.
CLUSTER_ROLES = ("display", "migration", "management", "gluster", "default_route")


@dataclass
class ClusterAttachment:
    required: bool = True
    roles: set[str] = field(default_factory=set)  # display, migration, management, ...
    status: str = "operational"


@dataclass(kw_only=True, eq=False)
class Network(Entity):
    KIND = "network"
    TAG = "network"
    PLURAL = "networks"
    PATH = "networks"
    TYPE_NAME = "Network"
    REF_NAME = "Network"

    data_center_id: str
    vlan_id: int | None = None
    stp: bool = False
    mtu: int = 0  # 0 = the default (1500)
    vm_network: bool = True
    port_isolation: bool = False
    clusters: dict[str, ClusterAttachment] = field(default_factory=dict)

    @property
    def vdsm_name(self) -> str:
        return self.name if len(self.name) <= 15 else "on" + self.id.replace("-", "")[:13]

    def usages(self) -> list[str]:
        return ["vm"] if self.vm_network else []

    def render(self, ctx: Ctx) -> Element:
        return render_network(ctx, self, None)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        dc = reg.get(DataCenter, self.data_center_id)
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "datacenter": dc.name if dc else None,
            "vlanid": self.vlan_id,
            "stp": self.stp,
            "mtu": self.mtu,
            "vdsmname": self.vdsm_name,
        }


@dataclass(kw_only=True, eq=False)
class ClusterNetwork(Entity):
    """A view of a network as attached to one cluster (never stored in the registry)."""

    KIND = "clusternetwork"
    TAG = "network"
    PLURAL = "networks"
    TYPE_NAME = "Network"
    REF_NAME = "Network"

    network: Network
    cluster_id: str

    def href(self) -> str:
        return f"/clusters/{self.cluster_id}/networks/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        return render_network(ctx, self.network, self.cluster_id)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return self.network.search_fields(reg)


def render_network(ctx: Ctx, net: Network, cluster_id: str | None) -> Element:
    href = net.href() if cluster_id is None else f"/clusters/{cluster_id}/networks/{net.id}"
    el = etree.Element("network", {"href": ctx.base + href, "id": net.id})
    ctx.common(el, net)
    ctx.link(el, net, "networklabels")
    ctx.link(el, net, "permissions")
    ctx.sub_collection(el, net, "vnicprofiles", "vnic_profiles", lambda: profiles_of(ctx.reg, net))
    att = net.clusters.get(cluster_id) if cluster_id else None
    if cluster_id is not None:
        ctx.ref_id(el, "cluster", "clusters", cluster_id)
    ctx.ref(el, "data_center", ctx.reg.get(DataCenter, net.data_center_id))
    if att is not None:
        etree.SubElement(el, "display").text = "true" if "display" in att.roles else "false"
    etree.SubElement(el, "mtu").text = str(net.mtu)
    etree.SubElement(el, "port_isolation").text = "true" if net.port_isolation else "false"
    if att is not None:
        etree.SubElement(el, "required").text = "true" if att.required else "false"
        etree.SubElement(el, "status").text = att.status
    etree.SubElement(el, "stp").text = "true" if net.stp else "false"
    usages = etree.SubElement(el, "usages")
    names = list(net.usages())
    if att is not None:
        names += sorted(att.roles)
    for u in names:
        etree.SubElement(usages, "usage").text = u
    etree.SubElement(el, "vdsm_name").text = net.vdsm_name
    if net.vlan_id is not None:
        etree.SubElement(el, "vlan", {"id": str(net.vlan_id)})
    return el


# ------------------------------------------------------------------ relations


def profiles_of(reg: Registry, net: Network) -> list[Entity]:
    """The network's vNIC profiles (vnicprofile.py's objects)."""
    return reg.children("vnicprofile", "network_id", net.id)


def _on_dc_added(reg: Registry, dc: Entity, correlation_id: str | None) -> None:
    if isinstance(dc, DataCenter):
        add_management_network(reg, dc, correlation_id)


def _on_dc_removed(reg: Registry, dc: Entity, correlation_id: str | None) -> None:
    for n in networks_in(reg, dc.id):
        delete_network(reg, n, correlation_id)


def setup(reg: Registry) -> None:
    reg.hooks.dc_added.append(_on_dc_added)
    reg.hooks.dc_removed.append(_on_dc_removed)


def networks_in(reg: Registry, dc_id: str) -> list[Network]:
    return [n for n in reg.all(Network) if n.data_center_id == dc_id]


def cluster_networks(reg: Registry, cluster: Entity) -> list[Entity]:
    return [
        ClusterNetwork(id=n.id, name=n.name, network=n, cluster_id=cluster.id)
        for n in reg.all(Network)
        if cluster.id in n.clusters
    ]


def management_network_of(reg: Registry, cluster: Entity) -> Network | None:
    for n in reg.all(Network):
        att = n.clusters.get(cluster.id)
        if att is not None and "management" in att.roles:
            return n
    return None


def management_network_in(reg: Registry, dc: DataCenter) -> Network | None:
    name = str(reg.config.get("management_network", "rhevm"))
    for n in networks_in(reg, dc.id):
        if n.name == name:
            return n
    return None


def network_users(reg: Registry, net: Network) -> list[Entity]:
    """VMs whose NICs use a profile of this network (rhevsim.virtualmachine may define
    `vnic_profile_ids()` on VMs)."""
    ids = {p.id for p in profiles_of(reg, net)}
    out = []
    for vm in reg.iter_kind("vm"):
        fn = getattr(vm, "vnic_profile_ids", None)
        if fn is not None and ids & set(fn()):
            out.append(vm)
    return out


def recompute_cluster_status(reg: Registry, cluster: Entity) -> None:
    """Per-cluster network status from the Up hosts' attachments."""
    hosts = [
        h
        for h in reg.iter_kind("host")
        if getattr(h, "cluster_id", None) == cluster.id and getattr(h, "status", None) == "up"
    ]
    has_net = reg.hooks.host_has_network
    for n in reg.all(Network):
        att = n.clusters.get(cluster.id)
        if att is None:
            continue
        if not att.required or has_net is None:
            att.status = "operational"
        else:
            att.status = (
                "operational" if all(has_net(reg, h, n) for h in hosts) else "non_operational"
            )


# ------------------------------------------------------------------ commands


def _check_name(name: str, action: str) -> None:
    if name.lower().startswith("bond"):
        raise errors.bad_request("Bad network name, network cannot start with 'bond'")
    if not re.fullmatch(r"[^\s/\\;:'\"]{1,256}", name):
        raise errors.bad_request(
            f"Cannot {action} Network. The network name may not contain spaces or any of "
            "/ \\ ; : ' \" and must be 1-256 characters long."
        )


def new_network(
    reg: Registry,
    dc: DataCenter,
    name: str,
    *,
    correlation_id: str | None = None,
    ident: str | None = None,
    profile: bool = True,
    **fields: Any,
) -> Network:
    net = reg.add(Network(id=ident or reg.new_id(), name=name, data_center_id=dc.id, **fields))
    reg.event(
        CODES["NETWORK_ADD_NETWORK"],
        f"Finished adding Network {name} to Data Center: {dc.name}",
        correlation_id=correlation_id,
        data_center=dc,
    )
    if profile and net.vm_network:
        for fn in reg.hooks.network_added:  # vnicprofile.py: the default profile
            fn(reg, net, correlation_id)
    return net


def add_management_network(reg: Registry, dc: DataCenter, correlation_id: str | None) -> Network:
    """The engine creates the management network in every new data center."""
    existing = management_network_in(reg, dc)
    if existing is not None:
        return existing
    name = str(reg.config.get("management_network", "rhevm"))
    net = new_network(reg, dc, name, correlation_id=correlation_id)
    net.description = "Management Network"
    return net


def attach(
    reg: Registry,
    net: Network,
    cluster: Entity,
    *,
    required: bool = True,
    roles: set[str] | None = None,
    correlation_id: str | None = None,
) -> ClusterAttachment:
    att = ClusterAttachment(required=required, roles=set(roles or ()))
    net.clusters[cluster.id] = att
    recompute_cluster_status(reg, cluster)
    reg.event(
        CODES["NETWORK_ATTACH_NETWORK_TO_CLUSTER"],
        f"Network {net.name} attached to Cluster {cluster.name}",
        correlation_id=correlation_id,
        cluster=cluster,
    )
    return att


def attach_management_network(
    reg: Registry, dc: DataCenter, cluster: Entity, correlation_id: str | None
) -> None:
    net = management_network_in(reg, dc)
    if net is not None and cluster.id not in net.clusters:
        attach(
            reg,
            net,
            cluster,
            required=True,
            roles={"management", "display", "migration", "default_route"},
            correlation_id=correlation_id,
        )


def forget_cluster(reg: Registry, cluster: Entity) -> None:
    for n in reg.all(Network):
        n.clusters.pop(cluster.id, None)


def delete_network(reg: Registry, net: Network, correlation_id: str | None) -> None:
    for p in profiles_of(reg, net):
        reg.remove(p)
    reg.remove(net)
    dc = reg.get(DataCenter, net.data_center_id)
    reg.event(
        CODES["NETWORK_REMOVE_NETWORK"],
        f"Finished Network {net.name} removal from Data Center: {dc.name if dc else ''}",
        correlation_id=correlation_id,
        data_center=dc,
    )


def parse_network_fields(body: Element | None, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    vlan_el = body.find("vlan") if body is not None else None
    if vlan_el is not None:
        vid = vlan_el.get("id") or text(body, "vlan/id")
        if vid in (None, ""):
            out["vlan_id"] = None
        else:
            try:
                n = int(str(vid))
            except ValueError:
                raise errors.bad_request("VLAN ID must be a number between 0 and 4094.") from None
            if not 0 <= n <= 4094:
                raise errors.bad_request("VLAN ID must be a number between 0 and 4094.")
            out["vlan_id"] = n
    stp = boolean(body, "stp")
    if stp is not None:
        out["stp"] = stp
    mtu = integer(body, "mtu")
    if mtu is not None:
        if mtu != 0 and not 68 <= mtu <= 65520:
            raise errors.bad_request(
                f"Cannot {action} Network. The MTU must be 0 (default) or between 68 and 65520."
            )
        out["mtu"] = mtu
    pi = boolean(body, "port_isolation")
    if pi is not None:
        out["port_isolation"] = pi
    usages_el = body.find("usages") if body is not None else None
    if usages_el is not None:
        usages = [(u.text or "").strip().lower() for u in usages_el]
        for u in usages:
            if u not in NETWORK_USAGES:
                raise errors.invalid_value(u, "NetworkUsage")
        out["vm_network"] = "vm" in usages
        out["_roles"] = {u for u in usages if u in CLUSTER_ROLES}
    return out


def _add(req: Request, dc: DataCenter | None = None) -> Response:
    reg = req.reg
    body = req.body
    require(body, "Network", "add", "name")
    if dc is None:
        dc = ref_from_body(req, DataCenter, body.find("data_center") if body is not None else None)
        if dc is None:
            raise errors.incomplete("Network", ["dataCenter.name|id"], "add")
    name = text(body, "name") or ""
    _check_name(name, "add")
    if any(n.name == name for n in networks_in(reg, dc.id)):
        raise errors.conflict(
            f"Cannot add Network. The name of the logical network '{name}' is already used by "
            "an existing logical network in the same data-center.\n-Please choose a different "
            "name."
        )
    fields = parse_network_fields(body, "add")
    fields.pop("_roles", None)
    with reg.job(f"Adding network {name} to Data Center: {dc.name}", req.correlation_id) as job:
        profile = boolean(body, "profile_required")
        net = new_network(
            reg,
            dc,
            name,
            correlation_id=job.correlation_id,
            profile=profile is not False,
            **fields,
        )
        net.description = text(body, "description")
        net.comment = text(body, "comment")
    return created(req, net)


def _get_net(req: Request) -> Network:
    net = get_or_404(req, Network)
    if "dc" in req.params and net.data_center_id != req.params["dc"]:
        raise errors.not_found_url()
    return net


def _update(req: Request) -> Response:
    net = _get_net(req)
    reg = req.reg
    reg.check_unlocked(net, "update")
    body = req.body
    name = text(body, "name")
    if name is not None and name != net.name:
        _check_name(name, "update")
        if any(n.name == name and n.id != net.id for n in networks_in(reg, net.data_center_id)):
            raise errors.conflict(
                f"Cannot update Network. The name of the logical network '{name}' is already "
                "used by an existing logical network in the same data-center.\n-Please choose a "
                "different name."
            )
        mgmt = any("management" in a.roles for a in net.clusters.values())
        if mgmt:
            raise errors.conflict(
                "Cannot update Network. The management network cannot be renamed while it is "
                "used by a Cluster."
            )
    fields = parse_network_fields(body, "update")
    fields.pop("_roles", None)
    dc_name = getattr(reg.get(DataCenter, net.data_center_id), "name", "")
    with reg.job(
        f"Updating network {net.name} on Data Center: {dc_name}", req.correlation_id
    ) as job:
        if name is not None:
            net.name = name
        if has(body, "description"):
            net.description = text(body, "description") or ""
        if has(body, "comment"):
            net.comment = text(body, "comment") or ""
        for k, v in fields.items():
            setattr(net, k, v)
        dc = reg.get(DataCenter, net.data_center_id)
        reg.event(
            CODES["NETWORK_UPDATE_NETWORK"],
            f"Finished Network {net.name} update on Data Center: {dc.name if dc else ''}",
            correlation_id=job.correlation_id,
            data_center=dc,
        )
    return xml_response(net.render(req.ctx))


def _remove(req: Request) -> Response:
    net = _get_net(req)
    reg = req.reg
    reg.check_unlocked(net, "remove")
    if any("management" in a.roles for a in net.clusters.values()) or (
        net.name == reg.config.get("management_network", "rhevm")
    ):
        raise errors.conflict(
            f"Cannot remove Network. The Management Network ('{net.name}') is mandatory and "
            "cannot be removed."
        )
    users = network_users(reg, net)
    if users:
        raise errors.conflict(
            f"Cannot remove Network. The following Logical Network: '{net.name}' is being used "
            f"by the following VM(s): '{', '.join(v.name for v in users)}' . Please stop the "
            "VM(s) and try again."
        )
    dc_name = getattr(reg.get(DataCenter, net.data_center_id), "name", "")
    with reg.job(
        f"Removing network {net.name} from Data Center: {dc_name}", req.correlation_id
    ) as job:
        delete_network(reg, net, job.correlation_id)
    return delete_complete(req)


def register(api: Api) -> None:
    api.route("GET", "/networks", lambda req: list_response(req, req.reg.all(Network), "networks"))
    api.route("POST", "/networks", _add)
    api.route("GET", "/networks/{id}", lambda req: xml_response(_get_net(req).render(req.ctx)))
    api.route("PUT", "/networks/{id}", _update)
    api.route("DELETE", "/networks/{id}", _remove)
    empty_collections(
        api,
        Network,
        "/networks/{id}",
        {"networklabels": "network_labels", "permissions": "permissions"},
    )

    def list_dc(req: Request) -> Response:
        dc = get_or_404(req, DataCenter, "dc")
        return list_response(req, networks_in(req.reg, dc.id), "networks", searchable=False)

    api.route("GET", "/datacenters/{dc}/networks", list_dc)
    api.route(
        "POST",
        "/datacenters/{dc}/networks",
        lambda req: _add(req, get_or_404(req, DataCenter, "dc")),
    )
    api.route(
        "GET",
        "/datacenters/{dc}/networks/{id}",
        lambda req: xml_response(_get_net(req).render(req.ctx)),
    )
    api.route("PUT", "/datacenters/{dc}/networks/{id}", _update)
    api.route("DELETE", "/datacenters/{dc}/networks/{id}", _remove)
