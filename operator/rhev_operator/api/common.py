"""Types shared by every kind: names, references, quantities, conditions, the in-flight
operation record, the common spec fields and the error type of a spec that cannot be parsed.

The models here are the single source of both the operator's parsing and the CRD schemas
(`crdgen.py`), so every constraint is declared once, as a pydantic constraint where the
OpenAPI schema can express it and as a validator (with a `field_error`) where it cannot.

Field names: Python code uses snake_case; the wire (Kubernetes) names are the camelCase
aliases of API.md, produced by `to_camel` (`populate_by_name=True` accepts both).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

GROUP = "rhev.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "rhev"

#: The name of RHEV-M's management network (`rhevm` in RHEV 3.x; oVirt 4 calls it
#: `ovirtmgmt`). A host interface may carry a gateway only on this network.
MANAGEMENT_NETWORK = "rhevm"

# ---------------------------------------------------------------------------------------
# Names and patterns
# ---------------------------------------------------------------------------------------

#: Names RHEV-M accepts for data centers, clusters, networks, storage domains, hosts, VMs
#: and templates: the engine's `ValidName`/`ValidI18NName` (`^[\p{L}0-9._-]*$`),
#: restricted here to ASCII letters so that the same pattern works in the CRD schema.
NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
NAME_RULE = "letters, digits, '.', '_' and '-' only"

#: Maximum name lengths, from the engine's BusinessEntitiesDefinitions and its
#: configuration: data center and cluster 40, storage domain 250, host and template 255,
#: VM 64 (`MaxVmNameLength`, the engine's limit for non-Windows guests). Logical networks:
#: 50, the limit of the vNIC profile that RHEV-M creates with the network's name.
DATACENTER_NAME_MAX = 40
CLUSTER_NAME_MAX = 40
NETWORK_NAME_MAX = 50
STORAGEDOMAIN_NAME_MAX = 250
HOST_NAME_MAX = 255
VM_NAME_MAX = 64
TEMPLATE_NAME_MAX = 255
#: A reference may name a Kubernetes resource (<= 253) or a RHEV-M object (<= 255).
REFERENCE_MAX = 255
#: Host NIC names are Linux interface names (IFNAMSIZ - 1, the engine's HOST_NIC_NAME_LENGTH).
HOST_NIC_NAME_MAX = 15
#: VM NIC names (the engine's NETWORK_INTERFACE_NAME_SIZE).
VM_NIC_NAME_MAX = 50
DESCRIPTION_MAX = 4000

#: A Kubernetes object name (DNS-1123 subdomain), for Secret names.
SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_NAME_RULE = "a Kubernetes object name: lower-case letters, digits, '-' and '.'"
SECRET_NAME_MAX = 253

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"^{_OCTET}(\.{_OCTET}){{3}}$"
IPV4_RULE = "an IPv4 address such as 10.1.0.236"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_PATTERN = rf"^{_LABEL}(\.{_LABEL})*$"
HOST_RULE = "a DNS name such as rhevh1.example.com or an IPv4 address"
HOST_MAX = 253
PATH_PATTERN = r"^/[^\s]*$"
PATH_RULE = "an absolute path without spaces, such as /exports/data"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"
VERSION_RULE = "a major.minor version such as 4.7"
HOST_NIC_PATTERN = r"^[A-Za-z0-9._:-]+$"
HOST_NIC_RULE = "a Linux interface name such as eth1 or bond0.2"

#: Quantities: a plain number of bytes, a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal
#: suffix (k, M, G, T, P, E) or an exponent (1e9), as Kubernetes writes them; no sign, no
#: milli units.
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|[eE][0-9]+)?$"
QUANTITY_RULE = "a size such as 2Gi, 512Mi, 10G or a number of bytes"

#: Human-readable forms of the patterns above, used in error messages instead of a regex.
PATTERN_RULES: dict[str, str] = {
    NAME_PATTERN: NAME_RULE,
    SECRET_NAME_PATTERN: SECRET_NAME_RULE,
    IPV4_PATTERN: IPV4_RULE,
    HOST_PATTERN: HOST_RULE,
    PATH_PATTERN: PATH_RULE,
    VERSION_PATTERN: VERSION_RULE,
    HOST_NIC_PATTERN: HOST_NIC_RULE,
    QUANTITY_PATTERN: QUANTITY_RULE,
}

_FIELD_ERROR = "rhev_field"

#: Bounds.
VLAN_MIN, VLAN_MAX = 0, 4094
SPM_PRIORITY_MIN, SPM_PRIORITY_MAX = -1, 10
#: 68 is the smallest MTU IPv4 allows; 65520 the largest a Linux bridge device takes.
MTU_MIN, MTU_MAX = 68, 65520
PORT_MIN, PORT_MAX = 1, 65535
#: RHEV-M keeps VM memory in whole MiB; a spec that is not would drift for ever.
MEMORY_GRANULE = 1024 * 1024


DataCenterName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=DATACENTER_NAME_MAX)
]
ClusterName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=CLUSTER_NAME_MAX)
]
NetworkName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=NETWORK_NAME_MAX)
]
StorageDomainName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=STORAGEDOMAIN_NAME_MAX)
]
HostName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=HOST_NAME_MAX)
]
VmName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=VM_NAME_MAX)
]
TemplateName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=TEMPLATE_NAME_MAX)
]

Reference = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=REFERENCE_MAX)
]
"""The name of a resource of the referenced kind in the same namespace, or else of an
object in RHEV-M (so `Default`, `rhevm` and `Blank` work with no resource at all)."""

SecretName = Annotated[
    str, StringConstraints(pattern=SECRET_NAME_PATTERN, min_length=1, max_length=SECRET_NAME_MAX)
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]


def _host_address(value: str) -> str:
    # All-numeric labels are read as an IPv4 address, which must then be a valid one.
    labels = value.split(".")
    if all(label.isdigit() for label in labels) and not re.match(IPV4_PATTERN, value):
        raise PydanticCustomError(
            _FIELD_ERROR, "{message}", {"message": f"must be {HOST_RULE}", "subpath": ""}
        )
    return value


HostAddress = Annotated[
    str,
    StringConstraints(pattern=HOST_PATTERN, min_length=1, max_length=HOST_MAX),
    AfterValidator(_host_address),
]
IPv4Address = Annotated[str, StringConstraints(pattern=IPV4_PATTERN)]
AbsolutePath = Annotated[str, StringConstraints(pattern=PATH_PATTERN, max_length=4096)]

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def field_error(subpath: str, message: str) -> PydanticCustomError:
    """An error for a validator to raise about a field below the model being validated.

    `subpath` is relative to that model ("disks[1].type", or "" for the model itself);
    `SpecError.from_validation_error` appends it to the model's location, so the message
    names the exact field, e.g. `spec.disks[1].type`.
    """
    return PydanticCustomError(_FIELD_ERROR, "{message}", {"message": message, "subpath": subpath})


@dataclass(frozen=True)
class FieldError:
    """One problem: the field path (`spec.disks[1].type`) and what is allowed there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A resource that cannot be parsed. `str()` names every offending field path.

    `field_path` and `message` are those of the first problem; `errors` holds them all.
    """

    def __init__(self, field_path: str, message: str, others: Sequence[FieldError] = ()) -> None:
        self.errors: list[FieldError] = [FieldError(field_path, message), *others]
        super().__init__("; ".join(str(e) for e in self.errors))

    @property
    def field_path(self) -> str:
        return self.errors[0].path

    @property
    def message(self) -> str:
        return self.errors[0].message

    @property
    def field_paths(self) -> list[str]:
        return [e.path for e in self.errors]

    @classmethod
    def from_errors(cls, errors: Sequence[FieldError]) -> SpecError:
        if not errors:
            raise ValueError("SpecError needs at least one FieldError")
        return cls(errors[0].path, errors[0].message, errors[1:])


def format_path(loc: Iterable[str | int]) -> str:
    """('spec', 'disks', 1, 'type') -> 'spec.disks[1].type'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            # A subpath from `field_error` may itself hold dots and brackets.
            out += part if part.startswith("[") or not out else f".{part}"
    return out


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
    if kind == _FIELD_ERROR:
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


# ---------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------

_SUFFIXES: dict[str, int] = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)


def parse_quantity(value: int | str) -> int:
    """A Kubernetes quantity ("2Gi", "512Mi", "10G", "1.5Gi", "1e9") or an integer, in bytes.

    Fractions of a byte round up, as Kubernetes' `Quantity.Value()` does. Raises ValueError
    (naming what is allowed) for anything else, including negative numbers and booleans.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be {QUANTITY_RULE}, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be {QUANTITY_RULE}, not negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be {QUANTITY_RULE}")
    text = value.strip()
    if not _QUANTITY_RE.match(text):
        raise ValueError(f"must be {QUANTITY_RULE} (got {value!r})")
    match = re.match(r"^([0-9.]+)(.*)$", text)
    assert match is not None  # the pattern above guarantees it
    number, suffix = match.group(1), match.group(2)
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the pattern excludes it
        raise ValueError(f"must be {QUANTITY_RULE} (got {value!r})") from exc
    if len(suffix) > 1 and suffix[0] in ("e", "E"):
        amount *= Decimal(10) ** int(suffix[1:])
    else:
        amount *= _SUFFIXES[suffix]
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def format_quantity(num_bytes: int) -> str:
    """Bytes as the shortest exact binary quantity: 2147483648 -> "2Gi", 1000 -> "1000"."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIXES[suffix]
        if num_bytes >= unit and num_bytes % unit == 0:
            return f"{num_bytes // unit}{suffix}"
    return str(num_bytes)


def _quantity_before(value: Any) -> int:
    if not isinstance(value, int | str):
        raise PydanticCustomError(_FIELD_ERROR, "{message}", {
            "message": f"must be {QUANTITY_RULE}", "subpath": ""})  # fmt: skip
    try:
        return parse_quantity(value)
    except ValueError as exc:
        raise PydanticCustomError(
            _FIELD_ERROR, "{message}", {"message": str(exc), "subpath": ""}
        ) from exc


def _positive(value: int) -> int:
    if value <= 0:
        raise PydanticCustomError(
            _FIELD_ERROR, "{message}", {"message": "must be greater than 0", "subpath": ""}
        )
    return value


_QUANTITY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
    "pattern": QUANTITY_PATTERN,
}

Quantity = Annotated[
    int,
    BeforeValidator(_quantity_before),
    AfterValidator(_positive),
    WithJsonSchema(_QUANTITY_SCHEMA, mode="validation"),
    WithJsonSchema({"type": "integer"}, mode="serialization"),
]
"""A size in bytes > 0. Written as a Kubernetes quantity (`2Gi`, `10Gi`) or an integer."""

GIB = 2**30

# ---------------------------------------------------------------------------------------
# Base models
# ---------------------------------------------------------------------------------------


class ApiModel(BaseModel):
    """Base of every spec part: camelCase on the wire, unknown fields are an error."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="forbid",
        validate_default=False,
    )


class StatusModel(BaseModel):
    """Base of every status part: camelCase on the wire, unknown fields are kept out."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )


# ---------------------------------------------------------------------------------------
# Conditions and the in-flight operation
# ---------------------------------------------------------------------------------------

ConditionStatus = Literal["True", "False", "Unknown"]
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


class Condition(StatusModel):
    """A Kubernetes-convention condition (metav1.Condition)."""

    type: Annotated[str, StringConstraints(pattern=CONDITION_TYPE_PATTERN, max_length=316)]
    """Ready, Reconciling or Stalled."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: Annotated[
        str, StringConstraints(pattern=CONDITION_REASON_PATTERN, min_length=1, max_length=1024)
    ]
    """A CamelCase word saying why, e.g. WaitingForDependency, CreatingTemplate."""
    message: Annotated[str, StringConstraints(max_length=32768)] = ""
    """What is going on, for a human; for Stalled, what to do."""
    last_transition_time: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When `status` last changed (RFC 3339)."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation the condition was computed from."""


class Operation(StatusModel):
    """The one operation in flight for this object (DESIGN.md): what was started in RHEV-M,
    under which correlation id, when, and until when the operator waits before it reports
    Stalled. Cleared when the operation ends."""

    action: str
    """What was started, e.g. CreateVm, ActivateStorageDomain, InstallHost, Migrate."""
    correlation_id: str
    """The Correlation-Id sent to RHEV-M; finds its job and events."""
    started: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When it was started (RFC 3339)."""
    deadline: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When the operator gives up waiting and reports Stalled (RFC 3339)."""


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, whole seconds, as Kubernetes writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> dt.datetime:
    """The inverse of `timestamp` (accepts any RFC 3339 offset)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def start_operation(
    action: str, correlation_id: str, now: dt.datetime, timeout_seconds: float
) -> Operation:
    """The record of an operation started at `now` that may take `timeout_seconds`."""
    return Operation(
        action=action,
        correlation_id=correlation_id,
        started=timestamp(now),
        deadline=timestamp(now + dt.timedelta(seconds=timeout_seconds)),
    )


def operation_overdue(operation: Operation, now: dt.datetime) -> bool:
    """True once `now` is past the operation's deadline."""
    return now >= parse_timestamp(operation.deadline)


class Timeouts(ApiModel):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds any single operation (create, update, remove, an action)
    that has no more specific timeout below."""

    operation_seconds: Annotated[int, Field(ge=1)] = 180
    """Any single RHEV-M operation, and any wait without a timeout of its own. Default 180."""


class CommonStatus(StatusModel):
    """Status fields every kind has."""

    id: str | None = None
    """The RHEV-M id of the object."""
    state: str | None = None
    """The raw RHEV-M status, e.g. up, maintenance, locked, ok, image_locked."""
    observed_generation: int | None = None
    """The metadata.generation last reconciled."""
    conditions: Annotated[
        list[Condition],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            }
        ),
    ] = []
    """Ready, Reconciling and Stalled (kstatus conventions)."""
    operation: Operation | None = None
    """The operation in flight in RHEV-M, if any."""
    message: str | None = None
    """A one-line summary of the object's state for humans."""


DeletionPolicy = Literal["Delete", "Retain"]


class CommonSpec(ApiModel):
    """Spec fields every kind has. Each kind redeclares `name` with its own length limit."""

    NAME_MAX: ClassVar[int] = REFERENCE_MAX

    name: Reference | None = None
    """The object's name in RHEV-M (case-sensitive). Default: metadata.name."""
    connection: SecretName | None = None
    """A Secret in the same namespace with keys url, username, password and optional ca.crt
    and insecure ("true"). Default: the operator's default connection."""
    adopt: bool = False
    """Take over an object that already exists in RHEV-M under this name. Without it, an
    existing object of that name is left alone and the resource is Stalled (AlreadyExists)."""
    deletion_policy: DeletionPolicy | None = None
    """Delete or Retain the RHEV-M object when the resource is deleted. Default: Delete for
    objects the operator created, Retain for adopted ones."""

    def effective_name(self, metadata_name: str) -> str:
        """The name in RHEV-M: spec.name, else metadata.name."""
        return self.name or metadata_name

    def effective_deletion_policy(self, adopted: bool) -> DeletionPolicy:
        """spec.deletionPolicy, else Retain when the operator adopted an existing object
        (`adopted`) and Delete when it created it."""
        if self.deletion_policy is not None:
            return self.deletion_policy
        return "Retain" if adopted else "Delete"


# ---------------------------------------------------------------------------------------
# The top-level resource
# ---------------------------------------------------------------------------------------


class ObjectMeta(StatusModel):
    """The parts of metadata the operator reads."""

    name: str
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    finalizers: list[str] = []
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None


class Resource(BaseModel):
    """Base of the seven top-level resource models (apiVersion, kind, metadata, spec, status).

    Subclasses declare `spec` and `status` with their own types and set KIND."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    KIND: ClassVar[str] = ""

    api_version: str = API_VERSION
    kind: str = ""
    metadata: ObjectMeta

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        # A resource created with no spec (or `spec: null`) has every spec default.
        if isinstance(data, Mapping):
            data = dict(data)
            if data.get("spec") is None:
                data["spec"] = {}
            if data.get("status") is None:
                data["status"] = {}
            if not data.get("kind"):
                data["kind"] = cls.KIND
        return data

    @model_validator(mode="after")
    def _check_kind_and_name(self) -> Resource:
        if self.kind != self.KIND:
            raise field_error("kind", f"must be {self.KIND} (got {self.kind!r})")
        if self.api_version != API_VERSION:
            raise field_error("apiVersion", f"must be {API_VERSION} (got {self.api_version!r})")
        spec = getattr(self, "spec", None)
        if isinstance(spec, CommonSpec) and spec.name is None:
            # The name defaults to metadata.name, so that must be a valid RHEV-M name too.
            name = self.metadata.name
            if not re.match(NAME_PATTERN, name):
                raise field_error(
                    "metadata.name",
                    f"is used as the RHEV-M name and must contain {NAME_RULE}; "
                    "set spec.name to use another name in RHEV-M",
                )
            if len(name) > spec.NAME_MAX:
                raise field_error(
                    "metadata.name",
                    f"is used as the RHEV-M name, which may have at most {spec.NAME_MAX} "
                    f"characters for a {self.KIND}; set spec.name to a shorter name",
                )
        return self

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        """The resource from its body; raises SpecError naming every offending field."""
        if not isinstance(body, Mapping):
            raise SpecError("", f"a {cls.KIND} must be a mapping")
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise spec_error_from(exc, cls) from None

    @property
    def rhev_name(self) -> str:
        """The object's name in RHEV-M (spec.name, else metadata.name)."""
        spec = getattr(self, "spec", None)
        if isinstance(spec, CommonSpec):
            return spec.effective_name(self.metadata.name)
        return self.metadata.name


# ---------------------------------------------------------------------------------------
# Small validation helpers used by the kind modules
# ---------------------------------------------------------------------------------------


def check_ipv4_netmask(value: str) -> bool:
    """True for a contiguous dotted netmask such as 255.255.255.0."""
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{value}")
    except ValueError:
        return False
    return True


def duplicates(values: Sequence[str]) -> list[int]:
    """Indexes of the values that repeat an earlier one."""
    seen: set[str] = set()
    out: list[int] = []
    for index, value in enumerate(values):
        if value in seen:
            out.append(index)
        seen.add(value)
    return out
