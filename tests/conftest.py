"""Shared pytest configuration: fixtures live in tests/fixtures/, one module per part."""

from typing import Any

import pytest

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.bmc",
    "tests.fixtures.kube",
    "tests.fixtures.operator",
    "tests.fixtures.reconcile",
]

# A skip hides a test that asserts nothing. The only skip allowed names an external thing
# that is absent (a real cluster, a tool), with a reason that starts with EXTERNAL_SKIP;
# any other skip fails the run.
EXTERNAL_SKIP = "absent:"


def _fail_unnamed_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix(
        "Skipped: "
    )
    if not reason.startswith(EXTERNAL_SKIP):
        report.outcome = "failed"
        report.longrepr = f"a skip must name an absent external thing ({EXTERNAL_SKIP}): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    _fail_unnamed_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    _fail_unnamed_skip(outcome.get_result())
