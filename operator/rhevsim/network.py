"""Logical networks (/networks) — being written; helpers used by datacenter.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.model import Entity

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def add_management_network(reg: Registry, dc: Entity, correlation_id: str | None) -> None:
    return None


def delete_network(reg: Registry, net: Entity, correlation_id: str | None) -> None:
    reg.remove(net)
