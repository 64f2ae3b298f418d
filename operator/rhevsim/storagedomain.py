"""Storage domains (/storagedomains) — being written; helpers used by datacenter.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rhevsim.model import Entity

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def attached_to(reg: Registry, dc_id: str) -> Iterator[Entity]:
    return iter(())


def master_of(reg: Registry, dc_id: str) -> Any:
    return None


def forget_attachment(reg: Registry, sd: Entity) -> None:
    return None
