"""Simulated time: a manual clock for tests or real time scaled by a factor, plus a timer heap.

Every state transition of the simulator is a (due time, callback) entry on the heap. The
clock never runs callbacks itself; the registry runs them under its lock (see
`Registry.run_due`), so a transition never races a request handler.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Callback = Callable[[], None]


@dataclass(order=True)
class Timer:
    due: float
    seq: int
    callback: Callback = field(compare=False)
    label: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """Simulated wall-clock seconds (epoch based, so timestamps look real).

    mode "manual": time moves only through `advance()` (tests).
    mode "real": time follows the monotonic clock multiplied by `scale`.
    """

    def __init__(self, mode: str = "real", scale: float = 1.0, start: float | None = None) -> None:
        if mode not in ("manual", "real"):
            raise ValueError(f"clock mode must be 'manual' or 'real', not {mode!r}")
        if scale <= 0:
            raise ValueError(f"time scale must be > 0, not {scale}")
        self.mode = mode
        self.scale = scale
        self._start = time.time() if start is None else start
        self._mono0 = time.monotonic()
        self._offset = 0.0  # manual mode: seconds advanced so far
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    @property
    def manual(self) -> bool:
        return self.mode == "manual"

    def now(self) -> float:
        if self.mode == "manual":
            return self._start + self._offset
        return self._start + (time.monotonic() - self._mono0) * self.scale

    def wall(self) -> float:
        """The calendar time the API reports (events, jobs, steps, start and creation
        times). On the engine these are wall-clock: the time scale speeds up the state
        machines, not the calendar, so in real mode this is the start plus the real elapsed
        seconds. Under the manual clock the only calendar is the simulated one."""
        if self.mode == "manual":
            return self._start + self._offset
        return self._start + (time.monotonic() - self._mono0)

    def call_later(self, delay: float, callback: Callback, label: str = "") -> Timer:
        """Schedule `callback` `delay` simulated seconds from now."""
        timer = Timer(self.now() + max(0.0, delay), next(self._seq), callback, label)
        with self._cond:
            heapq.heappush(self._heap, timer)
            self._cond.notify_all()
        return timer

    def pop_due(self, until: float | None = None) -> Timer | None:
        """Remove and return the earliest timer due at or before `until` (default: now)."""
        limit = self.now() if until is None else until
        with self._cond:
            while self._heap and self._heap[0].cancelled:
                heapq.heappop(self._heap)
            if self._heap and self._heap[0].due <= limit:
                return heapq.heappop(self._heap)
        return None

    def next_due(self) -> float | None:
        with self._cond:
            for t in sorted(self._heap):
                if not t.cancelled:
                    return t.due
        return None

    def pending(self) -> int:
        with self._cond:
            return sum(1 for t in self._heap if not t.cancelled)

    def set_manual_offset_to(self, when: float) -> None:
        """Manual mode: move the clock forward to `when` (never backwards)."""
        if self.mode != "manual":
            raise RuntimeError("the clock is not manual")
        self._offset = max(self._offset, when - self._start)

    def wait_real(self, timeout: float) -> None:
        """Real mode ticker: wait until the next timer may be due or a timer was added."""
        with self._cond:
            nxt = self._heap[0].due if self._heap else None
            if nxt is None:
                wait = timeout
            else:
                wait = max(0.0, min(timeout, (nxt - self.now()) / self.scale))
            if wait > 0:
                self._cond.wait(wait)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
