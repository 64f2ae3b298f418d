"""LogicalNetwork handlers."""

from __future__ import annotations

from rhev_operator.api import LogicalNetwork
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import network

BINDING = Binding(
    kind="LogicalNetwork",
    plural="logicalnetworks",
    parse=LogicalNetwork.parse,
    reconcile=network.reconcile,
    delete=network.delete,
)
