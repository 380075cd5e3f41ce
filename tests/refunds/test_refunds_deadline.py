"""Deadlines: National Day and Spring Festival 2026 with their working weekends, year boundary into a
year without data (provisional, then recomputed once loaded), same-day rule, FTZ without reputable."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from refunds.calendar import WorkingCalendar
from refunds.deadline import DeadlineRequest, compute_deadline, recompute_provisional, stage_deadline
from refunds.notice import load_notice_file
from refunds.sla import ProfileError, ProfileRegistry

REGISTRY = ProfileRegistry.builtin()
SHANDONG = REGISTRY.get("shandong-2020")
CAL = WorkingCalendar()
NOTICE_2027 = Path(__file__).parent / "data" / "notice-2027-example.yaml"


def deadline(cls: int, accepted: str, ftz: bool = False, reputable: bool = False, cal: WorkingCalendar = CAL):
    return compute_deadline(
        DeadlineRequest(cls, datetime.fromisoformat(accepted), ftz, reputable), SHANDONG, cal
    )


@pytest.mark.parametrize(
    ("cls", "accepted", "expected"),
    [
        # National Day 2026: Oct 1-7 off, Sat Oct 10 worked. Day 1 = Sep 30, 2 = Oct 8, ... 10 = Oct 19.
        (2, "2026-09-29T10:00:00+08:00", "2026-10-19T23:59:59+08:00"),
        # Class 1 accepted the day before the holiday: Oct 8 and Oct 9.
        (1, "2026-09-30T17:00:00+08:00", "2026-10-09T23:59:59+08:00"),
        # Accepted during the holiday (a rest day): day 1 is the first working day after it, Oct 8.
        (1, "2026-10-03T09:00:00+08:00", "2026-10-09T23:59:59+08:00"),
        # Across Sun Sep 20 (worked), Mid-Autumn Sep 25-27, National Day and Sat Oct 10: 15 days -> Oct 15.
        (3, "2026-09-18T11:00:00+08:00", "2026-10-15T23:59:59+08:00"),
        # Class 1 on Fri Oct 9: Sat Oct 10 is a working day (day 1), Mon Oct 12 is day 2.
        (1, "2026-10-09T10:00:00+08:00", "2026-10-12T23:59:59+08:00"),
        # Spring Festival 2026: Sat Feb 14 worked, Feb 15-23 off, Sat Feb 28 worked.
        (2, "2026-02-13T10:00:00+08:00", "2026-03-05T23:59:59+08:00"),
        (1, "2026-02-14T10:00:00+08:00", "2026-02-25T23:59:59+08:00"),  # accepted on the working Saturday
        (1, "2026-02-15T10:00:00+08:00", "2026-02-25T23:59:59+08:00"),  # accepted on a holiday
        # Class 4: day 10 = Thu Mar 5 (as above), 11 = Mar 6, 12-16 = Mar 9-13, 17-20 = Mar 16-19.
        (4, "2026-02-13T10:00:00+08:00", "2026-03-19T23:59:59+08:00"),
        # Sun Jan 4 2026 worked after New Year (Jan 1-3 off).
        (1, "2025-12-31T10:00:00+08:00", "2026-01-05T23:59:59+08:00"),
    ],
)
def test_working_day_deadlines_2026(cls: int, accepted: str, expected: str) -> None:
    result = deadline(cls, accepted)
    assert result.as_json() == {
        "deadline": expected,
        "rule": "working_days",
        "working_days": SHANDONG.limit(cls),
        "provisional": False,
        "profile": "shandong-2020",
    }


def test_acceptance_time_is_taken_in_shanghai_time() -> None:
    # 2026-09-29T20:00Z is already Sep 30 in Shanghai: day 1 = Oct 8, day 2 = Oct 9.
    assert deadline(1, "2026-09-29T20:00:00+00:00").deadline.isoformat() == "2026-10-09T23:59:59+08:00"
    assert (
        deadline(1, "2026-09-29T20:00:00").deadline.isoformat() == "2026-10-08T23:59:59+08:00"
    )  # naive=local


def test_year_boundary_into_a_year_without_data_is_provisional_then_recomputed() -> None:
    provisional = deadline(2, "2026-12-28T10:00:00+08:00")
    # Weekends only in 2027: Fri Jan 1 counts as a working day.
    assert provisional.as_json()["deadline"] == "2027-01-11T23:59:59+08:00"
    assert provisional.provisional and provisional.provisional_years == (2027,)
    untouched = deadline(1, "2026-12-29T10:00:00+08:00")  # Dec 30, Dec 31: never enters 2027
    assert not untouched.provisional

    loaded = WorkingCalendar(extra_years={2027: load_notice_file(NOTICE_2027)})
    changes = recompute_provisional([provisional, untouched], loaded, REGISTRY.get)
    assert len(changes) == 1
    old, new = changes[0]
    assert old is provisional
    # With 2027 loaded, Jan 1-3 are holidays: the 10th working day moves to Tue Jan 12.
    assert new.as_json()["deadline"] == "2027-01-12T23:59:59+08:00"
    assert not new.provisional


def test_recompute_skips_deadlines_whose_year_is_still_missing() -> None:
    far = deadline(2, "2027-12-28T10:00:00+08:00")
    assert far.provisional_years == (2027, 2028)
    loaded = WorkingCalendar(extra_years={2027: load_notice_file(NOTICE_2027)})
    [(_, new)] = recompute_provisional([far], loaded, REGISTRY.get)
    assert new.provisional_years == (2028,)  # still provisional: 2028 has no data
    assert recompute_provisional([far], CAL, REGISTRY.get) == []


@pytest.mark.parametrize(
    ("filed", "expected"),
    [
        ("2026-10-09T15:59:59+08:00", "2026-10-09T23:59:59+08:00"),  # working day, before the cut-off
        ("2026-10-09T16:00:00+08:00", "2026-10-10T23:59:59+08:00"),  # at the cut-off: next working day (Sat!)
        ("2026-10-09T07:30:00+00:00", "2026-10-09T23:59:59+08:00"),  # 15:30 in Shanghai
        ("2026-10-09T08:30:00+00:00", "2026-10-10T23:59:59+08:00"),  # 16:30 in Shanghai
        ("2026-10-03T09:00:00+08:00", "2026-10-08T23:59:59+08:00"),  # holiday: next working day
        ("2026-10-11T09:00:00+08:00", "2026-10-12T23:59:59+08:00"),  # ordinary Sunday
        ("2026-09-20T09:00:00+08:00", "2026-09-20T23:59:59+08:00"),  # worked Sunday counts as a working day
        ("2026-02-13T17:00:00+08:00", "2026-02-14T23:59:59+08:00"),  # after cut-off Fri -> worked Sat
    ],
)
def test_same_day_rule(filed: str, expected: str) -> None:
    result = deadline(3, filed, ftz=True, reputable=True)
    assert result.as_json() == {
        "deadline": expected,
        "rule": "same_day",
        "working_days": 0,
        "provisional": False,
        "profile": "shandong-2020",
    }


def test_same_day_in_a_year_without_data_is_provisional() -> None:
    assert deadline(1, "2027-01-01T10:00:00+08:00", ftz=True, reputable=True).provisional
    assert deadline(1, "2026-12-31T17:00:00+08:00", ftz=True, reputable=True).as_json()["provisional"] is True
    assert not deadline(1, "2026-12-31T10:00:00+08:00", ftz=True, reputable=True).provisional


def test_ftz_without_reputable_gets_the_class_limit() -> None:
    ftz_only = deadline(1, "2026-10-09T10:00:00+08:00", ftz=True)
    assert ftz_only.rule == "working_days" and ftz_only.working_days == 2
    assert ftz_only.deadline.isoformat() == "2026-10-12T23:59:59+08:00"
    reputable_only = deadline(1, "2026-10-09T10:00:00+08:00", reputable=True)
    assert reputable_only.rule == "working_days"


def test_national_profile_has_no_same_day_path_and_its_own_limits() -> None:
    national = REGISTRY.get("national-2016")
    result = compute_deadline(
        DeadlineRequest(1, datetime.fromisoformat("2026-09-29T10:00:00+08:00"), True, True), national, CAL
    )
    # 5 working days: Sep 30, Oct 8, Oct 9, Oct 10 (Sat), Oct 12.
    assert (result.rule, result.working_days, result.deadline.isoformat()) == (
        "working_days",
        5,
        "2026-10-12T23:59:59+08:00",
    )


def test_stage_deadline_uses_the_stage_limit() -> None:
    when, missing = stage_deadline(
        "review", 2, datetime.fromisoformat("2026-09-29T10:00:00+08:00"), SHANDONG, CAL
    )
    # review limit for class 2 is 7: Sep 30, Oct 8, 9, 10, 12, 13, 14.
    assert when.isoformat() == "2026-10-14T23:59:59+08:00" and missing == ()
    with pytest.raises(ProfileError, match="unknown stage"):
        stage_deadline("lunch", 2, datetime(2026, 9, 29), SHANDONG, CAL)


def test_unknown_class_is_a_typed_error() -> None:
    with pytest.raises(ProfileError, match="no limit for class 5"):
        deadline(5, "2026-10-09T10:00:00+08:00")
