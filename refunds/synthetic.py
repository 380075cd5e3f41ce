"""Synthetic refund applications (vectorised), for the benchmark, demos and report tests.

The distributions are invented for load and shape, not calibrated on real data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from refunds.calendar import WorkingCalendar
from refunds.sla import SlaProfile

_CLASS_SHARE = (0.2, 0.5, 0.2, 0.1)
_MEAN_REVIEW_DAYS = np.array([0.0, 0.6, 6.0, 9.0, 13.0])  # calendar days, indexed by class
_MEAN_APPROVAL_DAYS = np.array([0.0, 0.4, 2.5, 4.0, 5.0])
_HOUR = np.timedelta64(3600, "s")


def generate_applications(
    count: int,
    profile: SlaProfile,
    calendar: WorkingCalendar,
    start: date = date(2026, 1, 1),
    days: int = 365,
    seed: int = 20260101,
    open_share: float = 0.03,
) -> pd.DataFrame:
    """`count` applications accepted over `days` days from `start`, timestamps tz-aware in the profile's
    zone. About `open_share` of them are still waiting for approval; 5 % were returned for correction."""
    rng = np.random.default_rng(seed)
    cls = rng.choice(np.arange(1, 5), size=count, p=_CLASS_SHARE)
    ftz = rng.random(count) < 0.3
    reputable = rng.random(count) < 0.4
    same_day = profile.same_day.enabled & ftz & reputable & np.isin(cls, sorted(profile.same_day.classes))

    day = np.datetime64(start, "D") + rng.integers(0, days, size=count).astype("timedelta64[D]")
    seconds = rng.integers(8 * 3600, 18 * 3600, size=count).astype("timedelta64[s]")
    accepted = day.astype("datetime64[s]") + seconds
    filed = accepted - np.where(same_day, 0, rng.integers(0, 30 * 3600, size=count)).astype("timedelta64[s]")

    def days_after(base: np.ndarray, mean: np.ndarray) -> np.ndarray:
        offset = rng.exponential(1.0, size=count) * mean * 86400
        return base + offset.astype(np.int64).astype("timedelta64[s]")

    reviewed = days_after(accepted, _MEAN_REVIEW_DAYS[cls])
    pause_draw = np.where(rng.random(count) < 0.05, rng.integers(1, 6, size=count), 0)
    approved = days_after(reviewed, _MEAN_APPROVAL_DAYS[cls]) + (pause_draw * 1.4 * 86400).astype(
        "timedelta64[s]"
    )
    treasury = days_after(approved, np.full(count, 1.2))
    credited = days_after(treasury, np.full(count, 0.5))
    # Same-day path: everything within hours of filing; some finish after the cut-off.
    sd_offsets = rng.integers(1 * 3600, 9 * 3600, size=count).astype("timedelta64[s]")
    reviewed = np.where(same_day, accepted + _HOUR // 2, reviewed)
    approved = np.where(same_day, accepted + _HOUR, approved)
    treasury = np.where(same_day, accepted + sd_offsets // 2 + _HOUR, treasury)
    credited = np.where(same_day, accepted + sd_offsets + _HOUR, credited)
    pause_draw = np.where(same_day, 0, pause_draw)

    still_open = rng.random(count) < open_share
    nat = np.datetime64("NaT", "s")
    approved = np.where(still_open, nat, approved)
    treasury = np.where(still_open, nat, treasury)
    credited = np.where(still_open, nat, credited)

    # A pause cannot exceed the working days that actually elapsed.
    has = ~still_open
    elapsed = np.zeros(count, dtype=np.int64)
    elapsed[has] = calendar.elapsed_workdays_array(
        accepted[has].astype("datetime64[D]"), approved[has].astype("datetime64[D]")
    )
    paused = np.where(has, np.minimum(pause_draw, elapsed), 0)

    tz = profile.timezone

    def aware(values: np.ndarray) -> pd.Series:
        return pd.Series(pd.DatetimeIndex(values).tz_localize(tz))

    return pd.DataFrame(
        {
            "id": np.char.add("R", np.arange(count).astype(str)),
            "class": cls,
            "ftz": ftz,
            "reputable": reputable,
            "filed_at": aware(filed),
            "accepted_at": aware(accepted),
            "reviewed_at": aware(reviewed),
            "approved_at": aware(approved),
            "treasury_at": aware(treasury),
            "credited_at": aware(credited),
            "paused_working_days": paused,
        }
    )
