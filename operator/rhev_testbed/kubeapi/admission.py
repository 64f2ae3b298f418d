"""What a write does to a request body before it is stored, without the store: kind and
namespace checks, merge patches, schema pruning and validation, the built-in kinds' defaulting."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from rhev_testbed.kubeapi.errors import FieldError, bad_request, invalid
from rhev_testbed.kubeapi.resources import ResourceDef, check_crd
from rhev_testbed.kubeapi.schema import prune, validate
from rhev_testbed.kubeapi.store import Obj, clone, now_iso


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: null deletes, objects merge, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strip_strategic_directives(patch: Any) -> Any:
    """Drop strategic-merge directives (`$patch`, `$setElementOrder/…`, `$retainKeys`, …)."""
    if isinstance(patch, dict):
        return {
            k: strip_strategic_directives(v)
            for k, v in patch.items()
            if not k.startswith("$setElementOrder/")
            and not k.startswith("$deleteFromPrimitiveList/")
            and k not in ("$patch", "$retainKeys")
        }
    if isinstance(patch, list):
        return [
            strip_strategic_directives(v)
            for v in patch
            if not (isinstance(v, dict) and v.get("$patch") == "delete")
        ]
    return patch


def check_kind(resource: ResourceDef, body: Obj) -> None:
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if kind is not None and kind != resource.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )
    if (
        api_version is not None
        and api_version.split("/")[0] != resource.group_version.split("/")[0]
        and resource.group
    ):
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({resource.group_version})"
        )
    body["apiVersion"] = resource.group_version
    body["kind"] = resource.kind


def namespace_for(resource: ResourceDef, namespace: str | None, meta: Obj) -> str | None:
    if not resource.namespaced:
        meta.pop("namespace", None)
        return None
    given = meta.get("namespace")
    if namespace is None:
        namespace = given or "default"
    elif given and given != namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["namespace"] = namespace
    return namespace


def check_schema(
    resource: ResourceDef,
    body: Obj,
    params: Mapping[str, str],
    warnings: list[str] | None,
) -> list[FieldError]:
    if resource.schema is None:
        return []
    unknown = prune(body, resource.schema)
    if unknown:
        mode = params.get("fieldValidation", "Ignore")
        texts = [f'unknown field "{path}"' for path in unknown]
        if mode == "Strict":
            raise bad_request(
                f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                f"{resource.kind}: strict decoding error: {', '.join(texts)}"
            )
        if mode == "Warn" and warnings is not None:
            warnings.extend(t.replace('"', '\\"') for t in texts)
    return validate(body, resource.schema)


def prepare(resource: ResourceDef, body: Obj, old: Obj | None) -> None:
    """Kind-specific defaulting and checks of the built-in kinds."""
    if resource.plural == "secrets" and not resource.group:
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise bad_request("Secret.data must be a map of base64 strings")
        for key, value in data.items():
            try:
                base64.b64decode(str(value), validate=True)
            except (ValueError, binascii.Error):
                raise bad_request(
                    'Secret in version "v1" cannot be handled as a Secret: '
                    f"illegal base64 data at key {key!r}"
                ) from None
        for key, value in (body.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            body["data"] = data
        if not body.get("type"):
            body["type"] = "Opaque"
    elif resource.plural == "namespaces" and not resource.group:
        body.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = (
            body["metadata"]["name"]
        )
        status = body.setdefault("status", {})
        deleting = old is not None and old["metadata"].get("deletionTimestamp")
        status["phase"] = "Terminating" if deleting else "Active"
    elif resource.plural == "customresourcedefinitions":
        errors = check_crd(body)
        if errors:
            raise invalid(
                "CustomResourceDefinition",
                "apiextensions.k8s.io",
                body["metadata"].get("name", ""),
                errors,
            )
        spec = body["spec"]
        transition = now_iso()
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        previous = ((old or {}).get("status") or {}).get("storedVersions") or []
        body["status"] = {
            "acceptedNames": dict(spec["names"]),
            "storedVersions": sorted(set(previous) | set(storage)),
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": transition,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": transition,
                },
            ],
        }


def spec_part(resource: ResourceDef, obj: Obj) -> Obj:
    """What a generation counts: everything but metadata (and status with the subresource)."""
    skip = {"metadata", "status"} if resource.status_subresource else {"metadata"}
    return {k: v for k, v in obj.items() if k not in skip}
