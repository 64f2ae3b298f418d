"""Thin kopf adapters, one module per kind; each module defines `BINDING`."""

from __future__ import annotations

import importlib
import importlib.util

#: The kinds' module stems, in dependency order.
STEMS = (
    "datacenter",
    "cluster",
    "network",
    "storagedomain",
    "hypervisor",
    "vmtemplate",
    "virtualmachine",
)


def register_all(*, resync_seconds: float) -> list[str]:
    """Register every served kind's handlers with kopf (once per process); returns the kinds."""
    from rhev_operator.handlers import common

    common.register_secret_index()
    served = []
    for stem in STEMS:
        name = f"{__name__}.{stem}"
        if importlib.util.find_spec(name) is None:
            continue  # that kind is not served yet
        binding = importlib.import_module(name).BINDING
        common.register(binding, resync_seconds=resync_seconds)
        served.append(binding.kind)
    return served
