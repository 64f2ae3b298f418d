"""A cluster's options as a request body or an inventory entry gives them: memory policy,
fencing policy, migration options, error handling and required RNG sources (the engine's
ClusterMapper, FencingPolicyMapper and ClusterMigrationOptionsMapper). Only what is set is
returned, so a PUT changes nothing else.
"""

from __future__ import annotations

from typing import Any

from rhevsim import errors
from rhevsim.inventory import InventoryError
from rhevsim.xmlutil import Element, boolean, enum, has, integer

ON_ERROR = ("migrate", "migrate_highly_available", "do_not_migrate")
INHERITABLE = ("inherit", "true", "false")
BANDWIDTH_METHODS = ("auto", "hypervisor_default", "custom")
RNG_SOURCES = ("hwrng", "random", "urandom")


def policy_fields(body: Element | None) -> dict[str, Any]:
    """The memory, fencing, migration, error-handling and RNG options a body sets."""
    out: dict[str, Any] = {}
    pct = integer(body, "memory_policy/over_commit/percent")
    if pct is not None:
        if not 100 <= pct <= 400:
            raise errors.bad_request(
                "Cannot edit Cluster. Memory over commit percent must be between 100 and 400."
            )
        out["over_commit_percent"] = pct
    for key, path in (
        ("transparent_hugepages", "memory_policy/transparent_hugepages/enabled"),
        ("ballooning_enabled", "ballooning_enabled"),
        ("virt_service", "virt_service"),
        ("gluster_service", "gluster_service"),
        ("threads_as_cores", "threads_as_cores"),
        ("ha_reservation", "ha_reservation"),
        ("ksm_enabled", "ksm/enabled"),
        ("tunnel_migration", "tunnel_migration"),
        ("fencing_enabled", "fencing_policy/enabled"),
        ("fencing_skip_if_sd_active", "fencing_policy/skip_if_sd_active/enabled"),
        ("fencing_skip_if_gluster_bricks_up", "fencing_policy/skip_if_gluster_bricks_up"),
        (
            "fencing_skip_if_gluster_quorum_not_met",
            "fencing_policy/skip_if_gluster_quorum_not_met",
        ),
    ):
        v = boolean(body, path)
        if v is not None:
            out[key] = v
    out.update(_fencing_connectivity(body))
    out.update(_migration_fields(body))
    on_error = enum(body, "error_handling/on_error", ON_ERROR, "MigrateOnError")
    if on_error:
        out["on_error"] = on_error
    if has(body, "required_rng_sources"):
        rng = body.find("required_rng_sources") if body is not None else None
        sources: set[str] = set()
        for e in rng if rng is not None else ():
            source = (e.text or "").strip().lower()
            if source not in RNG_SOURCES:
                raise errors.invalid_value(e.text or "", "RngSource")
            sources.add(source)
        out["additional_rng_sources"] = tuple(sorted(sources - {"urandom"}))
    return out


def _fencing_connectivity(body: Element | None) -> dict[str, Any]:
    """FencingPolicyMapper: a `skip_if_connectivity_broken` without a threshold sets 50."""
    if not has(body, "fencing_policy/skip_if_connectivity_broken"):
        return {}
    out: dict[str, Any] = {}
    enabled = boolean(body, "fencing_policy/skip_if_connectivity_broken/enabled")
    out["fencing_skip_if_connectivity_broken"] = bool(enabled)
    threshold = integer(body, "fencing_policy/skip_if_connectivity_broken/threshold")
    out["fencing_connectivity_threshold"] = 50 if threshold is None else threshold
    return out


def _migration_fields(body: Element | None) -> dict[str, Any]:
    """ClusterMigrationOptionsMapper.copyMigrationOptions: only what the body sets."""
    out: dict[str, Any] = {}
    for key, path in (
        ("migration_auto_converge", "migration/auto_converge"),
        ("migration_compressed", "migration/compressed"),
        ("migration_encrypted", "migration/encrypted"),
    ):
        v = enum(body, path, INHERITABLE, "InheritableBoolean")
        if v:
            out[key] = v
    method = enum(
        body,
        "migration/bandwidth/assignment_method",
        BANDWIDTH_METHODS,
        ("MigrationBandwidthAssignmentMethod"),
    )
    if method:
        out["migration_bandwidth"] = method
        if method == "custom":
            out["migration_bandwidth_custom"] = integer(body, "migration/bandwidth/custom_value")
    policy = body.find("migration/policy") if body is not None else None
    if policy is not None and policy.get("id"):
        out["migration_policy_id"] = policy.get("id")
    return out


def fencing_from_inventory(fp: Any, where: str) -> dict[str, Any]:
    """An inventory cluster's `fencing_policy` (the API's shape) as Cluster fields."""
    if fp is None:
        return {}
    if not isinstance(fp, dict):
        raise InventoryError(f"{where}.fencing_policy: expected a mapping")
    out: dict[str, Any] = {}
    flags = {
        "enabled": "fencing_enabled",
        "skip_if_sd_active": "fencing_skip_if_sd_active",
        "skip_if_gluster_bricks_up": "fencing_skip_if_gluster_bricks_up",
        "skip_if_gluster_quorum_not_met": "fencing_skip_if_gluster_quorum_not_met",
    }
    for key, value in fp.items():
        if key in flags:
            if isinstance(value, dict):  # skip_if_sd_active: {enabled: ...} as in the API
                value = value.get("enabled")
            if not isinstance(value, bool):
                raise InventoryError(f"{where}.fencing_policy.{key}: expected true or false")
            out[flags[key]] = value
        elif key == "skip_if_connectivity_broken":
            if not isinstance(value, dict):
                raise InventoryError(f"{where}.fencing_policy.{key}: expected a mapping")
            enabled, threshold = value.get("enabled", False), value.get("threshold", 50)
            if not isinstance(enabled, bool) or not isinstance(threshold, int):
                raise InventoryError(
                    f"{where}.fencing_policy.{key}: expected {{enabled: bool, threshold: int}}"
                )
            out["fencing_skip_if_connectivity_broken"] = enabled
            out["fencing_connectivity_threshold"] = threshold
        else:
            raise InventoryError(f"{where}.fencing_policy.{key}: unknown key")
    return out
