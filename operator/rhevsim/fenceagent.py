"""Fence agents (/hosts/{id}/fenceagents): the power management of a host.

An agent names a BMC (`address`, `port`, `type` ipmilan, `username`, `password`, `order`,
`options`). The password is write-only: it is never rendered. Fencing (rhevsim.hypervisor) uses
the agents in `order`; an agent whose credentials do not match the machine's BMC fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from lxml import etree

from rhevsim import errors
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, integer, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

# Agent types a 4.5 engine offers (VdsFenceOptionMapping / fence-agents).
AGENT_TYPES = (
    "apc",
    "apc_snmp",
    "bladecenter",
    "cisco_ucs",
    "drac5",
    "drac7",
    "eps",
    "hpblade",
    "ilo",
    "ilo2",
    "ilo3",
    "ilo4",
    "ilo_ssh",
    "ipmilan",
    "redfish",
    "rsa",
    "rsb",
    "wti",
)


@dataclass(kw_only=True, eq=False)
class FenceAgent(Entity):
    KIND = "fenceagent"
    TAG = "agent"
    PLURAL = "agents"
    TYPE_NAME = "Fence Agent"
    REF_NAME = "Agent"

    host_id: str
    address: str = ""
    port: int | None = None
    agent_type: str = "ipmilan"
    username: str = ""
    password: str = field(default="", repr=False)  # never rendered
    order: int = 1
    options: dict[str, str] = field(default_factory=dict)
    encrypt_options: bool = False
    concurrent: bool = False

    def href(self) -> str:
        return f"/hosts/{self.host_id}/fenceagents/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        etree.SubElement(el, "address").text = self.address
        etree.SubElement(el, "concurrent").text = "true" if self.concurrent else "false"
        etree.SubElement(el, "encrypt_options").text = "true" if self.encrypt_options else "false"
        opts = etree.SubElement(el, "options")
        for k, v in self.options.items():
            o = etree.SubElement(opts, "option")
            etree.SubElement(o, "name").text = k
            etree.SubElement(o, "value").text = v
        etree.SubElement(el, "order").text = str(self.order)
        if self.port is not None:
            etree.SubElement(el, "port").text = str(self.port)
        etree.SubElement(el, "type").text = self.agent_type
        etree.SubElement(el, "username").text = self.username
        ctx.ref_id(el, "host", "hosts", self.host_id)
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return {"id": self.id, "address": self.address, "type": self.agent_type}


class AgentHost(Protocol):
    """What this module needs of a host (the hypervisor package's `Host`)."""

    @property
    def id(self) -> str: ...

    @property
    def agents(self) -> list[FenceAgent]: ...


def agents_of(host: AgentHost) -> list[FenceAgent]:
    return sorted(host.agents, key=lambda a: (a.order, a.id))


def _parse_options(body: Element | None) -> dict[str, str] | None:
    if body is None or body.find("options") is None:
        return None
    out: dict[str, str] = {}
    for o in body.find("options"):  # type: ignore[union-attr]
        name = text(o, "name")
        if not name:
            raise errors.incomplete("Option", ["name"], "add")
        out[name] = text(o, "value") or ""
    return out


def apply_agent_body(agent: FenceAgent, body: Element | None, action: str) -> None:
    t = text(body, "type")
    if t is not None:
        if t.lower() not in AGENT_TYPES:
            # ACTION_TYPE_FAILED_AGENT_NOT_SUPPORTED: CONFLICT, a 409.
            raise errors.conflict(
                f"Cannot {action} Host. Selected Power Management Agent is not supported."
            )
        agent.agent_type = t.lower()
    addr = text(body, "address")
    if addr is not None:
        agent.address = addr
    port = integer(body, "port")
    if port is not None:
        if not 0 < port < 65536:
            raise errors.bad_request(
                f"Cannot {action} Host. agent.port must be 1-65535, not {port}."
            )
        agent.port = port
    for attr in ("username", "password"):
        v = text(body, attr)
        if v is not None:
            setattr(agent, attr, v)
    order = integer(body, "order")
    if order is not None:
        if order < 1:
            raise errors.bad_request(f"Cannot {action} Host. agent.order must be >= 1.")
        agent.order = order
    opts = _parse_options(body)
    if opts is not None:
        agent.options = opts
    for attr in ("encrypt_options", "concurrent"):
        b = boolean(body, attr)
        if b is not None:
            setattr(agent, attr, b)


def new_agent(reg: Registry, host: AgentHost, **fields: object) -> FenceAgent:
    agent = FenceAgent(id=reg.new_id(), host_id=host.id, **fields)  # type: ignore[arg-type]
    host.agents.append(agent)
    return agent
