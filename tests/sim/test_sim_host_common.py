"""Helpers shared by the host, SPM and fence simulator tests (raw HTTP with requests)."""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree

from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")
Element = Any  # lxml elements, loosely typed for terse assertions


def machine(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"hv0{i}",
        "address": f"10.0.0.1{i}",
        "nics": [
            {"name": "eth0", "mac": f"52:54:00:00:00:1{i}"},
            {"name": "eth1", "mac": f"52:54:00:00:01:1{i}"},
        ],
        "bmc": {"port": 6230 + i, "username": "admin", "password": "bmcpw"},
        **extra,
    }


def inventory(
    hosts: list[dict[str, Any]] | None = None,
    *,
    machines: int = 3,
    off: tuple[str, ...] = ("hv03",),
) -> dict[str, Any]:
    """Default DC with an active NFS master, a VLAN and an untagged network, machines (all
    powered on except those in `off`)."""
    return {
        "machines": [
            machine(i, power="off" if f"hv0{i}" in off else "on") for i in range(1, machines + 1)
        ],
        "networks": [
            {
                "name": "storage",
                "data_center": "Default",
                "vlan": 20,
                "clusters": [{"name": "Default", "required": False}],
            },
            {
                "name": "backend",
                "data_center": "Default",
                "clusters": [{"name": "Default", "required": False}],
            },
            {"name": "other", "data_center": "Default", "vlan": 30},  # not in the cluster
        ],
        "storage_domains": [
            {
                "name": "nfs1",
                "type": "data",
                "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"},
                "data_center": "Default",
                "status": "active",
            }
        ],
        "hosts": hosts or [],
    }


class Api:
    """Tiny raw-HTTP client: XML in, parsed XML out, status codes kept."""

    def __init__(self, sim: SimHandle) -> None:
        self.sim = sim
        self.url = sim.api_url
        self.s = requests.Session()
        self.s.auth = AUTH
        self.s.headers["Content-Type"] = "application/xml"

    def call(self, method: str, path: str, body: str | None = None, **params: Any) -> Any:
        r = self.s.request(method, self.url + path, data=body, params=params or None, timeout=30)
        return r

    def get(self, path: str, **params: Any) -> Element:
        r = self.call("GET", path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return etree.fromstring(r.content)

    def post(self, path: str, body: str, expect: int | tuple[int, ...] = (200, 201, 202)) -> Any:
        r = self.call("POST", path, body)
        codes = (expect,) if isinstance(expect, int) else expect
        assert r.status_code in codes, (path, r.status_code, r.text)
        return r

    def action(self, host_id: str, verb: str, body: str = "<action/>") -> Any:
        return self.call("POST", f"/hosts/{host_id}/{verb}", body)

    def host(self, name: str) -> Element:
        hosts = self.get("/hosts", search=f"name={name}")
        assert len(hosts) == 1, etree.tostring(hosts)
        return hosts[0]

    def status(self, name: str) -> str:
        return str(self.host(name).findtext("status"))

    def spm(self, name: str) -> str:
        return str(self.host(name).findtext("spm/status"))

    def dc_status(self, name: str = "Default") -> str:
        dcs = self.get("/datacenters", search=f"name={name}")
        return str(dcs[0].findtext("status"))

    def events(self, code: int) -> list[Element]:
        return list(self.get("/events", search=f"type={code}"))


def agent_xml(
    password: str = "bmcpw", port: int = 6231, order: int = 1, *, options: bool = True
) -> str:
    """A POST /hosts/{id}/fenceagents body for an IPMI agent on loopback."""
    opts = "<options><option><name>lanplus</name><value>1</value></option></options>"
    return (
        f"<agent><address>127.0.0.1</address><port>{port}</port><type>ipmilan</type>"
        f"<username>admin</username><password>{password}</password><order>{order}</order>"
        f"{opts if options else ''}</agent>"
    )


def fault_detail(r: requests.Response) -> str:
    root = etree.fromstring(r.content)
    fault = root if root.tag == "fault" else root.find("fault")
    assert fault is not None, r.text
    return str(fault.findtext("detail") or fault.findtext("reason"))


def run_until(sim: SimHandle, check: Any, *, step: float = 1.0, limit: float = 3600.0) -> float:
    """Advance the manual clock in steps until check() is true; returns simulated seconds."""
    spent = 0.0
    while not check():
        assert spent < limit, "condition not reached within the simulated time limit"
        sim.advance(step)
        spent += step
    return spent
