"""Shared pytest configuration: fixtures live in tests/fixtures/, one module per part."""

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.bmc",
    "tests.fixtures.kube",
    "tests.fixtures.operator",
    "tests.fixtures.reconcile",
]
