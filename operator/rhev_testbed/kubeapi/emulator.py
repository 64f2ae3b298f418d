"""`DevApi`: a local Kubernetes API server, an aiohttp low-level handler of our own.

It serves the Kubernetes API semantics kopf and kubectl rely on: object metadata (uid,
resourceVersion, generation, timestamps, generateName), optimistic concurrency,
merge/JSON/strategic patches and PUT, the status subresource, finalizers, selectors, watches
from a resourceVersion with bookmarks, CRD registration into discovery, schema validation and
pruning, server-side Table output and metav1 Status errors.

Objects live in a dict per resource (O(1) by key), writes are synchronous within the event loop
(no locks needed), every write bumps one global resourceVersion counter like etcd's revision, and
watchers get events through their own queue. Tests inject HTTP faults with `fail()`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import copy
import json
import logging
import random
import traceback
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp.web
import jsonpatch
import yaml

from rhev_testbed.kubeapi.discovery import SERVER_VERSION, Discovery
from rhev_testbed.kubeapi.errors import (
    ApiError,
    FieldError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    method_not_allowed,
    not_found,
    unknown_url,
    unsupported_media_type,
)
from rhev_testbed.kubeapi.resources import ResourceDef, check_crd, resources_of_crd
from rhev_testbed.kubeapi.responses import Request, error_response, json_response, read_body
from rhev_testbed.kubeapi.schema import prune, validate, validate_labels, validate_name
from rhev_testbed.kubeapi.selectors import exact_field, field_selector, label_selector
from rhev_testbed.kubeapi.store import (
    Obj,
    Store,
    clone,
    now_iso,
    versioned,
)
from rhev_testbed.kubeapi.table import render_table, wants_table
from rhev_testbed.kubeapi.watches import watch

logger = logging.getLogger("rhev_testbed.kubeapi")

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_JSON_TYPES = ("application/json", "")
_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


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


class DevApi:
    """A local Kubernetes API server: an aiohttp low-level handler (`aiohttp.web.Server(api)`)."""

    def __init__(
        self,
        *,
        history_size: int = 5000,
        max_requests: int = 1000,
        bookmark_interval: float = 30.0,
    ) -> None:
        self.bookmark_interval = bookmark_interval
        self.port: int | None = None
        self._store = Store(history_size)
        self._discovery = Discovery(self._store)
        self.faults: dict[tuple[str, str], int] = {}  # (METHOD, path) -> HTTP status to answer
        # The latest requests as (METHOD, path), and a count per method: what tests and the
        # benchmarks read to see who wrote what.
        self.request_log: collections.deque[tuple[str, str]] = collections.deque(
            maxlen=max_requests
        )
        self.request_counts: collections.Counter[str] = collections.Counter()
        for ns in DEFAULT_NAMESPACES:
            self.create_object(
                "v1",
                "namespaces",
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            )

    # ---------------------------------------------------------------- HTTP entry point

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        self.request_log.append((raw.method.upper(), raw.path))
        self.request_counts[raw.method.upper()] += 1
        fault = self.faults.get((raw.method.upper(), raw.path))
        if fault is not None:
            return error_response(ApiError(fault, "InternalError", "injected fault"))
        try:
            return await self._serve(Request(raw, await raw.read()))
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            logger.exception("devapi: internal error on %s %s", raw.method, raw.url)
            return error_response(
                ApiError(
                    500,
                    "InternalError",
                    f"Internal error occurred: {exc!r}",
                    {"causes": [{"message": traceback.format_exc()}]},
                )
            )

    def fail(self, method: str, path: str, status: int) -> None:
        """Answer every `method path` request with `status` (a fault for tests) until cleared."""
        self.faults[(method.upper(), path)] = status

    # ---------------------------------------------------------------- in-process API

    def resource_def(self, group_version: str, plural: str) -> ResourceDef:
        return self._store.resource_def(group_version, plural)

    def get_object(
        self, group_version: str, plural: str, namespace: str | None, name: str
    ) -> Obj | None:
        resource = self.resource_def(group_version, plural)
        obj = self._store.objects[resource.store_key].get((namespace or "", name))
        return clone(versioned(resource, obj)) if obj is not None else None

    def list_objects(
        self, group_version: str, plural: str, namespace: str | None = None
    ) -> list[Obj]:
        resource = self.resource_def(group_version, plural)
        return [clone(versioned(resource, o)) for o in self._store.select(resource, namespace)]

    def create_object(
        self, group_version: str, plural: str, namespace: str | None, body: Obj
    ) -> Obj:
        resource = self.resource_def(group_version, plural)
        return clone(self._create(resource, namespace, clone(body), {}))

    def register_crd(self, crd: Obj) -> Obj:
        """Create or replace a CustomResourceDefinition (as `kubectl apply` would)."""
        name = (crd.get("metadata") or {}).get("name", "")
        resource = self.resource_def("apiextensions.k8s.io/v1", "customresourcedefinitions")
        existing = self._store.objects[resource.store_key].get(("", name))
        if existing is None:
            return clone(self._create(resource, None, clone(crd), {}))
        body = clone(crd)
        body.setdefault("metadata", {})["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return clone(self._update(resource, existing, body, None, {}))

    def load_crds(self, path: str | Path) -> list[str]:
        """Register every CRD in a YAML file or a folder of YAML files; return their names."""
        root = Path(path)
        files = sorted(root.glob("*.y*ml")) if root.is_dir() else [root]
        names: list[str] = []
        for file in files:
            for doc in yaml.safe_load_all(file.read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    names.append(self.register_crd(doc)["metadata"]["name"])
        return names

    @property
    def resource_version(self) -> int:
        return self._store.rv

    def close_watches(self) -> None:
        """End every open watch stream (used at shutdown)."""
        self._store.close_watches()

    # ---------------------------------------------------------------- routing

    async def _serve(self, request: Request) -> aiohttp.web.StreamResponse:
        raw = request.raw
        method = raw.method.upper()
        params: Mapping[str, str] = raw.query
        parts = [p for p in raw.path.split("/") if p]
        if not parts:
            return json_response({"paths": self._discovery.root_paths()})
        head = parts[0]
        if head == "version" and len(parts) == 1:
            return json_response(SERVER_VERSION)
        if head in ("healthz", "readyz", "livez"):
            return aiohttp.web.Response(text="ok")
        if head == "openapi":
            return self._discovery.serve_openapi(parts[1:])
        if head == "api":
            if len(parts) == 1:
                return json_response(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                        ],
                    }
                )
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return json_response(self._discovery.group_list())
            if len(parts) == 2:
                return json_response(self._discovery.group(parts[1]))
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise unknown_url()
        if not rest:
            if method != "GET":
                raise method_not_allowed()
            return json_response(self._discovery.resource_list(group, version))

        namespace: str | None = None
        core_ns_sub = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
        if rest[0] == "namespaces" and len(rest) >= 3 and not core_ns_sub:
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        subresource = "/".join(rest[2:]) or None
        resource = self._store.defs.get((group, version, plural))
        if resource is None or (namespace is not None and not resource.namespaced):
            raise unknown_url()
        if subresource == "finalize" and plural == "namespaces":
            subresource = None
        if subresource is not None and not (
            subresource == "status" and resource.status_subresource
        ):
            raise unknown_url()

        accept = raw.headers.get("Accept", "")
        is_watch = params.get("watch") in ("true", "1")
        if method == "GET":
            if is_watch:
                return await watch(
                    self._store,
                    raw,
                    resource,
                    namespace,
                    name,
                    params,
                    bookmark_interval=self.bookmark_interval,
                )
            if name is None:
                return self._list(resource, namespace, params, accept)
            obj = self._get(resource, namespace, name)
            if wants_table(accept):
                return json_response(
                    render_table(
                        resource,
                        [obj],
                        resource_version=str(self._store.rv),
                        include_object=params.get("includeObject", "Metadata"),
                    )
                )
            return json_response(obj)
        if method == "POST":
            if name is not None:
                raise method_not_allowed()
            body = read_body(request)
            warnings: list[str] = []
            created = self._create(resource, namespace, body, params, warnings)
            return json_response(created, status=201, warnings=warnings)
        if method == "PUT":
            if name is None:
                raise method_not_allowed()
            warnings = []
            updated = self._replace(
                resource, namespace, name, subresource, read_body(request), params, warnings
            )
            return json_response(updated, warnings=warnings)
        if method == "PATCH":
            if name is None:
                raise method_not_allowed()
            warnings = []
            patched = self._patch(request, resource, namespace, name, subresource, params, warnings)
            return json_response(patched[0], status=patched[1], warnings=warnings)
        if method == "DELETE":
            if subresource is not None:
                raise method_not_allowed()
            options = read_body(request, optional=True)
            if name is None:
                return json_response(self._delete_collection(resource, namespace, params, options))
            return json_response(self._delete(resource, namespace, name, params, options))
        raise method_not_allowed()

    # ---------------------------------------------------------------- reads

    def _get(self, resource: ResourceDef, namespace: str | None, name: str) -> Obj:
        obj = self._store.objects[resource.store_key].get((namespace or "", name))
        if obj is None:
            raise not_found(resource.plural, resource.group, name)
        return versioned(resource, obj)

    def _list(
        self, resource: ResourceDef, namespace: str | None, params: Mapping[str, str], accept: str
    ) -> aiohttp.web.Response:
        if "list" not in resource.verbs:
            raise method_not_allowed()
        fields_sel = params.get("fieldSelector")
        items = self._store.select(
            resource,
            namespace,
            label_selector(params.get("labelSelector")),
            field_selector(fields_sel),
            exact_field(fields_sel, "metadata.name"),
        )
        meta: Obj = {"resourceVersion": str(self._store.rv)}
        start = params.get("continue")
        if start:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(start.encode())))
            except (ValueError, binascii.Error):
                raise ApiError(400, "BadRequest", "continue key is not valid") from None
            items = [
                o
                for o in items
                if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after
            ]
        limit = int(params.get("limit") or 0)
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]["metadata"]
            token = json.dumps([last.get("namespace", ""), last["name"]]).encode()
            meta["continue"] = base64.urlsafe_b64encode(token).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        shown = [versioned(resource, o) for o in items]
        if wants_table(accept):
            table = render_table(
                resource,
                shown,
                resource_version=meta["resourceVersion"],
                include_object=params.get("includeObject", "Metadata"),
            )
            table["metadata"] = meta
            return json_response(table)
        return json_response(
            {
                "kind": resource.list_kind,
                "apiVersion": resource.group_version,
                "metadata": meta,
                "items": shown,
            }
        )

    # ---------------------------------------------------------------- writes

    def _commit(self, resource: ResourceDef, type_: str, new: Obj, old: Obj | None) -> Obj:
        self._store.commit(resource, type_, new, old)
        if type_ == "DELETED":
            self._after_removal(resource, new)
        return new

    def _check_kind(self, resource: ResourceDef, body: Obj) -> None:
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

    def _namespace_for(self, resource: ResourceDef, namespace: str | None, meta: Obj) -> str | None:
        if not resource.namespaced:
            meta.pop("namespace", None)
            return None
        given = meta.get("namespace")
        if namespace is None:
            namespace = given or "default"
        elif given and given != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace
        return namespace

    def _create(
        self,
        resource: ResourceDef,
        namespace: str | None,
        body: Obj,
        params: Mapping[str, str],
        warnings: list[str] | None = None,
    ) -> Obj:
        if "create" not in resource.verbs:
            raise method_not_allowed()
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        self._check_kind(resource, body)
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        namespace = self._namespace_for(resource, namespace, meta)
        for server_field in (
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
            "managedFields",
        ):
            meta.pop(server_field, None)
        store = self._store.objects[resource.store_key]
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise invalid(
                    resource.kind,
                    resource.group,
                    "",
                    [
                        FieldError(
                            "metadata.name", "Required value", "name or generateName is required"
                        )
                    ],
                )
            for _ in range(100):
                meta["name"] = prefix + "".join(random.choices(_NAME_CHARS, k=5))
                if (namespace or "", meta["name"]) not in store:
                    break
        name: str = meta["name"]
        if namespace is not None:
            ns = self._store.objects[("", "namespaces")].get(("", namespace))
            if ns is None:
                raise not_found("namespaces", "", namespace)
            if ns["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{resource.describe()} "{name}" is forbidden: unable to create new content in '
                    f"namespace {namespace} because it is being terminated",
                )
        errors = validate_name(name, dns_label=resource.plural == "namespaces")
        errors += validate_labels(meta.get("labels"))
        if resource.status_subresource and resource.custom:
            body.pop("status", None)  # create cannot set status
        self._prepare(resource, body, None)
        errors += self._check_schema(resource, body, params, warnings)
        if errors:
            raise invalid(resource.kind, resource.group, name, errors)
        if (namespace or "", name) in store:
            raise already_exists(resource.plural, resource.group, name)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        meta["generation"] = 1
        if params.get("dryRun"):
            meta["resourceVersion"] = str(self._store.rv)
            return body
        created = self._commit(resource, "ADDED", body, None)
        self._after_write(resource, created, None)
        return created

    def _check_schema(
        self,
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

    def _prepare(self, resource: ResourceDef, body: Obj, old: Obj | None) -> None:
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
            body.setdefault("metadata", {}).setdefault("labels", {})[
                "kubernetes.io/metadata.name"
            ] = body["metadata"]["name"]
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

    def _after_write(self, resource: ResourceDef, obj: Obj, old: Obj | None) -> None:
        if resource.plural == "customresourcedefinitions":
            self._register(obj)

    def _register(self, crd: Obj) -> None:
        self._store.set_crd_resources(crd["metadata"]["name"], resources_of_crd(crd))

    def _after_removal(self, resource: ResourceDef, obj: Obj) -> None:
        if (
            resource.plural == "customresourcedefinitions"
            and resource.group == "apiextensions.k8s.io"
        ):
            name = obj["metadata"]["name"]
            defs = self._store.drop_crd_resources(name)
            if defs:
                # the objects of a removed CRD go with it (watchers get DELETED)
                for item in list(self._store.objects[defs[0].store_key].values()):
                    gone_obj = clone(item)
                    self._commit(defs[0], "DELETED", gone_obj, item)
        namespace = obj["metadata"].get("namespace")
        if namespace:
            self._maybe_finish_namespace(namespace)

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns_def = self._store.defs[("", "v1", "namespaces")]
        ns = self._store.objects[ns_def.store_key].get(("", namespace))
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for (group, plural), objs in self._store.objects.items():
            if (group, plural) == ns_def.store_key:
                continue
            if any(key[0] == namespace for key in objs):
                return
        self._commit(ns_def, "DELETED", clone(ns), ns)

    @staticmethod
    def _spec_part(resource: ResourceDef, obj: Obj) -> Obj:
        """What a generation counts: everything but metadata (and status with the subresource)."""
        skip = {"metadata", "status"} if resource.status_subresource else {"metadata"}
        return {k: v for k, v in obj.items() if k not in skip}

    def _update(
        self,
        resource: ResourceDef,
        old: Obj,
        new: Obj,
        subresource: str | None,
        params: Mapping[str, str],
        warnings: list[str] | None = None,
        *,
        require_rv: bool = False,
    ) -> Obj:
        """Turn a client's intended object into the next stored version of `old`."""
        name = old["metadata"]["name"]
        if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
            raise bad_request("the body of the request must be a JSON object")
        self._check_kind(resource, new)
        meta = new.setdefault("metadata", {})
        given_rv = meta.get("resourceVersion")
        if given_rv and given_rv != old["metadata"]["resourceVersion"]:
            raise conflict(resource.plural, resource.group, name)
        if require_rv and not given_rv:
            raise invalid(
                resource.kind,
                resource.group,
                name,
                [
                    FieldError(
                        "metadata.resourceVersion",
                        "Invalid value",
                        "0: must be specified for an update",
                    )
                ],
            )
        if meta.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                f"({name})"
            )
        if subresource == "status":
            result = clone(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            new = result
            meta = new["metadata"]
        else:
            if resource.status_subresource:
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            old_meta = old["metadata"]
            for fixed in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
            ):
                if fixed in old_meta:
                    meta[fixed] = old_meta[fixed]
                else:
                    meta.pop(fixed, None)
            if old_meta.get("deletionTimestamp"):
                added = [
                    f
                    for f in meta.get("finalizers") or []
                    if f not in (old_meta.get("finalizers") or [])
                ]
                if added:
                    shown = ", ".join(f'"{f}"' for f in added)
                    raise invalid(
                        resource.kind,
                        resource.group,
                        name,
                        [
                            FieldError(
                                "metadata.finalizers",
                                "Forbidden",
                                f"no new finalizers can be added if the object is being deleted, "
                                f"found new finalizers []string{{{shown}}}",
                            )
                        ],
                    )
        meta.pop("managedFields", None)
        self._prepare(resource, new, old)
        errors = validate_labels(meta.get("labels"))
        errors += self._check_schema(resource, new, params, warnings)
        if errors:
            raise invalid(resource.kind, resource.group, name, errors)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op write changes nothing, like etcd's guaranteed update
        if self._spec_part(resource, new) != self._spec_part(resource, old):
            meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if params.get("dryRun"):
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._commit(resource, "DELETED", new, old)
        updated = self._commit(resource, "MODIFIED", new, old)
        self._after_write(resource, updated, old)
        return updated

    def _replace(
        self,
        resource: ResourceDef,
        namespace: str | None,
        name: str,
        subresource: str | None,
        body: Obj,
        params: Mapping[str, str],
        warnings: list[str],
    ) -> Obj:
        if "update" not in resource.verbs:
            raise method_not_allowed()
        old = self._store.objects[resource.store_key].get((namespace or "", name))
        if old is None:
            raise not_found(resource.plural, resource.group, name)
        return self._update(
            resource, old, body, subresource, params, warnings, require_rv=resource.custom
        )

    def _patch(
        self,
        request: Request,
        resource: ResourceDef,
        namespace: str | None,
        name: str,
        subresource: str | None,
        params: Mapping[str, str],
        warnings: list[str],
    ) -> tuple[Obj, int]:
        if "patch" not in resource.verbs:
            raise method_not_allowed()
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        old = self._store.objects[resource.store_key].get((namespace or "", name))
        if content_type == "application/apply-patch+yaml":
            body = read_body(request)
            if old is None:
                return self._create(resource, namespace, body, params, warnings), 201
            new = merge_patch(clone(old), body)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self._update(resource, old, new, subresource, params, warnings), 200
        if old is None:
            raise not_found(resource.plural, resource.group, name)
        if content_type == "application/json-patch+json":
            ops = read_body(request)
            if not isinstance(ops, list):
                raise bad_request("a JSON patch must be a list of operations")
            try:
                new = jsonpatch.JsonPatch(ops).apply(clone(old))
            except jsonpatch.JsonPatchTestFailed as exc:
                raise ApiError(
                    422,
                    "Invalid",
                    f"the server rejected our request due to an error in our request: {exc}",
                    {"name": name, "group": resource.group, "kind": resource.plural},
                ) from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(
                    422,
                    "Invalid",
                    f"the server rejected our request: {exc}",
                    {"name": name, "group": resource.group, "kind": resource.plural},
                ) from None
        elif content_type in _MERGE_TYPES:
            patch = read_body(request)
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            if content_type.startswith("application/strategic"):
                patch = strip_strategic_directives(patch)
            new = merge_patch(clone(old), patch)
            # a patch without a resourceVersion is unconditional
            if not (patch.get("metadata") or {}).get("resourceVersion"):
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        else:
            raise unsupported_media_type(content_type or "(none)")
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise bad_request("the patched object must be a JSON object with metadata")
        return self._update(resource, old, new, subresource, params, warnings), 200

    def _delete(
        self,
        resource: ResourceDef,
        namespace: str | None,
        name: str,
        params: Mapping[str, str],
        options: Obj,
    ) -> Obj:
        if "delete" not in resource.verbs:
            raise method_not_allowed()
        old = self._store.objects[resource.store_key].get((namespace or "", name))
        if old is None:
            raise not_found(resource.plural, resource.group, name)
        preconditions = options.get("preconditions") if isinstance(options, dict) else None
        if preconditions:
            if preconditions.get("uid") and preconditions["uid"] != old["metadata"]["uid"]:
                raise conflict(
                    resource.plural,
                    resource.group,
                    name,
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                    f"UID in object meta: {old['metadata']['uid']}",
                )
            rv = preconditions.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(
                    resource.plural,
                    resource.group,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {rv}, "
                    f"ResourceVersion in object meta: {old['metadata']['resourceVersion']}",
                )
        dry_run = bool(params.get("dryRun") or (options or {}).get("dryRun"))
        is_namespace = resource.plural == "namespaces" and not resource.group
        has_content = is_namespace and any(
            any(key[0] == name for key in objs)
            for key_, objs in self._store.objects.items()
            if key_ != resource.store_key
        )
        if old["metadata"].get("finalizers") or has_content:
            if old["metadata"].get("deletionTimestamp") or dry_run:
                return versioned(resource, old)
            new = clone(old)
            new["metadata"]["deletionTimestamp"] = now_iso()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if is_namespace:
                new.setdefault("status", {})["phase"] = "Terminating"
            marked = self._commit(resource, "MODIFIED", new, old)
            if is_namespace:
                self._empty_namespace(name)
                self._maybe_finish_namespace(name)
            return versioned(resource, marked)
        if dry_run:
            return versioned(resource, old)
        removed = self._commit(resource, "DELETED", clone(old), old)
        if resource.custom or is_namespace:
            return versioned(resource, removed)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "kind": resource.plural, "uid": old["metadata"]["uid"]},
        }

    def _empty_namespace(self, namespace: str) -> None:
        """What the namespace controller does: delete everything in a terminating namespace."""
        for resource in list(self._store.defs.values()):
            if not resource.namespaced or not resource.storage:
                continue
            for ns, name in [
                k for k in self._store.objects[resource.store_key] if k[0] == namespace
            ]:
                if (ns, name) in self._store.objects[resource.store_key]:
                    self._delete(resource, ns, name, {}, {})

    def _delete_collection(
        self,
        resource: ResourceDef,
        namespace: str | None,
        params: Mapping[str, str],
        options: Obj,
    ) -> Obj:
        if "deletecollection" not in resource.verbs:
            raise method_not_allowed()
        selected = self._store.select(
            resource,
            namespace,
            label_selector(params.get("labelSelector")),
            field_selector(params.get("fieldSelector")),
        )
        items = []
        for obj in selected:
            meta = obj["metadata"]
            result = self._delete(resource, meta.get("namespace"), meta["name"], params, options)
            items.append(result if result.get("kind") != "Status" else versioned(resource, obj))
        return {
            "kind": resource.list_kind,
            "apiVersion": resource.group_version,
            "metadata": {"resourceVersion": str(self._store.rv)},
            "items": items,
        }


def deep_copy(obj: Any) -> Any:
    return copy.deepcopy(obj)
