"""Element names and structure against the API model (via the SDK's generated readers),
for every document reachable by following links from the API root."""

from __future__ import annotations

from collections import deque
from typing import Any

import requests
from lxml import etree

from rhevsim.conformance import check_xml
from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")

INVENTORY: dict[str, Any] = {
    "hosts": [{"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"}],
    "networks": [
        {
            "name": "vlan10",
            "vlan": 10,
            "mtu": 9000,
            "clusters": [{"name": "Default", "required": False}],
        }
    ],
    "vnic_profiles": [{"name": "vlan10-mirror", "network": "vlan10", "port_mirroring": True}],
    "storage_domains": [
        {
            "name": "data1",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/d1"},
            "data_center": "Default",
        },
        {
            "name": "iso1",
            "type": "iso",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/iso"},
        },
    ],
}


def crawl(sim: SimHandle, limit: int = 600) -> dict[str, bytes]:
    """GET the root, then every href of a served top-level kind, breadth first."""
    prefix = "/ovirt-engine/api"
    root = requests.get(sim.api_url, auth=AUTH, timeout=10)
    kinds = {
        link.get("rel")
        for link in etree.fromstring(root.content).findall("link")
        if "/" not in link.get("rel")
    }
    seen: dict[str, bytes] = {}
    queue: deque[str] = deque(f"{prefix}/{k}" for k in sorted(kinds))
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        r = requests.get(sim.url + path, auth=AUTH, timeout=10)
        if r.status_code != 200 or not r.headers["Content-Type"].startswith("application/xml"):
            seen[path] = b"HTTP %d" % r.status_code
            continue
        seen[path] = r.content
        doc = etree.fromstring(r.content)
        for el in doc.iter():
            href = el.get("href")
            parent = el.getparent()
            if not href or "{" in href or "?" in href:
                continue
            if parent is not None and parent.tag == "actions":
                continue  # actions are POST-only
            if el.get("rel") == "creation_status":
                continue
            rest = href[len(prefix) + 1 :].split("/")
            if href.startswith(prefix + "/") and rest[0] in kinds and href not in seen:
                queue.append(href)
    return seen


def test_every_reachable_document_matches_the_model(simulator_factory: Any) -> None:
    sim = simulator_factory(INVENTORY)
    docs = crawl(sim)
    assert len(docs) > 40
    failed = {path: body.decode() for path, body in docs.items() if body.startswith(b"HTTP ")}
    assert failed == {}
    problems = {path: p for path, body in docs.items() if (p := check_xml(body))}
    assert problems == {}


def test_follow_inlined_documents_match_the_model(simulator_factory: Any) -> None:
    sim = simulator_factory(INVENTORY)
    dc = sim.find("datacenter", "Default")
    cl = sim.find("cluster", "Default")
    for path in (
        f"/datacenters/{dc.id}?follow=clusters,networks,storagedomains",
        f"/clusters/{cl.id}?follow=networks",
        "/networks?follow=vnicprofiles",
        "/jobs?follow=steps",
    ):
        r = requests.get(sim.api_url + path, auth=AUTH, timeout=10)
        assert r.status_code == 200
        assert check_xml(r.content) == [], path


def test_action_and_fault_documents_match_the_model(simulator_factory: Any) -> None:
    sim = simulator_factory(INVENTORY)
    cl = sim.find("cluster", "Default")
    r = requests.post(
        sim.api_url + f"/clusters/{cl.id}/syncallnetworks",
        data="<action/>",
        auth=AUTH,
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )
    assert check_xml(r.content) == []
    sd = sim.find("storagedomain", "iso1")
    r = requests.post(
        sim.api_url + f"/storagedomains/{sd.id}/isattached",
        data="<action/>",
        auth=AUTH,
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )
    assert etree.fromstring(r.content).findtext("is_attached") == "false"
    assert check_xml(r.content) == []


def test_the_checker_catches_what_the_sdk_would_silently_ignore() -> None:
    bad = (
        b'<data_centers><data_center id="1" href="/x" kind="dc"><nme>x</nme>'
        b"<status>upp</status><local>yes</local></data_center></data_centers>"
    )
    problems = check_xml(bad)
    assert len(problems) == 4
    assert any("nme" in p for p in problems) and any("upp" in p for p in problems)
