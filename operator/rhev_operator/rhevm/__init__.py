"""The RHEV-M REST client (API v4 XML over requests + lxml); knows nothing of Kubernetes.

    from rhev_operator.rhevm import RhevmClient, ConnectionConfig, errors
    client = RhevmClient(ConnectionConfig(url=..., username=..., password=..., ca_pem=...))
    dc = client.datacenters.find("Default")            # exact, case-sensitive, or None
    cid = client.new_correlation_id()                  # record it, then send it
    client.storagedomains.attached(dc.id).activate(sd_id, correlation_id=cid)
    jobs_state(client.jobs.find_by_correlation_id(cid))  # none|started|failed|finished
    client.events.since(cursor)                        # oldest first; cursor = max index
    client.close()                                     # logs out

Errors: every failure is an ``errors.RhevmError`` with ``status``, ``reason``,
``detail``, ``method``, ``path`` and ``retryable``: ``Locked``/``Conflict`` (409, try
later), ``AlreadyExists`` (409 name in use, not retryable), ``BadRequest`` (400),
``NotFound`` (404), ``AuthError`` (401/403), ``Unavailable`` (5xx, refused, reset,
timeout; GET/PUT/DELETE already retried), ``TlsError``, ``ProtocolError`` (not the API).
Read models are frozen pydantic models; create/update models send only what is set.
"""

from __future__ import annotations

from rhev_operator.rhevm import errors
from rhev_operator.rhevm._base import ActionResult, new_correlation_id
from rhev_operator.rhevm.client import ApiInfo, RhevmClient
from rhev_operator.rhevm.cluster import Cluster, ClusterCreate, ClusterUpdate
from rhev_operator.rhevm.datacenter import DataCenter, DataCenterCreate, DataCenterUpdate
from rhev_operator.rhevm.disk import Disk, DiskCreate, DiskUpdate
from rhev_operator.rhevm.event import Event
from rhev_operator.rhevm.hypervisor import (
    BondSpec,
    FenceAgent,
    FenceAgentCreate,
    FenceAgentUpdate,
    Host,
    HostCreate,
    HostNic,
    HostUpdate,
    IpAssignment,
    NetworkAttachment,
    NetworkAttachmentSpec,
)
from rhev_operator.rhevm.job import Job, jobs_state
from rhev_operator.rhevm.network import (
    ClusterNetworkAttach,
    ClusterNetworkUpdate,
    Network,
    NetworkCreate,
    NetworkUpdate,
    VnicProfile,
    VnicProfileCreate,
    VnicProfileUpdate,
)
from rhev_operator.rhevm.session import ConnectionConfig, mask_secrets
from rhev_operator.rhevm.storagedomain import (
    StorageDomain,
    StorageDomainCreate,
    StorageDomainUpdate,
)
from rhev_operator.rhevm.virtualmachine import (
    DiskAttachment,
    DiskAttachmentCreate,
    DiskAttachmentUpdate,
    GraphicsConsole,
    Ticket,
    Vm,
    VmCreate,
    VmNic,
    VmNicCreate,
    VmNicUpdate,
    VmUpdate,
)
from rhev_operator.rhevm.vmtemplate import (
    BLANK_TEMPLATE_ID,
    Template,
    TemplateCreate,
    TemplateUpdate,
)

__all__ = [
    "BLANK_TEMPLATE_ID",
    "ActionResult",
    "ApiInfo",
    "BondSpec",
    "Cluster",
    "ClusterCreate",
    "ClusterNetworkAttach",
    "ClusterNetworkUpdate",
    "ClusterUpdate",
    "ConnectionConfig",
    "DataCenter",
    "DataCenterCreate",
    "DataCenterUpdate",
    "Disk",
    "DiskAttachment",
    "DiskAttachmentCreate",
    "DiskAttachmentUpdate",
    "DiskCreate",
    "DiskUpdate",
    "Event",
    "FenceAgent",
    "FenceAgentCreate",
    "FenceAgentUpdate",
    "GraphicsConsole",
    "Host",
    "HostCreate",
    "HostNic",
    "HostUpdate",
    "IpAssignment",
    "Job",
    "Network",
    "NetworkAttachment",
    "NetworkAttachmentSpec",
    "NetworkCreate",
    "NetworkUpdate",
    "RhevmClient",
    "StorageDomain",
    "StorageDomainCreate",
    "StorageDomainUpdate",
    "Template",
    "TemplateCreate",
    "TemplateUpdate",
    "Ticket",
    "Vm",
    "VmCreate",
    "VmNic",
    "VmNicCreate",
    "VmNicUpdate",
    "VmUpdate",
    "VnicProfile",
    "VnicProfileCreate",
    "VnicProfileUpdate",
    "errors",
    "jobs_state",
    "mask_secrets",
    "new_correlation_id",
]
