"""Working-day calendar: chinesecalendar years, loaded years, years without data, vectorised == scalar."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar as cc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunds.calendar import NoticeSource, WorkingCalendar, YearCalendar

CAL = WorkingCalendar()
SRC = NoticeSource(title="test notice")


def test_2026_make_up_working_weekends_are_working_days() -> None:
    make_up = [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    for day in make_up:
        assert day.weekday() >= 5
        assert CAL.is_workday(day) and CAL.is_make_up_workday(day)
    found = [d for d in (date(2026, 1, 1) + timedelta(n) for n in range(365)) if CAL.is_make_up_workday(d)]
    assert found == make_up


def test_2026_holidays_are_rest_days() -> None:
    for day in [date(2026, 1, 2), date(2026, 2, 16), date(2026, 2, 23), date(2026, 10, 1), date(2026, 10, 7)]:
        assert day.weekday() < 5 and not CAL.is_workday(day)


def test_agrees_with_chinesecalendar_every_day_2004_2026() -> None:
    idx = CAL.index(date(2004, 1, 1), date(2026, 12, 31))
    start = idx.offsets(np.array([np.datetime64("2004-01-01")]))[0]
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        expected = cc.is_workday(day)
        assert CAL.is_workday(day) == expected, day
        assert bool(idx.is_work[start + (day - date(2004, 1, 1)).days]) == expected, day
        day += timedelta(days=1)


def test_year_without_data_is_weekends_only_and_flagged() -> None:
    assert CAL.has_data(2026) and not CAL.has_data(2027)
    assert CAL.is_workday(date(2027, 1, 1))  # New Year's Day, but there is no 2027 data: a Friday counts
    assert not CAL.is_workday(date(2027, 1, 2))
    reached = CAL.nth_workday_after(date(2026, 12, 30), 2)
    assert reached.day == date(2027, 1, 1) and reached.provisional_years == (2027,)
    assert not CAL.nth_workday_after(date(2026, 12, 29), 2).provisional
    assert CAL.years_without_data(date(2026, 12, 31), date(2028, 1, 1)) == (2027, 2028)


def test_loaded_year_is_used_and_wins_over_the_package() -> None:
    y2027 = YearCalendar(2027, {date(2027, 1, 1): "元旦"}, {date(2027, 1, 9): "补班"}, SRC)
    override_2026 = YearCalendar(2026, {date(2026, 3, 2): "test holiday"}, {}, SRC)
    cal = WorkingCalendar(extra_years={2027: y2027, 2026: override_2026})
    assert cal.has_data(2027)
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 1, 9))
    assert not cal.is_workday(date(2026, 3, 2))
    # The loaded 2026 replaces the package's 2026 entirely: National Day 2026 is no longer known.
    assert cal.is_workday(date(2026, 10, 1))
    assert cal.nth_workday_after(date(2026, 12, 31), 1).day == date(2027, 1, 4)


def test_year_calendar_rejects_a_day_both_holiday_and_workday() -> None:
    with pytest.raises(ValueError, match="both holiday and working day"):
        YearCalendar(2027, {date(2027, 1, 2): "x"}, {date(2027, 1, 2): "y"}, SRC)


def test_scalar_helpers() -> None:
    # National Day 2026: Sep 30 Wed, Oct 1-7 holiday, Oct 8 Thu, Oct 9 Fri, Oct 10 Sat (working), Oct 11 Sun
    assert CAL.workdays_in(date(2026, 9, 30), date(2026, 10, 11)) == 3
    assert CAL.elapsed_workdays(date(2026, 9, 30), date(2026, 9, 30)) == 0
    assert CAL.elapsed_workdays(date(2026, 9, 30), date(2026, 10, 8)) == 1
    # finishing on a rest day counts as the next working day
    assert CAL.elapsed_workdays(date(2026, 9, 30), date(2026, 10, 11)) == 4
    assert CAL.nth_workday_after(date(2026, 10, 3), 0).day == date(2026, 10, 3)


days_2025_2028 = st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 30))


@settings(max_examples=200, deadline=None)
@given(starts=st.lists(days_2025_2028, min_size=1, max_size=30), gaps=st.data())
def test_vectorised_matches_scalar(starts: list[date], gaps: st.DataObject) -> None:
    loaded = {
        2027: YearCalendar(2027, {date(2027, 2, 8): "x", date(2027, 2, 9): "x"}, {date(2027, 2, 6): "y"}, SRC)
    }
    cal = WorkingCalendar(extra_years=loaded)
    offsets = gaps.draw(st.lists(st.integers(0, 60), min_size=len(starts), max_size=len(starts)))
    ns = gaps.draw(st.lists(st.integers(0, 25), min_size=len(starts), max_size=len(starts)))
    ends = [s + timedelta(days=o) for s, o in zip(starts, offsets, strict=True)]
    s_arr = np.array(starts, dtype="datetime64[D]")
    e_arr = np.array(ends, dtype="datetime64[D]")
    n_arr = np.array(ns, dtype=np.int64)
    assert cal.elapsed_workdays_array(s_arr, e_arr).tolist() == [
        cal.elapsed_workdays(s, e) for s, e in zip(starts, ends, strict=True)
    ]
    assert cal.nth_workday_after_array(s_arr, n_arr).astype(date).tolist() == [
        cal.nth_workday_after(s, n).day for s, n in zip(starts, ns, strict=True)
    ]
    assert cal.missing_data_array(s_arr, e_arr).tolist() == [
        bool(cal.years_without_data(s, e)) for s, e in zip(starts, ends, strict=True)
    ]
