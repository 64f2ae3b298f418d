"""VirtualMachine handlers."""

from __future__ import annotations

from rhev_operator.api import VirtualMachine
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import virtualmachine

BINDING = Binding(
    kind="VirtualMachine",
    plural="virtualmachines",
    parse=VirtualMachine.parse,
    reconcile=virtualmachine.reconcile,
    delete=virtualmachine.delete,
)
