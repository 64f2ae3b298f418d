"""The README's "Deploying to a cluster" commands with the real kubectl, against the local
Kubernetes API as far as it serves the kinds (it serves namespaces, Secrets, CRDs and their
objects; RBAC and Deployments are checked by kubernetes-validate instead), and the kustomize
base: `kubectl kustomize manifests/deploy` renders valid objects."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import kubernetes_validate
import yaml

from tests.fixtures.kube import Kubectl

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "manifests/deploy"
CA = "-----BEGIN CERTIFICATE-----\n" + "MIIB" * 200 + "\n-----END CERTIFICATE-----\n"


def ok(done: object) -> str:
    assert getattr(done, "returncode", 1) == 0, getattr(done, "stderr", "")
    return str(getattr(done, "stdout", ""))


def test_kustomize_base_renders_valid_objects(kubectl: Kubectl) -> None:
    out = ok(kubectl("kustomize", str(DEPLOY)))
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = [d["kind"] for d in docs]
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} <= set(kinds)
    assert {"Deployment", "NetworkPolicy", "CustomResourceDefinition"} <= set(kinds)
    for doc in docs:
        if doc["apiVersion"].startswith("kopf.dev/"):
            continue  # its kind comes from the CRD beside it
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_readme_deploy_commands(kubectl: Kubectl, tmp_path: Path) -> None:
    # Step 1: the CRDs (ours and kopf's) and the namespace, so the kinds are established.
    ok(
        kubectl(
            "apply",
            "-f",
            str(ROOT / "crds"),
            "-f",
            str(DEPLOY / "00-namespace.yaml"),
            "-f",
            str(DEPLOY / "10-peering-crd.yaml"),
            "-f",
            str(DEPLOY / "11-peering-crd-namespaced.yaml"),
        )
    )
    # Step 2 (here: the objects of kinds this API serves; `kubectl apply -k` in the README).
    ok(kubectl("apply", "-f", str(DEPLOY / "30-peering.yaml")))
    assert "rhev-operator" in ok(kubectl("get", "clusterkopfpeerings", "-o", "name"))
    # The connection Secret, as the README writes it: long literals and a ca.crt file.
    ca = tmp_path / "ca.crt"
    ca.write_text(CA)
    password = "p" * 150
    url = "https://rhevm.example.com/ovirt-engine/api"
    created = kubectl(
        "-n",
        "rhev-operator",
        "create",
        "secret",
        "generic",
        "rhevm-default",
        f"--from-literal=url={url}",
        "--from-literal=username=admin@internal",
        f"--from-literal=password={password}",
        f"--from-file={ca}",
    )
    assert "secret/rhevm-default created" in ok(created)
    data = json.loads(
        ok(kubectl("-n", "rhev-operator", "get", "secret", "rhevm-default", "-o", "json"))
    )["data"]
    decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert decoded == {"url": url, "username": "admin@internal", "password": password, "ca.crt": CA}
    long = "x" * 150
    ok(kubectl("create", "secret", "generic", "s", f"--from-literal=a={long}"))
    # The samples apply as they are.
    ok(kubectl("apply", "-f", str(ROOT / "manifests/samples")))
    assert "rhevdatacenter.rhev.io/mydc" in ok(
        kubectl("get", "rhevdatacenters", "-A", "-o", "name")
    )
