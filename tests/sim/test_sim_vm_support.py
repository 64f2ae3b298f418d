"""Shared inventory and a small raw-HTTP client for the VM, disk and template tests.

No tests here: the helpers are imported by test_sim_vm*.py, test_sim_disk*.py and
test_sim_template*.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from lxml import etree

from rhevsim.testing import SimHandle

GIB = 1024**3
MIB = 1024**2

INVENTORY: dict[str, Any] = {
    "clusters": [
        {"name": "Default", "data_center": "Default", "cpu_type": "Intel Skylake Server Family"},
    ],
    "networks": [
        {
            "name": "vmnet",
            "data_center": "Default",
            "vlan": 100,
            "clusters": [{"name": "Default", "required": False}],
        },
        {"name": "lonely", "data_center": "Default", "vlan": 200},  # not in cluster Default
    ],
    "storage_domains": [
        {
            "name": "data1",
            "type": "data",
            "storage": {"type": "nfs", "address": "192.0.2.10", "path": "/exports/data1"},
            "data_center": "Default",
            "status": "active",
        },
        {
            "name": "data2",
            "type": "data",
            "storage": {"type": "nfs", "address": "192.0.2.10", "path": "/exports/data2"},
            "data_center": "Default",
            "status": "maintenance",
        },
    ],
    "hosts": [
        {"name": "hv1", "address": "10.0.0.11", "cluster": "Default", "status": "up"},
        {"name": "hv2", "address": "10.0.0.12", "cluster": "Default", "status": "up"},
    ],
}


def one_host_inventory() -> dict[str, Any]:
    inv = dict(INVENTORY)
    inv["hosts"] = INVENTORY["hosts"][:1]
    return inv


def no_host_inventory() -> dict[str, Any]:
    inv = dict(INVENTORY)
    inv["hosts"] = []
    return inv


class Api:
    """Raw HTTP against the simulator: XML in, lxml elements out."""

    def __init__(self, sim: SimHandle) -> None:
        self.sim = sim
        self.s = requests.Session()
        self.s.auth = ("admin@internal", "admin")
        self.s.headers.update({"Version": "4", "Content-Type": "application/xml"})

    def request(
        self, method: str, path: str, body: str | None = None, **params: Any
    ) -> tuple[int, etree._Element | None]:
        r = self.s.request(
            method, self.sim.api_url + path, data=body, params=params or None, timeout=30
        )
        assert "xml" in r.headers.get("Content-Type", "") or not r.content, r.text
        el = etree.fromstring(r.content) if r.content else None
        return r.status_code, el

    def get(self, path: str, **params: Any) -> etree._Element:
        code, el = self.request("GET", path, **params)
        assert code == 200 and el is not None, (code, path)
        return el

    def post(self, path: str, body: str, **params: Any) -> tuple[int, etree._Element]:
        code, el = self.request("POST", path, body, **params)
        assert el is not None
        return code, el

    def put(self, path: str, body: str, **params: Any) -> tuple[int, etree._Element]:
        code, el = self.request("PUT", path, body, **params)
        assert el is not None
        return code, el

    def delete(self, path: str, **params: Any) -> tuple[int, etree._Element]:
        code, el = self.request("DELETE", path, **params)
        assert el is not None
        return code, el

    def action(self, path: str, verb: str, body: str = "<action/>") -> tuple[int, etree._Element]:
        return self.post(f"{path}/{verb}", body)

    def status(self, path: str) -> str:
        return self.get(path).findtext("status") or ""

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)

    def find_id(self, collection: str, name: str) -> str:
        el = self.get(f"/{collection}", search=f"name={name}")
        assert len(el) == 1, etree.tostring(el)
        return el[0].get("id") or ""

    def events_since(self, last: int) -> list[tuple[int, str]]:
        el = self.get("/events", **{"from": last})
        return sorted((int(e.findtext("code") or 0), e.findtext("description") or "") for e in el)

    def last_event(self) -> int:
        el = self.get("/events", max=1)
        return int(el[0].get("id") or 0) if len(el) else 0

    # ---------------------------------------------------------------- builders

    def add_vm(self, name: str, extra: str = "", **params: Any) -> str:
        code, el = self.post(
            "/vms",
            f"<vm><name>{name}</name><cluster><name>Default</name></cluster>{extra}</vm>",
            **params,
        )
        assert code in (201, 202), etree.tostring(el)
        return el.get("id") or ""

    def add_disk(
        self, vm_id: str, name: str = "", size: int = 10 * GIB, sd: str = "data1", **kw: str
    ) -> str:
        extra = "".join(f"<{k}>{v}</{k}>" for k, v in kw.items())
        body = (
            "<disk_attachment><bootable>true</bootable><interface>virtio_scsi</interface>"
            "<active>true</active><disk>"
            f"{f'<name>{name}</name>' if name else ''}<provisioned_size>{size}</provisioned_size>"
            f"<format>cow</format>{extra}<storage_domains><storage_domain><name>{sd}</name>"
            "</storage_domain></storage_domains></disk></disk_attachment>"
        )
        code, el = self.post(f"/vms/{vm_id}/diskattachments", body)
        assert code in (201, 202), etree.tostring(el)
        return el.get("id") or ""

    def add_nic(self, vm_id: str, name: str = "nic1", profile: str | None = None) -> etree._Element:
        pid = profile or self.profile_id("vmnet")
        code, el = self.post(
            f"/vms/{vm_id}/nics",
            f"<nic><name>{name}</name><interface>virtio</interface>"
            f'<vnic_profile id="{pid}"/></nic>',
        )
        assert code == 201, etree.tostring(el)
        return el

    def profile_id(self, network: str) -> str:
        for p in self.get("/vnicprofiles"):
            if p.findtext("name") == network:
                return p.get("id") or ""
        raise AssertionError(f"no profile {network}")

    def bootable_vm(self, name: str) -> str:
        """A down VM with a ready 10 GiB disk."""
        vm = self.add_vm(name)
        self.add_disk(vm)
        self.advance(10)
        return vm

    def running_vm(self, name: str, extra: str = "") -> str:
        vm = self.add_vm(name, extra)
        self.add_disk(vm)
        self.advance(10)
        code, el = self.action(f"/vms/{vm}", "start")
        assert code == 200, etree.tostring(el)
        self.advance(30)
        assert self.status(f"/vms/{vm}") == "up"
        return vm


def fault_detail(el: etree._Element | None) -> str:
    """The detail of a bare <fault> or an <action><fault>."""
    assert el is not None
    f = el if el.tag == "fault" else el.find("fault")
    assert f is not None, etree.tostring(el)
    return f.findtext("detail") or ""


def wait_until(
    sim: SimHandle, pred: Callable[[], bool], step: float = 1.0, limit: int = 600
) -> int:
    """Advance the manual clock until pred() holds; returns the simulated seconds taken."""
    for i in range(limit):
        if pred():
            return i
        sim.advance(step)
    raise AssertionError("condition not reached within the bound")


def rid(el: etree._Element, path: str) -> str:
    """The id of the reference element at `path` (fails when absent)."""
    ref = el.find(path)
    assert ref is not None, f"no <{path}> in {etree.tostring(el)[:200]!r}"
    return ref.get("id") or ""
