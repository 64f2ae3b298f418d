"""kopf against the local API: create/update/delete with finalizers, /status patches, Events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import kopf
import kopf.testing
import yaml

from rhev_testbed.kubeapi.testing import ApiHandle
from tests.fixtures.kube import WIDGET_CRD

REGISTRY = kopf.OperatorRegistry()
SERVER: dict[str, str] = {}
DELETED: list[str] = []

WIDGETS = "/apis/test.rhev.io/v1/namespaces/default/widgets"


@kopf.on.startup(registry=REGISTRY)
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = "test.rhev.io/finalizer"
    settings.posting.level = 0
    settings.watching.server_timeout = 60


@kopf.on.login(registry=REGISTRY)
def login(**_: Any) -> kopf.ConnectionInfo:
    return kopf.ConnectionInfo(server=SERVER["url"], scheme="Bearer", token="devapi-token")


@kopf.on.create("test.rhev.io", "v1", "widgets", registry=REGISTRY)
def created(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    kopf.info(body, reason="Created", message=f"widget of size {spec.get('size')}")
    patch.status["phase"] = "Created"


@kopf.on.update("test.rhev.io", "v1", "widgets", field="spec.size", registry=REGISTRY)
def updated(new: Any, patch: Any, **_: Any) -> None:
    patch.status["phase"] = f"Updated to {new}"


@kopf.on.delete("test.rhev.io", "v1", "widgets", registry=REGISTRY)
def deleted(name: str, **_: Any) -> None:
    DELETED.append(name)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kopf_operator_runs_against_the_local_api(kube_api: ApiHandle) -> None:
    kube_api.register_crd(yaml.safe_load(WIDGET_CRD))
    SERVER["url"] = kube_api.url
    DELETED.clear()

    def widget() -> dict[str, Any] | None:
        return kube_api.get("test.rhev.io/v1", "widgets", "default", "w1")

    args = ["run", "-A", "--standalone", "--verbose"]
    with kopf.testing.KopfRunner(args, registry=REGISTRY, timeout=60) as runner:
        status, body = kube_api.request(
            "POST",
            WIDGETS,
            {
                "apiVersion": "test.rhev.io/v1",
                "kind": "Widget",
                "metadata": {"name": "w1"},
                "spec": {"storageType": "nfs", "size": 1},
            },
        )
        assert status == 201, body
        obj = wait_for(
            "the create handler",
            lambda: (w := widget()) and (w.get("status") or {}).get("phase") == "Created" and w,
        )
        assert "test.rhev.io/finalizer" in obj["metadata"]["finalizers"]

        events = wait_for(
            "the Created event",
            lambda: [
                e
                for e in kube_api.list("v1", "events", "default")
                if e["reason"] == "Created" and e["involvedObject"]["name"] == "w1"
            ],
        )
        assert events[0]["message"] == "widget of size 1"

        status, body = kube_api.request(
            "PATCH",
            f"{WIDGETS}/w1",
            {"spec": {"size": 2}},
            content_type="application/merge-patch+json",
        )
        assert status == 200 and body["metadata"]["generation"] == 2
        wait_for(
            "the update handler",
            lambda: (w := widget()) and (w.get("status") or {}).get("phase") == "Updated to 2",
        )

        status, body = kube_api.request("DELETE", f"{WIDGETS}/w1")
        assert status == 200 and body["metadata"]["deletionTimestamp"]
        wait_for("the object to go", lambda: widget() is None)
        assert DELETED == ["w1"]

        status_patches = kube_api.call(
            lambda: [
                (method, path)
                for method, path in kube_api.api.request_log
                if method == "PATCH" and path.endswith("/w1/status")
            ]
        )
        assert status_patches, "kopf should write status through the /status subresource"

    assert runner.exit_code == 0
    assert "Handler 'deleted' succeeded" in runner.output
