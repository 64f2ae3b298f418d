"""Hypervisor handlers."""

from __future__ import annotations

from rhev_operator.api import Hypervisor
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import hypervisor

BINDING = Binding(
    kind="Hypervisor",
    plural="hypervisors",
    parse=Hypervisor.parse,
    reconcile=hypervisor.reconcile,
    delete=hypervisor.delete,
)
