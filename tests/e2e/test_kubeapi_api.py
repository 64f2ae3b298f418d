"""The local API over HTTP: each behaviour kopf and kubectl rely on, as a real client sees it."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from typing import Any

import pytest
import yaml

from rhev_testbed.kubeapi.testing import ApiHandle
from tests.fixtures.kube import GADGET_CRD, WIDGET_CRD

WIDGETS = "/apis/test.rhev.io/v1/namespaces/default/widgets"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def widget(name: str = "w1", size: int = 3, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "test.rhev.io/v1",
        "kind": "Widget",
        "metadata": {"name": name, "labels": labels},
        "spec": {"storageType": "nfs", "size": size},
    }


@pytest.fixture
def api(kube_api: ApiHandle) -> ApiHandle:
    kube_api.register_crd(yaml.safe_load(WIDGET_CRD))
    kube_api.register_crd(yaml.safe_load(GADGET_CRD))
    return kube_api


def create(api: ApiHandle, body: dict[str, Any], path: str = WIDGETS) -> dict[str, Any]:
    status, obj = api.request("POST", path, body)
    assert status == 201, obj
    return obj  # type: ignore[no-any-return]


class Watch:
    """A streaming watch request read line by line (bounded by a socket timeout)."""

    def __init__(self, api: ApiHandle, path: str, timeout: float = 5, **headers: str) -> None:
        url = urllib.parse.urlsplit(api.url)
        self.conn = http.client.HTTPConnection(
            url.hostname or "127.0.0.1", url.port, timeout=timeout
        )
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()

    def next(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "the watch stream ended"
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.conn.close()


def test_metadata_set_by_the_server(api: ApiHandle) -> None:
    first = create(api, widget("w1"))
    second = create(api, widget("w2"))
    meta = first["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"]) and meta["uid"] != second["metadata"]["uid"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["generation"] == 1 and meta["namespace"] == "default"
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert first["spec"]["size"] == 3
    defaulted = create(api, {**widget("w3"), "spec": {"storageType": "nfs"}})
    assert defaulted["spec"]["size"] == 1  # the schema's default


def test_generate_name(api: ApiHandle) -> None:
    body = widget()
    body["metadata"] = {"generateName": "gen-"}
    names = {create(api, body)["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3 and all(re.fullmatch(r"gen-[a-z0-9]{5}", n) for n in names)
    status, error = api.request("POST", WIDGETS, {**widget(), "metadata": {}})
    assert status == 422 and "name or generateName is required" in error["message"]


def test_resource_version_bumps_on_every_write_generation_on_spec_only(api: ApiHandle) -> None:
    obj = create(api, widget())
    rv0 = int(obj["metadata"]["resourceVersion"])
    _, obj = api.request(
        "PATCH", f"{WIDGETS}/w1", {"metadata": {"labels": {"x": "y"}}}, content_type=MERGE
    )
    assert int(obj["metadata"]["resourceVersion"]) > rv0 and obj["metadata"]["generation"] == 1
    _, obj = api.request(
        "PATCH", f"{WIDGETS}/w1/status", {"status": {"phase": "Ok"}}, content_type=MERGE
    )
    assert obj["metadata"]["generation"] == 1 and obj["status"] == {"phase": "Ok"}
    _, obj = api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": 4}}, content_type=MERGE)
    assert obj["metadata"]["generation"] == 2
    rv = obj["metadata"]["resourceVersion"]
    # a write that changes nothing is not a write (like the API server): same RV
    _, same = api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": 4}}, content_type=MERGE)
    assert same["metadata"]["resourceVersion"] == rv and same["metadata"]["generation"] == 2


def test_generation_counts_status_without_the_subresource(api: ApiHandle) -> None:
    gadgets = "/apis/test.rhev.io/v1/gadgets"
    create(
        api,
        {
            "apiVersion": "test.rhev.io/v1",
            "kind": "Gadget",
            "metadata": {"name": "g"},
            "spec": {"a": 1},
            "status": {"s": 1},
        },
        gadgets,
    )
    _, obj = api.request("PATCH", f"{gadgets}/g", {"status": {"s": 2}}, content_type=MERGE)
    assert obj["status"] == {"s": 2} and obj["metadata"]["generation"] == 2
    status, _ = api.request("GET", f"{gadgets}/g/status")
    assert status == 404  # no status subresource declared


def test_optimistic_concurrency(api: ApiHandle) -> None:
    obj = create(api, widget())
    stale = obj["metadata"]["resourceVersion"]
    api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": 5}}, content_type=MERGE)
    obj["spec"]["size"] = 6
    status, error = api.request("PUT", f"{WIDGETS}/w1", obj)
    assert status == 409 and error["reason"] == "Conflict"
    assert error["message"] == (
        'Operation cannot be fulfilled on widgets.test.rhev.io "w1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    status, error = api.request(
        "PATCH",
        f"{WIDGETS}/w1",
        {"metadata": {"resourceVersion": stale}, "spec": {"size": 7}},
        content_type=MERGE,
    )
    assert status == 409 and error["code"] == 409
    del obj["metadata"]["resourceVersion"]
    status, error = api.request("PUT", f"{WIDGETS}/w1", obj)
    assert status == 422 and "must be specified for an update" in error["message"]


def test_json_patch_and_failed_test_is_422(api: ApiHandle) -> None:
    obj = create(api, widget())
    rv = obj["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    status, patched = api.request("PATCH", f"{WIDGETS}/w1", ops, content_type=JSON_PATCH)
    assert status == 200 and patched["metadata"]["finalizers"] == ["x/y"]
    status, error = api.request("PATCH", f"{WIDGETS}/w1", ops, content_type=JSON_PATCH)
    assert status == 422 and error["reason"] == "Invalid"
    status, error = api.request(
        "PATCH", f"{WIDGETS}/w1", [{"op": "remove", "path": "/spec/nope"}], content_type=JSON_PATCH
    )
    assert status == 422


def test_merge_strategic_put_and_unsupported_patch_types(api: ApiHandle) -> None:
    obj = create(api, {**widget(), "spec": {"storageType": "nfs", "size": 2, "tags": ["a"]}})
    _, obj = api.request(
        "PATCH", f"{WIDGETS}/w1", {"spec": {"tags": None, "size": 3}}, content_type=MERGE
    )
    assert obj["spec"] == {"storageType": "nfs", "size": 3}
    _, obj = api.request(
        "PATCH",
        f"{WIDGETS}/w1",
        {"spec": {"label": "ab"}},
        content_type="application/strategic-merge-patch+json",
    )
    assert obj["spec"]["label"] == "ab"
    obj["spec"] = {"storageType": "localfs"}
    status, obj = api.request("PUT", f"{WIDGETS}/w1", obj)
    assert status == 200 and obj["spec"] == {"storageType": "localfs", "size": 1}
    status, error = api.request("PATCH", f"{WIDGETS}/w1", b"x", content_type="text/plain")
    assert status == 415 and error["reason"] == "UnsupportedMediaType"


def test_status_subresource_semantics(api: ApiHandle) -> None:
    body = widget()
    body["status"] = {"phase": "Forged"}
    obj = create(api, body)
    assert "status" not in obj  # create cannot set status
    _, obj = api.request(
        "PUT",
        f"{WIDGETS}/w1/status",
        {**obj, "status": {"phase": "Ok"}, "spec": {"storageType": "localfs"}},
    )
    assert obj["status"] == {"phase": "Ok"} and obj["spec"]["storageType"] == "nfs"
    obj["status"] = {"phase": "Changed"}
    obj["spec"]["size"] = 9
    _, obj = api.request("PUT", f"{WIDGETS}/w1", obj)
    assert obj["status"] == {"phase": "Ok"} and obj["spec"]["size"] == 9


def test_finalizers_and_deletion_events(api: ApiHandle) -> None:
    create(api, {**widget(), "metadata": {"name": "w1", "finalizers": ["x/y"]}})
    _, listing = api.request("GET", WIDGETS)
    watch = Watch(
        api, f"{WIDGETS}?watch=true&resourceVersion={listing['metadata']['resourceVersion']}"
    )
    try:
        status, obj = api.request("DELETE", f"{WIDGETS}/w1")
        assert status == 200 and obj["metadata"]["deletionTimestamp"]
        status, again = api.request("DELETE", f"{WIDGETS}/w1")
        assert (
            status == 200
            and again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
        )
        event = watch.next()
        assert event["type"] == "MODIFIED" and event["object"]["metadata"]["deletionTimestamp"]
        status, error = api.request(
            "PATCH",
            f"{WIDGETS}/w1",
            {"metadata": {"finalizers": ["x/y", "new"]}},
            content_type=MERGE,
        )
        assert status == 422 and "no new finalizers can be added" in error["message"]
        api.request("PATCH", f"{WIDGETS}/w1", {"metadata": {"finalizers": []}}, content_type=MERGE)
        event = watch.next()
        assert event["type"] == "DELETED" and event["object"]["metadata"]["name"] == "w1"
        assert api.get("test.rhev.io/v1", "widgets", "default", "w1") is None
    finally:
        watch.close()


def test_lists_have_kind_version_and_pages(api: ApiHandle) -> None:
    for i in range(5):
        create(api, widget(f"w{i}"))
    _, listing = api.request("GET", f"{WIDGETS}?limit=2")
    assert listing["kind"] == "WidgetList" and listing["apiVersion"] == "test.rhev.io/v1"
    assert listing["metadata"]["resourceVersion"].isdigit()
    names = [o["metadata"]["name"] for o in listing["items"]]
    while listing["metadata"].get("continue"):
        token = urllib.parse.quote(listing["metadata"]["continue"])
        _, listing = api.request("GET", f"{WIDGETS}?limit=2&continue={token}")
        names += [o["metadata"]["name"] for o in listing["items"]]
    assert names == ["w0", "w1", "w2", "w3", "w4"]
    assert all(o["kind"] == "Widget" for o in listing["items"])
    _, everywhere = api.request("GET", "/apis/test.rhev.io/v1/widgets")
    assert len(everywhere["items"]) == 5


def test_label_and_field_selectors(api: ApiHandle) -> None:
    create(api, widget("a", app="x", tier="web"))
    create(api, widget("b", app="y"))
    create(api, widget("c"))

    def names(query: str) -> list[str]:
        status, listing = api.request("GET", f"{WIDGETS}?{query}")
        assert status == 200, listing
        return [o["metadata"]["name"] for o in listing["items"]]

    q = urllib.parse.quote
    assert names(f"labelSelector={q('app=x')}") == ["a"]
    assert names(f"labelSelector={q('app==y')}") == ["b"]
    assert names(f"labelSelector={q('app!=x')}") == ["b", "c"]
    assert names(f"labelSelector={q('app')}") == ["a", "b"]
    assert names(f"labelSelector={q('!app')}") == ["c"]
    assert names(f"labelSelector={q('app in (x,y),tier notin (db)')}") == ["a", "b"]
    assert names(f"fieldSelector={q('metadata.name=b')}") == ["b"]
    assert names(f"fieldSelector={q('metadata.namespace=default,metadata.name!=b')}") == ["a", "c"]
    status, error = api.request("GET", f"{WIDGETS}?labelSelector={q('app in x')}")
    assert status == 400 and error["reason"] == "BadRequest"


def test_watch_from_a_resource_version(api: ApiHandle) -> None:
    create(api, widget("old"))
    mark = create(api, widget("w1"))["metadata"]["resourceVersion"]
    api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": 4}}, content_type=MERGE)
    watch = Watch(api, f"{WIDGETS}?watch=true&resourceVersion={mark}&allowWatchBookmarks=true")
    try:
        assert watch.response.getheader("Content-Type") == "application/json"
        event = watch.next()  # only what happened after `mark`, not "old" again
        assert event["type"] == "MODIFIED" and event["object"]["spec"]["size"] == 4
        create(api, widget("w2"))
        event = watch.next()
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "w2"
    finally:
        watch.close()


def test_watch_with_selector_sees_objects_enter_and_leave(api: ApiHandle) -> None:
    create(api, widget("w1", app="x"))
    watch = Watch(api, f"{WIDGETS}?watch=true&labelSelector=app%3Dx")
    try:
        assert watch.next()["type"] == "ADDED"
        api.request(
            "PATCH", f"{WIDGETS}/w1", {"metadata": {"labels": {"app": "y"}}}, content_type=MERGE
        )
        assert watch.next()["type"] == "DELETED"  # left the selection
        api.request(
            "PATCH", f"{WIDGETS}/w1", {"metadata": {"labels": {"app": "x"}}}, content_type=MERGE
        )
        assert watch.next()["type"] == "ADDED"
    finally:
        watch.close()


def test_send_initial_events_ends_with_a_bookmark(api: ApiHandle) -> None:
    create(api, widget("w1"))
    create(api, widget("w2"))
    watch = Watch(
        api,
        f"{WIDGETS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3Dw2",
    )
    try:
        first = watch.next()
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "w2"
        bookmark = watch.next()
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["metadata"]["annotations"] == {
            "k8s.io/initial-events-end": "true"
        }
    finally:
        watch.close()


def test_too_old_resource_version_is_gone() -> None:
    from rhev_testbed.kubeapi.testing import running_apiserver

    with running_apiserver(history_size=3) as small:
        for name in ("a", "b", "c", "d", "e"):
            small.request(
                "POST",
                "/api/v1/namespaces/default/configmaps",
                {"metadata": {"name": name}, "data": {}},
            )
        watch = Watch(small, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2")
        try:
            event = watch.next()
            assert event["type"] == "ERROR" and event["object"]["code"] == 410
            assert event["object"]["reason"] == "Expired"
        finally:
            watch.close()


def test_crd_registration_feeds_discovery(kube_api: ApiHandle) -> None:
    status, _ = kube_api.request("GET", "/apis/test.rhev.io/v1")
    assert status == 404
    status, crd = kube_api.request(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        yaml.safe_load(WIDGET_CRD),
    )
    assert status == 201
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    _, groups = kube_api.request("GET", "/apis")
    assert "test.rhev.io" in [g["name"] for g in groups["groups"]]
    _, resources = kube_api.request("GET", "/apis/test.rhev.io/v1")
    entries = {r["name"]: r for r in resources["resources"]}
    assert entries["widgets"]["shortNames"] == ["wd"] and entries["widgets"]["categories"] == [
        "gizmos"
    ]
    assert entries["widgets"]["kind"] == "Widget" and entries["widgets"]["namespaced"] is True
    assert "widgets/status" in entries and "shortNames" not in entries["widgets/status"]
    # deleting the CRD removes the resource and its objects
    create(kube_api, widget())
    status, _ = kube_api.request(
        "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.rhev.io"
    )
    assert status == 200
    assert kube_api.request("GET", "/apis/test.rhev.io/v1")[0] == 404


def test_bad_crd_is_refused(kube_api: ApiHandle) -> None:
    crd = yaml.safe_load(WIDGET_CRD)
    crd["metadata"]["name"] = "wrong.test.rhev.io"
    status, error = kube_api.request(
        "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd
    )
    assert status == 422 and 'must be spec.names.plural+"."+spec.group' in error["message"]


def test_core_discovery_and_version(kube_api: ApiHandle) -> None:
    _, core = kube_api.request("GET", "/api/v1")
    names = {r["name"] for r in core["resources"]}
    assert {"namespaces", "events", "secrets", "configmaps"} <= names
    assert core["groupVersion"] == "v1"
    _, versions = kube_api.request("GET", "/api")
    assert versions["versions"] == ["v1"]
    _, version = kube_api.request("GET", "/version")
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    _, leases = kube_api.request("GET", "/apis/coordination.k8s.io/v1")
    assert leases["resources"][0]["name"] == "leases"


def test_namespaces(kube_api: ApiHandle) -> None:
    _, listing = kube_api.request("GET", "/api/v1/namespaces")
    assert {"default", "kube-system"} <= {n["metadata"]["name"] for n in listing["items"]}
    status, error = kube_api.request(
        "POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "c"}}
    )
    assert status == 404 and error["message"] == 'namespaces "nowhere" not found'
    status, ns = kube_api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})
    assert status == 201 and ns["status"]["phase"] == "Active"
    kube_api.request("POST", "/api/v1/namespaces/team/configmaps", {"metadata": {"name": "c"}})
    status, ns = kube_api.request("DELETE", "/api/v1/namespaces/team")
    assert status == 200
    assert kube_api.get("v1", "namespaces", None, "team") is None  # its content went with it
    assert kube_api.get("v1", "configmaps", "team", "c") is None


def test_events_with_generate_name(kube_api: ApiHandle) -> None:
    event = {
        "metadata": {"generateName": "kopf-event-"},
        "reason": "Created",
        "message": "m",
        "type": "Normal",
        "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"},
    }
    for _ in range(3):
        status, created = kube_api.request("POST", "/api/v1/namespaces/default/events", event)
        assert status == 201, created
    status, listing = kube_api.request(
        "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dw1"
    )
    assert len(listing["items"]) == 3


def test_secrets_fold_string_data_and_check_base64(kube_api: ApiHandle) -> None:
    secrets = "/api/v1/namespaces/default/secrets"
    status, secret = kube_api.request(
        "POST",
        secrets,
        {"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "y"}},
    )
    assert (
        status == 201
        and secret["data"] == {"a": "eA==", "b": "eQ=="}
        and secret["type"] == "Opaque"
    )
    assert "stringData" not in secret
    status, error = kube_api.request(
        "POST", secrets, {"metadata": {"name": "t"}, "data": {"a": "%%%"}}
    )
    assert status == 400 and "illegal base64" in error["message"]


def test_validation_answers_422_with_a_status_body(api: ApiHandle) -> None:
    body = widget("x")
    body["spec"]["storageType"] = "foo"
    status, error = api.request("POST", WIDGETS, body)
    assert status == 422
    assert error["kind"] == "Status" and error["reason"] == "Invalid" and error["code"] == 422
    assert error["message"] == (
        'Widget.test.rhev.io "x" is invalid: spec.storageType: Unsupported value: '
        '"foo": supported values: "nfs", "localfs"'
    )
    assert error["details"]["causes"][0]["field"] == "spec.storageType"
    create(api, widget("ok"))
    status, error = api.request("PATCH", f"{WIDGETS}/ok", {"spec": {"size": 0}}, content_type=MERGE)
    assert (
        status == 422
        and "spec.size in body should be greater than or equal to 1" in error["message"]
    )
    # unknown fields: pruned by default, refused with fieldValidation=Strict, warned with Warn
    status, obj = api.request(
        "POST", WIDGETS, {**widget("p"), "spec": {"storageType": "nfs", "zz": 1}}
    )
    assert status == 201 and "zz" not in obj["spec"]
    status, error = api.request(
        "POST",
        f"{WIDGETS}?fieldValidation=Strict",
        {**widget("q"), "spec": {"storageType": "nfs", "zz": 1}},
    )
    assert status == 400 and 'unknown field "spec.zz"' in error["message"]


def test_table_output_with_printer_columns(api: ApiHandle) -> None:
    create(api, widget("w1"))
    api.request(
        "PATCH",
        f"{WIDGETS}/w1/status",
        {
            "status": {
                "phase": "Ok",
                "conditions": [
                    {"type": "Other", "status": "False"},
                    {"type": "Ready", "status": "True"},
                ],
            }
        },
        content_type=MERGE,
    )
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    _, table = api.request("GET", WIDGETS, headers={"Accept": accept})
    assert table["kind"] == "Table"
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0),
        ("Storage", 0),
        ("Size", 0),
        ("Ready", 0),
        ("Phase", 1),
        ("Age", 0),
    ]
    cells = table["rows"][0]["cells"]
    assert cells[:5] == ["w1", "nfs", 3, "True", "Ok"] and re.fullmatch(r"\d+s", cells[5])
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_error_reasons(api: ApiHandle) -> None:
    status, error = api.request("GET", f"{WIDGETS}/nope")
    assert (status, error["reason"], error["message"]) == (
        404,
        "NotFound",
        'widgets.test.rhev.io "nope" not found',
    )
    create(api, widget())
    status, error = api.request("POST", WIDGETS, widget())
    assert (status, error["reason"]) == (409, "AlreadyExists")
    status, error = api.request("POST", f"{WIDGETS}/w1", widget())
    assert (status, error["reason"]) == (405, "MethodNotAllowed")
    status, error = api.request("GET", "/apis/nothing.example/v1/things")
    assert (status, error["reason"]) == (404, "NotFound")


def test_openapi_v3_declares_field_validation(api: ApiHandle) -> None:
    _, root = api.request("GET", "/openapi/v3")
    url = root["paths"]["apis/test.rhev.io/v1"]["serverRelativeURL"]
    _, doc = api.request("GET", url)
    patch = doc["paths"]["/apis/test.rhev.io/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "test.rhev.io",
        "version": "v1",
        "kind": "Widget",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    schema = doc["components"]["schemas"]["io.rhev.test.v1.Widget"]
    assert schema["properties"]["spec"]["properties"]["storageType"]["enum"] == ["nfs", "localfs"]


def test_kopf_peering_crds_work_generically(kube_api: ApiHandle) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "kopfpeerings.kopf.dev"},
        "spec": {
            "group": "kopf.dev",
            "scope": "Namespaced",
            "names": {"plural": "kopfpeerings", "singular": "kopfpeering", "kind": "KopfPeering"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    kube_api.register_crd(crd)
    path = "/apis/kopf.dev/v1/namespaces/default/kopfpeerings"
    status, _ = kube_api.request("POST", path, {"metadata": {"name": "default"}})
    assert status == 201
    _, peering = kube_api.request(
        "PATCH", f"{path}/default", {"status": {"op-1": {"priority": 0}}}, content_type=MERGE
    )
    assert peering["status"] == {"op-1": {"priority": 0}}


def test_injected_faults_answer_only_their_request_until_cleared() -> None:
    from rhev_testbed.kubeapi.testing import running_apiserver

    with running_apiserver() as api:
        broken = "/api/v1/namespaces/default/secrets/broken"
        api.call(lambda: api.api.fail("GET", broken, 503))
        status, body = api.request("GET", broken)
        assert (status, body["code"]) == (503, 503)
        assert api.request("GET", "/api/v1/namespaces/default/secrets/other")[0] == 404
        assert (
            api.request("POST", "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}})[
                0
            ]
            == 201
        )
        api.call(api.api.faults.clear)
        assert api.request("GET", broken)[0] == 404
        assert api.call(lambda: list(api.api.request_log))[-2:] == [
            ("POST", "/api/v1/namespaces/default/secrets"),
            ("GET", broken),
        ]


def test_the_request_log_is_capped() -> None:
    from rhev_testbed.kubeapi.testing import running_apiserver

    with running_apiserver(max_requests=10) as small:
        for _ in range(30):
            small.request("GET", "/version")
        assert small.call(lambda: len(small.api.request_log)) == 10
        assert small.call(lambda: small.api.request_counts["GET"]) == 30


def test_running_apiserver_registers_the_project_crds() -> None:
    from pathlib import Path

    from rhev_testbed.kubeapi.testing import running_apiserver

    crds = Path(__file__).resolve().parents[2] / "crds"
    with running_apiserver(crds=crds) as project:
        _, resources = project.request("GET", "/apis/rhev.io/v1alpha1")
        kinds = {r["kind"] for r in resources["resources"] if "/" not in r["name"]}
        assert kinds == {
            "RhevDataCenter",
            "RhevCluster",
            "LogicalNetwork",
            "StorageDomain",
            "Hypervisor",
            "VirtualMachine",
            "VmTemplate",
        }
        assert all(
            "rhev" in r.get("categories", [])
            for r in resources["resources"]
            if "/" not in r["name"]
        )
