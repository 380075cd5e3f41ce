"""Reports: a hand-computed table, vectorised == day-by-day reference, period filter, input errors."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from refunds.calendar import WorkingCalendar
from refunds.report import ReportInputError, build_report, row_metrics, row_metrics_reference, summarise
from refunds.sla import ProfileRegistry
from refunds.synthetic import generate_applications

SHANDONG = ProfileRegistry.builtin().get("shandong-2020")
CAL = WorkingCalendar()
SH = ZoneInfo("Asia/Shanghai")
NaT = None


def hand_table() -> pd.DataFrame:
    rows = [
        # id, class, ftz, reputable, filed, accepted, reviewed, approved, credited, paused
        ("A", 1, False, False, NaT, "2026-09-30 10:00", NaT, "2026-10-09 11:00", NaT, 0),  # Oct 8, 9: 2
        ("B", 1, False, False, NaT, "2026-09-30 10:00", NaT, "2026-10-10 09:00", NaT, 0),  # worked Sat: 3
        ("C", 2, False, False, NaT, "2026-09-29 10:00", "2026-10-14 10:00", "2026-10-19 20:00", NaT, 0),  # 10
        (
            "D",
            2,
            True,
            False,
            NaT,
            "2026-09-29 10:00",
            "2026-10-15 10:00",
            "2026-10-21 10:00",
            NaT,
            2,
        ),  # 12-2
        (
            "E",
            3,
            True,
            True,
            "2026-10-09 15:00",
            "2026-10-09 15:00",
            NaT,
            "2026-10-09 16:00",
            "2026-10-09 21:00",
            0,
        ),  # same day, on time
        (
            "F",
            3,
            True,
            True,
            "2026-10-09 17:00",
            "2026-10-09 17:00",
            NaT,
            "2026-10-10 10:00",
            "2026-10-11 10:00",
            0,
        ),  # after cut-off: due Sat Oct 10, credited Sunday
        ("G", 4, False, False, NaT, "2026-10-12 10:00", NaT, NaT, NaT, 0),  # open; due Nov 9
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "class",
            "ftz",
            "reputable",
            "filed_at",
            "accepted_at",
            "reviewed_at",
            "approved_at",
            "credited_at",
            "paused_working_days",
        ],
    )
    for column in ("filed_at", "accepted_at", "reviewed_at", "approved_at", "credited_at"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(SH)
    return frame


def test_hand_computed_report() -> None:
    as_of = datetime(2026, 11, 20, 12, 0, tzinfo=SH)
    metrics = row_metrics(hand_table(), SHANDONG, CAL, as_of)
    assert metrics["wd"].tolist()[:6] == [2, 3, 10, 10, 0, 1] and np.isnan(metrics["wd"].iloc[6])
    assert metrics["rule"].tolist() == ["working_days"] * 4 + ["same_day"] * 2 + ["working_days"]
    assert metrics["breach"].tolist() == [False, True, False, False, False, True, True]
    report = summarise(metrics, SHANDONG)
    c = report.by_class
    assert c.loc["1", ["count", "done", "on_time", "breaches"]].tolist() == [2, 2, 1, 1]
    assert c.loc["1", "on_time_rate"] == 0.5 and c.loc["1", "mean_wd"] == 2.5
    assert c.loc["1", "p90_wd"] == pytest.approx(2.9)
    assert c.loc["2", ["on_time", "breaches", "mean_wd"]].tolist() == [2, 0, 10]
    assert c.loc["3", ["done", "on_time", "breaches"]].tolist() == [2, 1, 1]
    assert c.loc["4", ["count", "done", "breaches"]].tolist() == [1, 0, 1] and np.isnan(c.loc["4", "mean_wd"])
    assert c.loc["all", ["count", "done", "on_time", "breaches"]].tolist() == [7, 6, 4, 3]
    assert report.portfolio["mean_wd"] == pytest.approx(26 / 6) and report.portfolio["met"] is True
    assert report.by_rule.loc["same_day", ["count", "on_time", "breaches"]].tolist() == [2, 1, 1]
    s = report.by_stage
    assert s.loc["review", ["count", "mean_wd", "breaches"]].tolist() == [2, 7.5, 1]  # 7 (ok), 8 > 7
    assert s.loc["approval", ["count", "mean_wd", "breaches"]].tolist() == [2, 3.5, 1]  # 3 (ok), 4 > 3
    assert s.loc["acceptance", "count"] == 2  # only the rows with a filing time
    # Without as_of the open application is not (yet) a breach.
    assert summarise(row_metrics(hand_table(), SHANDONG, CAL), SHANDONG).by_class.loc["4", "breaches"] == 0
    # The portfolio target is checked against the profile.
    assert report.as_json()["portfolio"]["target_wd"] == 10


def test_vectorised_matches_day_by_day_reference() -> None:
    frame = generate_applications(2000, SHANDONG, CAL, start=date(2026, 6, 1), days=400, seed=7)
    as_of = datetime(2027, 8, 1, tzinfo=SH)
    fast = row_metrics(frame, SHANDONG, CAL, as_of)
    slow = row_metrics_reference(frame, SHANDONG, CAL, as_of)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
    assert fast["provisional"].any() and fast["breach"].any() and (fast["rule"] == "same_day").any()


def test_period_filter_and_formats() -> None:
    report = build_report(hand_table(), SHANDONG, CAL, start=date(2026, 9, 30), end=date(2026, 10, 9))
    assert report.by_class.loc["all", "count"] == 4  # A, B, E, F
    csv = report.to_csv()
    assert csv.splitlines()[0].startswith("section,key,limit,count")
    assert "portfolio,all" in csv
    data = report.as_json()
    assert data["from"] == "2026-09-30" and data["by_class"][-1]["class"] == "all"
    assert data["by_class"][3]["mean_wd"] is None  # class 4: nothing in the period


def test_input_errors_are_all_listed() -> None:
    frame = hand_table()
    frame.loc[0, "class"] = 7
    frame.loc[1, "approved_at"] = frame.loc[1, "accepted_at"] - pd.Timedelta(days=1)
    frame.loc[2, "paused_working_days"] = -1
    frame["colour"] = "red"
    with pytest.raises(ReportInputError) as err:
        row_metrics(frame, SHANDONG, CAL)
    assert [p.location for p in err.value.problems] == ["colour"]
    frame = frame.drop(columns="colour")
    with pytest.raises(ReportInputError) as err:
        row_metrics(frame, SHANDONG, CAL)
    assert [p.location for p in err.value.problems] == ["class", "paused_working_days", "approved_at"]
    assert "e.g. id A" in str(err.value)
    with pytest.raises(ReportInputError, match="required column missing"):
        row_metrics(frame.drop(columns="accepted_at"), SHANDONG, CAL)


def test_pause_larger_than_elapsed_is_rejected() -> None:
    frame = hand_table()
    frame.loc[0, "paused_working_days"] = 5  # only 2 working days elapsed
    with pytest.raises(ReportInputError, match="exceeds the elapsed working days"):
        row_metrics(frame, SHANDONG, CAL)


def test_empty_table() -> None:
    report = build_report(hand_table().iloc[:0], SHANDONG, CAL)
    assert report.by_class.loc["all", "count"] == 0 and report.portfolio["met"] is None
