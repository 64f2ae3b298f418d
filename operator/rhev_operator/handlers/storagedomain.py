"""StorageDomain handlers."""

from __future__ import annotations

from rhev_operator.api import StorageDomain
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import storagedomain

BINDING = Binding(
    kind="StorageDomain",
    plural="storagedomains",
    parse=StorageDomain.parse,
    reconcile=storagedomain.reconcile,
    delete=storagedomain.delete,
)
