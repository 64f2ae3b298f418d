"""Events (/events): the engine's audit log.

Ids come from a sequence (monotonic integers). `from=N` keeps ids > N, results are newest
first (audit_log_id DESC), `max` keeps the newest. Codes are AuditLogType values; `CODES`
lists the ones the simulator writes so modules share one table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, fmt_time

if TYPE_CHECKING:
    from rhevsim.registry import Registry

SEVERITIES = ("normal", "warning", "error", "alert")

# AuditLogType codes (ovirt-engine: backend/.../common/AuditLogType.java).
CODES: dict[str, int] = {
    "USER_VDC_LOGIN": 30,
    "USER_VDC_LOGOUT": 31,
    "USER_RUN_VM": 32,
    "USER_STOP_VM": 33,
    "USER_ADD_VM": 34,
    "USER_UPDATE_VM": 35,
    "USER_REMOVE_VM": 36,
    "USER_ADD_VDS": 42,
    "USER_UPDATE_VDS": 43,
    "USER_REMOVE_VDS": 44,
    "USER_ADD_VM_TEMPLATE": 48,
    "USER_ADD_VM_TEMPLATE_FINISHED_SUCCESS": 51,
    "USER_ADD_VM_TEMPLATE_FINISHED_FAILURE": 52,
    "USER_ADD_VM_FINISHED_SUCCESS": 53,
    "USER_ADD_STORAGE_POOL": 950,
    "USER_ADD_STORAGE_POOL_FAILED": 951,
    "USER_UPDATE_STORAGE_POOL": 952,
    "USER_UPDATE_STORAGE_POOL_FAILED": 953,
    "USER_REMOVE_STORAGE_POOL": 954,
    "USER_REMOVE_STORAGE_POOL_FAILED": 955,
    "USER_ADD_STORAGE_DOMAIN": 956,
    "USER_UPDATE_STORAGE_DOMAIN": 958,
    "USER_REMOVE_STORAGE_DOMAIN": 960,
    "USER_FORCE_REMOVE_STORAGE_DOMAIN": 981,
    "USER_ATTACH_STORAGE_DOMAIN_TO_POOL": 962,
    "USER_ATTACH_STORAGE_DOMAIN_TO_POOL_FAILED": 963,
    "USER_DETACH_STORAGE_DOMAIN_FROM_POOL": 964,
    "USER_ACTIVATED_STORAGE_DOMAIN": 966,
    "USER_ACTIVATE_STORAGE_DOMAIN_FAILED": 967,
    "USER_DEACTIVATED_STORAGE_DOMAIN": 968,
    "USER_DEACTIVATE_STORAGE_DOMAIN_FAILED": 969,
    "SYSTEM_DEACTIVATED_STORAGE_DOMAIN": 970,
    "USER_ACTIVATE_STORAGE_POOL": 976,
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_NO_HOST_FOR_SPM": 979,
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC": 980,
    "RECONSTRUCT_MASTER_DONE": 984,
    "SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC_SEARCHING_NEW_SPM": 986,
    "USER_ADD_CLUSTER": 809,
    "USER_UPDATE_CLUSTER": 811,
    "USER_REMOVE_CLUSTER": 813,
    "USER_FORCE_SELECTED_SPM": 159,
    "USER_FORCE_REMOVE_STORAGE_POOL": 918,
    "USER_DEACTIVATED_LAST_MASTER_STORAGE_DOMAIN": 1030,
    "NETWORK_ADD_NETWORK": 942,
    "NETWORK_ADD_NETWORK_FAILED": 943,
    "NETWORK_REMOVE_NETWORK": 944,
    "NETWORK_ATTACH_NETWORK_TO_CLUSTER": 946,
    "NETWORK_DETACH_NETWORK_TO_CLUSTER": 948,
    "NETWORK_UPDTAE_NETWORK_ON_CLUSTER": 1112,
    "NETWORK_UPDATE_NETWORK": 1114,
    "ADD_VNIC_PROFILE": 1122,
    "UPDATE_VNIC_PROFILE": 1124,
    "REMOVE_VNIC_PROFILE": 1126,
}

# Paths of the kinds an event may reference, for the refs' hrefs.
_REF_PATHS = {
    "datacenter": "datacenters",
    "cluster": "clusters",
    "host": "hosts",
    "vm": "vms",
    "template": "templates",
    "storagedomain": "storagedomains",
    "network": "networks",
    "disk": "disks",
}
_REF_ORDER = ("cluster", "data_center", "host", "storage_domain", "template", "vm")


@dataclass(kw_only=True, eq=False)
class Event(Entity):
    KIND = "event"
    TAG = "event"
    PLURAL = "events"
    PATH = "events"
    TYPE_NAME = "Event"
    REF_NAME = "Event"

    code: int
    severity: str = "normal"
    time: float = 0.0
    correlation_id: str | None = None
    user: str | None = None
    origin: str = "oVirt"
    custom_id: int = -1
    flood_rate: int = 30
    # tag -> (kind, id, name): data_center=, cluster=, host=, vm=, storage_domain=, template=
    refs: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def render(self, ctx: Ctx) -> Element:
        el = etree.Element("event", {"href": ctx.base + self.href(), "id": self.id})
        etree.SubElement(el, "description").text = self.description
        etree.SubElement(el, "code").text = str(self.code)
        if self.correlation_id:
            etree.SubElement(el, "correlation_id").text = self.correlation_id
        etree.SubElement(el, "custom_id").text = str(self.custom_id)
        etree.SubElement(el, "flood_rate").text = str(self.flood_rate)
        etree.SubElement(el, "index").text = self.id
        etree.SubElement(el, "origin").text = self.origin
        etree.SubElement(el, "severity").text = self.severity
        etree.SubElement(el, "time").text = fmt_time(self.time)
        for tag in _REF_ORDER:
            ref = self.refs.get(tag)
            if ref is not None:
                kind, ident, _ = ref
                path = _REF_PATHS.get(kind, kind + "s")
                etree.SubElement(el, tag, {"href": f"{ctx.base}/{path}/{ident}", "id": ident})
        if self.user:
            uid = str(uuid.uuid5(uuid.NAMESPACE_URL, "rhevsim-user:" + self.user))
            etree.SubElement(el, "user", {"href": f"{ctx.base}/users/{uid}", "id": uid})
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        def name_of(tag: str) -> str | None:
            r = self.refs.get(tag)
            return r[2] if r else None

        def id_of(tag: str) -> str | None:
            r = self.refs.get(tag)
            return r[1] if r else None

        return {
            "type": self.code,
            "severity": self.severity,
            "message": self.description,
            "correlation_id": self.correlation_id,
            "origin": self.origin,
            "custom_event_id": self.custom_id,
            "usrname": self.user,
            "event_host": name_of("host"),
            "host.name": name_of("host"),
            "event_vm": name_of("vm"),
            "vm.name": name_of("vm"),
            "vm.id": id_of("vm"),
            "host.id": id_of("host"),
            "event_template": name_of("template"),
            "event_storage": name_of("storage_domain"),
            "event_datacenter": name_of("data_center"),
            "datacenter": name_of("data_center"),
            "cluster": name_of("cluster"),
            "cluster.name": name_of("cluster"),
        }
