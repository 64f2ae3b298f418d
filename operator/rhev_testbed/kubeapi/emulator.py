"""`DevApi`: a local Kubernetes API server, an aiohttp low-level handler of our own.

It serves the Kubernetes API semantics kopf and kubectl rely on: object metadata (uid,
resourceVersion, generation, timestamps, generateName), optimistic concurrency,
merge/JSON/strategic patches and PUT, the status subresource, finalizers, selectors, watches
from a resourceVersion with bookmarks, CRD registration into discovery, schema validation and
pruning, server-side Table output and metav1 Status errors.

Objects live in a dict per resource (O(1) by key), writes are synchronous within the event loop
(no locks needed), every write bumps one global resourceVersion counter like etcd's revision, and
watchers get events through their own queue. Tests inject HTTP faults with `fail()`.

`DevApi` is the HTTP entry point, the in-process API, the routing and the reads; it is composed
of a `store.Store` (objects, resourceVersion, history, watchers, served resources), a
`discovery.Discovery`, `writes.Writes` (with `admission`'s body checks) and `watches.watch`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path

import aiohttp.web
import yaml

from rhev_testbed.kubeapi.discovery import SERVER_VERSION, Discovery
from rhev_testbed.kubeapi.errors import ApiError, method_not_allowed, not_found, unknown_url
from rhev_testbed.kubeapi.resources import ResourceDef
from rhev_testbed.kubeapi.responses import Request, error_response, json_response, read_body
from rhev_testbed.kubeapi.selectors import exact_field, field_selector, label_selector
from rhev_testbed.kubeapi.store import Obj, Store, clone, versioned
from rhev_testbed.kubeapi.table import render_table, wants_table
from rhev_testbed.kubeapi.watches import watch
from rhev_testbed.kubeapi.writes import Writes

logger = logging.getLogger("rhev_testbed.kubeapi")

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


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
        #: The HTTP server serving this API (set by `server.serving`), for `drop_watches`.
        self.server: aiohttp.web.Server | None = None
        self._store = Store(history_size)
        self._discovery = Discovery(self._store)
        self._writes = Writes(self._store)
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
        return clone(self._writes.create(resource, namespace, clone(body), {}))

    def register_crd(self, crd: Obj) -> Obj:
        """Create or replace a CustomResourceDefinition (as `kubectl apply` would)."""
        name = (crd.get("metadata") or {}).get("name", "")
        resource = self.resource_def("apiextensions.k8s.io/v1", "customresourcedefinitions")
        existing = self._store.objects[resource.store_key].get(("", name))
        if existing is None:
            return clone(self._writes.create(resource, None, clone(crd), {}))
        body = clone(crd)
        body.setdefault("metadata", {})["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return clone(self._writes.update(resource, existing, body, None, {}))

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

    def drop_watches(self, keep: object = None) -> int:
        """Fault: reset every open watch connection and close every other connection but
        `keep` (the request handler asking), keeping all objects; the API keeps serving
        (clients reconnect). Returns how many watches were dropped."""
        dropped = self._store.drop_watches()
        for handler in list(self.server.connections if self.server else ()):
            transport = getattr(handler, "transport", None)
            if handler is not keep and transport is not None:
                transport.close()
        return dropped

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
        if head == "_control" and parts[1:] == ["drop-watches"] and method == "POST":
            return json_response({"dropped": self.drop_watches(keep=raw.protocol)})
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
            created = self._writes.create(resource, namespace, body, params, warnings)
            return json_response(created, status=201, warnings=warnings)
        if method == "PUT":
            if name is None:
                raise method_not_allowed()
            warnings = []
            updated = self._writes.replace(
                resource, namespace, name, subresource, read_body(request), params, warnings
            )
            return json_response(updated, warnings=warnings)
        if method == "PATCH":
            if name is None:
                raise method_not_allowed()
            warnings = []
            patched = self._writes.patch(
                request, resource, namespace, name, subresource, params, warnings
            )
            return json_response(patched[0], status=patched[1], warnings=warnings)
        if method == "DELETE":
            if subresource is not None:
                raise method_not_allowed()
            options = read_body(request, optional=True)
            if name is None:
                return json_response(
                    self._writes.delete_collection(resource, namespace, params, options)
                )
            return json_response(self._writes.delete(resource, namespace, name, params, options))
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
