"""Every ```yaml block of docs/xcat-guide.md is accepted by a Kubernetes API with the CRDs
(the real kubectl, server-side validation with --dry-run=server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.kube import Kubectl

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "xcat-guide.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)


def test_the_guide_has_yaml_for_every_kind() -> None:
    text = "".join(BLOCKS)
    for kind in ("RhevDataCenter", "RhevCluster", "LogicalNetwork", "StorageDomain",
                 "Hypervisor", "VirtualMachine", "VmTemplate", "Secret"):  # fmt: skip
        assert f"kind: {kind}" in text, kind


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_yaml_block_is_accepted(kubectl: Kubectl, index: int) -> None:
    crds = kubectl("apply", "-f", str(ROOT / "crds"))
    assert crds.returncode == 0, crds.stderr
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=BLOCKS[index])
    assert result.returncode == 0, f"block {index}:\n{BLOCKS[index]}\n{result.stderr}"
