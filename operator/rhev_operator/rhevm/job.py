"""Jobs: ``/jobs`` (``<job>``), found by the correlation id of the call that made them."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable

from rhev_operator.rhevm._base import Collection, Frozen, quote_search

__all__ = ["Job", "Jobs", "jobs_state"]


class Job(Frozen):
    id: str
    description: str | None = None
    status: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    last_updated: str | None = None
    external: bool | None = None
    auto_cleared: bool | None = None
    owner_id: str | None = None
    correlation_id: str | None = None


class Jobs(Collection[Job]):
    tag = "job"
    plural = "jobs"
    model = Job
    searchable = True
    read_spec = {"owner_id": "owner/@id"}

    def find_by_correlation_id(self, correlation_id: str) -> builtins.list[Job]:
        """Every job tagged with ``correlation_id`` (job search supports only this key)."""
        if not correlation_id:
            raise ValueError("correlation_id: must not be empty")
        plain = re.fullmatch(r"[A-Za-z0-9_.-]+", correlation_id)
        search = f"correlation_id={correlation_id if plain else quote_search(correlation_id)}"
        # The engine's <job> does not carry the id; record the one searched for.
        return [j.model_copy(update={"correlation_id": correlation_id}) for j in self.list(search)]


def jobs_state(jobs: Iterable[Job]) -> str:
    """Summary of the jobs of one correlation id: ``none`` (no job yet), ``started``
    (one is still running), ``failed`` (one ended badly) or ``finished``."""
    statuses = [j.status for j in jobs]
    if not statuses:
        return "none"
    if any(s == "started" for s in statuses):
        return "started"
    if any(s in ("failed", "aborted", "unknown") for s in statuses):
        return "failed"
    return "finished"
