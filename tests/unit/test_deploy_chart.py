"""The Helm chart is the one source of the deployment: manifests/deploy/ is it rendered (a
test fails on drift), every object it renders is valid Kubernetes (kubernetes-validate,
strict), the pod meets Pod Security `restricted`, no Role holds a wildcard, a misspelled
value is refused by values.schema.json, and both install modes (cluster-wide and a list of
namespaces) render what each needs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from rhev_operator.api.kinds import KINDS
from rhev_testbed import render_manifests

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/rhev-operator"
K8S_VERSION = "1.30"
NAMESPACED = {"watchNamespaces": ["team-a", "team-b"]}
PLURALS = sorted(info.plural for info in KINDS)
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
}


def objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rendered = render_manifests.render_chart(CHART, values)
    docs: list[dict[str, Any]] = []
    for name, text in sorted(rendered.items()):
        if name.endswith(".yaml"):
            docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def chart_crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for text in render_manifests.chart_crds(CHART).values() if text]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = by_kind(docs, "Deployment")
    return found


def test_checked_in_manifests_are_the_chart_rendered() -> None:
    assert render_manifests.drift(ROOT) == [], (
        "manifests/deploy/ lags the chart: python -m rhev_testbed.render_manifests"
    )


def test_check_reports_an_edited_manifest(tmp_path: Path) -> None:
    for folder in ("charts", "manifests/deploy"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    edited = tmp_path / "manifests/deploy/40-deployment.yaml"
    edited.write_text(edited.read_text().replace("replicas: 2", "replicas: 3"))
    (tmp_path / "manifests/deploy/50-extra.yaml").write_text("kind: ConfigMap\n")
    assert render_manifests.main(["--check", "--root", str(tmp_path)]) == 1
    assert render_manifests.drift(tmp_path) == [
        "manifests/deploy/40-deployment.yaml (differs)",
        "manifests/deploy/50-extra.yaml (not rendered from the chart)",
    ]
    assert render_manifests.main(["--root", str(tmp_path)]) == 0
    assert render_manifests.drift(tmp_path) == []


@pytest.mark.parametrize("values", [{}, {"createNamespace": True}, NAMESPACED], ids=str)
def test_every_rendered_object_is_valid_kubernetes(values: dict[str, Any]) -> None:
    crd_kinds = {(c["spec"]["group"], c["spec"]["names"]["kind"]) for c in chart_crds()}
    for crd in chart_crds():
        kubernetes_validate.validate(crd, K8S_VERSION, strict=True)
    for doc in objects(values):
        group = doc["apiVersion"].rpartition("/")[0]
        if (group, doc["kind"]) in crd_kinds:
            continue  # kopf's peering objects: their kinds come from the chart's crds/
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        labels = doc["metadata"].get("labels") or {}
        assert labels.keys() >= STANDARD_LABELS, doc["kind"]


def test_pod_meets_pod_security_restricted() -> None:
    spec = deployment(objects())["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("volumes")
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    # Liveness is kopf's (a standby replica is alive); readiness fails while peering keeps
    # the replica from acting.
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ready"}
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert "--readiness=http://0.0.0.0:8082/readyz" in container["args"]
    assert {"name": "ready", "containerPort": 8082, "protocol": "TCP"} in container["ports"]


def rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for d in docs if d["kind"] in ("ClusterRole", "Role") for r in d["rules"]]


@pytest.mark.parametrize("values", [{}, NAMESPACED], ids=["cluster-wide", "namespaced"])
def test_no_role_holds_a_wildcard(values: dict[str, Any]) -> None:
    for rule in rules(objects(values)):
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule.get(key, []), rule
            assert not any("*" in item for item in rule.get(key, [])), rule


def granted(docs: list[dict[str, Any]], kind: str, group: str, resource: str) -> set[str]:
    return {
        verb
        for d in docs
        if d["kind"] == kind
        for r in d["rules"]
        if group in r["apiGroups"] and resource in r["resources"]
        for verb in r["verbs"]
    }


def test_cluster_wide_install_grants_what_the_operator_needs() -> None:
    docs = objects()
    for plural in PLURALS:
        assert granted(docs, "ClusterRole", "rhev.io", plural) == {
            "get",
            "list",
            "watch",
            "patch",
            "update",
        }
        assert granted(docs, "ClusterRole", "rhev.io", f"{plural}/status") == {
            "get",
            "patch",
            "update",
        }
    # Secrets are read by name: `get` only, never list or watch.
    assert granted(docs, "ClusterRole", "", "secrets") == {"get"}
    assert granted(docs, "ClusterRole", "", "events") == {"create"}
    assert granted(docs, "ClusterRole", "", "namespaces") == {"list", "watch"}
    assert granted(docs, "ClusterRole", "apiextensions.k8s.io", "customresourcedefinitions") == {
        "get",
        "list",
        "watch",
    }
    assert granted(docs, "ClusterRole", "kopf.dev", "clusterkopfpeerings") == {
        "get",
        "list",
        "watch",
        "patch",
    }
    assert not by_kind(docs, "Role") and len(by_kind(docs, "ClusterKopfPeering")) == 1
    assert (
        "--all-namespaces" in deployment(docs)["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_namespaced_install_grants_only_in_its_namespaces() -> None:
    docs = objects(NAMESPACED)
    namespaces = ["rhev-operator", "team-a", "team-b"]  # the release's own is always served
    assert sorted(r["metadata"]["namespace"] for r in by_kind(docs, "Role")) == namespaces
    assert sorted(b["metadata"]["namespace"] for b in by_kind(docs, "RoleBinding")) == namespaces
    assert sorted(p["metadata"]["namespace"] for p in by_kind(docs, "KopfPeering")) == namespaces
    assert not by_kind(docs, "ClusterKopfPeering")
    (cluster_role,) = by_kind(docs, "ClusterRole")
    assert {r for rule in cluster_role["rules"] for r in rule["resources"]} == {
        "customresourcedefinitions",
        "namespaces",
    }
    for plural in PLURALS:
        assert "patch" in granted(docs, "Role", "rhev.io", f"{plural}/status")
    assert granted(docs, "Role", "kopf.dev", "kopfpeerings") == {"get", "list", "watch", "patch"}
    assert granted(docs, "Role", "", "secrets") == {"get"}
    args = deployment(docs)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace")] == [
        f"--namespace={ns}" for ns in namespaces
    ]
    assert "--all-namespaces" not in args
    assert {c["spec"]["names"]["kind"] for c in chart_crds()} >= {
        "ClusterKopfPeering",
        "KopfPeering",
    }


@pytest.mark.parametrize(
    "values",
    [
        {"replica": 3},
        {"image": {"repository": "x", "tga": "1"}},
        {"watchNamespaces": "team-a"},
        {"logFormat": "xml"},
        {"resources": {"limits": {"memroy": "1Gi"}}},
    ],
    ids=str,
)
def test_a_misspelled_or_wrong_value_is_refused(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        render_manifests.render_chart(CHART, values)


def test_image_by_digest_and_notes() -> None:
    digest = "sha256:" + "ab" * 32
    docs = objects({"image": {"repository": "quay.io/x/rhev-operator", "digest": digest}})
    image = deployment(docs)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"quay.io/x/rhev-operator@{digest}"
    notes = render_manifests.render_chart(CHART, NAMESPACED)["templates/NOTES.txt"]
    assert "watching rhev-operator, team-a, team-b" in notes
    assert "create secret generic rhevm-default" in notes


def test_helm_lint_finds_no_error() -> None:
    result = helm_python.lint(str(CHART))
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []


def test_metrics_are_served_exposed_and_let_in() -> None:
    docs = objects()
    container = deployment(docs)["spec"]["template"]["spec"]["containers"][0]
    assert "--metrics-port=8081" in container["args"]
    assert {"name": "metrics", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
    (service,) = by_kind(docs, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment(docs)["spec"]["selector"]["matchLabels"]
    (policy,) = by_kind(docs, "NetworkPolicy")
    ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]]
    assert ports == ["health", "ready", "metrics"]
    assert not by_kind(docs, "ServiceMonitor")  # off unless asked for

    monitored = objects(
        {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    )
    (monitor,) = by_kind(monitored, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]

    off = objects({"metrics": {"enabled": False}})
    assert not by_kind(off, "Service") and not by_kind(off, "ServiceMonitor")
    args = deployment(off)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not any(a.startswith("--metrics-port") for a in args)
