"""`python -m rhev_testbed.render_manifests [--check]`: manifests/deploy/ rendered from the chart.

The Helm chart (charts/rhev-operator) is the one source of the deployment; manifests/deploy/
is the chart rendered with its defaults (release and namespace `rhev-operator`, the
namespace object included), split one file per apply step, plus a kustomization.yaml so
`kubectl kustomize manifests/deploy` (or a GitOps tool) can take it as a base.

Rendering uses Helm's own engine without a helm binary: the `helm-python-sdk` package
(import name `helm_python`) binds Helm v4's Go SDK through ctypes. No helm binary is
installable here (no Debian package; the PyPI wheels that ship one are stale or unrelated),
and a chart rendered by anything but Helm's engine would prove nothing about the chart.

`--check` writes nothing and exits 1 when a checked-in file differs from a fresh render.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CHART = "charts/rhev-operator"
OUT = "manifests/deploy"
RELEASE = "rhev-operator"
NAMESPACE = "rhev-operator"
#: The values the checked-in manifests are rendered with (the rest: values.yaml's defaults).
VALUES: Mapping[str, Any] = {"createNamespace": True}

#: Output file -> (what it comes from: "templates/X" rendered, or "crds/X" copied).
FILES: Mapping[str, str] = {
    "00-namespace.yaml": "templates/namespace.yaml",
    "10-peering-crd.yaml": "crds/kopf-peering.yaml",
    "11-peering-crd-namespaced.yaml": "crds/kopf-peering-namespaced.yaml",
    "20-rbac.yaml": "templates/rbac.yaml",
    "30-peering.yaml": "templates/peering.yaml",
    "40-deployment.yaml": "templates/deployment.yaml",
    "45-service.yaml": "templates/service.yaml",
    "50-networkpolicy.yaml": "templates/networkpolicy.yaml",
}

HEADER = (
    "# Generated from charts/rhev-operator by `python -m rhev_testbed.render_manifests`;\n"
    "# do not edit: change the chart and render again.\n"
)

KUSTOMIZATION = """\
# A kustomize base: `kubectl kustomize manifests/deploy`, or `resources: [<this folder>]` in an
# overlay. The rhev.io CRDs are not in it: apply crds/ first (or use the chart, which ships
# them); CRDs go first so the objects of kopf's peering CRD find their kind.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
{resources}"""


def _documents(text: str) -> list[str]:
    """The non-empty YAML documents of a rendered template, without Helm's blank lines."""
    docs = []
    for doc in text.split("\n---"):
        body = doc.strip("\n").removeprefix("---").strip("\n")
        if any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
            docs.append(body.rstrip() + "\n")
    return docs


def render_chart(
    chart_dir: Path,
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> dict[str, str]:
    """The chart's templates rendered by Helm's engine: {"templates/X": text}. Values are
    checked against values.schema.json (helm_python.HelmValuesError when refused)."""
    try:
        import helm_python
    except ImportError:  # pragma: no cover - the dev extra installs it
        raise SystemExit(
            "rendering the chart needs helm-python-sdk (the dev extra): "
            ".venv/bin/pip install -e '.[dev]'"
        ) from None
    with helm_python.Chart.load(str(chart_dir)) as chart:
        rendered = chart.render(dict(values or {}), name=release, namespace=namespace)
        prefix = f"{chart.name}/"
    return {key.removeprefix(prefix): text for key, text in rendered.items()}


def chart_crds(chart_dir: Path) -> dict[str, str]:
    """The chart's crds/ files as Helm loads them: {"crds/X": text}."""
    return {
        f"crds/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted((chart_dir / "crds").glob("*.yaml"))
    }


def render(root: Path) -> dict[str, str]:
    """Every file of manifests/deploy/ as it should be: {file name: text}."""
    chart_dir = root / CHART
    sources = {**render_chart(chart_dir, VALUES), **chart_crds(chart_dir)}
    out: dict[str, str] = {}
    for name, source in FILES.items():
        if source.startswith("crds/"):
            out[name] = sources[source]  # byte for byte: Helm applies crds/ unrendered
            continue
        docs = _documents(sources[source])
        if not docs:
            raise ValueError(f"{CHART}/{source} rendered nothing with {dict(VALUES)}")
        out[name] = HEADER + "---\n".join(docs)
    resources = "".join(f"  - {name}\n" for name in FILES)
    out["kustomization.yaml"] = HEADER + KUSTOMIZATION.format(resources=resources)
    return out


def drift(root: Path) -> list[str]:
    """What differs between manifests/deploy/ and a fresh render (empty when nothing)."""
    folder = root / OUT
    expected = render(root)
    problems = []
    for name, text in expected.items():
        path = folder / name
        if not path.exists():
            problems.append(f"{OUT}/{name} (missing)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{OUT}/{name} (differs)")
    for path in sorted(folder.glob("*.yaml")):
        if path.name not in expected:
            problems.append(f"{OUT}/{path.name} (not rendered from the chart)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rhev_testbed.render_manifests")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--root", default=".", help="the project root (default: .)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.check:
        problems = drift(root)
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        if problems:
            print("render again: python -m rhev_testbed.render_manifests", file=sys.stderr)
        return 1 if problems else 0
    folder = root / OUT
    expected = render(root)
    for name, text in expected.items():
        (folder / name).write_text(text, encoding="utf-8")
    for path in folder.glob("*.yaml"):
        if path.name not in expected:
            path.unlink()
            print(f"removed {OUT}/{path.name}")
    print(f"wrote {len(expected)} files to {OUT}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
