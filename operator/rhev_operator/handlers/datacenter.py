"""RhevDataCenter handlers."""

from __future__ import annotations

from rhev_operator.api import RhevDataCenter
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import datacenter

BINDING = Binding(
    kind="RhevDataCenter",
    plural="rhevdatacenters",
    parse=RhevDataCenter.parse,
    reconcile=datacenter.reconcile,
    delete=datacenter.delete,
)
