"""Kubernetes names for RHEV-M objects: a DNS-1123 label derived from the RHEV-M name, unique
per kind; a collision is resolved (the qualifier, e.g. the data center, then a number) and
reported."""

from __future__ import annotations

import re
from collections.abc import Callable

#: DNS-1123 labels are at most 63 characters.
MAX = 63


def dns_name(name: str, fallback: str = "object") -> str:
    """`name` as a DNS-1123 label: lower case, [a-z0-9-], starting and ending alphanumeric."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    out = re.sub(r"-{2,}", "-", out).strip("-")[:MAX].strip("-")
    return out or fallback


class Names:
    """The metadata.name of each exported object, by kind and RHEV-M id."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._taken: dict[str, dict[str, str]] = {}  # kind -> k8s name -> RHEV-M id
        self._by_id: dict[tuple[str, str], str] = {}

    def assign(self, kind: str, rhev_id: str, rhev_name: str, qualifier: str = "") -> str:
        taken = self._taken.setdefault(kind, {})
        base = dns_name(rhev_name, kind.lower())
        candidates = [base]
        if qualifier:
            candidates.append(_join(base, dns_name(qualifier)))
        candidates += [_join(base, str(n)) for n in range(2, 10000)]
        name = next(c for c in candidates if c not in taken)
        taken[name] = rhev_id
        self._by_id[(kind, rhev_id)] = name
        if name != base:
            self._report(
                f"{kind} {rhev_name!r} ({rhev_id}) is exported as {name}: {base} is taken "
                f"by another {kind}"
            )
        return name

    def get(self, kind: str, rhev_id: str | None) -> str | None:
        """The exported name of the object, None when it was not exported."""
        return self._by_id.get((kind, rhev_id or ""))


def _join(base: str, suffix: str) -> str:
    return f"{base[: MAX - len(suffix) - 1].rstrip('-')}-{suffix}"
