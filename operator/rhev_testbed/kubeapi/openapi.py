"""OpenAPI v3 documents, enough for kubectl's default (`--validate=strict`) apply.

kubectl asks `/openapi/v3` for the group-version documents and checks whether the PATCH operation
of the kind accepts the `fieldValidation` query parameter. When it does, kubectl skips client-side
validation and sends `?fieldValidation=Strict`, and the server validates (see the emulator).
The same documents carry the kinds' schemas (kubectl explain, strategic merge of core kinds).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from rhev_testbed.kubeapi.resources import ResourceDef

_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_OBJECT_META_REF = f"#/components/schemas/{_META}.ObjectMeta"

_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}

_OBJECT_META: dict[str, Any] = {
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "type": "object",
    "properties": {
        "name": _STR,
        "generateName": _STR,
        "namespace": _STR,
        "uid": _STR,
        "resourceVersion": _STR,
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "labels": _STR_MAP,
        "annotations": _STR_MAP,
        "finalizers": {
            "type": "array",
            "items": {"type": "string", "default": ""},
            "x-kubernetes-list-type": "set",
            "x-kubernetes-patch-strategy": "merge",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "x-kubernetes-patch-merge-key": "uid",
            "x-kubernetes-patch-strategy": "merge",
        },
        "managedFields": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    },
}

_CORE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Secret": {
        "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
        "stringData": _STR_MAP,
        "type": _STR,
        "immutable": {"type": "boolean"},
    },
    "ConfigMap": {
        "data": _STR_MAP,
        "binaryData": {
            "type": "object",
            "additionalProperties": {"type": "string", "format": "byte"},
        },
        "immutable": {"type": "boolean"},
    },
    "Namespace": {
        "spec": {"type": "object", "properties": {"finalizers": {"type": "array", "items": _STR}}},
        "status": {"type": "object", "properties": {"phase": _STR}},
    },
}

_QUERY_PARAMS = ["dryRun", "fieldManager", "fieldValidation", "pretty"]


def _schema_name(resource: ResourceDef, kind: str) -> str:
    if resource.group:
        reversed_group = ".".join(reversed(resource.group.split(".")))
        return f"{reversed_group}.{resource.version}.{kind}"
    return f"io.k8s.api.core.{resource.version}.{kind}"


def _gvk(resource: ResourceDef, kind: str | None = None) -> dict[str, str]:
    return {"group": resource.group, "version": resource.version, "kind": kind or resource.kind}


def _kind_schema(resource: ResourceDef) -> dict[str, Any]:
    if resource.schema is not None:
        schema = copy.deepcopy(resource.schema)
    elif resource.kind in _CORE_SCHEMAS:
        schema = {"type": "object", "properties": copy.deepcopy(_CORE_SCHEMAS[resource.kind])}
    else:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = _STR
    properties["kind"] = _STR
    properties["metadata"] = {"allOf": [{"$ref": _OBJECT_META_REF}], "default": {}}
    schema["x-kubernetes-group-version-kind"] = [_gvk(resource)]
    return schema


def _operation(resource: ResourceDef, action: str, verb: str, scope: str) -> dict[str, Any]:
    group_id = (
        "".join(p.capitalize() for p in resource.group.replace("-", ".").split(".")) or "Core"
    )
    return {
        "operationId": f"{action}{group_id}{resource.version.capitalize()}{scope}{resource.kind}",
        "tags": [resource.group_version],
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": _gvk(resource),
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {
                            "$ref": f"#/components/schemas/{_schema_name(resource, resource.kind)}"
                        }
                    }
                },
            }
        },
    }


def _params(*names: str, query: Iterable[str] = ()) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "uniqueItems": True},
        }
        for n in names
    ]
    result.extend(
        {"name": q, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for q in query
    )
    return result


def _ops(
    resource: ResourceDef, scope: str, params: list[dict[str, Any]], **verbs: str
) -> dict[str, Any]:
    """Operations of one path; kubectl looks for `fieldValidation` in each operation's own
    parameters (path-level parameters are not consulted)."""
    result: dict[str, Any] = {}
    for method, action in verbs.items():
        op = _operation(resource, action, _ACTIONS[action], scope)
        op["parameters"] = params
        result[method] = op
    return result


_ACTIONS = {
    "list": "list",
    "create": "post",
    "read": "get",
    "replace": "put",
    "patch": "patch",
    "delete": "delete",
}


def group_version_document(resources: list[ResourceDef]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {f"{_META}.ObjectMeta": _OBJECT_META}
    for resource in resources:
        base = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
        scope = "Namespaced" if resource.namespaced else ""
        prefix = f"{base}/namespaces/{{namespace}}" if resource.namespaced else base
        ns_params = ("namespace",) if resource.namespaced else ()
        collection = f"{prefix}/{resource.plural}"
        item = f"{collection}/{{name}}"
        item_params = _params("name", *ns_params, query=_QUERY_PARAMS)
        paths[collection] = _ops(
            resource, scope, _params(*ns_params, query=_QUERY_PARAMS), get="list", post="create"
        )
        paths[item] = _ops(
            resource, scope, item_params, get="read", put="replace", patch="patch", delete="delete"
        )
        if resource.status_subresource:
            paths[f"{item}/status"] = _ops(
                resource, scope + "Status", item_params, get="read", put="replace", patch="patch"
            )
        if resource.namespaced:
            paths[f"{base}/{resource.plural}"] = {
                "get": _operation(resource, "list", "list", "ForAllNamespaces"),
            }
        schemas[_schema_name(resource, resource.kind)] = _kind_schema(resource)
        schemas[_schema_name(resource, resource.list_kind)] = {
            "type": "object",
            "properties": {
                "apiVersion": _STR,
                "kind": _STR,
                "items": {
                    "type": "array",
                    "items": {
                        "$ref": f"#/components/schemas/{_schema_name(resource, resource.kind)}"
                    },
                },
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "x-kubernetes-group-version-kind": [_gvk(resource, resource.list_kind)],
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def document_hash(document: dict[str, Any]) -> str:
    raw = json.dumps(document, sort_keys=True).encode()
    return hashlib.sha512(raw).hexdigest().upper()[:128]


def gv_path(resource: ResourceDef) -> str:
    return f"apis/{resource.group}/{resource.version}" if resource.group else "api/v1"
