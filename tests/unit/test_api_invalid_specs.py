"""The corpus of invalid specs (tests/unit/invalid_specs/*.yaml): every file is rejected by
the models with a message naming the field its header names, and the CRD schema rejects
exactly those the header marks `schema: reject` (the rest only the operator can catch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rhev_operator.api import SpecError, kind_info, parse_resource, parse_spec
from rhev_operator.api.crdgen import crd_for
from rhev_testbed.kubeapi.schema import check

CORPUS = Path(__file__).parent / "invalid_specs"
FILES = sorted(CORPUS.glob("*.yaml"))


def _load(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].partition(":")
        header[key.strip()] = value.strip()
    body = yaml.safe_load(text)
    assert isinstance(body, dict)
    return header, body


def test_the_corpus_has_at_least_30_specs_covering_every_kind() -> None:
    assert len(FILES) >= 30
    kinds = {_load(path)[1]["kind"] for path in FILES}
    assert kinds == {
        "RhevDataCenter",
        "RhevCluster",
        "LogicalNetwork",
        "StorageDomain",
        "Hypervisor",
        "VirtualMachine",
        "VmTemplate",
    }


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_invalid_spec_is_rejected_naming_the_field(path: Path) -> None:
    header, body = _load(path)
    with pytest.raises(SpecError) as caught:
        parse_resource(body["kind"], body)
    error = caught.value
    matching = [e for e in error.errors if e.path == header["field"]]
    assert matching, f"{path.name}: expected an error at {header['field']}, got: {error}"
    assert any(header["text"] in e.message for e in matching), str(error)
    # The string form (what lands in the Stalled condition) names the field too.
    assert f"{header['field']}: " in str(error)
    # parse_spec (the spec alone) rejects it the same way.
    with pytest.raises(SpecError) as again:
        parse_spec(body["kind"], body)
    assert header["field"] in again.value.field_paths


def _names(error_path: str, field: str) -> bool:
    return error_path == field or (
        "." in error_path and field.startswith(error_path) and field[len(error_path)] in ".["
    )


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_crd_schema_rejects_what_a_schema_can_express(path: Path) -> None:
    header, body = _load(path)
    schema = crd_for(kind_info(body["kind"]))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    result = check(schema, body)
    if header["schema"] == "reject":
        # The API server names the field, or for a duplicate map key the list item.
        paths = [e.split(": ", 1)[0] for e in result.errors]
        assert any(_names(p, header["field"]) for p in paths), (
            f"{path.name}: the schema should reject {header['field']}: {result.errors}"
        )
    else:
        assert header["schema"] == "accept"
        assert result.ok, f"{path.name}: the schema rejects it: {result.errors}"
