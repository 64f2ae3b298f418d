"""The documentation in docs/: the generated reference is up to date with the models (like
`rhev-operator crds --check`), it covers every field of every kind with its xCAT counterpart,
links between documents resolve, and nothing the project ships points outside the
repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rhev_operator.api import KINDS, parse_resource
from rhev_operator.api.crdgen import DOCS_REFERENCE, crd_texts
from rhev_operator.api.docgen import (
    REFERENCE_PATH,
    field_rows,
    reference_text,
    write_docs,
)
from rhev_operator.api.fieldtypes import XCAT_KEY

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


# ---------------------------------------------------------------------------------------
# The generated reference
# ---------------------------------------------------------------------------------------


def test_check_passes_on_the_checked_in_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_docs(str(ROOT), check=True) == 0, capsys.readouterr().err
    assert "up to date" in capsys.readouterr().out


def test_the_module_entry_point_checks_too() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rhev_operator.api.docgen", "--check", "--root", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_a_stale_reference_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    path = tmp_path / REFERENCE_PATH
    path.write_text(path.read_text(encoding="utf-8").replace("`Stopped`", "`Off`"))
    assert write_docs(str(tmp_path), check=True) == 1
    assert REFERENCE_PATH in capsys.readouterr().err
    assert write_docs(str(tmp_path), check=False) == 0
    assert write_docs(str(tmp_path), check=True) == 0
    path.unlink()
    assert write_docs(str(tmp_path), check=True) == 1
    assert "(missing)" in capsys.readouterr().err


def test_every_field_of_every_kind_is_in_the_reference_with_its_xcat_counterpart() -> None:
    text = reference_text()
    common = text[: text.index("\n## RhevDataCenter\n")].splitlines()
    for info in KINDS:
        start = text.index(f"\n## {info.kind}\n")
        end = text.find("\n## ", start + 1)
        section = text[start : end if end > 0 else len(text)].splitlines()
        for model, prefix in ((info.spec, "spec"), (info.status, "status")):
            for row in field_rows(model, prefix):
                lines = [*section, *common]  # the kind's own rows first, then the shared ones
                line = next((ln for ln in lines if f"| `{row.path}` |" in ln), None)
                assert line is not None, f"{info.kind}: {row.path} is not documented"
                if row.xcat:
                    assert row.xcat in line
        if info.resource.XCAT:
            assert info.resource.XCAT in text


def test_xcat_counterparts_come_from_the_models() -> None:
    rows = {r.path: r for r in field_rows(KINDS[5].spec, "spec")}  # VirtualMachine
    assert KINDS[5].kind == "VirtualMachine"
    assert rows["spec.cpu"].xcat == "`vmcpus`"
    assert rows["spec.memory"].xcat == "`vmmemory`"
    assert rows["spec.memory"].default == "`2Gi`"
    assert rows["spec.powerState"].allowed == "`Running` | `Stopped` | `Suspended`"
    assert rows["spec.timeouts"].xcat == ""  # no xCAT counterpart: left blank
    field = KINDS[5].spec.model_fields["template"]
    assert isinstance(field.json_schema_extra, dict)
    assert field.json_schema_extra[XCAT_KEY] == "vmmaster"


def test_crds_carry_no_xcat_keyword_but_name_the_reference() -> None:
    for name, text in crd_texts().items():
        assert not re.search(r"^\s+xcat:", text, flags=re.M), name
        assert f"See {DOCS_REFERENCE}#" in text, name
    assert (ROOT / DOCS_REFERENCE).exists()


def test_every_kind_has_an_anchor_the_crds_point_to() -> None:
    text = (ROOT / DOCS_REFERENCE).read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, flags=re.M)
    }
    for info in KINDS:
        assert info.kind.lower() in headings


# ---------------------------------------------------------------------------------------
# The hand-written documents
# ---------------------------------------------------------------------------------------

DOCUMENTS = ["README.md", "architecture.md", "simulator.md", "reference.md"]


def test_the_index_lists_every_document() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for name in DOCUMENTS[1:]:
        assert (DOCS / name).exists(), name
        assert f"]({name})" in index, name


def _markdown_files() -> list[Path]:
    return [
        *sorted(DOCS.glob("*.md")),
        ROOT / "README.md",
        ROOT / "manifests" / "samples" / "README.md",
        ROOT / "operator" / "rhevsim" / "README.md",
    ]


def test_relative_links_resolve() -> None:
    for path in _markdown_files():
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)  # code is not a link
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+://", target) or target.startswith("#"):
                continue
            file_part = target.split("#", 1)[0]
            resolved = (path.parent / file_part).resolve()
            assert resolved.exists(), f"{path.relative_to(ROOT)}: broken link {target}"
            assert ROOT in resolved.parents or resolved == ROOT, f"{path}: {target} leaves repo"


#: Names of documents that live outside the repository; nothing shipped may point to them.
_OUTSIDE = (
    "API" + ".md",
    "DESIGN" + ".md",
    "../" + "shared",
    "/work/" + "shared",
    "reference " + "notes",
)


def _shipped_files() -> list[Path]:
    files = [*_markdown_files()]
    for folder in ("crds", "charts/rhev-operator/crds"):
        files += sorted((ROOT / folder).glob("*.yaml"))
    files += sorted((ROOT / "operator" / "rhev_operator" / "api").glob("*.py"))
    files += sorted((ROOT / "tests" / "unit").glob("test_api_models.py"))
    return files


def test_nothing_points_outside_the_repository() -> None:
    for path in _shipped_files():
        text = path.read_text(encoding="utf-8")
        for needle in _OUTSIDE:
            assert needle not in text, f"{path.relative_to(ROOT)} mentions {needle}"


def test_the_example_in_the_docs_is_the_seed_and_parses() -> None:
    text = (DOCS / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, flags=re.S)
    assert block is not None, "docs/README.md has no YAML example"
    docs = [d for d in yaml.safe_load_all(block.group(1)) if d]
    assert {d["kind"] for d in docs} >= {"RhevDataCenter", "VirtualMachine", "Hypervisor"}
    for doc in docs:
        parse_resource(doc["kind"], doc)
