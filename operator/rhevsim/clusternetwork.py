"""Networks in clusters (/clusters/{id}/networks) and the inventory's `networks:`.

A network belongs to a data center (network.py); attaching it to a cluster of that data
center makes it a cluster network with a role set and a `required` flag. This module sits
above both cluster.py and network.py, which therefore do not import each other's handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    created,
    delete_complete,
    get_or_404,
    list_response,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import DataCenter
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError, find
from rhevsim.network import (
    ClusterNetwork,
    Network,
    attach,
    cluster_networks,
    network_users,
    networks_in,
    new_network,
    parse_network_fields,
    recompute_cluster_status,
    render_network,
)
from rhevsim.xmlutil import boolean, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def _cluster(req: Request) -> Cluster:
    return get_or_404(req, Cluster, "cl")


def _list_cluster(req: Request) -> Response:
    cl = _cluster(req)
    return list_response(req, cluster_networks(req.reg, cl), "networks", searchable=False)


def _get_cluster_net(req: Request) -> tuple[Cluster, Network]:
    cl = _cluster(req)
    net = req.reg.get(Network, req.params["id"])
    if net is None or cl.id not in net.clusters:
        raise errors.not_found_url()
    return cl, net


def _get_in_cluster(req: Request) -> Response:
    cl, net = _get_cluster_net(req)
    return xml_response(render_network(req.ctx, net, cl.id))


def _attach(req: Request) -> Response:
    cl = _cluster(req)
    reg = req.reg
    body = req.body
    if body is None or (not body.get("id") and not text(body, "name")):
        raise errors.incomplete("Network", ["id|name"], "add")
    ident = body.get("id")
    name = text(body, "name")
    net: Network | None
    if ident:
        net = reg.get(Network, ident)
    else:
        net = next(
            (
                n
                for n in reg.all(Network)
                if n.name == name and n.data_center_id == cl.data_center_id
            ),
            None,
        )
    if net is None:
        raise errors.ApiError(404, "Not Found", empty=True)
    if net.data_center_id != cl.data_center_id:
        raise errors.bad_request(
            "Cannot attach Network. The Logical Network does not belong to the Cluster's Data "
            "Center."
        )
    if cl.id in net.clusters:
        raise errors.conflict("Logical Network is already attached to Cluster.")
    fields = parse_network_fields(body, "attach")
    roles: set[str] = set(fields.get("_roles", set()))
    if boolean(body, "display"):
        roles.add("display")
    required = boolean(body, "required")
    with reg.job(f"Attaching Network {net.name} to Cluster {cl.name}", req.correlation_id) as job:
        attach(
            reg,
            net,
            cl,
            required=True if required is None else required,
            roles=roles,
            correlation_id=job.correlation_id,
        )
    view = ClusterNetwork(id=net.id, name=net.name, network=net, cluster_id=cl.id)
    return created(req, view)


def _update_in_cluster(req: Request) -> Response:
    cl, net = _get_cluster_net(req)
    reg = req.reg
    body = req.body
    att = net.clusters[cl.id]
    required = boolean(body, "required")
    fields = parse_network_fields(body, "update")
    roles = fields.get("_roles")
    if "management" in att.roles:
        # ACTION_TYPE_FAILED_MANAGEMENT_NETWORK_REQUIRED / _UNSET: BAD_PARAMETERS, a 400.
        if required is False:
            raise errors.bad_request(
                f"Cannot update Network. The management network '{net.name}' must be required, "
                "please change the network to be required and try again."
            )
        if roles is not None and "management" not in roles:
            raise errors.bad_request(
                "Cannot update Network. Unsetting management network property is not allowed. "
                "It is done automatically when moving the role to another network."
            )
    with reg.job(f"Updating Network {net.name} on Cluster {cl.name}", req.correlation_id) as job:
        if required is not None:
            att.required = required
        if roles is not None:
            att.roles = set(roles)
        display = boolean(body, "display")
        if display is not None:
            att.roles = (att.roles | {"display"}) if display else (att.roles - {"display"})
        recompute_cluster_status(reg, cl)
        reg.event(
            CODES["NETWORK_UPDTAE_NETWORK_ON_CLUSTER"],
            f"Network {net.name} on Cluster {cl.name} updated.",
            correlation_id=job.correlation_id,
            cluster=cl,
        )
    return xml_response(render_network(req.ctx, net, cl.id))


def _detach(req: Request) -> Response:
    cl, net = _get_cluster_net(req)
    reg = req.reg
    if "management" in net.clusters[cl.id].roles:
        raise errors.conflict(
            f"Cannot detach Network. The Management Network ('{net.name}') is mandatory and "
            "cannot be removed."
        )
    users = [u for u in network_users(reg, net) if getattr(u, "cluster_id", None) == cl.id]
    if users:
        raise errors.conflict(
            f"Cannot detach Network. The following Logical Network: '{net.name}' is being used "
            f"by the following VM(s): '{', '.join(v.name for v in users)}' . Please stop the "
            "VM(s) and try again."
        )
    with reg.job(f"Detaching Network {net.name} from Cluster {cl.name}", req.correlation_id) as job:
        del net.clusters[cl.id]
        reg.event(
            CODES["NETWORK_DETACH_NETWORK_TO_CLUSTER"],
            f"Network {net.name} detached from Cluster {cl.name}",
            correlation_id=job.correlation_id,
            cluster=cl,
        )
    return delete_complete(req)


def register(api: Api) -> None:
    api.route("GET", "/clusters/{cl}/networks", _list_cluster)
    api.route("POST", "/clusters/{cl}/networks", _attach)
    api.route("GET", "/clusters/{cl}/networks/{id}", _get_in_cluster)
    api.route("PUT", "/clusters/{cl}/networks/{id}", _update_in_cluster)
    api.route("DELETE", "/clusters/{cl}/networks/{id}", _detach)


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, n in enumerate(find(inv, "networks")):
        where = f"networks[{i}]"
        dc = reg.by_name(DataCenter, str(n.get("data_center", "Default")))
        if dc is None:
            raise InventoryError(
                f"{where}.data_center: no data center named {n.get('data_center')!r}"
            )
        fields: dict[str, Any] = {}
        if n.get("vlan") is not None:
            if not isinstance(n["vlan"], int) or not 0 <= n["vlan"] <= 4094:
                raise InventoryError(f"{where}.vlan: expected an integer 0-4094")
            fields["vlan_id"] = n["vlan"]
        for key in ("stp", "mtu", "vm_network", "port_isolation"):
            if key in n:
                fields[key] = n[key]
        net = next((x for x in networks_in(reg, dc.id) if x.name == n["name"]), None)
        if net is None:
            net = new_network(reg, dc, str(n["name"]), ident=n.get("id"), **fields)
        else:
            for k, v in fields.items():
                setattr(net, k, v)
        net.description = n.get("description", net.description)
        for j, c in enumerate(n.get("clusters") or []):
            spec = c if isinstance(c, dict) else {"name": c}
            cl = reg.by_name(Cluster, str(spec.get("name")))
            if cl is None:
                raise InventoryError(
                    f"{where}.clusters[{j}]: no cluster named {spec.get('name')!r}"
                )
            if cl.id not in net.clusters:
                attach(
                    reg,
                    net,
                    cl,
                    required=bool(spec.get("required", True)),
                    roles=set(spec.get("roles", [])),
                )
