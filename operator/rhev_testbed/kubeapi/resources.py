"""What the API serves: built-in resources and those registered by CustomResourceDefinitions."""

from __future__ import annotations

import dataclasses
from typing import Any

from rhev_testbed.kubeapi.errors import FieldError
from rhev_testbed.kubeapi.jsonpath import JsonPathError, compile_path

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclasses.dataclass
class ResourceDef:
    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: list[str] = dataclasses.field(default_factory=list)
    categories: list[str] = dataclasses.field(default_factory=list)
    verbs: list[str] = dataclasses.field(default_factory=lambda: list(ALL_VERBS))
    status_subresource: bool = False
    schema: dict[str, Any] | None = None  # openAPIV3Schema (custom resources only)
    printer_columns: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    custom: bool = False  # defined by a CRD (strategic merge patch means merge patch)
    storage: bool = True
    crd_name: str | None = None
    name_column_last: bool = False  # events: Name is a -o wide column at the end

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> tuple[str, str]:
        """Objects are stored per group and plural, shared across served versions."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def describe(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _core(plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceDef:
    return ResourceDef("", "v1", plural, kind, kind.lower(), namespaced, **kw)


def builtin_resources() -> list[ResourceDef]:
    """Core resources kopf and kubectl rely on (kopf hangs without v1 namespaces and events)."""
    return [
        _core(
            "namespaces",
            "Namespace",
            False,
            short_names=["ns"],
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
            status_subresource=True,
            printer_columns=[
                {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        ),
        _core(
            "events",
            "Event",
            True,
            short_names=["ev"],
            printer_columns=[
                {"name": "Last Seen", "type": "date", "jsonPath": ".lastTimestamp"},
                {"name": "Type", "type": "string", "jsonPath": ".type"},
                {"name": "Reason", "type": "string", "jsonPath": ".reason"},
                {"name": "Object", "type": "string", "jsonPath": "_involved"},
                {"name": "Message", "type": "string", "jsonPath": ".message"},
            ],
            name_column_last=True,
        ),
        _core(
            "secrets",
            "Secret",
            True,
            printer_columns=[
                {"name": "Type", "type": "string", "jsonPath": ".type"},
                {"name": "Data", "type": "integer", "jsonPath": "_datacount"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        ),
        _core(
            "configmaps",
            "ConfigMap",
            True,
            short_names=["cm"],
            printer_columns=[
                {"name": "Data", "type": "integer", "jsonPath": "_datacount"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        ),
        _core("serviceaccounts", "ServiceAccount", True, short_names=["sa"]),
        ResourceDef(
            "coordination.k8s.io",
            "v1",
            "leases",
            "Lease",
            "lease",
            True,
            printer_columns=[
                {"name": "Holder", "type": "string", "jsonPath": ".spec.holderIdentity"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        ),
        ResourceDef(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            "customresourcedefinition",
            False,
            short_names=["crd", "crds"],
            categories=["api-extensions"],
            status_subresource=True,
            printer_columns=[
                {"name": "Created At", "type": "string", "jsonPath": ".metadata.creationTimestamp"},
            ],
        ),
    ]


def check_crd(crd: dict[str, Any]) -> list[FieldError]:
    """The checks of a CRD that matter here; real servers check much more."""
    errors: list[FieldError] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    if not group:
        errors.append(FieldError("spec.group", "Required value", ""))
    if not plural:
        errors.append(FieldError("spec.names.plural", "Required value", ""))
    if not names.get("kind"):
        errors.append(FieldError("spec.names.kind", "Required value", ""))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                "spec.scope",
                "Unsupported value",
                f'"{spec.get("scope")}": supported values: "Cluster", "Namespaced"',
            )
        )
    name = (crd.get("metadata") or {}).get("name")
    if group and plural and name != f"{plural}.{group}":
        errors.append(
            FieldError(
                "metadata.name",
                "Invalid value",
                f'"{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        errors.append(
            FieldError(
                "spec.versions",
                "Invalid value",
                "null: must have exactly one version marked as storage version",
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(
            FieldError(
                "spec.versions",
                "Invalid value",
                "must have exactly one version marked as storage version",
            )
        )
    for index, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served", True) and schema is None:
            errors.append(
                FieldError(
                    f"spec.versions[{index}].schema.openAPIV3Schema",
                    "Required value",
                    "schemas are required",
                )
            )
        for cindex, column in enumerate(version.get("additionalPrinterColumns") or []):
            try:
                compile_path(column.get("jsonPath", ""))
            except JsonPathError as exc:
                errors.append(
                    FieldError(
                        f"spec.versions[{index}].additionalPrinterColumns[{cindex}].jsonPath",
                        "Invalid value",
                        f'"{column.get("jsonPath")}": {exc}',
                    )
                )
    return errors


def resources_of_crd(crd: dict[str, Any]) -> list[ResourceDef]:
    spec = crd["spec"]
    names = spec["names"]
    result: list[ResourceDef] = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        result.append(
            ResourceDef(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                status_subresource="status" in subresources,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=list(version.get("additionalPrinterColumns") or []),
                custom=True,
                storage=bool(version.get("storage")),
                crd_name=crd["metadata"]["name"],
            )
        )
    return result
