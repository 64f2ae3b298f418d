"""Discovery of the local API: /version, /api, /apis groups and resource lists, /openapi/v3."""

from __future__ import annotations

import json
import re

import aiohttp.web

from rhev_testbed.kubeapi import openapi
from rhev_testbed.kubeapi.errors import unknown_url
from rhev_testbed.kubeapi.responses import json_response
from rhev_testbed.kubeapi.store import Obj, Store

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.1-devapi",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"alpha": 2, "beta": 1, None: 0}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)


class Discovery:
    """What the store serves, as discovery and OpenAPI documents (those cached per resources)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._openapi_cache: dict[str, tuple[str, bytes]] = {}
        self._openapi_generation = store.defs_generation

    def root_paths(self) -> list[str]:
        paths = {"/api", "/api/v1", "/apis", "/version", "/healthz", "/openapi/v3"}
        for r in self._store.served():
            if r.group:
                paths.add(f"/apis/{r.group}")
                paths.add(f"/apis/{r.group}/{r.version}")
        return sorted(paths)

    def versions_of(self, group: str) -> list[str]:
        versions = {r.version for r in self._store.served() if r.group == group}
        return sorted(versions, key=version_priority)

    def group(self, group: str) -> Obj:
        versions = self.versions_of(group)
        if not group or not versions:
            raise unknown_url()
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def group_list(self) -> Obj:
        groups: list[str] = []
        for r in self._store.served():
            if r.group and r.group not in groups:
                groups.append(r.group)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {k: v for k, v in self.group(g).items() if k not in ("kind", "apiVersion")}
                for g in groups
            ],
        }

    def resource_list(self, group: str, version: str) -> Obj:
        resources = [r for r in self._store.served() if r.group == group and r.version == version]
        if not resources:
            raise unknown_url()
        entries: list[Obj] = []
        for r in resources:
            entry: Obj = {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": r.verbs,
            }
            if r.short_names:
                entry["shortNames"] = r.short_names
            if r.categories:
                entry["categories"] = r.categories
            entries.append(entry)
            if r.status_subresource:
                entries.append(
                    {
                        "name": f"{r.plural}/status",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": r.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": entries,
        }

    def serve_openapi(self, parts: list[str]) -> aiohttp.web.Response:
        if parts == ["v3"]:
            paths: dict[str, Obj] = {}
            for gv in sorted({openapi.gv_path(r) for r in self._store.served()}):
                digest, _ = self._openapi_document(gv)
                paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
            return json_response({"paths": paths})
        if parts and parts[0] == "v3":
            gv = "/".join(parts[1:])
            if any(openapi.gv_path(r) == gv for r in self._store.served()):
                _, body = self._openapi_document(gv)
                return aiohttp.web.Response(body=body, content_type="application/json")
        raise unknown_url()

    def _openapi_document(self, gv: str) -> tuple[str, bytes]:
        if self._openapi_generation != self._store.defs_generation:
            self._openapi_cache.clear()
            self._openapi_generation = self._store.defs_generation
        cached = self._openapi_cache.get(gv)
        if cached is None:
            document = openapi.group_version_document(
                [r for r in self._store.served() if openapi.gv_path(r) == gv]
            )
            cached = (openapi.document_hash(document), json.dumps(document).encode())
            self._openapi_cache[gv] = cached
        return cached
