"""Writes of the local API: create, update (PUT), patch, delete and delete-collection, with
what follows a write: CRDs registered or removed (their objects with them) and terminating
namespaces emptied and finalized."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping

import jsonpatch

from rhev_testbed.kubeapi.admission import (
    check_kind,
    check_schema,
    merge_patch,
    namespace_for,
    prepare,
    spec_part,
    strip_strategic_directives,
)
from rhev_testbed.kubeapi.errors import (
    ApiError,
    FieldError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    method_not_allowed,
    not_found,
    unsupported_media_type,
)
from rhev_testbed.kubeapi.resources import ResourceDef, resources_of_crd
from rhev_testbed.kubeapi.responses import Request, read_body
from rhev_testbed.kubeapi.schema import validate_labels, validate_name
from rhev_testbed.kubeapi.selectors import field_selector, label_selector
from rhev_testbed.kubeapi.store import Obj, Store, clone, now_iso, versioned

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


class Writes:
    """Every change of the store's objects goes through here (and `Store.commit`)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _commit(self, resource: ResourceDef, type_: str, new: Obj, old: Obj | None) -> Obj:
        self._store.commit(resource, type_, new, old)
        if type_ == "DELETED":
            self._after_removal(resource, new)
        return new

    def create(
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
        check_kind(resource, body)
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        namespace = namespace_for(resource, namespace, meta)
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
        prepare(resource, body, None)
        errors += check_schema(resource, body, params, warnings)
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

    def update(
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
        check_kind(resource, new)
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
        prepare(resource, new, old)
        errors = validate_labels(meta.get("labels"))
        errors += check_schema(resource, new, params, warnings)
        if errors:
            raise invalid(resource.kind, resource.group, name, errors)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op write changes nothing, like etcd's guaranteed update
        if spec_part(resource, new) != spec_part(resource, old):
            meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if params.get("dryRun"):
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._commit(resource, "DELETED", new, old)
        updated = self._commit(resource, "MODIFIED", new, old)
        self._after_write(resource, updated, old)
        return updated

    def replace(
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
        return self.update(
            resource, old, body, subresource, params, warnings, require_rv=resource.custom
        )

    def patch(
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
        content_type = request.content_type
        old = self._store.objects[resource.store_key].get((namespace or "", name))
        if content_type == "application/apply-patch+yaml":
            body = read_body(request)
            if old is None:
                return self.create(resource, namespace, body, params, warnings), 201
            new = merge_patch(clone(old), body)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self.update(resource, old, new, subresource, params, warnings), 200
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
        return self.update(resource, old, new, subresource, params, warnings), 200

    def delete(
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
                    self.delete(resource, ns, name, {}, {})

    def delete_collection(
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
            result = self.delete(resource, meta.get("namespace"), meta["name"], params, options)
            items.append(result if result.get("kind") != "Status" else versioned(resource, obj))
        return {
            "kind": resource.list_kind,
            "apiVersion": resource.group_version,
            "metadata": {"resourceVersion": str(self._store.rv)},
            "items": items,
        }
