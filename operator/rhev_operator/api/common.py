"""The spec and status fields every kind has, the operation timeouts, and the top-level
resource (apiVersion, kind, metadata, spec, status) with its parsing.

The models of the api package are the single source of the operator's parsing, of the CRD
schemas (`crdgen.py`) and of the field reference in docs/reference.md (`docgen.py`).
Python code uses snake_case; the wire (Kubernetes) names are camelCase aliases.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from rhev_operator.api.base import ApiModel, StatusModel
from rhev_operator.api.conditions import Condition
from rhev_operator.api.errors import SpecError, spec_error_from
from rhev_operator.api.fieldtypes import (
    API_VERSION,
    NAME_PATTERN,
    NAME_RULE,
    REFERENCE_MAX,
    Reference,
    SecretName,
    field_error,
    xcat,
)
from rhev_operator.api.operation import Operation


class Timeouts(ApiModel):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds any single operation (create, update, remove, an action)
    that has no more specific timeout below."""

    operation_seconds: Annotated[int, Field(ge=1)] = 180
    """Any single RHEV-M operation, and any wait without a timeout of its own. Default 180."""


class CommonStatus(StatusModel):
    """Status fields every kind has."""

    id: str | None = None
    """The RHEV-M id of the object."""
    state: str | None = None
    """The raw RHEV-M status, e.g. up, maintenance, locked, ok, image_locked."""
    observed_generation: int | None = None
    """The metadata.generation last reconciled."""
    conditions: Annotated[
        list[Condition],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            }
        ),
    ] = []
    """Ready, Reconciling and Stalled (kstatus conventions)."""
    operation: Operation | None = None
    """The operation in flight in RHEV-M, if any."""
    message: str | None = None
    """A one-line summary of the object's state for humans."""


DeletionPolicy = Literal["Delete", "Retain"]


class CommonSpec(ApiModel):
    """Spec fields every kind has. Each kind redeclares `name` with its own length limit."""

    NAME_MAX: ClassVar[int] = REFERENCE_MAX

    name: Annotated[Reference | None, xcat("cfgve -o; the node name")] = None
    """The object's name in RHEV-M (case-sensitive). Default: metadata.name."""
    connection: Annotated[
        SecretName | None, xcat("cfgve -m, hostmanager, vmmanager; passwd table (rhevm)")
    ] = None
    """A Secret in the same namespace with keys url, username, password and optional ca.crt
    and insecure ("true"). Default: the operator's default connection."""
    adopt: bool = False
    """Take over an object that already exists in RHEV-M under this name. Without it, an
    existing object of that name is left alone and the resource is Stalled (AlreadyExists)."""
    deletion_policy: DeletionPolicy | None = None
    """Delete or Retain the RHEV-M object when the resource is deleted. Default: Delete for
    objects the operator created, Retain for adopted ones."""

    def effective_name(self, metadata_name: str) -> str:
        """The name in RHEV-M: spec.name, else metadata.name."""
        return self.name or metadata_name

    def effective_deletion_policy(self, adopted: bool) -> DeletionPolicy:
        """spec.deletionPolicy, else Retain when the operator adopted an existing object
        (`adopted`) and Delete when it created it."""
        if self.deletion_policy is not None:
            return self.deletion_policy
        return "Retain" if adopted else "Delete"


# ---------------------------------------------------------------------------------------
# The top-level resource
# ---------------------------------------------------------------------------------------


class ObjectMeta(StatusModel):
    """The parts of metadata the operator reads."""

    name: str
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    finalizers: list[str] = []
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None


class Resource(BaseModel):
    """Base of the seven top-level resource models (apiVersion, kind, metadata, spec, status).

    Subclasses declare `spec` and `status` with their own types and set KIND."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    KIND: ClassVar[str] = ""
    #: The xCAT commands or node attributes the kind replaces (shown in docs/reference.md).
    XCAT: ClassVar[str] = ""

    api_version: str = API_VERSION
    kind: str = ""
    metadata: ObjectMeta

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        # A resource created with no spec (or `spec: null`) has every spec default.
        if isinstance(data, Mapping):
            data = dict(data)
            if data.get("spec") is None:
                data["spec"] = {}
            if data.get("status") is None:
                data["status"] = {}
            if not data.get("kind"):
                data["kind"] = cls.KIND
        return data

    @model_validator(mode="after")
    def _check_kind_and_name(self) -> Resource:
        if self.kind != self.KIND:
            raise field_error("kind", f"must be {self.KIND} (got {self.kind!r})")
        if self.api_version != API_VERSION:
            raise field_error("apiVersion", f"must be {API_VERSION} (got {self.api_version!r})")
        spec = getattr(self, "spec", None)
        if isinstance(spec, CommonSpec) and spec.name is None:
            # The name defaults to metadata.name, so that must be a valid RHEV-M name too.
            name = self.metadata.name
            if not re.match(NAME_PATTERN, name):
                raise field_error(
                    "metadata.name",
                    f"is used as the RHEV-M name and must contain {NAME_RULE}; "
                    "set spec.name to use another name in RHEV-M",
                )
            if len(name) > spec.NAME_MAX:
                raise field_error(
                    "metadata.name",
                    f"is used as the RHEV-M name, which may have at most {spec.NAME_MAX} "
                    f"characters for a {self.KIND}; set spec.name to a shorter name",
                )
        return self

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        """The resource from its body; raises SpecError naming every offending field."""
        if not isinstance(body, Mapping):
            raise SpecError("", f"a {cls.KIND} must be a mapping")
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise spec_error_from(exc, cls) from None

    @property
    def rhev_name(self) -> str:
        """The object's name in RHEV-M (spec.name, else metadata.name)."""
        spec = getattr(self, "spec", None)
        if isinstance(spec, CommonSpec):
            return spec.effective_name(self.metadata.name)
        return self.metadata.name
