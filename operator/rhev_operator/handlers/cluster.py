"""RhevCluster handlers."""

from __future__ import annotations

from rhev_operator.api import RhevCluster
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import cluster

BINDING = Binding(
    kind="RhevCluster",
    plural="rhevclusters",
    parse=RhevCluster.parse,
    reconcile=cluster.reconcile,
    delete=cluster.delete,
)
