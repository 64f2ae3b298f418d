"""The engine-wide objects a cluster refers to: the built-in scheduling policies
(/schedulingpolicies) and the Default MAC pool (/macpools), from which VM MACs come.

Both are read-only here, as the engine ships them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import Api, Request, Response, xml_response
from rhevsim.xmlutil import Element, xml_bool

if TYPE_CHECKING:
    from rhevsim.registry import Registry

# The engine's built-in cluster policies (bll/scheduling/InternalClusterPolicies): id, name,
# description. `none` is the default policy a new cluster gets.
SCHEDULING_POLICIES = (
    ("b4ed2332-a7ac-4d5f-9596-99a439cb2812", "none", "No load balancing operation"),
    (
        "7677771e-5eab-422e-83fa-dc04080d21b7",
        "cluster_maintenance",
        "Cluster maintenance policy: no VM may be started or migrated in",
    ),
    (
        "20d25257-b4bd-4589-92a6-c4c5c5d3fd1a",
        "evenly_distributed",
        "Load balancing policy that spreads CPU load evenly over the hosts",
    ),
    (
        "5a2b0939-7d46-4b73-a469-e9c2c7fc6a53",
        "power_saving",
        "Load balancing policy that packs VMs on few hosts to save power",
    ),
    (
        "8d5d7bec-68de-4a67-b53e-0ac54686d579",
        "vm_evenly_distributed",
        "Load balancing policy that spreads the number of VMs evenly over the hosts",
    ),
)
DEFAULT_SCHEDULING_POLICY = SCHEDULING_POLICIES[0][0]
# The one MAC pool a fresh engine has (packaging/dbscripts/data/00210_insert_mac_pools.sql).
DEFAULT_MAC_POOL_ID = "58ca604b-017d-0374-0220-00000000014e"


def _render_policy(req: Request, policy: tuple[str, str, str]) -> Element:
    ident, name, description = policy
    el = etree.Element(
        "scheduling_policy", {"href": f"{req.base}/schedulingpolicies/{ident}", "id": ident}
    )
    for rel in ("balances", "filters", "weights"):
        etree.SubElement(
            el, "link", {"href": f"{req.base}/schedulingpolicies/{ident}/{rel}", "rel": rel}
        )
    etree.SubElement(el, "name").text = name
    etree.SubElement(el, "description").text = description
    etree.SubElement(el, "default_policy").text = xml_bool(ident == DEFAULT_SCHEDULING_POLICY)
    etree.SubElement(el, "locked").text = "true"
    return el


def _scheduling_policy(req: Request) -> tuple[str, str, str]:
    for p in SCHEDULING_POLICIES:
        if p[0] == req.params.get("id"):
            return p
    raise errors.not_found_url()


def _list_scheduling_policies(req: Request) -> Response:
    out = etree.Element("scheduling_policies")
    for p in SCHEDULING_POLICIES:
        out.append(_render_policy(req, p))
    return xml_response(out)


def _render_mac_pool(req: Request) -> Element:
    """The engine's Default pool; its range is the one the simulator allocates VM MACs from."""
    ident = DEFAULT_MAC_POOL_ID
    el = etree.Element("mac_pool", {"href": f"{req.base}/macpools/{ident}", "id": ident})
    etree.SubElement(
        el, "link", {"href": f"{req.base}/macpools/{ident}/permissions", "rel": "permissions"}
    )
    etree.SubElement(el, "name").text = "Default"
    etree.SubElement(el, "description").text = "Default MAC pool"
    etree.SubElement(el, "allow_duplicates").text = "false"
    etree.SubElement(el, "default_pool").text = "true"
    prefix = mac_pool(req.reg)["prefix"]
    ranges = etree.SubElement(el, "ranges")
    rng = etree.SubElement(ranges, "range")
    etree.SubElement(rng, "from").text = f"{prefix}:00:00"
    etree.SubElement(rng, "to").text = f"{prefix}:ff:ff"
    return el


def _list_mac_pools(req: Request) -> Response:
    out = etree.Element("mac_pools")
    out.append(_render_mac_pool(req))
    return xml_response(out)


def _get_mac_pool(req: Request) -> Response:
    if req.params.get("id") != DEFAULT_MAC_POOL_ID:
        raise errors.not_found_url()
    return xml_response(_render_mac_pool(req))


def _policy_units(rel: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        _scheduling_policy(req)
        return xml_response(etree.Element(rel))

    return handler


def _mac_pool_permissions(req: Request) -> Response:
    _get_mac_pool(req)
    return xml_response(etree.Element("permissions"))


def mac_pool(reg: Registry) -> dict[str, Any]:
    """The Default pool's state: 56:6f:XX:XX:00:00-ff:ff (XX from the seed), addresses in use."""
    pool = reg.config.get("_vm_mac_pool")
    if pool is None:
        rnd = random.Random(reg.seed * 7 + 13)
        prefix = f"56:6f:{rnd.randrange(256):02x}:{rnd.randrange(256):02x}"
        pool = {"prefix": prefix, "next": 0, "used": set()}
        reg.config["_vm_mac_pool"] = pool
    return pool


def register(api: Api) -> None:
    api.route("GET", "/schedulingpolicies", _list_scheduling_policies)
    api.route(
        "GET",
        "/schedulingpolicies/{id}",
        lambda req: xml_response(_render_policy(req, _scheduling_policy(req))),
    )
    for rel in ("balances", "filters", "weights"):
        api.route("GET", f"/schedulingpolicies/{{id}}/{rel}", _policy_units(rel))
    api.route("GET", "/macpools", _list_mac_pools)
    api.route("GET", "/macpools/{id}", _get_mac_pool)
    api.route("GET", "/macpools/{id}/permissions", _mac_pool_permissions)
