"""Thin kopf adapters, one module per kind."""

from __future__ import annotations


def register_all(*, resync_seconds: float) -> None:
    """Register every kind's handlers with kopf (once per process)."""
    from rhev_operator.handlers import common, datacenter

    common.register_secret_index()
    for binding in (datacenter.BINDING,):
        common.register(binding, resync_seconds=resync_seconds)
