"""The seven kinds: names, models and printer columns, and parsing a resource body into its
model with errors that name the field (`spec.disks[1].type: ...`)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rhev_operator.api.cluster import RhevCluster, RhevClusterSpec, RhevClusterStatus
from rhev_operator.api.common import (
    PATTERN_RULES,
    CommonSpec,
    CommonStatus,
    FieldError,
    Resource,
    SpecError,
    format_path,
)
from rhev_operator.api.datacenter import (
    RhevDataCenter,
    RhevDataCenterSpec,
    RhevDataCenterStatus,
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
            PrinterColumn("MTU", "integer", ".spec.mtu", "MTU", priority=1),
            PrinterColumn("Clusters", "string", ".spec.clusters", "Attached to", priority=1),
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
            PrinterColumn("Type", "string", ".spec.domainType", "data, iso or export"),
            PrinterColumn("Master", "boolean", ".status.master", "Master domain"),
            PrinterColumn("Available", "integer", ".status.availableBytes", "Free bytes"),
            replace(DATACENTER, priority=1),
            PrinterColumn("Used", "integer", ".status.usedBytes", "Used bytes", 1),
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

    Raises SpecError naming every offending field (`spec.disks[1].type: ...`)."""
    info = kind_info(kind)
    if not isinstance(body, Mapping):
        raise SpecError("", f"a {info.kind} must be a mapping")
    try:
        return info.resource.model_validate(body)
    except ValidationError as exc:
        raise spec_error_from(exc, info.resource) from None


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


def spec_error_from(exc: ValidationError, model: type[BaseModel]) -> SpecError:
    """A pydantic ValidationError as a SpecError with field paths and plain messages."""
    errors = [_field_error(error, model) for error in exc.errors(include_url=False)]
    # One message per field path, in the order pydantic found them.
    seen: set[str] = set()
    unique: list[FieldError] = []
    for error in errors:
        if str(error) not in seen:
            seen.add(str(error))
            unique.append(error)
    return SpecError.from_errors(unique)


def _field_error(error: ErrorDetails, model: type[BaseModel]) -> FieldError:
    loc: list[str | int] = [part for part in error["loc"] if isinstance(part, str | int)]
    # Drop pydantic's tags for union members and function validators from the path.
    loc = [p for p in loc if not (isinstance(p, str) and ("[" in p and "]" in p and "(" in p))]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    value = error.get("input")
    if kind == "rhev_field":
        subpath = str(ctx.get("subpath") or "")
        return FieldError(format_path([*loc, subpath]), str(ctx["message"]))
    path = format_path(loc)
    return FieldError(path, _message(kind, ctx, value, error["msg"], model, loc))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(
    kind: str,
    ctx: dict[str, Any],
    value: Any,
    default: str,
    model: type[BaseModel],
    loc: list[str | int],
) -> str:
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"is not a known field{hint}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        expected = expected.replace(" or ", ", ")
        return f"must be one of: {expected} (got {_show(value)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {_show(value)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {_show(value)})"
    if kind in ("string_type", "string_unicode"):
        return f"must be a string (got {_show(value)})"
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return f"must be a mapping of fields (got {_show(value)})"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"must be a list (got {_show(value)})"
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']} (got {_show(value)})"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']} (got {_show(value)})"
    if kind == "greater_than":
        return f"must be > {ctx['gt']} (got {_show(value)})"
    if kind == "less_than":
        return f"must be < {ctx['lt']} (got {_show(value)})"
    if kind == "string_pattern_mismatch":
        rule = PATTERN_RULES.get(str(ctx.get("pattern")), f"match {ctx.get('pattern')}")
        return f"must be {rule} (got {_show(value)})"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters (got {len(str(value))})"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else default
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    return default


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `X | None`, `list[X]` or Annotated[X, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if found is not None:
                return found
    return None


def _allowed_fields(model: type[BaseModel], loc: list[str | int]) -> list[str]:
    """The wire names of the fields of the model found at `loc` below `model`."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        current = _unwrap(field.annotation) if field is not None else None
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())
