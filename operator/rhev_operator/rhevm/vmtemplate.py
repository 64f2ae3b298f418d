"""Templates: ``/templates`` (``<template>``); made from a VM, ``locked`` until ``ok``."""

from __future__ import annotations

from pydantic import Field, model_validator

from rhev_operator.rhevm._base import Collection, Frozen, Input, one_of

__all__ = ["BLANK_TEMPLATE_ID", "Template", "TemplateCreate", "TemplateUpdate", "Templates"]

BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"


class Template(Frozen):
    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    status: str | None = None
    type: str | None = None
    cluster_id: str | None = None
    vm_id: str | None = None
    memory: int | None = None
    cpu_sockets: int | None = None
    cpu_cores: int | None = None
    os_type: str | None = None
    version_name: str | None = None
    version_number: int | None = None
    base_template_id: str | None = None
    creation_time: str | None = None


_PATHS = {
    "cluster_id": "cluster/@id",
    "cluster_name": "cluster/name",
    "vm_id": "vm/@id",
    "vm_name": "vm/name",
    "cpu_sockets": "cpu/topology/sockets",
    "cpu_cores": "cpu/topology/cores",
    "os_type": "os/type",
    "version_name": "version/version_name",
    "version_number": "version/version_number",
    "base_template_id": "version/base_template/@id",
}


class TemplateCreate(Input):
    """``POST /templates`` from the (down) VM ``vm_id``/``vm_name``."""

    name: str = Field(min_length=1)
    vm_id: str | None = None
    vm_name: str | None = None
    cluster_id: str | None = None
    cluster_name: str | None = None
    description: str | None = None
    comment: str | None = None
    version_name: str | None = None
    base_template_id: str | None = None

    @model_validator(mode="after")
    def _refs(self) -> TemplateCreate:
        one_of("vm_id", self.vm_id, "vm_name", self.vm_name)
        one_of("cluster_id", self.cluster_id, "cluster_name", self.cluster_name, required=False)
        return self


class TemplateUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    comment: str | None = None
    memory: int | None = Field(default=None, gt=0)
    cpu_sockets: int | None = Field(default=None, ge=1)
    cpu_cores: int | None = Field(default=None, ge=1)
    os_type: str | None = None


class Templates(Collection[Template]):
    tag = "template"
    plural = "templates"
    model = Template
    searchable = True
    read_spec = _PATHS
    write_spec = _PATHS

    def add(
        self,
        data: TemplateCreate,
        clone_permissions: bool | None = None,
        seal: bool | None = None,
        correlation_id: str | None = None,
    ) -> Template:
        params = {"clone_permissions": clone_permissions, "seal": seal}
        return self._add(data, correlation_id, params)

    def update(
        self, template_id: str, data: TemplateUpdate, correlation_id: str | None = None
    ) -> Template:
        return self._update(template_id, data, correlation_id)

    def remove(self, template_id: str, correlation_id: str | None = None) -> None:
        self._remove(template_id, correlation_id)
