"""SLA clock for one application (or one stage): start, pause on return for correction, resume on
resubmission, stop on completion; status and traffic light at a given `now` (never read from the system).

Pause semantics (working-day clocks): the working days used before the return are kept; working days are
counted per running segment as those in (segment start date, segment end date]. On resubmission the
remaining days count from the day after the resubmission date: the new deadline is 23:59:59 of the
`remaining`-th working day after it (remaining 0 -> 23:59:59 of the resubmission date itself). A clock
that passed its deadline before a pause stays breached.

Same-day clocks have no working-day budget: a resubmission is treated as a new filing and the same-day
deadline is computed again from the resubmission time.

Traffic lights: red once the deadline has passed (breached); amber when at least `amber_ratio` of the
limit is used, or `amber_days_left` working days or fewer remain; green otherwise. For same-day clocks,
amber when at least `amber_ratio` of the filing->deadline window has elapsed or `same_day_amber_minutes`
or fewer remain. A stopped clock is green if it finished on time, red if not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from refunds.calendar import WorkingCalendar
from refunds.deadline import Rule, local, same_day_deadline, working_day_deadline
from refunds.sla import SlaProfile


class Light(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class ClockError(ValueError):
    """An event that does not fit the clock's state (pause while paused, event before the last one...)."""


@dataclass(frozen=True)
class ClockStatus:
    state: ClockState
    rule: Rule
    limit: int  # working days (0 for same-day)
    used: int  # working days used so far (pauses excluded); 0 for same-day
    remaining: int  # limit - used (may be negative once overrun)
    deadline: datetime | None  # the current deadline; None while paused (it depends on the resume time)
    breached: bool
    breached_at: datetime | None  # the deadline that was missed
    light: Light
    provisional_years: tuple[int, ...]

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass
class _Segment:
    start: datetime
    end: datetime | None = None  # pause or stop time; None while running


@dataclass
class SlaClock:
    """Working-day clock with `limit` working days, or a same-day clock (rule="same_day")."""

    profile: SlaProfile
    calendar: WorkingCalendar
    started_at: datetime
    limit: int
    rule: Rule = "working_days"
    _segments: list[_Segment] = field(default_factory=list, init=False)
    _stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ClockError(f"limit must be >= 0, got {self.limit}")
        self._segments.append(_Segment(local(self.started_at, self.profile)))

    @classmethod
    def for_application(
        cls,
        profile: SlaProfile,
        calendar: WorkingCalendar,
        enterprise_class: int,
        accepted_at: datetime,
        ftz: bool = False,
        reputable: bool = False,
    ) -> SlaClock:
        """The application clock: same-day (from filing to credit) when it applies, else the class limit."""
        limit = profile.limit(enterprise_class)
        if profile.same_day_applies(enterprise_class, ftz, reputable):
            return cls(profile, calendar, accepted_at, 0, "same_day")
        return cls(profile, calendar, accepted_at, limit, "working_days")

    @classmethod
    def for_stage(
        cls,
        profile: SlaProfile,
        calendar: WorkingCalendar,
        stage: str,
        enterprise_class: int,
        started_at: datetime,
    ) -> SlaClock:
        return cls(profile, calendar, started_at, profile.stage_limit(stage, enterprise_class))

    # ----- events -------------------------------------------------------------------------------
    def _check_order(self, at: datetime) -> datetime:
        at = local(at, self.profile)
        last = self._segments[-1]
        latest = last.end or last.start
        if at < latest:
            raise ClockError(f"event at {at.isoformat()} is before the previous event {latest.isoformat()}")
        return at

    def pause(self, at: datetime) -> None:
        """Returned for correction: stop counting."""
        if self._stopped:
            raise ClockError("clock already stopped")
        if self._segments[-1].end is not None:
            raise ClockError("clock already paused")
        self._segments[-1].end = self._check_order(at)

    def resume(self, at: datetime) -> None:
        """Resubmitted: count the remaining days from the day after `at`."""
        if self._stopped:
            raise ClockError("clock already stopped")
        if self._segments[-1].end is None:
            raise ClockError("clock is not paused")
        self._segments.append(_Segment(self._check_order(at)))

    def stop(self, at: datetime) -> None:
        """Completed (approval done, or credited for the same-day path)."""
        if self._stopped:
            raise ClockError("clock already stopped")
        if self._segments[-1].end is not None:
            raise ClockError("clock is paused: resume before stopping")
        self._segments[-1].end = self._check_order(at)
        self._stopped = True

    # ----- status -------------------------------------------------------------------------------
    def status(self, now: datetime) -> ClockStatus:
        now = local(now, self.profile)
        if self.rule == "same_day":
            return self._same_day_status(now)
        used = 0
        missing: set[int] = set()
        breached_at: datetime | None = None
        deadline: datetime | None = None
        for seg in self._segments:
            deadline, years = working_day_deadline(
                seg.start, max(self.limit - used, 0), self.profile, self.calendar
            )
            missing |= set(years)
            end = seg.end or now
            if breached_at is None and end > deadline:
                breached_at = deadline
            if end > seg.start:
                used += self.calendar.workdays_in(seg.start.date(), end.date())
                missing |= set(self.calendar.years_without_data(seg.start.date(), end.date()))
        state = self._state()
        if state is ClockState.PAUSED:
            deadline = None
        remaining = self.limit - used
        light = self._light(state, breached_at is not None, used, remaining)
        return ClockStatus(
            state,
            self.rule,
            self.limit,
            used,
            remaining,
            deadline,
            breached_at is not None,
            breached_at,
            light,
            tuple(sorted(missing)),
        )

    def _state(self) -> ClockState:
        if self._stopped:
            return ClockState.STOPPED
        return ClockState.PAUSED if self._segments[-1].end is not None else ClockState.RUNNING

    def _light(self, state: ClockState, breached: bool, used: int, remaining: int) -> Light:
        if breached:
            return Light.RED
        if state is ClockState.STOPPED:
            return Light.GREEN
        thresholds = self.profile.lights
        if used >= thresholds.amber_ratio * self.limit or remaining <= thresholds.amber_days_left:
            return Light.AMBER
        return Light.GREEN

    def _same_day_status(self, now: datetime) -> ClockStatus:
        seg = self._segments[-1]  # a resubmission is a new filing: only the latest segment counts
        deadline, missing = same_day_deadline(seg.start, self.profile, self.calendar)
        breached_at = None
        for earlier in self._segments:  # a breach before a pause stays a breach
            d, _ = same_day_deadline(earlier.start, self.profile, self.calendar)
            if (earlier.end or now) > d:
                breached_at = d
                break
        state = self._state()
        end = seg.end or now
        if breached_at is not None:
            light = Light.RED
        elif state is ClockState.STOPPED:
            light = Light.GREEN
        else:
            window = (deadline - seg.start).total_seconds()
            elapsed = (end - seg.start).total_seconds()
            left_minutes = (deadline - end).total_seconds() / 60
            lights = self.profile.lights
            amber = elapsed >= lights.amber_ratio * window or left_minutes <= lights.same_day_amber_minutes
            light = Light.AMBER if amber else Light.GREEN
        return ClockStatus(
            state,
            "same_day",
            0,
            0,
            0,
            None if state is ClockState.PAUSED else deadline,
            breached_at is not None,
            breached_at,
            light,
            missing,
        )
