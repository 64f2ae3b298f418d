"""The Template entity (/templates/{id}) and its XML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from rhevsim.disk.entity import DiskAttachment
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.vmtemplate.config import BLANK_TEMPLATE_ID, MIB, VmConfig, render_config
from rhevsim.xmlutil import Element, fmt_time

if TYPE_CHECKING:
    from rhevsim.registry import Registry
    from rhevsim.virtualmachine.entity import Nic


@dataclass(kw_only=True, eq=False)
class Template(Entity):
    KIND = "template"
    TAG = "template"
    PLURAL = "templates"
    PATH = "templates"
    TYPE_NAME = "Template"
    REF_NAME = "Template"

    status: str = "ok"
    cluster_id: str | None = None
    config: VmConfig = field(default_factory=VmConfig)
    creation_time: float = 0.0
    version_name: str | None = None
    version_number: int = 1
    base_template_id: str | None = None  # None: this is a base template
    disk_attachments: list[DiskAttachment] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.actions(el, self, ("export",))
        ctx.common(el, self)
        ctx.link(el, self, "cdroms")
        ctx.follow_collection(
            el, self, "diskattachments", "disk_attachments", self.disk_attachments
        )
        ctx.link(el, self, "graphicsconsoles")
        ctx.link(el, self, "mediateddevices")
        ctx.sub_collection(el, self, "nics", "nics", lambda: self.nics)
        for rel in ("permissions", "tags", "watchdogs"):
            ctx.link(el, self, rel)
        cluster = ctx.reg.objects.get("cluster", {}).get(self.cluster_id or "")
        render_config(ctx, el, self.config, getattr(cluster, "cpu_architecture", "x86_64"))
        etree.SubElement(el, "creation_time").text = fmt_time(self.creation_time)
        etree.SubElement(el, "status").text = self.status
        v = etree.SubElement(el, "version")
        if self.version_name is not None:
            etree.SubElement(v, "version_name").text = self.version_name
        etree.SubElement(v, "version_number").text = str(self.version_number)
        ctx.ref_id(v, "base_template", "templates", self.base_template_id or self.id)
        ctx.ref(el, "cluster", cluster)
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        cluster = reg.objects.get("cluster", {}).get(self.cluster_id or "")
        dc = (
            reg.objects.get("datacenter", {}).get(getattr(cluster, "data_center_id", "") or "")
            if cluster is not None
            else None
        )
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "status": self.status,
            "cluster": cluster.name if cluster is not None else None,
            "datacenter": dc.name if dc is not None else None,
            "os": self.config.os_type,
            "memory": self.config.memory // MIB,
            # The Vms cross-reference: the VMs made from this template (ovirt_vm searches
            # `vm.name=X` to find a VM's template).
            "vm.name": tuple(
                v.name for v in reg.iter_kind("vm") if getattr(v, "template_id", None) == self.id
            ),
        }

    def vnic_profile_ids(self) -> list[str]:
        return [n.vnic_profile_id for n in self.nics if n.vnic_profile_id]

    def storage_domain_ids(self) -> list[str]:
        """Domains holding the template's disks (/storagedomains/{id}/templates)."""
        out: list[str] = []
        for a in self.disk_attachments:
            if a.storage_domain_id and a.storage_domain_id not in out:
                out.append(a.storage_domain_id)
        return out


def blank_template(reg: Registry) -> Template:
    t = reg.objects.get("template", {}).get(BLANK_TEMPLATE_ID)
    assert isinstance(t, Template)
    return t


def templates_based_on(reg: Registry, template: Template) -> list[Entity]:
    """VMs whose template is `template` (RemoveVmTemplateCommand's derived VMs)."""
    return [v for v in reg.iter_kind("vm") if getattr(v, "template_id", None) == template.id]


def name_taken(reg: Registry, name: str, exclude: Template | None = None) -> bool:
    base = exclude.base_template_id or exclude.id if exclude is not None else None
    for t in reg.all(Template):
        if t.name != name or t is exclude:
            continue
        if base is not None and (t.base_template_id or t.id) == base:
            continue  # versions of one template share its name
        return True
    return False
