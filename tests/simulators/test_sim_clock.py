"""The simulator clock: manual, scaled and mode switching never jump backwards."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from simulators.common.clock import ClockMode, SimClock

START = datetime.fromisoformat("2025-03-03T09:00:00+08:00")


def test_manual_clock_moves_only_when_told() -> None:
    clock = SimClock.from_spec(f"manual:{START.isoformat()}")
    time.sleep(0.02)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))


def test_scaled_clock_runs_faster_than_wall_time() -> None:
    clock = SimClock.from_spec(f"scaled:3600:{START.isoformat()}")
    time.sleep(0.05)
    elapsed = clock.now() - START
    assert timedelta(seconds=150) <= elapsed <= timedelta(seconds=3600)


def test_switching_to_scaled_keeps_the_current_time() -> None:
    clock = SimClock(ClockMode.MANUAL, START)
    state = clock.set_mode(ClockMode.SCALED, 10)
    assert state.now >= START and state.now - START < timedelta(seconds=1)


def test_bad_specs_are_refused() -> None:
    for spec in ("hourly", "scaled:0", "manual:notadate"):
        with pytest.raises(ValueError):
            SimClock.from_spec(spec)
