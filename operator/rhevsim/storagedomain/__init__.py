"""Storage domains: top level (/storagedomains) and attached (/datacenters/{id}/storagedomains).

State machine of a domain inside a data center (`dc_status`), each step on the clock:

    attach:     locked --storagedomain.attach--> maintenance, then auto-activate (engine >= 3.5)
    activate:   maintenance|inactive|unknown -> activating (master: locked)
                --storagedomain.activate--> active
    deactivate: active -> preparing_for_maintenance --storagedomain.deactivate--> maintenance
    detach:     maintenance -> detaching --storagedomain.detach--> unattached (top level)

The first data domain of a data center becomes master. When the master is deactivated the
role moves to another active data domain; deactivating the last one puts the data center in
maintenance. The top-level representation shows status `unattached` or no status at all
(status only makes sense inside a data center).

The package: `entity` (the StorageDomain entity, the queries other modules use, the
attach/activate/deactivate/detach state machine), `domains` (the /storagedomains handlers),
`attached` (the /datacenters/{id}/storagedomains handlers), `inventory`; this module
registers the routes.
"""

from __future__ import annotations

from rhevsim.api import Api, Request, Response, empty_collections, get_or_404, list_response
from rhevsim.registry import Registry
from rhevsim.storagedomain.attached import (
    activate_domain,
    attach_domain,
    deactivate_domain,
    detach_domain,
    get_attached,
    list_attached,
    set_master,
)
from rhevsim.storagedomain.domains import (
    add_domain,
    get_domain,
    is_attached,
    list_domains,
    noop_action,
    remove_domain,
    update_domain,
)
from rhevsim.storagedomain.entity import (
    DOMAIN_TYPES,
    FILE_TYPES,
    STORAGE_FORMATS,
    STORAGE_TYPES,
    AttachedStorageDomain,
    GiB,
    StorageDomain,
    attached_to,
    begin_activate,
    begin_attach,
    begin_deactivate,
    begin_detach,
    forget_attachment,
    forget_attachments,
    master_of,
)
from rhevsim.storagedomain.inventory import load_inventory


def register(api: Api) -> None:
    api.route("GET", "/storagedomains", list_domains)
    api.route("POST", "/storagedomains", add_domain)
    api.route("GET", "/storagedomains/{id}", get_domain)
    api.route("PUT", "/storagedomains/{id}", update_domain)
    api.route("DELETE", "/storagedomains/{id}", remove_domain)
    api.action("/storagedomains/{id}", "isattached", is_attached)
    api.action("/storagedomains/{id}", "refreshluns", noop_action("Refresh LUNs of"))
    api.action("/storagedomains/{id}", "updateovfstore", noop_action("Update OVF store of"))
    api.route("GET", "/datacenters/{dc}/storagedomains", list_attached)
    api.route("POST", "/datacenters/{dc}/storagedomains", attach_domain)
    api.route("GET", "/datacenters/{dc}/storagedomains/{id}", get_attached)
    api.route("DELETE", "/datacenters/{dc}/storagedomains/{id}", detach_domain)
    api.action("/datacenters/{dc}/storagedomains/{id}", "activate", activate_domain)
    api.action("/datacenters/{dc}/storagedomains/{id}", "deactivate", deactivate_domain)
    api.action("/datacenters/{id}", "setmaster", set_master)
    # disks, templates and vms under a domain: rhevsim.disk, rhevsim.vmtemplate and
    # rhevsim.virtualmachine, or finalize below; the rest are link-only here.
    empty_collections(
        api,
        StorageDomain,
        "/storagedomains/{id}",
        {
            "diskprofiles": "disk_profiles",
            "disksnapshots": "disk_snapshots",
            "files": "files",
            "images": "images",
            "permissions": "permissions",
            "storageconnections": "storage_connections",
        },
    )


def finalize(api: Api) -> None:
    """/storagedomains/{id}/disks|templates|vms, unless rhevsim.disk, rhevsim.vmtemplate or
    rhevsim.virtualmachine serve them: objects whose `storage_domain_id` is the domain or whose
    `storage_domain_ids()` include it."""
    for rel, kind, plural in (
        ("disks", "disk", "disks"),
        ("templates", "template", "templates"),
        ("vms", "vm", "vms"),
    ):
        if api.match("GET", f"/storagedomains/x/{rel}") is not None:
            continue

        def handler(req: Request, kind: str = kind, plural: str = plural) -> Response:
            sd = get_or_404(req, StorageDomain)
            objs = [
                o
                for o in req.reg.iter_kind(kind)
                if getattr(o, "storage_domain_id", None) == sd.id
                or sd.id in set(getattr(o, "storage_domain_ids", lambda: [])())
            ]
            return list_response(req, objs, plural, searchable=False)

        api.route("GET", f"/storagedomains/{{id}}/{rel}", handler)


def setup(reg: Registry) -> None:
    reg.hooks.dc_removed.append(forget_attachments)


__all__ = [
    "DOMAIN_TYPES",
    "FILE_TYPES",
    "STORAGE_FORMATS",
    "STORAGE_TYPES",
    "AttachedStorageDomain",
    "GiB",
    "StorageDomain",
    "attached_to",
    "begin_activate",
    "begin_attach",
    "begin_deactivate",
    "begin_detach",
    "finalize",
    "forget_attachment",
    "load_inventory",
    "master_of",
    "register",
    "setup",
]
