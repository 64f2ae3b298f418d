"""Fault injection rules (POST /sim/faults) and the API-down switch.

A rule matches requests by path regex (searched in the full request path) and method; it
fires with `probability` (drawn from the seeded generator) at most `count` times, and
either answers `status` (with an engine `<fault>` body), resets the connection
("reset"), and/or adds `latency` seconds before the answer (outside the registry lock).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any


class FaultRuleError(ValueError):
    pass


@dataclass
class FaultRule:
    id: int
    path: re.Pattern[str]
    method: str | None = None
    probability: float = 1.0
    status: int | None = None
    reset: bool = False
    latency: float = 0.0
    count: int | None = None  # remaining firings; None = unlimited
    fired: int = 0
    reason: str = "Operation Failed"
    detail: str = "[Simulated failure]"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path.pattern,
            "method": self.method,
            "probability": self.probability,
            "status": "reset" if self.reset else self.status,
            "latency": self.latency,
            "count": self.count,
            "fired": self.fired,
        }


@dataclass
class FaultDecision:
    latency: float = 0.0
    status: int | None = None
    reset: bool = False
    reason: str = ""
    detail: str = ""


@dataclass
class Faults:
    rng: random.Random
    rules: list[FaultRule] = field(default_factory=list)
    api_down: str | None = None  # None, "503" or "reset"
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 1

    def add(self, spec: dict[str, Any]) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultRuleError("a fault rule must be a JSON object")
        known = {"path", "method", "probability", "status", "latency", "count", "reason", "detail"}
        unknown = set(spec) - known
        if unknown:
            raise FaultRuleError(
                f"unknown fault rule fields {sorted(unknown)}; allowed: {sorted(known)}"
            )
        try:
            pattern = re.compile(str(spec.get("path", ".*")))
        except re.error as exc:
            raise FaultRuleError(f"path: not a valid regular expression: {exc}") from None
        method = spec.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise FaultRuleError("method: expected an HTTP method such as GET, or null for any")
        prob = spec.get("probability", 1.0)
        if not isinstance(prob, int | float) or not 0.0 <= float(prob) <= 1.0:
            raise FaultRuleError("probability: expected a number between 0 and 1")
        status = spec.get("status")
        reset = False
        if status == "reset":
            reset, status = True, None
        elif status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise FaultRuleError('status: expected an HTTP status code (100-599) or "reset"')
        latency = spec.get("latency", 0.0)
        if not isinstance(latency, int | float) or latency < 0 or latency > 600:
            raise FaultRuleError("latency: expected seconds between 0 and 600")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultRuleError("count: expected a positive integer or null for unlimited")
        if status is None and not reset and not latency:
            raise FaultRuleError('a rule needs a status, "reset" or a latency')
        with self._lock:
            rule = FaultRule(
                id=self._next,
                path=pattern,
                method=method.upper() if method else None,
                probability=float(prob),
                status=status,
                reset=reset,
                latency=float(latency),
                count=count,
                reason=str(spec.get("reason", "Operation Failed")),
                detail=str(spec.get("detail", "[Simulated failure]")),
            )
            self._next += 1
            self.rules.append(rule)
        return rule

    def clear(self) -> int:
        with self._lock:
            n = len(self.rules)
            self.rules.clear()
            return n

    def decide(self, method: str, path: str) -> FaultDecision | None:
        """The combined effect of the matching rules for this request, if any fired."""
        out: FaultDecision | None = None
        with self._lock:
            for rule in self.rules:
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.method and rule.method != method:
                    continue
                if not rule.path.search(path):
                    continue
                if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                out = out or FaultDecision()
                out.latency += rule.latency
                if rule.reset:
                    out.reset = True
                elif rule.status is not None and out.status is None:
                    out.status = rule.status
                    out.reason, out.detail = rule.reason, rule.detail
            self.rules = [r for r in self.rules if r.count is None or r.count > 0]
        return out
