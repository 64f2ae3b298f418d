"""Fence agent handlers (/hosts/{id}/fenceagents)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim import errors
from rhevsim.api import created, delete_complete, get_or_404, list_response, require, xml_response
from rhevsim.datacenter import ENGINE_USER
from rhevsim.event import CODES
from rhevsim.fenceagent import FenceAgent, agents_of, apply_agent_body
from rhevsim.hypervisor.host import Host
from rhevsim.xmlutil import has, text

if TYPE_CHECKING:
    from rhevsim.api import Api, Request, Response


# ---------------------------------------------------------------------- handlers


def _host(req: Request) -> Host:
    return get_or_404(req, Host, "host")


def _agent(req: Request, host: Host) -> FenceAgent:
    agent = next((a for a in host.agents if a.id == req.params["id"]), None)
    if agent is None:
        raise errors.not_found_url()
    return agent


def _list(req: Request) -> Response:
    return list_response(req, agents_of(_host(req)), "agents", searchable=False)


def _get(req: Request) -> Response:
    host = _host(req)
    return xml_response(_agent(req, host).render(req.ctx))


def _add(req: Request) -> Response:
    host = _host(req)
    reg = req.reg
    body = req.body
    require(body, "Agent", "add", "address", "order", "type")
    if not (has(body, "username") and has(body, "password")) and text(body, "type") in (
        "ipmilan",
        None,
    ):
        raise errors.incomplete("Agent", ["username", "password"], "add")
    with reg.job(f"Adding fence agent to host {host.name}", req.correlation_id) as job:
        agent = FenceAgent(id=reg.new_id(), host_id=host.id)
        apply_agent_body(agent, body, "add")
        host.agents.append(agent)
        reg.event(
            CODES["USER_UPDATE_VDS"],
            f"Host {host.name} configuration was updated by {_user()}.",
            correlation_id=job.correlation_id,
            host=host,
        )
    return created(req, agent)


def _update(req: Request) -> Response:
    host = _host(req)
    agent = _agent(req, host)
    reg = req.reg
    with reg.job(f"Updating fence agent of host {host.name}", req.correlation_id) as job:
        apply_agent_body(agent, req.body, "edit")
        reg.event(
            CODES["USER_UPDATE_VDS"],
            f"Host {host.name} configuration was updated by {_user()}.",
            correlation_id=job.correlation_id,
            host=host,
        )
    return xml_response(agent.render(req.ctx))


def _remove(req: Request) -> Response:
    host = _host(req)
    agent = _agent(req, host)
    reg = req.reg
    with reg.job(f"Removing fence agent from host {host.name}", req.correlation_id):
        host.agents.remove(agent)
    return delete_complete(req)


def _user() -> str:
    return ENGINE_USER


def register(api: Api) -> None:
    api.route("GET", "/hosts/{host}/fenceagents", _list)
    api.route("POST", "/hosts/{host}/fenceagents", _add)
    api.route("GET", "/hosts/{host}/fenceagents/{id}", _get)
    api.route("PUT", "/hosts/{host}/fenceagents/{id}", _update)
    api.route("DELETE", "/hosts/{host}/fenceagents/{id}", _remove)
