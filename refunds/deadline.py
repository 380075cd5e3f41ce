"""Deadline computation for one refund application.

Working-day rule (class limit N): day 1 is the first working day after the acceptance date (also when
acceptance happens on a rest day); the deadline is 23:59:59 local time of day N.

Same-day rule (FTZ and reputable under shandong-2020): filed on a working day strictly before the cut-off
-> credited by 23:59:59 that day; filed at or after the cut-off, or on a rest day -> by 23:59:59 of the
next working day. The clock runs from filing to bank credit. `working_days` is reported as 0.

A deadline is provisional when a day it depends on lies in a year without calendar data (weekends-only
fallback); recompute it once that year's notice is loaded (`recompute_provisional`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from refunds.calendar import WorkingCalendar
from refunds.sla import SlaProfile

Rule = Literal["working_days", "same_day"]
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class DeadlineRequest:
    enterprise_class: int
    accepted_at: datetime  # the filing time when the same-day rule applies; naive = profile time zone
    ftz: bool = False
    reputable: bool = False


@dataclass(frozen=True)
class Deadline:
    deadline: datetime  # timezone-aware, profile time zone
    rule: Rule
    working_days: int  # the limit counted; 0 for the same-day rule
    provisional_years: tuple[int, ...]  # years without data the computation relied on
    profile: str
    request: DeadlineRequest

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    def as_json(self) -> dict[str, Any]:
        """The public JSON shape printed by `swhub refunds deadline`."""
        return {
            "deadline": self.deadline.isoformat(),
            "rule": self.rule,
            "working_days": self.working_days,
            "provisional": self.provisional,
            "profile": self.profile,
        }


def local(moment: datetime, profile: SlaProfile) -> datetime:
    """`moment` in the profile's time zone (a naive value is taken to be local already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=profile.timezone)
    return moment.astimezone(profile.timezone)


def end_of_day(day: date, profile: SlaProfile) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=profile.timezone)


def working_day_deadline(
    start: datetime, working_days: int, profile: SlaProfile, calendar: WorkingCalendar
) -> tuple[datetime, tuple[int, ...]]:
    """23:59:59 of the `working_days`-th working day after the local date of `start` (0 -> that date)."""
    reached = calendar.nth_workday_after(local(start, profile).date(), working_days)
    return end_of_day(reached.day, profile), reached.provisional_years


def same_day_deadline(
    filed_at: datetime, profile: SlaProfile, calendar: WorkingCalendar
) -> tuple[datetime, tuple[int, ...]]:
    filed = local(filed_at, profile)
    day = filed.date()
    missing = () if calendar.has_data(day.year) else (day.year,)
    if calendar.is_workday(day) and filed.timetz().replace(tzinfo=None) < profile.same_day.cutoff:
        return end_of_day(day, profile), missing
    reached = calendar.next_workday(day)
    return end_of_day(reached.day, profile), tuple(sorted(set(missing) | set(reached.provisional_years)))


def compute_deadline(request: DeadlineRequest, profile: SlaProfile, calendar: WorkingCalendar) -> Deadline:
    """The deadline of one application under `profile` (same-day rule when it applies, else the class
    limit from acceptance to approval done)."""
    limit = profile.limit(request.enterprise_class)  # validates the class even on the same-day path
    if profile.same_day_applies(request.enterprise_class, request.ftz, request.reputable):
        when, missing = same_day_deadline(request.accepted_at, profile, calendar)
        return Deadline(when, "same_day", 0, missing, profile.name, request)
    when, missing = working_day_deadline(request.accepted_at, limit, profile, calendar)
    return Deadline(when, "working_days", limit, missing, profile.name, request)


def stage_deadline(
    stage: str, enterprise_class: int, started_at: datetime, profile: SlaProfile, calendar: WorkingCalendar
) -> tuple[datetime, tuple[int, ...]]:
    """Deadline of one stage (acceptance, review, approval, treasury, credit) started at `started_at`."""
    return working_day_deadline(started_at, profile.stage_limit(stage, enterprise_class), profile, calendar)


def recompute_provisional(
    deadlines: Iterable[Deadline],
    calendar: WorkingCalendar,
    profile_by_name: Callable[[str], SlaProfile],
) -> list[tuple[Deadline, Deadline]]:
    """After a year has been loaded: recompute every provisional deadline whose missing years now have
    data. Returns (old, new) pairs for the ones recomputed, so the caller can store and notify."""
    changed: list[tuple[Deadline, Deadline]] = []
    for old in deadlines:
        if old.provisional and any(calendar.has_data(y) for y in old.provisional_years):
            new = compute_deadline(old.request, profile_by_name(old.profile), calendar)
            changed.append((old, new))
    return changed
