"""The three products' borders as packaged: the operator's wheel holds the operator alone,
the test bed carries its seed as package data, and the CLI says which extra is missing."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "operator/rhev_testbed/seed"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "-w", str(out), ".", "packaging/rhevsim", "packaging/rhev-testbed"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}


def _top_levels(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n.split("/")[0] for n in archive.namelist() if ".dist-info" not in n}


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")]


def test_the_operator_wheel_holds_the_operator_alone(wheels: dict[str, Path]) -> None:
    assert set(wheels) == {"rhev_operator", "rhevsim", "rhev_testbed"}
    assert _top_levels(wheels["rhev_operator"]) == {"rhev_operator"}
    runtime = [r for r in _requires(wheels["rhev_operator"]) if "extra ==" not in r]
    names = {r.split("=")[0].split(">")[0].split("<")[0].strip().lower() for r in runtime}
    assert not names & {"kmock", "ovirt-engine-sdk-python", "rhevsim", "rhev-testbed", "aiohttp"}
    assert {"kopf", "requests", "lxml", "pyghmi", "pydantic"} <= names


def test_the_simulator_and_the_test_bed_are_wheels_of_their_own(
    wheels: dict[str, Path],
) -> None:
    assert _top_levels(wheels["rhevsim"]) == {"rhevsim"}
    assert _top_levels(wheels["rhev_testbed"]) == {"rhev_testbed"}
    with zipfile.ZipFile(wheels["rhev_testbed"]) as archive:
        seed = {n.rsplit("/", 1)[1] for n in archive.namelist() if "/seed/" in n}
    assert seed == {p.name for p in SEED.glob("*.yaml")}
    assert not any("kmock" in r for r in _requires(wheels["rhev_testbed"]))


def test_the_demo_seed_is_the_published_samples() -> None:
    for seed in SEED.glob("*.yaml"):
        assert seed.read_text() == (ROOT / "manifests/samples" / seed.name).read_text(), seed.name


def test_a_test_bed_verb_without_the_test_bed_names_the_extra_to_install() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'rhev_testbed':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from rhev_operator.cli import main\n"
        "sys.exit(main(['demo', '--once']))\n"
    )
    done = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert done.returncode == 2
    assert "the test bed is not installed" in done.stderr
    assert "demo` extra" in done.stderr
