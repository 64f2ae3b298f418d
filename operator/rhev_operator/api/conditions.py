"""Status conditions as small pure functions (kstatus conventions).

`Ready` True means the object exists, matches the spec and is steady. While work is in
flight, `Reconciling` is True and `Ready` False with the same reason; when a human must act,
`Stalled` is True and `Ready` False. `ready`, `reconciling` and `stalled` set one of these
three shapes; the abnormal-true conditions (Reconciling, Stalled) are removed when they no
longer hold, as kstatus, Flux and Argo CD expect.

`lastTransitionTime` changes only when a condition's status changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from rhev_operator.api.base import StatusModel
from rhev_operator.api.operation import timestamp

ConditionStatus = Literal["True", "False", "Unknown"]
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


class Condition(StatusModel):
    """A Kubernetes-convention condition (metav1.Condition)."""

    type: Annotated[str, StringConstraints(pattern=CONDITION_TYPE_PATTERN, max_length=316)]
    """Ready, Reconciling or Stalled."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: Annotated[
        str, StringConstraints(pattern=CONDITION_REASON_PATTERN, min_length=1, max_length=1024)
    ]
    """A CamelCase word saying why, e.g. WaitingForDependency, CreatingTemplate."""
    message: Annotated[str, StringConstraints(max_length=32768)] = ""
    """What is going on, for a human; for Stalled, what to do."""
    last_transition_time: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    """When `status` last changed (RFC 3339)."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation the condition was computed from."""


ConditionLike = Condition | Mapping[str, Any]

#: metav1.Condition's limit on `message`.
MESSAGE_MAX = 32768


def _as_condition(item: ConditionLike) -> Condition:
    return item if isinstance(item, Condition) else Condition.model_validate(item)


def _status_text(status: ConditionStatus | bool) -> ConditionStatus:
    if status is True:
        return "True"
    if status is False:
        return "False"
    return status


def get_condition(conditions: Iterable[ConditionLike], type: str) -> Condition | None:
    """The condition of that type, or None."""
    for item in conditions:
        condition = _as_condition(item)
        if condition.type == type:
            return condition
    return None


def is_true(conditions: Iterable[ConditionLike], type: str) -> bool:
    """True when the condition exists with status True."""
    condition = get_condition(conditions, type)
    return condition is not None and condition.status == "True"


def set_condition(
    conditions: Iterable[ConditionLike],
    type: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: dt.datetime,
) -> list[Condition]:
    """A new list with the condition `type` set; the others keep their order.

    `lastTransitionTime` is `now` for a new condition or a changed status, and is kept
    otherwise. The input is not modified."""
    text = _status_text(status)
    if len(message) > MESSAGE_MAX:
        # RHEV-M fault texts can be long; the API server refuses a longer message.
        message = message[: MESSAGE_MAX - 3] + "..."
    out: list[Condition] = []
    found = False
    for item in conditions:
        condition = _as_condition(item)
        if condition.type != type:
            out.append(condition)
            continue
        found = True
        changed = condition.status != text
        out.append(
            Condition(
                type=type,
                status=text,
                reason=reason,
                message=message,
                last_transition_time=timestamp(now) if changed else condition.last_transition_time,
                observed_generation=observed_generation,
            )
        )
    if not found:
        out.append(
            Condition(
                type=type,
                status=text,
                reason=reason,
                message=message,
                last_transition_time=timestamp(now),
                observed_generation=observed_generation,
            )
        )
    return out


def remove_condition(conditions: Iterable[ConditionLike], type: str) -> list[Condition]:
    """A new list without the condition `type`."""
    return [c for c in map(_as_condition, conditions) if c.type != type]


def ready(
    conditions: Iterable[ConditionLike],
    *,
    observed_generation: int | None,
    now: dt.datetime,
    reason: str = "Ready",
    message: str = "",
) -> list[Condition]:
    """Ready=True; Reconciling and Stalled removed."""
    out = set_condition(conditions, READY, "True", reason, message, observed_generation, now)
    return remove_condition(remove_condition(out, RECONCILING), STALLED)


def reconciling(
    conditions: Iterable[ConditionLike],
    *,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: dt.datetime,
) -> list[Condition]:
    """Reconciling=True and Ready=False, both with `reason` (e.g. CreatingTemplate,
    WaitingForDependency, PendingRestart); Stalled removed."""
    out = set_condition(conditions, RECONCILING, "True", reason, message, observed_generation, now)
    out = set_condition(out, READY, "False", reason, message, observed_generation, now)
    return remove_condition(out, STALLED)


def stalled(
    conditions: Iterable[ConditionLike],
    *,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: dt.datetime,
) -> list[Condition]:
    """Stalled=True and Ready=False, both with `reason` (e.g. InvalidSpec, AlreadyExists,
    MissingSecret); `message` says what to do. Reconciling removed."""
    out = set_condition(conditions, STALLED, "True", reason, message, observed_generation, now)
    out = set_condition(out, READY, "False", reason, message, observed_generation, now)
    return remove_condition(out, RECONCILING)


def conditions_to_wire(conditions: Iterable[ConditionLike]) -> list[dict[str, Any]]:
    """Conditions as the camelCase dicts a status patch carries."""
    return [
        _as_condition(c).model_dump(by_alias=True, exclude_none=True, mode="json")
        for c in conditions
    ]


def stalled_status(
    raw_status: Mapping[str, Any] | None,
    *,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """A status patch (camelCase) marking an object Stalled when even its body could not be
    parsed (InvalidSpec, MissingSecret): conditions of `raw_status` that cannot be read are
    dropped rather than failing again."""
    readable: list[Condition] = []
    for item in (raw_status or {}).get("conditions") or []:
        try:
            readable.append(_as_condition(item))
        except ValueError:
            continue
    conditions = stalled(
        readable,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        now=now,
    )
    return {
        "observedGeneration": observed_generation,
        "conditions": conditions_to_wire(conditions),
        "message": message,
    }
