"""VmTemplate handlers."""

from __future__ import annotations

from rhev_operator.api import VmTemplate
from rhev_operator.handlers.common import Binding
from rhev_operator.reconcilers import vmtemplate

BINDING = Binding(
    kind="VmTemplate",
    plural="vmtemplates",
    parse=VmTemplate.parse,
    reconcile=vmtemplate.reconcile,
    delete=vmtemplate.delete,
)
