"""Graphics consoles of VMs (/vms/{id}/graphicsconsoles), as the engine serves them
(BackendVmGraphicsConsolesResource, BackendVmGraphicsConsoleResource, SetVmTicketCommand,
ConfigureConsoleOptionsQuery, ConsoleDescriptorGenerator):

- the list holds one console per protocol of the VM's display (spice or vnc); its id is the
  protocol's name in hex (`7370696365` is spice). Without `current=true` it shows the
  configured protocols only; with it, the consoles of the running VM with the address of its
  host, `port`, and `tls_port` for spice (a VM that is not running has none);
- `ticket` sets a one-time password on the running VM (up, paused, powering up or down,
  rebooting): the client's `<ticket><value>` or one the engine makes (8 characters), valid
  for `<expiry>` seconds, by default 7200 (BackendGraphicsConsoleHelper); the answer carries
  `<ticket><value/><expiry/></ticket>`. Any other state is refused (409);
- `remoteviewerconnectionfile` answers the remote-viewer (.vv) file of the running VM with a
  new ticket valid 120 seconds (ConsoleOptions.TICKET_VALIDITY_SECONDS) in
  `<remote_viewer_connection_file>`; for a VM that is not running the engine answers 204
  with no body.

Ports: the n-th running VM of a host (by start) listens on 5900 + 2n (spice TLS on the next).
"""

from __future__ import annotations

import base64
import secrets

from lxml import etree

from rhevsim import errors
from rhevsim.api import Api, Request, Response, action_complete, xml_response
from rhevsim.datacenter import ENGINE_USER
from rhevsim.event import CODES
from rhevsim.virtualmachine.entity import STATUS_WORDS, TYPE_NAME, Vm, hosts_by_id, vm_or_404
from rhevsim.xmlutil import Element, integer, text

#: SetVmTicketCommand accepts these VM states.
TICKET_STATES = ("up", "paused", "powering_up", "powering_down", "reboot_in_progress")
#: BackendGraphicsConsoleHelper.DEFAULT_TICKET_EXPIRY (seconds).
DEFAULT_TICKET_EXPIRY = 120 * 60
#: ConsoleOptions.TICKET_VALIDITY_SECONDS: the ticket of a remote-viewer file.
FILE_TICKET_SECONDS = 120
FIRST_PORT = 5900

CODES.update({"VM_SET_TICKET": 164})

_ACTIONS = ("proxyticket", "remoteviewerconnectionfile", "ticket")


def console_id(protocol: str) -> str:
    """HexUtils.string2hex of the protocol's name."""
    return protocol.encode().hex()


def _protocols(vm: Vm) -> list[str]:
    return [vm.config.display_type]


def _protocol_of(vm: Vm, ident: str) -> str:
    for protocol in _protocols(vm):
        if console_id(protocol) == ident:
            return protocol
    raise errors.not_found_url()


def _host_address(req: Request, vm: Vm) -> str | None:
    host = hosts_by_id(req.reg).get(vm.host_id or "")
    address = getattr(host, "address", None) if host is not None else None
    return str(address) if address else None


def _port(req: Request, vm: Vm) -> int:
    """5900 + 2n for the n-th running VM of its host, ordered by start."""
    peers = sorted(
        (v for v in req.reg.all(Vm) if v.running and v.host_id == vm.host_id),
        key=lambda v: (v.start_time or 0.0, v.id),
    )
    index = next((i for i, v in enumerate(peers) if v is vm), 0)
    return FIRST_PORT + 2 * index


def _render(req: Request, vm: Vm, protocol: str, current: bool) -> Element:
    ident = console_id(protocol)
    href = f"{req.ctx.base}{vm.href()}/graphicsconsoles/{ident}"
    el = etree.Element("graphics_console", {"href": href, "id": ident})
    actions = etree.SubElement(el, "actions")
    for verb in _ACTIONS:
        etree.SubElement(actions, "link", {"href": f"{href}/{verb}", "rel": verb})
    if current:
        address = _host_address(req, vm)
        if address:
            etree.SubElement(el, "address").text = address
        port = _port(req, vm)
        etree.SubElement(el, "port").text = str(port)
        if protocol == "spice":
            etree.SubElement(el, "tls_port").text = str(port + 1)
    etree.SubElement(el, "protocol").text = protocol
    req.ctx.ref(el, "vm", vm)
    return el


def list_consoles(req: Request) -> Response:
    vm = vm_or_404(req)
    current = req.query_bool("current")
    root = etree.Element("graphics_consoles")
    if not current or vm.running:
        for protocol in _protocols(vm):
            root.append(_render(req, vm, protocol, current))
    return xml_response(root)


def get_console(req: Request) -> Response:
    vm = vm_or_404(req)
    protocol = _protocol_of(vm, req.params["console"])
    current = req.query_bool("current")
    if current and not vm.running:
        raise errors.not_found_url()
    return xml_response(_render(req, vm, protocol, current))


def _otp() -> str:
    """Ticketing.generateOTP: 6 random bytes in Base64 (libvirt takes 8 characters)."""
    return base64.b64encode(secrets.token_bytes(6)).decode()


def _set_ticket(req: Request, vm: Vm, protocol: str, value: str | None, expiry: int) -> str:
    if vm.status not in TICKET_STATES:
        raise errors.conflict(
            f"Cannot set Virtual Machine Ticket because the {TYPE_NAME} is in "
            f"{STATUS_WORDS[vm.status]} status."
        )
    ticket = value or _otp()
    vm.tickets[protocol] = (ticket, req.reg.clock.now() + expiry)
    req.reg.event(
        CODES["VM_SET_TICKET"],
        f"User {ENGINE_USER} initiated console session for VM {vm.name}",
        correlation_id=req.correlation_id,
        vm=vm,
        host=hosts_by_id(req.reg).get(vm.host_id or ""),
    )
    return ticket


def ticket(req: Request) -> Response:
    vm = vm_or_404(req)
    protocol = _protocol_of(vm, req.params["console"])
    value = text(req.body, "ticket/value")
    expiry = integer(req.body, "ticket/expiry")
    expiry = DEFAULT_TICKET_EXPIRY if expiry is None else expiry
    issued = _set_ticket(req, vm, protocol, value, expiry)
    out = etree.Element("ticket")
    etree.SubElement(out, "value").text = issued
    etree.SubElement(out, "expiry").text = str(expiry)
    return action_complete(req, None, [out])


def _descriptor(req: Request, vm: Vm, protocol: str, password: str) -> str:
    """ConsoleDescriptorGenerator.generateDescriptor, with the engine's default options."""
    port = _port(req, vm)
    lines = [
        "[virt-viewer]",
        f"type={protocol}",
        f"host={_host_address(req, vm) or ''}",
        f"port={port}",
        f"password={password}",
        f"# Password is valid for {FILE_TICKET_SECONDS} seconds.",
        "delete-this-file=1",
        "fullscreen=0",
        f"title={vm.name}",
        "toggle-fullscreen=shift+f11",
        "release-cursor=shift+f12",
        "secure-attention=ctrl+alt+end",
    ]
    if protocol == "spice":
        lines += [
            f"tls-port={port + 1}",
            "enable-smartcard=0",
            "enable-usb-autoshare=1",
            "usb-filter=-1,-1,-1,-1,1",
            "tls-ciphers=DEFAULT",
        ]
    auth = req.header("authorization") or ""
    token = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else ""
    lines += [
        "",
        "[ovirt]",
        f"host={req.header('host') or 'localhost'}",
        f"vm-guid={vm.id}",
        f"sso-token={token}",
        "admin=1",
    ]
    return "\n".join(lines) + "\n"


def remote_viewer_connection_file(req: Request) -> Response:
    vm = vm_or_404(req)
    protocol = _protocol_of(vm, req.params["console"])
    if vm.status not in TICKET_STATES:
        return Response(204, b"", content_type=None)  # "Vm <name> is not running."
    password = _set_ticket(req, vm, protocol, None, FILE_TICKET_SECONDS)
    out = etree.Element("remote_viewer_connection_file")
    out.text = _descriptor(req, vm, protocol, password)
    return action_complete(req, None, [out])


def register(api: Api) -> None:
    base = "/vms/{id}/graphicsconsoles"
    api.route("GET", base, list_consoles)
    api.route("GET", base + "/{console}", get_console)
    api.action(base + "/{console}", "ticket", ticket)
    api.action(base + "/{console}", "remoteviewerconnectionfile", remote_viewer_connection_file)
