"""Clusters (/clusters and /datacenters/{id}/clusters).

A cluster has no status. Adding one attaches its data center's management network as a
required network (AddClusterCommand). Removal is refused while hosts, VMs or templates
use it (RemoveClusterCommand).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    action_complete,
    created,
    delete_complete,
    empty_collections,
    get_or_404,
    list_response,
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.clusteroptions import fencing_from_inventory, policy_fields
from rhevsim.clusterpolicies import (
    DEFAULT_MAC_POOL_ID,
    DEFAULT_SCHEDULING_POLICY,
    SCHEDULING_POLICIES,
)
from rhevsim.datacenter import ENGINE_USER, SUPPORTED_VERSIONS, DataCenter
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError, find
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.network import (
    attach_management_network,
    cluster_networks,
    forget_cluster,
    management_network_in,
    management_network_of,
)
from rhevsim.xmlutil import Element, enum, has, integer, text, xml_bool

if TYPE_CHECKING:
    from rhevsim.registry import Registry

# CPU types a 4.5 engine offers (plus older families RHEV 3.x inventories name).
CPU_TYPES = (
    "Intel Conroe Family",
    "Intel Penryn Family",
    "Intel Nehalem Family",
    "Secure Intel Nehalem Family",
    "Intel Westmere Family",
    "Secure Intel Westmere Family",
    "Intel SandyBridge Family",
    "Secure Intel SandyBridge Family",
    "Intel IvyBridge Family",
    "Secure Intel IvyBridge Family",
    "Intel Haswell Family",
    "Secure Intel Haswell Family",
    "Intel Broadwell Family",
    "Secure Intel Broadwell Family",
    "Intel Skylake Client Family",
    "Secure Intel Skylake Client Family",
    "Intel Skylake Server Family",
    "Secure Intel Skylake Server Family",
    "Intel Cascadelake Server Family",
    "Secure Intel Cascadelake Server Family",
    "Intel Icelake Server Family",
    "Secure Intel Icelake Server Family",
    "AMD Opteron G1",
    "AMD Opteron G2",
    "AMD Opteron G3",
    "AMD Opteron G4",
    "AMD Opteron G5",
    "AMD EPYC",
    "Secure AMD EPYC",
    "IBM POWER8",
    "IBM POWER9",
    "IBM z114, z196",
)
ARCHITECTURES = ("x86_64", "ppc64", "s390x", "undefined")


@dataclass(kw_only=True, eq=False)
class Cluster(Entity):
    KIND = "cluster"
    TAG = "cluster"
    PLURAL = "clusters"
    PATH = "clusters"
    TYPE_NAME = "Cluster"
    REF_NAME = "Cluster"

    data_center_id: str | None = None
    cpu_type: str | None = None  # None until the first host sets it, as in the engine
    cpu_architecture: str = "undefined"
    version: tuple[int, int] = SUPPORTED_VERSIONS[-1]
    over_commit_percent: int = 100
    transparent_hugepages: bool = True
    ballooning_enabled: bool = False
    on_error: str = "migrate"
    virt_service: bool = True
    gluster_service: bool = False
    threads_as_cores: bool = False
    ha_reservation: bool = False
    ksm_enabled: bool = True
    tunnel_migration: bool = False
    # The engine's FencingPolicy (common/businessentities/FencingPolicy): its defaults.
    fencing_enabled: bool = True
    fencing_skip_if_sd_active: bool = False
    fencing_skip_if_connectivity_broken: bool = False
    fencing_connectivity_threshold: int = 50
    fencing_skip_if_gluster_bricks_up: bool = False
    fencing_skip_if_gluster_quorum_not_met: bool = False
    # Migration options (restapi ClusterMigrationOptionsMapper): a new cluster inherits the
    # engine's settings; bandwidth DEFAULT is AUTO (MigrationBandwidthLimitType).
    migration_auto_converge: str = "inherit"
    migration_compressed: str = "inherit"
    migration_encrypted: str = "inherit"
    migration_bandwidth: str = "auto"
    migration_bandwidth_custom: int | None = None
    migration_policy_id: str | None = None
    # Cluster.getRequiredRngSources: the additional sources plus urandom (4.x versions).
    additional_rng_sources: tuple[str, ...] = ()
    scheduling_policy_id: str = DEFAULT_SCHEDULING_POLICY
    mac_pool_id: str = DEFAULT_MAC_POOL_ID

    def required_rng_sources(self) -> list[str]:
        return sorted({"urandom", *self.additional_rng_sources})

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.actions(el, self, ("resetemulatedmachine", "syncallnetworks", "upgrade"))
        ctx.common(el, self)
        for rel in ("affinitygroups", "cpuprofiles", "enabledfeatures", "externalnetworkproviders"):
            ctx.link(el, self, rel)
        ctx.link(el, self, "glusterhooks")
        ctx.link(el, self, "glustervolumes")
        ctx.link(el, self, "networkfilters")

        ctx.sub_collection(
            el, self, "networks", "networks", lambda: cluster_networks(ctx.reg, self)
        )
        ctx.link(el, self, "permissions")
        etree.SubElement(el, "ballooning_enabled").text = xml_bool(self.ballooning_enabled)
        etree.SubElement(el, "bios_type").text = "q35_ovmf"
        cpu = etree.SubElement(el, "cpu")
        etree.SubElement(cpu, "architecture").text = self.cpu_architecture
        if self.cpu_type:
            etree.SubElement(cpu, "type").text = self.cpu_type
        etree.SubElement(el, "error_handling").append(_txt("on_error", self.on_error))
        etree.SubElement(el, "firewall_type").text = "firewalld"
        fp = etree.SubElement(el, "fencing_policy")
        etree.SubElement(fp, "enabled").text = xml_bool(self.fencing_enabled)
        cb = etree.SubElement(fp, "skip_if_connectivity_broken")
        etree.SubElement(cb, "enabled").text = xml_bool(self.fencing_skip_if_connectivity_broken)
        etree.SubElement(cb, "threshold").text = str(self.fencing_connectivity_threshold)
        etree.SubElement(fp, "skip_if_gluster_bricks_up").text = xml_bool(
            self.fencing_skip_if_gluster_bricks_up
        )
        etree.SubElement(fp, "skip_if_gluster_quorum_not_met").text = xml_bool(
            self.fencing_skip_if_gluster_quorum_not_met
        )
        sd = etree.SubElement(fp, "skip_if_sd_active")
        etree.SubElement(sd, "enabled").text = xml_bool(self.fencing_skip_if_sd_active)
        etree.SubElement(el, "fips_mode").text = "undefined"
        etree.SubElement(el, "gluster_service").text = xml_bool(self.gluster_service)
        etree.SubElement(el, "ha_reservation").text = xml_bool(self.ha_reservation)
        etree.SubElement(el, "log_max_memory_used_threshold").text = "95"
        etree.SubElement(el, "log_max_memory_used_threshold_type").text = "percentage"
        etree.SubElement(el, "maintenance_reason_required").text = "false"
        ksm = etree.SubElement(el, "ksm")
        etree.SubElement(ksm, "enabled").text = xml_bool(self.ksm_enabled)
        etree.SubElement(ksm, "merge_across_nodes").text = "true"
        mp = etree.SubElement(el, "memory_policy")
        oc = etree.SubElement(mp, "over_commit")
        etree.SubElement(oc, "percent").text = str(self.over_commit_percent)
        th = etree.SubElement(mp, "transparent_hugepages")
        etree.SubElement(th, "enabled").text = xml_bool(self.transparent_hugepages)
        mig = etree.SubElement(el, "migration")
        etree.SubElement(mig, "auto_converge").text = self.migration_auto_converge
        bw = etree.SubElement(mig, "bandwidth")
        etree.SubElement(bw, "assignment_method").text = self.migration_bandwidth
        if self.migration_bandwidth == "custom" and self.migration_bandwidth_custom is not None:
            etree.SubElement(bw, "custom_value").text = str(self.migration_bandwidth_custom)
        etree.SubElement(mig, "compressed").text = self.migration_compressed
        etree.SubElement(mig, "encrypted").text = self.migration_encrypted
        etree.SubElement(mig, "parallel_migrations_policy").text = "disabled"
        if self.migration_policy_id:
            etree.SubElement(mig, "policy", {"id": self.migration_policy_id})
        etree.SubElement(el, "optional_reason").text = "false"
        rng = etree.SubElement(el, "required_rng_sources")
        for source in self.required_rng_sources():
            etree.SubElement(rng, "required_rng_source").text = source
        etree.SubElement(el, "switch_type").text = "legacy"
        etree.SubElement(el, "threads_as_cores").text = xml_bool(self.threads_as_cores)
        etree.SubElement(el, "trusted_service").text = "false"
        etree.SubElement(el, "tunnel_migration").text = xml_bool(self.tunnel_migration)
        etree.SubElement(el, "upgrade_in_progress").text = "false"
        v = etree.SubElement(el, "version")
        etree.SubElement(v, "major").text = str(self.version[0])
        etree.SubElement(v, "minor").text = str(self.version[1])
        etree.SubElement(el, "virt_service").text = xml_bool(self.virt_service)
        etree.SubElement(el, "vnc_encryption").text = "false"
        dc = ctx.reg.get(DataCenter, self.data_center_id) if self.data_center_id else None
        ctx.ref(el, "data_center", dc)

        etree.SubElement(
            el,
            "mac_pool",
            {"href": f"{ctx.base}/macpools/{self.mac_pool_id}", "id": self.mac_pool_id},
        )
        ctx.ref(el, "management_network", management_network_of(ctx.reg, self))
        etree.SubElement(
            el,
            "scheduling_policy",
            {
                "href": f"{ctx.base}/schedulingpolicies/{self.scheduling_policy_id}",
                "id": self.scheduling_policy_id,
            },
        )
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        dc = reg.get(DataCenter, self.data_center_id) if self.data_center_id else None
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "datacenter": dc.name if dc else None,
            "architecture": self.cpu_architecture,
            "cpu_type": self.cpu_type,
            "compatibility_version": f"{self.version[0]}.{self.version[1]}",
        }


def _txt(tag: str, value: str) -> Element:
    e = etree.Element(tag)
    e.text = value
    return e


def clusters_in(reg: Registry, dc_id: str) -> list[Cluster]:
    return [c for c in reg.all(Cluster) if c.data_center_id == dc_id]


def _users_of(reg: Registry, cluster: Cluster, kind: str) -> list[Entity]:
    return [o for o in reg.iter_kind(kind) if getattr(o, "cluster_id", None) == cluster.id]


def _parse_version(body: Element | None, method: str) -> tuple[int, int] | None:
    if not has(body, "version"):
        return None
    major, minor = integer(body, "version/major"), integer(body, "version/minor")
    if major is None or minor is None:
        raise errors.incomplete("Version", ["major", "minor"], method)
    return major, minor


def _check_name(name: str, action: str) -> None:
    if not re.fullmatch(r"[\w.-]{1,40}", name):
        raise errors.bad_request(
            f"Cannot {action} Cluster. The given name contains special characters. Only "
            "lower-case and upper-case letters, numbers, '_', '-', '.' are allowed."
        )


def _cpu(body: Element | None, action: str) -> str | None:
    cpu = text(body, "cpu/type")
    if cpu is not None and cpu not in CPU_TYPES:
        raise errors.bad_request(f"Cannot {action} Cluster. The chosen CPU is not supported.")
    return cpu


def new_cluster(
    reg: Registry,
    name: str,
    dc: DataCenter | None,
    *,
    correlation_id: str | None = None,
    ident: str | None = None,
    **fields: Any,
) -> Cluster:
    """Create a cluster and attach the data center's management network to it."""
    cluster = reg.add(
        Cluster(
            id=ident or reg.new_id(),
            name=name,
            data_center_id=dc.id if dc else None,
            **fields,
        )
    )
    if cluster.cpu_type and cluster.cpu_architecture == "undefined":
        cluster.cpu_architecture = (
            "ppc64"
            if "POWER" in cluster.cpu_type
            else "s390x"
            if "IBM z" in cluster.cpu_type
            else "x86_64"
        )
    reg.event(
        CODES["USER_ADD_CLUSTER"],
        f"Cluster {name} was added by {ENGINE_USER}",
        correlation_id=correlation_id,
        cluster=cluster,
        data_center=dc,
    )
    if dc is not None:
        attach_management_network(reg, dc, cluster, correlation_id)
    return cluster


# ------------------------------------------------------------------ handlers


def _list(req: Request) -> Response:
    return list_response(req, req.reg.all(Cluster), "clusters")


def _list_in_dc(req: Request) -> Response:
    dc = get_or_404(req, DataCenter, "dc")
    return list_response(req, clusters_in(req.reg, dc.id), "clusters", searchable=False)


def _get(req: Request) -> Response:
    return xml_response(get_or_404(req, Cluster).render(req.ctx))


def _get_in_dc(req: Request) -> Response:
    dc = get_or_404(req, DataCenter, "dc")
    cl = get_or_404(req, Cluster)
    if cl.data_center_id != dc.id:
        raise errors.not_found_url()
    return xml_response(cl.render(req.ctx))


def _in_dc(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """A cluster of another data center is not found under /datacenters/{dc}/clusters."""

    def scoped(req: Request) -> Response:
        dc = get_or_404(req, DataCenter, "dc")
        if get_or_404(req, Cluster).data_center_id != dc.id:
            raise errors.not_found_url()
        return handler(req)

    return scoped


def _add(req: Request, dc: DataCenter | None = None) -> Response:
    body = req.body
    reg = req.reg
    require(body, "Cluster", "add", "name")
    if dc is None:
        dc_el = body.find("data_center") if body is not None else None
        dc = ref_from_body(req, DataCenter, dc_el)
        if dc is None:
            raise errors.incomplete("Cluster", ["dataCenter.name|id"], "add")
    name = text(body, "name") or ""
    _check_name(name, "create")
    if reg.by_name(Cluster, name) is not None:
        raise errors.conflict("Cannot create Cluster. Cluster name is already in use.")
    cpu = _cpu(body, "create")
    version = _parse_version(body, "add") or dc.version
    if version not in SUPPORTED_VERSIONS:
        raise errors.bad_request(
            "Cannot create Cluster. Selected Compatibility Version is not supported."
        )
    if version < dc.version:
        raise errors.bad_request(
            "Cannot add Cluster with Compatibility Version that is lower than the Data Center "
            "Compatibility Version.\n-Please upgrade your Cluster to a later Compatibility "
            "version first."
        )
    if dc.local and clusters_in(reg, dc.id):
        raise errors.bad_request(
            'Cannot add more than one Cluster to a Data Center with "Local Storage".'
        )

    if management_network_in(reg, dc) is None:
        raise errors.bad_request(
            "Cannot create Cluster. No single suitable network was found to serve as the "
            "management network."
        )
    with reg.job(f"Adding Cluster {name} to Data Center {dc.name}", req.correlation_id) as job:
        fields: dict[str, Any] = {"version": version, "cpu_type": cpu}
        arch = enum(body, "cpu/architecture", ARCHITECTURES, "Architecture")
        if arch:
            fields["cpu_architecture"] = arch
        fields.update(policy_fields(body))
        fields.update(_references(req))
        cluster = new_cluster(reg, name, dc, correlation_id=job.correlation_id, **fields)
        cluster.description = text(body, "description")
        cluster.comment = text(body, "comment")
    return created(req, cluster)


def _references(req: Request) -> dict[str, Any]:
    """`scheduling_policy` (by id or name) and `mac_pool` (by id or name) of a body."""
    body = req.body
    out: dict[str, Any] = {}
    sp = body.find("scheduling_policy") if body is not None else None
    if sp is not None:
        ident, name = sp.get("id"), text(sp, "name")
        match = [p for p in SCHEDULING_POLICIES if (ident and p[0] == ident) or p[1] == name]
        if not match:
            key, value = ("id", ident) if ident else ("name", name or "")
            raise errors.entity_not_found("SchedulingPolicy", key, value or "")
        out["scheduling_policy_id"] = match[0][0]
    mp = body.find("mac_pool") if body is not None else None
    if mp is not None:
        ident, pool_name = mp.get("id"), text(mp, "name")
        known = ident == DEFAULT_MAC_POOL_ID if ident else pool_name in (None, "Default")
        if not known:
            key, value = ("id", ident) if ident else ("name", pool_name or "")
            raise errors.entity_not_found("MacPool", key, value or "")
        out["mac_pool_id"] = DEFAULT_MAC_POOL_ID
    return out


def _update(req: Request) -> Response:
    cl = get_or_404(req, Cluster)
    reg = req.reg
    reg.check_unlocked(cl, "update")
    body = req.body
    name = text(body, "name")
    if name is not None and name != cl.name:
        _check_name(name, "update")
        if reg.by_name(Cluster, name) is not None:
            raise errors.conflict("Cannot update Cluster. Cluster name is already in use.")
    cpu = _cpu(body, "update")
    policy = policy_fields(body)
    policy.update(_references(req))
    version = _parse_version(body, "update")
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise errors.bad_request(
            "Cannot update Cluster. Selected Compatibility Version is not supported."
        )
    dc_el = body.find("data_center") if body is not None else None
    new_dc = ref_from_body(req, DataCenter, dc_el)
    if new_dc is not None and cl.data_center_id and new_dc.id != cl.data_center_id:
        raise errors.conflict(
            "Cannot update Cluster. Changing the Data Center of a Cluster is not allowed "
            "while it is attached to another Data Center."
        )
    running = [v for v in _users_of(reg, cl, "vm") if getattr(v, "status", "down") not in ("down",)]
    if cpu is not None and cpu != cl.cpu_type and running:
        raise errors.conflict(
            "Cannot update Cluster. Cannot change Cluster CPU type while there are running VMs."
        )
    with reg.job(f"Updating Cluster {cl.name}", req.correlation_id) as job:
        if name is not None:
            cl.name = name
        if has(body, "description"):
            cl.description = text(body, "description") or ""
        if has(body, "comment"):
            cl.comment = text(body, "comment") or ""
        if cpu is not None:
            cl.cpu_type = cpu
        arch = enum(body, "cpu/architecture", ARCHITECTURES, "Architecture")
        if arch:
            cl.cpu_architecture = arch
        if version is not None:
            cl.version = version
        for k, v in policy.items():
            setattr(cl, k, v)
        if new_dc is not None and cl.data_center_id is None:
            cl.data_center_id = new_dc.id

            attach_management_network(reg, new_dc, cl, job.correlation_id)
        reg.event(
            CODES["USER_UPDATE_CLUSTER"],
            f"Host cluster {cl.name} was updated by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            cluster=cl,
        )
    return xml_response(cl.render(req.ctx))


def _remove(req: Request) -> Response:
    cl = get_or_404(req, Cluster)
    reg = req.reg
    reg.check_unlocked(cl, "remove")
    if _users_of(reg, cl, "host"):
        raise errors.conflict("Cannot remove Cluster. Cluster contains one or more Hosts")
    if _users_of(reg, cl, "vm"):
        raise errors.conflict(
            "Cannot remove Cluster. One or more VMs are still assigned to the Cluster"
        )
    if [t for t in _users_of(reg, cl, "template") if t.name != "Blank"]:
        raise errors.conflict(
            "Cannot remove Cluster. One or more Template(s) are still associated with the Cluster"
        )
    with reg.job(f"Deleting Cluster {cl.name}", req.correlation_id) as job:
        forget_cluster(reg, cl)
        reg.remove(cl)
        reg.event(
            CODES["USER_REMOVE_CLUSTER"],
            f"Host cluster {cl.name} was removed by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            cluster=cl,
        )
    return delete_complete(req)


def _simple_action(description: str) -> Any:
    def handler(req: Request) -> Response:
        cl = get_or_404(req, Cluster)
        req.reg.check_unlocked(cl, description.split()[0].lower())
        job = req.reg.start_job(f"{description} {cl.name}", req.correlation_id)
        req.reg.end_job(job)
        return action_complete(req, job)

    return handler


def register(api: Api) -> None:
    api.route("GET", "/clusters", _list)
    api.route("POST", "/clusters", _add)
    api.route("GET", "/clusters/{id}", _get)
    api.route("PUT", "/clusters/{id}", _update)
    api.route("DELETE", "/clusters/{id}", _remove)
    api.route("GET", "/datacenters/{dc}/clusters", _list_in_dc)
    api.route(
        "POST",
        "/datacenters/{dc}/clusters",
        lambda req: _add(req, get_or_404(req, DataCenter, "dc")),
    )
    api.route("GET", "/datacenters/{dc}/clusters/{id}", _get_in_dc)
    api.route("PUT", "/datacenters/{dc}/clusters/{id}", _in_dc(_update))
    api.route("DELETE", "/datacenters/{dc}/clusters/{id}", _in_dc(_remove))
    api.action("/clusters/{id}", "resetemulatedmachine", _simple_action("Reset emulated machine"))
    api.action("/clusters/{id}", "syncallnetworks", _simple_action("Sync all networks of Cluster"))
    api.action("/clusters/{id}", "upgrade", _simple_action("Upgrade Cluster"))
    empty_collections(
        api,
        Cluster,
        "/clusters/{id}",
        {
            "affinitygroups": "affinity_groups",
            "cpuprofiles": "cpu_profiles",
            "enabledfeatures": "cluster_features",
            "externalnetworkproviders": "external_providers",
            "glusterhooks": "gluster_hooks",
            "glustervolumes": "gluster_volumes",
            "networkfilters": "network_filters",
            "permissions": "permissions",
        },
    )


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, c in enumerate(find(inv, "clusters")):
        dc = None
        if c.get("data_center"):
            dc = reg.by_name(DataCenter, str(c["data_center"]))
            if dc is None:
                raise InventoryError(
                    f"clusters[{i}].data_center: no data center named {c['data_center']!r}"
                )
        cpu = c.get("cpu_type")
        if cpu is not None and cpu not in CPU_TYPES:
            raise InventoryError(f"clusters[{i}].cpu_type: {cpu!r} is not one of {CPU_TYPES}")
        fields: dict[str, Any] = {"cpu_type": cpu}
        if "version" in c:
            try:
                major, minor = (int(x) for x in str(c["version"]).split("."))
            except ValueError:
                raise InventoryError(f"clusters[{i}].version: expected MAJOR.MINOR") from None
            fields["version"] = (major, minor)
        elif dc is not None:
            fields["version"] = dc.version
        for key in ("over_commit_percent", "transparent_hugepages", "ballooning_enabled"):
            if key in c:
                fields[key] = c[key]
        fields.update(fencing_from_inventory(c.get("fencing_policy"), f"clusters[{i}]"))
        cl = new_cluster(reg, str(c["name"]), dc, ident=c.get("id"), **fields)
        cl.description = c.get("description")
