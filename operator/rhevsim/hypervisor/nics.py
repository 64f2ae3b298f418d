"""Host NIC and network attachment handlers (/hosts/{id}/nics, /hosts/{id}/networkattachments)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from lxml import etree

from rhevsim import errors
from rhevsim.api import action_complete, delete_complete, get_or_404, list_response, xml_response
from rhevsim.hostnic import (
    HostNic,
    NetworkAttachment,
    all_nics,
    attachments_on,
    nic_by_id,
    render_attachment,
    render_nic,
    setup_error,
)
from rhevsim.hypervisor.actions import setup_networks
from rhevsim.hypervisor.host import Host
from rhevsim.xmlutil import Element

if TYPE_CHECKING:
    from rhevsim.api import Api, Request, Response


# ---------------------------------------------------------------------- handlers


def _get_host(req: Request) -> Host:
    return get_or_404(req, Host, "host")


def _get_nic(req: Request, host: Host) -> HostNic:
    nic = nic_by_id(req.reg, host, req.params["nic"])
    if nic is None:
        raise errors.not_found_url()
    return nic


def _list_nics(req: Request) -> Response:
    host = _get_host(req)
    return list_response(req, all_nics(req.reg, host), "host_nics", searchable=False)


def _get_nic_handler(req: Request) -> Response:
    host = _get_host(req)
    return xml_response(render_nic(req.ctx, _get_nic(req, host), host))


def _list_attachments(req: Request) -> Response:
    host = _get_host(req)
    return list_response(req, list(host.attachments), "network_attachments", searchable=False)


def _list_nic_attachments(req: Request) -> Response:
    host = _get_host(req)
    nic = _get_nic(req, host)
    return list_response(req, attachments_on(host, nic), "network_attachments", searchable=False)


def _find_attachment(req: Request, host: Host) -> NetworkAttachment:
    att = next((a for a in host.attachments if a.id == req.params["id"]), None)
    if att is None:
        raise errors.not_found_url()
    if "nic" in req.params:
        nic = _get_nic(req, host)
        if att.nic_name != (nic.base_interface or nic.name):
            raise errors.not_found_url()
    return att


def _get_attachment(req: Request) -> Response:
    host = _get_host(req)
    return xml_response(render_attachment(req.ctx, _find_attachment(req, host)))


def _as_setup_body(req: Request, kind: str, att_el: Element | None) -> Element:
    """Wrap one attachment as a setupnetworks body (the engine runs HostSetupNetworks too)."""
    body = etree.Element("action")
    wrap = etree.SubElement(body, kind)
    if att_el is not None:
        wrap.append(att_el)
    return body


def _add_attachment(req: Request) -> Response:
    host = _get_host(req)
    body = req.body
    if body is None:
        raise errors.incomplete("NetworkAttachment", ["network.id|name"], "add")
    if body.get("id"):
        raise setup_error(
            "New Network attachment cannot be created with given ID. Please remove Network "
            f"Attachment ID (id '{body.get('id')}') from request."
        )

    att_el = copy.deepcopy(body)
    if "nic" in req.params:
        nic = _get_nic(req, host)
        for old in att_el.findall("host_nic"):
            att_el.remove(old)
        etree.SubElement(att_el, "host_nic").set("id", nic.id)
    before = {a.id for a in host.attachments}
    setup_networks(req, host, _as_setup_body(req, "modified_network_attachments", att_el), True)
    new = next((a for a in host.attachments if a.id not in before), None)
    if new is None:
        raise errors.conflict("Cannot setup Networks. The network is already attached.")

    el = render_attachment(req.ctx, new)
    return xml_response(el, 201, [("Location", req.ctx.base + new.href())])


def _update_attachment(req: Request) -> Response:
    host = _get_host(req)
    att = _find_attachment(req, host)

    att_el = copy.deepcopy(req.body) if req.body is not None else etree.Element("x")
    att_el.tag = "network_attachment"
    att_el.set("id", att.id)
    setup_networks(req, host, _as_setup_body(req, "modified_network_attachments", att_el), True)
    return xml_response(render_attachment(req.ctx, att))


def _remove_attachment(req: Request) -> Response:
    host = _get_host(req)
    att = _find_attachment(req, host)
    el = etree.Element("network_attachment", {"id": att.id})
    setup_networks(req, host, _as_setup_body(req, "removed_network_attachments", el), True)
    return delete_complete(req)


def _noop_nic_action(req: Request) -> Response:
    host = _get_host(req)
    _get_nic(req, host)
    return action_complete(req)


def _empty(plural: str) -> object:
    def handler(req: Request) -> Response:
        host = _get_host(req)
        if "nic" in req.params:
            _get_nic(req, host)
        return xml_response(etree.Element(plural))

    return handler


def register(api: Api) -> None:
    api.route("GET", "/hosts/{host}/nics", _list_nics)
    api.route("GET", "/hosts/{host}/nics/{nic}", _get_nic_handler)
    api.action("/hosts/{host}/nics/{nic}", "updatevirtualfunctionsconfiguration", _noop_nic_action)
    for path, plural in (
        ("networklabels", "network_labels"),
        ("statistics", "statistics"),
        ("linklayerdiscoveryprotocolelements", "link_layer_discovery_protocol_elements"),
        ("virtualfunctionallowedlabels", "network_labels"),
        ("virtualfunctionallowednetworks", "networks"),
    ):
        api.route("GET", f"/hosts/{{host}}/nics/{{nic}}/{path}", _empty(plural))  # type: ignore[arg-type]
    api.route("GET", "/hosts/{host}/networkattachments", _list_attachments)
    api.route("POST", "/hosts/{host}/networkattachments", _add_attachment)
    api.route("GET", "/hosts/{host}/networkattachments/{id}", _get_attachment)
    api.route("PUT", "/hosts/{host}/networkattachments/{id}", _update_attachment)
    api.route("DELETE", "/hosts/{host}/networkattachments/{id}", _remove_attachment)
    api.route("GET", "/hosts/{host}/nics/{nic}/networkattachments", _list_nic_attachments)
    api.route("POST", "/hosts/{host}/nics/{nic}/networkattachments", _add_attachment)
    api.route("GET", "/hosts/{host}/nics/{nic}/networkattachments/{id}", _get_attachment)
    api.route("PUT", "/hosts/{host}/nics/{nic}/networkattachments/{id}", _update_attachment)
    api.route("DELETE", "/hosts/{host}/nics/{nic}/networkattachments/{id}", _remove_attachment)
