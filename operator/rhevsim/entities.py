"""The entity modules, in load order.

Each may define `register(api)` (its routes), `finalize(api)` (fallback routes that a later
module may have served better), `setup(reg)`, `load_inventory(reg, inv)` and
`build_inventory(inv, spec)`; the simulator and the builder call them in this order.
"""

from __future__ import annotations

from types import ModuleType

from rhevsim import (
    cluster,
    clusternetwork,
    clusterpolicies,
    datacenter,
    disk,
    graphicsconsole,
    hypervisor,
    monitoring,
    network,
    storagedomain,
    virtualmachine,
    vmtemplate,
    vnicprofile,
)

MODULES: tuple[ModuleType, ...] = (
    monitoring,
    datacenter,
    clusterpolicies,
    cluster,
    clusterpolicies,
    network,
    clusternetwork,
    vnicprofile,
    storagedomain,
    hypervisor,
    vmtemplate,
    disk,
    virtualmachine,
    graphicsconsole,
)
