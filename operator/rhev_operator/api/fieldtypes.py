"""The constrained field types every kind uses: the API group, RHEV-M's name rules and
length limits, patterns for addresses, paths and versions, numeric bounds, Kubernetes
quantities, and the error a validator raises about one field (`field_error`).

Each constraint is declared once, as a pydantic constraint where the OpenAPI schema can
express it (so it is in the CRD too) and as a validator where it cannot.

`xcat(...)` records on a field which xCAT attribute or command it replaces; the generated
reference (docs/reference.md) shows it, the CRD schema does not carry it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

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

#: The pydantic error type of `field_error`; its context holds the message and a subpath.
FIELD_ERROR = "rhev_field"
#: The key under which a field's json_schema_extra holds the xCAT attribute it replaces.
XCAT_KEY = "xcat"

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
            FIELD_ERROR, "{message}", {"message": f"must be {HOST_RULE}", "subpath": ""}
        )
    return value


HostAddress = Annotated[
    str,
    StringConstraints(pattern=HOST_PATTERN, min_length=1, max_length=HOST_MAX),
    AfterValidator(_host_address),
]
IPv4Address = Annotated[str, StringConstraints(pattern=IPV4_PATTERN)]
AbsolutePath = Annotated[str, StringConstraints(pattern=PATH_PATTERN, max_length=4096)]


def field_error(subpath: str, message: str) -> PydanticCustomError:
    """An error for a validator to raise about a field below the model being validated.

    `subpath` is relative to that model ("disks[1].type", or "" for the model itself);
    `spec_error_from` appends it to the model's location, so the message names the exact
    field, e.g. `spec.disks[1].type`.
    """
    return PydanticCustomError(FIELD_ERROR, "{message}", {"message": message, "subpath": subpath})


def xcat(replaces: str, **extra: Any) -> FieldInfo:
    """Field metadata naming the xCAT attribute or command a field replaces, e.g.
    `cpu: Annotated[Cpu, xcat("vmcpus S:C")]`. `extra` adds other JSON schema keys."""
    info: FieldInfo = Field(json_schema_extra={XCAT_KEY: replaces, **extra})
    return info


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
        raise PydanticCustomError(FIELD_ERROR, "{message}", {
            "message": f"must be {QUANTITY_RULE}", "subpath": ""})  # fmt: skip
    try:
        return parse_quantity(value)
    except ValueError as exc:
        raise PydanticCustomError(
            FIELD_ERROR, "{message}", {"message": str(exc), "subpath": ""}
        ) from exc


def _positive(value: int) -> int:
    if value <= 0:
        raise PydanticCustomError(
            FIELD_ERROR, "{message}", {"message": "must be greater than 0", "subpath": ""}
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
