"""The seven kinds: names, models and printer columns, and parsing a resource body into its
model with errors that name the field (`spec.disks[1].type: ...`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from rhev_operator.api.cluster import RhevCluster, RhevClusterSpec, RhevClusterStatus
from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    Resource,
)
from rhev_operator.api.datacenter import (
    RhevDataCenter,
    RhevDataCenterSpec,
    RhevDataCenterStatus,
)
from rhev_operator.api.errors import (
    SpecError,
)
from rhev_operator.api.hypervisor import Hypervisor, HypervisorSpec, HypervisorStatus
from rhev_operator.api.network import LogicalNetwork, LogicalNetworkSpec, LogicalNetworkStatus
from rhev_operator.api.storagedomain import StorageDomain, StorageDomainSpec, StorageDomainStatus
from rhev_operator.api.virtualmachine import (
    VirtualMachine,
    VirtualMachineSpec,
    VirtualMachineStatus,
)
from rhev_operator.api.vmtemplate import VmTemplate, VmTemplateSpec, VmTemplateStatus


@dataclass(frozen=True)
class PrinterColumn:
    """One `kubectl get` column (additionalPrinterColumns)."""

    name: str
    type: str  # string, integer, boolean, date, number
    json_path: str
    description: str = ""
    priority: int = 0  # 1: only with -o wide

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True)
class KindInfo:
    """What identifies a kind and the models that describe it."""

    kind: str
    plural: str
    short_name: str
    stem: str  # the module stem used in every layer
    resource: type[Resource]
    spec: type[CommonSpec]
    status: type[CommonStatus]
    columns: tuple[PrinterColumn, ...]

    @property
    def singular(self) -> str:
        return self.kind.lower()


STATE = PrinterColumn("State", "string", ".status.state", "The RHEV-M status")
READY = PrinterColumn(
    "Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Ready condition"
)
AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
DATACENTER = PrinterColumn("DataCenter", "string", ".spec.dataCenter", "Data center")
CLUSTER = PrinterColumn("Cluster", "string", ".spec.cluster", "Cluster")
ID = PrinterColumn("ID", "string", ".status.id", "RHEV-M id", priority=1)
REASON = PrinterColumn(
    "Reason",
    "string",
    '.status.conditions[?(@.type=="Ready")].reason',
    "Why it is (not) ready",
    priority=1,
)


def _columns(*middle: PrinterColumn) -> tuple[PrinterColumn, ...]:
    return (STATE, READY, *middle, REASON, ID, AGE)


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        "RhevDataCenter",
        "rhevdatacenters",
        "rdc",
        "datacenter",
        RhevDataCenter,
        RhevDataCenterSpec,
        RhevDataCenterStatus,
        _columns(
            PrinterColumn("Storage", "string", ".spec.storageType", "nfs or localfs"),
            PrinterColumn(
                "Format", "string", ".status.storageFormat", "Storage format", priority=1
            ),
        ),
    ),
    KindInfo(
        "RhevCluster",
        "rhevclusters",
        "rcl",
        "cluster",
        RhevCluster,
        RhevClusterSpec,
        RhevClusterStatus,
        _columns(
            DATACENTER,
            PrinterColumn("CPU", "string", ".spec.cpuType", "CPU type", priority=1),
        ),
    ),
    KindInfo(
        "LogicalNetwork",
        "logicalnetworks",
        "lnet",
        "network",
        LogicalNetwork,
        LogicalNetworkSpec,
        LogicalNetworkStatus,
        _columns(
            DATACENTER,
            PrinterColumn("VLAN", "integer", ".spec.vlan", "VLAN tag"),
            PrinterColumn("MTU", "integer", ".status.mtu", "MTU in effect", priority=1),
            PrinterColumn("Clusters", "string", ".status.clusterNames", "Attached to", priority=1),
        ),
    ),
    KindInfo(
        "StorageDomain",
        "storagedomains",
        "rsd",
        "storagedomain",
        StorageDomain,
        StorageDomainSpec,
        StorageDomainStatus,
        _columns(
            PrinterColumn("Type", "string", ".status.type", "data, iso or export"),
            PrinterColumn("Master", "boolean", ".status.master", "Master domain"),
            PrinterColumn("Available", "string", ".status.availableHuman", "Free space"),
            replace(DATACENTER, priority=1),
            PrinterColumn("Used", "string", ".status.usedHuman", "Used space", 1),
        ),
    ),
    KindInfo(
        "Hypervisor",
        "hypervisors",
        "hv",
        "hypervisor",
        Hypervisor,
        HypervisorSpec,
        HypervisorStatus,
        _columns(
            PrinterColumn("SPM", "boolean", ".status.spm", "Holds the SPM role"),
            PrinterColumn("Power", "string", ".status.powerState", "Power state over IPMI"),
            replace(CLUSTER, priority=1),
            PrinterColumn("Address", "string", ".spec.address", "Address", 1),
        ),
    ),
    KindInfo(
        "VirtualMachine",
        "virtualmachines",
        "rvm",
        "virtualmachine",
        VirtualMachine,
        VirtualMachineSpec,
        VirtualMachineStatus,
        _columns(
            PrinterColumn("Host", "string", ".status.host", "Host it runs on"),
            PrinterColumn("Power", "string", ".spec.powerState", "Desired power state"),
            replace(CLUSTER, priority=1),
            PrinterColumn("MAC", "string", ".status.installMac", "Install NIC MAC", 1),
        ),
    ),
    KindInfo(
        "VmTemplate",
        "vmtemplates",
        "vmt",
        "vmtemplate",
        VmTemplate,
        VmTemplateSpec,
        VmTemplateStatus,
        _columns(
            PrinterColumn("Source", "string", ".spec.sourceVm", "Source VM"),
            replace(CLUSTER, priority=1),
        ),
    ),
)

_BY_NAME: dict[str, KindInfo] = {}
for _info in KINDS:
    for _key in (_info.kind, _info.plural, _info.singular, _info.short_name, _info.stem):
        _BY_NAME[_key.lower()] = _info


def kind_info(kind: str) -> KindInfo:
    """The KindInfo for a kind, plural, singular, short name or module stem (any case)."""
    try:
        return _BY_NAME[kind.lower()]
    except KeyError:
        known = ", ".join(info.kind for info in KINDS)
        raise ValueError(f"unknown kind {kind!r}; known kinds: {known}") from None


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def parse_resource(kind: str, body: Mapping[str, Any]) -> Resource:
    """The whole resource (apiVersion, kind, metadata, spec, status) as its model.

    Raises SpecError naming every offending field (`spec.disks[1].type: ...`). For a typed
    result use the kind's class: `VirtualMachine.parse(body)`."""
    return kind_info(kind).resource.parse(body)


def parse_spec(kind: str, body: Mapping[str, Any]) -> CommonSpec:
    """The spec of a whole resource body (with metadata) as the kind's Spec model.

    The status is not read, so a damaged status never makes a spec invalid. The effective
    name (spec.name, else metadata.name) is checked against RHEV-M's rules."""
    info = kind_info(kind)
    if not isinstance(body, Mapping):
        raise SpecError("", f"a {info.kind} must be a mapping")
    trimmed = {key: value for key, value in body.items() if key != "status"}
    resource = parse_resource(info.kind, trimmed)
    spec = getattr(resource, "spec")  # noqa: B009 - every Resource subclass declares spec
    assert isinstance(spec, CommonSpec)
    return spec
