"""checkov's Kubernetes policies pass on what the chart renders, cluster-wide (the checked-in
manifests/deploy) and namespaced; the findings kept are listed with reasons in .checkov.yaml.

checkov pins old versions of common packages, so it runs from a venv of its own that
`make policy` creates (.venv-policy)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rhev_testbed import render_manifests

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-policy/bin/checkov"


def checkov(directory: Path) -> dict[str, object]:
    if not CHECKOV.exists():
        pytest.skip(f"absent: checkov ({CHECKOV.relative_to(ROOT)}; `make policy` creates it)")
    done = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(ROOT / ".checkov.yaml"),
            "-d",
            str(directory),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(done.stdout)
    assert isinstance(report, dict), done.stdout[:2000]
    return report


def failed(report: dict[str, object]) -> list[str]:
    results = report["results"]
    assert isinstance(results, dict)
    return [f"{c['check_id']} {c['resource']}" for c in results["failed_checks"]]


def test_checked_in_manifests_pass_checkov() -> None:
    report = checkov(ROOT / "manifests/deploy")
    assert failed(report) == []
    summary = report["summary"]
    assert isinstance(summary, dict) and summary["passed"] > 50


def test_namespaced_rendering_passes_checkov(tmp_path: Path) -> None:
    rendered = render_manifests.render_chart(
        ROOT / "charts/rhev-operator", {"watchNamespaces": ["team-a"]}
    )
    for name, text in rendered.items():
        if name.endswith(".yaml"):
            (tmp_path / Path(name).name).write_text(text)
    assert failed(checkov(tmp_path)) == []
