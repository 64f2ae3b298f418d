"""The one operation in flight for an object (status.operation) and the RFC 3339
timestamps Kubernetes writes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from rhev_operator.api.base import StatusModel


class Operation(StatusModel):
    """The one operation in flight for this object (see docs/architecture.md): what was
    started in RHEV-M, under which correlation id, when, and until when the operator waits
    before it reports Stalled. Cleared when the operation ends."""

    action: str
    """What was started, e.g. CreateVm, ActivateStorageDomain, InstallHost, Migrate."""
    correlation_id: str
    """The Correlation-Id sent to RHEV-M; finds its job and events."""
    started: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When it was started (RFC 3339)."""
    deadline: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When the operator gives up waiting and reports Stalled (RFC 3339)."""


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a `Z`, whole seconds, as Kubernetes writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> dt.datetime:
    """The inverse of `timestamp` (accepts any RFC 3339 offset)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def start_operation(
    action: str, correlation_id: str, now: dt.datetime, timeout_seconds: float
) -> Operation:
    """The record of an operation started at `now` that may take `timeout_seconds`."""
    return Operation(
        action=action,
        correlation_id=correlation_id,
        started=timestamp(now),
        deadline=timestamp(now + dt.timedelta(seconds=timeout_seconds)),
    )


def operation_overdue(operation: Operation, now: dt.datetime) -> bool:
    """True once `now` is past the operation's deadline."""
    return now >= parse_timestamp(operation.deadline)
