"""The resource API as pydantic v2 models: the one source of parsing, of the CRDs in crds/
and charts/rhev-operator/crds/ (see crdgen.py) and of docs/reference.md (see docgen.py).

Typical use::

    from rhev_operator.api import parse_resource, SpecError
    vm = parse_resource("VirtualMachine", body)      # -> VirtualMachine
    vm.spec.memory                                   # bytes (int)
    vm.rhev_name                                     # spec.name or metadata.name
"""

from __future__ import annotations

from rhev_operator.api.cluster import RhevCluster, RhevClusterSpec, RhevClusterStatus
from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.conditions import (
    Condition,
    conditions_to_wire,
    get_condition,
    is_true,
    ready,
    reconciling,
    remove_condition,
    set_condition,
    stalled,
    stalled_status,
)
from rhev_operator.api.datacenter import (
    RhevDataCenter,
    RhevDataCenterSpec,
    RhevDataCenterStatus,
)
from rhev_operator.api.errors import (
    FieldError,
    SpecError,
)
from rhev_operator.api.fieldtypes import (
    API_VERSION,
    CATEGORY,
    GROUP,
    MANAGEMENT_NETWORK,
    VERSION,
    format_quantity,
    parse_quantity,
)
from rhev_operator.api.hypervisor import Hypervisor, HypervisorSpec, HypervisorStatus
from rhev_operator.api.kinds import KINDS, KindInfo, kind_info, parse_resource, parse_spec
from rhev_operator.api.network import LogicalNetwork, LogicalNetworkSpec, LogicalNetworkStatus
from rhev_operator.api.operation import (
    Operation,
    operation_overdue,
    parse_timestamp,
    start_operation,
    timestamp,
)
from rhev_operator.api.storagedomain import StorageDomain, StorageDomainSpec, StorageDomainStatus
from rhev_operator.api.virtualmachine import (
    VirtualMachine,
    VirtualMachineSpec,
    VirtualMachineStatus,
)
from rhev_operator.api.vmtemplate import VmTemplate, VmTemplateSpec, VmTemplateStatus

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "GROUP",
    "KINDS",
    "MANAGEMENT_NETWORK",
    "VERSION",
    "CommonSpec",
    "CommonStatus",
    "Condition",
    "FieldError",
    "Hypervisor",
    "HypervisorSpec",
    "HypervisorStatus",
    "KindInfo",
    "LogicalNetwork",
    "LogicalNetworkSpec",
    "LogicalNetworkStatus",
    "ObjectMeta",
    "Operation",
    "Resource",
    "RhevCluster",
    "RhevClusterSpec",
    "RhevClusterStatus",
    "RhevDataCenter",
    "RhevDataCenterSpec",
    "RhevDataCenterStatus",
    "SpecError",
    "StorageDomain",
    "StorageDomainSpec",
    "StorageDomainStatus",
    "Timeouts",
    "VirtualMachine",
    "VirtualMachineSpec",
    "VirtualMachineStatus",
    "VmTemplate",
    "VmTemplateSpec",
    "VmTemplateStatus",
    "conditions_to_wire",
    "format_quantity",
    "get_condition",
    "is_true",
    "kind_info",
    "operation_overdue",
    "parse_quantity",
    "parse_resource",
    "parse_spec",
    "parse_timestamp",
    "ready",
    "reconciling",
    "remove_condition",
    "set_condition",
    "stalled",
    "stalled_status",
    "start_operation",
    "timestamp",
]
