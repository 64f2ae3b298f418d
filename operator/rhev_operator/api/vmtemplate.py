"""VmTemplate [`clonevm -t`]: a template made from a (stopped) VM."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.fieldtypes import (
    TEMPLATE_NAME_MAX,
    Description,
    Reference,
    TemplateName,
    field_error,
    xcat,
)


class VmTemplateTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds update and remove; `creationSeconds` the template leaving
    locked (its disks are copied)."""

    creation_seconds: Annotated[int, Field(ge=1)] = 3600
    """Making the template, until its state is ok. Default 3600."""


class VmTemplateSpec(CommonSpec):
    """The desired state of a template."""

    NAME_MAX: ClassVar[int] = TEMPLATE_NAME_MAX

    name: Annotated[TemplateName | None, xcat("clonevm -t <template>")] = None
    """The template's name in RHEV-M (at most 255 characters). Default: metadata.name."""
    source_vm: Annotated[Reference | None, xcat("clonevm <vm> -t <template>")] = None
    """The VirtualMachine (or RHEV-M VM) it is made from; it must be down. Required unless
    adopt is true (an existing template has no link to a source VM)."""
    cluster: Reference | None = None
    """The RhevCluster (or RHEV-M cluster). Default: the source VM's."""
    description: Description | None = None
    """Free text shown in RHEV-M."""
    timeouts: VmTemplateTimeouts = Field(default_factory=VmTemplateTimeouts)
    """Timeouts in seconds."""

    @model_validator(mode="after")
    def _source_needed(self) -> VmTemplateSpec:
        if self.source_vm is None and not self.adopt:
            raise field_error(
                "sourceVm", "is required unless adopt is true: RHEV-M makes a template from a VM"
            )
        return self


class VmTemplateStatus(CommonStatus):
    """The observed state (state: locked while RHEV-M makes it, then ok; Ready only at ok)."""


class VmTemplate(Resource):
    """A RHEV-M template."""

    KIND: ClassVar[str] = "VmTemplate"
    XCAT: ClassVar[str] = "clonevm -t"

    metadata: ObjectMeta
    spec: VmTemplateSpec
    status: VmTemplateStatus = Field(default_factory=VmTemplateStatus)
