"""The simulator's own clock. Simulators never read `datetime.now()` directly: testers can freeze it,
set it, advance it, or let it run `factor` times faster than wall time, over the control API.

This is deliberately not `hub.clock`: simulators are separate systems and import nothing from the hub."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ClockMode(StrEnum):
    SYSTEM = "system"  # wall time (scaled by 1)
    MANUAL = "manual"  # frozen; moves only on set/advance
    SCALED = "scaled"  # runs `factor` x wall time from the last anchor


@dataclass(frozen=True)
class ClockState:
    mode: ClockMode
    now: datetime
    factor: float


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


class SimClock:
    """Thread-safe switchable clock. Internally: simulated time = anchor + (monotonic - t0) * rate,
    where rate is 0 for manual, 1 for system and `factor` for scaled; every change re-anchors, so
    switching modes never makes time jump backwards unless a tester sets it explicitly."""

    def __init__(
        self, mode: ClockMode = ClockMode.SYSTEM, start: datetime | None = None, factor: float = 1.0
    ) -> None:
        self._lock = threading.Lock()
        self._anchor = _aware(start) if start else datetime.now(SHANGHAI)
        self._t0 = time.monotonic()
        self._mode = mode
        self._factor = factor if mode is ClockMode.SCALED else 1.0

    @classmethod
    def from_spec(cls, spec: str) -> SimClock:
        """Parse `system`, `manual`, `manual:<iso>`, `scaled:<factor>` or `scaled:<factor>:<iso>`."""
        kind, _, rest = spec.strip().partition(":")
        kind = kind.lower()
        if kind == "system":
            return cls()
        if kind == "manual":
            return cls(ClockMode.MANUAL, datetime.fromisoformat(rest) if rest else None)
        if kind == "scaled":
            factor_text, _, start_text = rest.partition(":")
            factor = float(factor_text or 60)
            if factor <= 0:
                raise ValueError("scaled clock factor must be > 0")
            return cls(ClockMode.SCALED, datetime.fromisoformat(start_text) if start_text else None, factor)
        raise ValueError(f"unknown clock spec {spec!r}: use system | manual[:iso] | scaled:<factor>[:iso]")

    def _rate(self) -> float:
        return {ClockMode.MANUAL: 0.0, ClockMode.SYSTEM: 1.0, ClockMode.SCALED: self._factor}[self._mode]

    def _now_locked(self) -> datetime:
        return self._anchor + timedelta(seconds=(time.monotonic() - self._t0) * self._rate())

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self._mode, self._now_locked(), self._rate())

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._anchor, self._t0 = _aware(when), time.monotonic()
            return self._anchor

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("cannot advance the clock by a negative amount")
        with self._lock:
            self._anchor, self._t0 = self._now_locked() + delta, time.monotonic()
            return self._anchor

    def set_mode(self, mode: ClockMode, factor: float | None = None) -> ClockState:
        if mode is ClockMode.SCALED and (factor is None or factor <= 0):
            raise ValueError("scaled mode needs a factor > 0")
        with self._lock:
            self._anchor, self._t0 = self._now_locked(), time.monotonic()
            if mode is ClockMode.SYSTEM and self._mode is not ClockMode.SYSTEM:
                self._anchor = datetime.now(SHANGHAI)  # system means real wall time
            self._mode = mode
            self._factor = factor if mode is ClockMode.SCALED and factor else 1.0
            return ClockState(self._mode, self._now_locked(), self._rate())
