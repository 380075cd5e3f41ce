"""SLA clock: pause on return for correction, resume on resubmission, traffic lights. All times injected."""

from __future__ import annotations

from datetime import datetime

import pytest

from refunds.calendar import WorkingCalendar
from refunds.clock import ClockError, ClockState, Light, SlaClock
from refunds.sla import ProfileRegistry

SHANDONG = ProfileRegistry.builtin().get("shandong-2020")
CAL = WorkingCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def clock(cls: int, accepted: str, ftz: bool = False, reputable: bool = False) -> SlaClock:
    return SlaClock.for_application(SHANDONG, CAL, cls, at(accepted), ftz, reputable)


def test_pause_keeps_used_days_and_resume_counts_from_the_next_day() -> None:
    c = clock(2, "2026-03-02T10:00")  # Mon; 10 working days
    assert c.status(at("2026-03-02T18:00")).deadline == at("2026-03-16T23:59:59")
    c.pause(at("2026-03-05T11:00"))  # returned Thu: Mar 3, 4, 5 used
    paused = c.status(at("2026-03-09T10:00"))
    assert (paused.state, paused.used, paused.remaining, paused.deadline) == (ClockState.PAUSED, 3, 7, None)
    c.resume(at("2026-03-11T15:00"))  # resubmitted Wed: 7 left from Thu Mar 12
    running = c.status(at("2026-03-16T10:00"))
    assert running.state is ClockState.RUNNING
    assert running.deadline == at("2026-03-20T23:59:59")  # Mar 12, 13, 16, 17, 18, 19, 20
    assert (running.used, running.remaining) == (6, 4)  # 3 + Mar 12, 13, 16
    assert running.light is Light.AMBER  # 60 % used
    c.stop(at("2026-03-20T18:00"))
    done = c.status(at("2026-04-01T00:00"))
    assert (done.state, done.breached, done.light) == (ClockState.STOPPED, False, Light.GREEN)


def test_late_after_resume_is_a_breach() -> None:
    c = clock(2, "2026-03-02T10:00")
    c.pause(at("2026-03-05T11:00"))
    c.resume(at("2026-03-11T15:00"))
    c.stop(at("2026-03-23T09:00"))
    status = c.status(at("2026-03-23T09:00"))
    assert status.breached and status.light is Light.RED
    assert status.breached_at == at("2026-03-20T23:59:59")


def test_no_days_left_means_the_resubmission_day_itself() -> None:
    c = clock(1, "2026-03-02T10:00")  # deadline Wed Mar 4
    c.pause(at("2026-03-04T09:00"))  # Mar 3, 4 used: nothing left
    c.resume(at("2026-03-06T10:00"))
    status = c.status(at("2026-03-06T11:00"))
    assert status.remaining == 0 and status.deadline == at("2026-03-06T23:59:59")
    assert not status.breached and status.light is Light.AMBER


def test_breach_before_a_pause_stays_a_breach() -> None:
    c = clock(1, "2026-03-02T10:00")  # deadline Wed Mar 4
    c.pause(at("2026-03-06T09:00"))
    c.resume(at("2026-03-09T09:00"))
    status = c.status(at("2026-03-09T10:00"))
    assert status.breached and status.breached_at == at("2026-03-04T23:59:59") and status.light is Light.RED


def test_pause_over_the_national_day_holiday() -> None:
    c = clock(2, "2026-09-28T10:00")  # Mon; day 1 = Tue Sep 29
    c.pause(at("2026-09-30T10:00"))  # used: Sep 29, Sep 30
    c.resume(at("2026-10-09T10:00"))  # 8 left from Sat Oct 10 (a working day)
    # Oct 10, 12, 13, 14, 15, 16, 19, 20
    assert c.status(at("2026-10-12T10:00")).deadline == at("2026-10-20T23:59:59")


@pytest.mark.parametrize(
    ("now", "light", "used"),
    [
        ("2026-03-02T18:00", Light.GREEN, 0),  # acceptance day: nothing used yet
        ("2026-03-06T12:00", Light.GREEN, 4),
        ("2026-03-09T12:00", Light.AMBER, 5),  # 50 % of 10
        ("2026-03-13T23:59", Light.AMBER, 9),  # (Mar 5 is a working day, so day 9 is Fri Mar 13)
        ("2026-03-16T12:00", Light.AMBER, 10),  # day 10: last day, not late yet
        ("2026-03-17T00:00", Light.RED, 11),
    ],
)
def test_traffic_lights_class_2(now: str, light: Light, used: int) -> None:
    status = clock(2, "2026-03-02T10:00").status(at(now))
    assert (status.light, status.used) == (light, used)
    assert status.breached is (light is Light.RED)


def test_amber_when_one_day_left_even_below_the_ratio() -> None:
    from dataclasses import replace

    from refunds.sla import TrafficLightThresholds

    profile = replace(
        SHANDONG, lights=TrafficLightThresholds(amber_ratio=1.0, amber_days_left=1, same_day_amber_minutes=0)
    )
    c = SlaClock.for_application(profile, CAL, 2, at("2026-03-02T10:00"))
    assert c.status(at("2026-03-12T10:00")).light is Light.GREEN  # used 8, 2 left
    assert c.status(at("2026-03-13T10:00")).light is Light.AMBER  # used 9, 1 left


@pytest.mark.parametrize(
    ("now", "light"),
    [
        ("2026-10-09T12:00", Light.GREEN),
        ("2026-10-09T17:00", Light.AMBER),
        ("2026-10-09T22:30", Light.AMBER),
        ("2026-10-10T00:00", Light.RED),
    ],
)
def test_same_day_clock_lights(now: str, light: Light) -> None:
    c = clock(1, "2026-10-09T10:00", ftz=True, reputable=True)
    status = c.status(at(now))
    assert status.rule == "same_day" and status.deadline == at("2026-10-09T23:59:59")
    assert status.light is light


def test_same_day_clock_credited_next_morning_is_red() -> None:
    c = clock(1, "2026-10-09T10:00", ftz=True, reputable=True)
    c.stop(at("2026-10-10T01:00"))
    assert c.status(at("2026-10-10T02:00")).light is Light.RED


def test_same_day_resubmission_is_a_new_filing() -> None:
    c = clock(1, "2026-10-09T10:00", ftz=True, reputable=True)
    c.pause(at("2026-10-09T11:00"))
    c.resume(at("2026-10-09T17:00"))  # after the cut-off: next working day, Sat Oct 10
    status = c.status(at("2026-10-10T09:00"))
    assert status.deadline == at("2026-10-10T23:59:59") and not status.breached


def test_events_out_of_order_are_rejected() -> None:
    c = clock(2, "2026-03-02T10:00")
    with pytest.raises(ClockError, match="not paused"):
        c.resume(at("2026-03-03T10:00"))
    with pytest.raises(ClockError, match="before the previous event"):
        c.pause(at("2026-03-01T10:00"))
    c.pause(at("2026-03-03T10:00"))
    with pytest.raises(ClockError, match="already paused"):
        c.pause(at("2026-03-04T10:00"))
    with pytest.raises(ClockError, match="resume before stopping"):
        c.stop(at("2026-03-04T10:00"))
    c.resume(at("2026-03-04T10:00"))
    c.stop(at("2026-03-05T10:00"))
    with pytest.raises(ClockError, match="already stopped"):
        c.pause(at("2026-03-06T10:00"))


def test_stage_clock_and_provisional_flag() -> None:
    c = SlaClock.for_stage(SHANDONG, CAL, "review", 2, at("2026-12-28T10:00"))  # 7 days, into 2027
    status = c.status(at("2026-12-29T10:00"))
    assert status.limit == 7 and status.provisional_years == (2027,)
