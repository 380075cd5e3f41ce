"""Clocks and traffic lights computed on read from a case's stored transitions (refunds.SlaClock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.clock import SHANGHAI
from hub.db.refund_tables import RefundCase, RefundTransition
from refunds import ClockError, ClockStatus, SlaClock, SlaProfile, WorkingCalendar

# status -> the stage that is running while the case is in it (None: no stage clock)
RUNNING_STAGE = {
    "filed": "acceptance",
    "accepted": "review",
    "reviewed": "approval",
    "approved": "treasury",
    "treasury_paid": "credit",
}
STAGE_LABELS_ZH = {
    "filed": "申报",
    "accepted": "受理",
    "reviewed": "审核",
    "approved": "审批",
    "treasury_paid": "退库",
    "credited": "到账",
    "returned": "退回补正",
    "rejected": "不予退税",
}
TERMINAL = frozenset({"credited", "rejected"})


def aware(moment: datetime) -> datetime:
    """A stored moment in Asia/Shanghai time. SQLite hands back naive datetimes (stored as Shanghai
    local time); PostgreSQL hands back UTC ones, which the board would show as 15:59 for a 23:59
    deadline (it prints the wall-clock time), so those are converted, not passed on."""
    return moment.astimezone(SHANGHAI) if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


@dataclass(frozen=True, slots=True)
class CaseClocks:
    case: ClockStatus | None  # None until the clock has started (working-day rule: at acceptance)
    stage: ClockStatus | None
    stage_name: str | None
    paused_working_days: int


def application_clock(
    case: RefundCase, transitions: list[RefundTransition], profile: SlaProfile, calendar: WorkingCalendar
) -> tuple[SlaClock | None, int]:
    """Replay the transitions into the case clock; also the working days spent returned (after start)."""
    same_day = profile.same_day_applies(case.enterprise_class, case.ftz, case.reputable)
    clock: SlaClock | None = None
    paused_days = 0
    paused_since: datetime | None = None
    for t in transitions:
        at = aware(t.at)
        try:
            if clock is None:
                start = (same_day and t.to_status == "filed") or (not same_day and t.to_status == "accepted")
                if start:
                    clock = SlaClock.for_application(
                        profile, calendar, case.enterprise_class, at, case.ftz, case.reputable
                    )
                continue
            if t.to_status == "returned":
                clock.pause(at)
                paused_since = at
            elif t.to_status == "filed" and paused_since is not None:  # corrected re-filing
                clock.resume(at)
                paused_days += calendar.workdays_in(paused_since.date(), at.date())
                paused_since = None
            elif t.to_status == ("credited" if same_day else "approved") or (
                t.to_status == "rejected" and paused_since is None
            ):
                clock.stop(at)
        except ClockError:
            continue  # a late duplicate after the clock stopped does not change it
    return clock, paused_days


def case_clocks(
    case: RefundCase,
    transitions: list[RefundTransition],
    profile: SlaProfile,
    calendar: WorkingCalendar,
    now: datetime,
) -> CaseClocks:
    clock, paused = application_clock(case, transitions, profile, calendar)
    stage_name = RUNNING_STAGE.get(case.status)
    stage_status = None
    if stage_name is not None and transitions:
        started = aware(transitions[-1].at)
        stage_clock = SlaClock.for_stage(profile, calendar, stage_name, case.enterprise_class, started)
        stage_status = stage_clock.status(max(now, started))
    case_status = clock.status(max(now, clock.started_at)) if clock is not None else None
    return CaseClocks(case_status, stage_status, stage_name, paused)


def light_of(clocks: CaseClocks) -> str:
    """The case light; before the clock starts (not yet accepted) the acceptance stage light stands in."""
    if clocks.case is not None:
        return clocks.case.light.value
    if clocks.stage is not None:
        return clocks.stage.light.value
    return "green"
