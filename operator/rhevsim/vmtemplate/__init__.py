"""Templates (/templates), and the VM configuration they share with VMs (`VmConfig`).

`Blank` (id 00000000-0000-0000-0000-000000000000) always exists, belongs to no cluster and
cannot be removed. A template is made from a VM that is down (AddVmTemplateCommand):

    POST /templates <template><name>t</name><vm id=".."/></template>
      template locked, VM image_locked, each VM disk copied (`disk.copy` seconds)
      -> template ok, VM back to down            (events 48 then 51)
      a domain written to is not active at the end: the template and its disks vanish,
      the VM is down again, the job fails        (event 52, error)

Without disks there is nothing to copy: the template is ok at once (201). Removal is
refused for Blank and while VMs are based on the template (cloned VMs are not: their
template is Blank); otherwise the template is locked for `template.remove` seconds, its
disks are deleted, then it vanishes (events 50, 251).

Inventory `templates:`: `{name, cluster, description, memory (bytes or "4GiB"),
cpu: {sockets, cores, threads}, os: rhel_8x64, boot: [hd, network], display: vnc|spice,
type: server|desktop|high_performance, high_availability: bool, version_name,
disks: [{name, size, storage_domain, format, sparse, interface, bootable}],
nics: [{name, profile | network, interface}], id}`.

The package: `config` (the VM configuration templates and VMs share: parsing, rendering,
inventory), `entity` (the Template entity), `handlers` (the /templates handlers),
`inventory`; this module registers the routes and hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.api import Api, empty_collections
from rhevsim.vmtemplate.config import (
    AFFINITIES,
    BLANK_TEMPLATE_ID,
    BOOT_DEVICES,
    DISPLAY_TYPES,
    GIB,
    MIB,
    STATUSES,
    TIMINGS,
    VM_TYPES,
    VmConfig,
    config_from_inventory,
    parse_config,
    render_config,
)
from rhevsim.vmtemplate.entity import Template, blank_template, templates_based_on
from rhevsim.vmtemplate.handlers import (
    add_template,
    dc_of,
    export_template,
    get_template,
    list_templates,
    remove_template,
    update_template,
)
from rhevsim.vmtemplate.inventory import load_inventory

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def register(api: Api) -> None:
    api.route("GET", "/templates", list_templates)
    api.route("POST", "/templates", add_template)
    api.route("GET", "/templates/{id}", get_template)
    api.route("PUT", "/templates/{id}", update_template)
    api.route("DELETE", "/templates/{id}", remove_template)
    api.action("/templates/{id}", "export", export_template)

    empty_collections(
        api,
        Template,
        "/templates/{id}",
        {
            "cdroms": "cdroms",
            "graphicsconsoles": "graphics_consoles",
            "mediateddevices": "vm_mediated_devices",
            "permissions": "permissions",
            "tags": "tags",
            "watchdogs": "watchdogs",
        },
    )


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)


__all__ = [
    "AFFINITIES",
    "BLANK_TEMPLATE_ID",
    "BOOT_DEVICES",
    "DISPLAY_TYPES",
    "GIB",
    "MIB",
    "STATUSES",
    "TIMINGS",
    "VM_TYPES",
    "Template",
    "VmConfig",
    "blank_template",
    "config_from_inventory",
    "dc_of",
    "load_inventory",
    "parse_config",
    "register",
    "render_config",
    "setup",
    "templates_based_on",
]
