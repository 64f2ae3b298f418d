"""Thin kopf adapters, one module per kind; each module defines `BINDING`."""

from __future__ import annotations

from rhev_operator.handlers import (
    cluster,
    datacenter,
    hypervisor,
    network,
    storagedomain,
    virtualmachine,
    vmtemplate,
    worker,
)

#: Every kind's binding, in dependency order.
BINDINGS = (
    datacenter.BINDING,
    cluster.BINDING,
    network.BINDING,
    storagedomain.BINDING,
    hypervisor.BINDING,
    vmtemplate.BINDING,
    virtualmachine.BINDING,
)


def register_all(*, resync_seconds: float) -> list[str]:
    """Register every kind's handlers with kopf (once per process); returns the kinds."""
    for binding in BINDINGS:
        worker.register(binding, resync_seconds=resync_seconds)
    return [binding.kind for binding in BINDINGS]
