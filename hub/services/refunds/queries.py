"""Read models: the officers' board, the public query and statistics, the report table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.refund_tables import RefundCase, RefundTransition
from hub.services.refunds.clocks import STAGE_LABELS_ZH, TERMINAL, aware, case_clocks, light_of
from hub.services.refunds.workflow import case_key_of, exporter_number
from refunds import SlaProfile, WorkingCalendar, row_metrics

LIGHT_RANK = {"red": 0, "amber": 1, "green": 2}
SORT_KEYS = ("urgency", "remaining", "deadline", "filed", "class", "enterprise", "stage")


@dataclass(frozen=True, slots=True)
class BoardFilter:
    enterprise_class: int | None = None
    tax_office_level: str | None = None  # province / city / county
    sort: str = "urgency"
    descending: bool = False


def _transitions(session: Session, numbers: list[str]) -> dict[str, list[RefundTransition]]:
    out: dict[str, list[RefundTransition]] = {n: [] for n in numbers}
    if not numbers:
        return out
    rows = session.scalars(
        select(RefundTransition)
        .where(RefundTransition.application_no.in_(numbers))
        .order_by(RefundTransition.id)
    )
    for t in rows:
        out[t.application_no].append(t)
    return out


def board_rows(
    session: Session, profile: SlaProfile, calendar: WorkingCalendar, now: datetime, flt: BoardFilter
) -> list[dict[str, Any]]:
    query = select(RefundCase).where(RefundCase.status.not_in(TERMINAL))
    if flt.enterprise_class is not None:
        query = query.where(RefundCase.enterprise_class == flt.enterprise_class)
    if flt.tax_office_level:
        query = query.where(RefundCase.tax_office_level == flt.tax_office_level)
    cases = list(session.scalars(query))
    history = _transitions(session, [c.application_no for c in cases])
    rows = []
    for case in cases:
        clocks = case_clocks(case, history[case.application_no], profile, calendar, now)
        status = clocks.case
        deadline = status.deadline if status is not None else aware(case.deadline)
        rows.append(
            {
                "application_no": exporter_number(case.application_no),  # the exporter's, shown with it
                "enterprise": case.exporter_name,
                "uscc": case.exporter_uscc,
                "class": case.enterprise_class,
                "tax_office_level": case.tax_office_level,
                "status": case.status,
                "stage": STAGE_LABELS_ZH[case.status],
                "light": light_of(clocks),
                "rule": status.rule if status else case.deadline_rule,
                "used_working_days": status.used if status else 0,
                "remaining_working_days": status.remaining if status else None,
                "deadline": deadline.isoformat() if deadline else None,
                "stage_light": clocks.stage.light.value if clocks.stage else None,
                "stage_remaining_working_days": clocks.stage.remaining if clocks.stage else None,
                "paused": bool(status and status.state.value == "paused"),
                "provisional": bool(status.provisional if status else case.provisional),
                "filed_at": aware(case.filed_at).isoformat(),
            }
        )
    return sort_rows(rows, flt)


def sort_rows(rows: list[dict[str, Any]], flt: BoardFilter) -> list[dict[str, Any]]:
    far = "9999"

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        remaining = r["remaining_working_days"] if r["remaining_working_days"] is not None else 10**6
        return {
            "urgency": (LIGHT_RANK[r["light"]], remaining, r["deadline"] or far),
            "remaining": (remaining,),
            "deadline": (r["deadline"] or far,),
            "filed": (r["filed_at"],),
            "class": (r["class"], LIGHT_RANK[r["light"]]),
            "enterprise": (r["enterprise"],),
            "stage": (r["status"],),
        }[flt.sort if flt.sort in SORT_KEYS else "urgency"]

    return sorted(rows, key=key, reverse=flt.descending)


def report_frame(session: Session, calendar: WorkingCalendar, profile: SlaProfile) -> pd.DataFrame:
    """Accepted cases in the column layout refunds.report expects (docs/refunds.md)."""
    cases = list(session.scalars(select(RefundCase).where(RefundCase.accepted_at.is_not(None))))
    history = _transitions(session, [c.application_no for c in cases])
    from hub.services.refunds.clocks import application_clock

    records = []
    for c in cases:
        _, paused = application_clock(c, history[c.application_no], profile, calendar)

        def ts(value: datetime | None) -> pd.Timestamp:
            return pd.Timestamp(aware(value)) if value is not None else pd.NaT

        records.append(
            {
                "id": c.application_no,
                "class": c.enterprise_class,
                "ftz": c.ftz,
                "reputable": c.reputable,
                "filed_at": ts(c.filed_at),
                "accepted_at": ts(c.accepted_at),
                "reviewed_at": ts(c.reviewed_at),
                "approved_at": ts(c.approved_at),
                "treasury_at": ts(c.treasury_at),
                "credited_at": ts(c.credited_at),
                "paused_working_days": paused,
            }
        )
    columns = [
        "id",
        "class",
        "ftz",
        "reputable",
        "filed_at",
        "accepted_at",
        "reviewed_at",
        "approved_at",
        "treasury_at",
        "credited_at",
        "paused_working_days",
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in columns[4:10]:
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_convert("Asia/Shanghai")
    return frame


def daily_series(
    session: Session, calendar: WorkingCalendar, profile: SlaProfile, now: datetime, days: int = 30
) -> list[dict[str, Any]]:
    """Per completion day (approval; credit for same-day): completed, on-time rate, mean working days."""
    frame = report_frame(session, calendar, profile)
    first = now.date() - timedelta(days=days - 1)
    out = {first + timedelta(days=i): {"completed": 0, "on_time": 0, "wd": []} for i in range(days)}
    if len(frame):
        metrics = row_metrics(frame, profile, calendar)
        end = frame["approved_at"].where(metrics["rule"].values == "working_days", frame["credited_at"])
        for i, done in enumerate(metrics["done"].values):
            if not done or pd.isna(end.iloc[i]):
                continue
            day = end.iloc[i].date()
            if day in out:
                out[day]["completed"] += 1
                out[day]["on_time"] += int(bool(metrics["on_time"].values[i]))
                if not pd.isna(metrics["wd"].values[i]):
                    out[day]["wd"].append(float(metrics["wd"].values[i]))
    series = []
    for day, v in sorted(out.items()):
        n = v["completed"]
        series.append(
            {
                "date": day.isoformat(),
                "completed": n,
                "on_time_rate": (v["on_time"] / n) if n else None,
                "mean_working_days": (sum(v["wd"]) / len(v["wd"])) if v["wd"] else None,
            }
        )
    return series


def case_sla(
    session: Session, application_no: str, profile: SlaProfile, calendar: WorkingCalendar, now: datetime
) -> dict[str, Any] | None:
    """One case with its SLA clock, open or closed: deadline, working days used, light and, once the
    clock has stopped, whether the case finished within its time limit."""
    case = session.get(RefundCase, application_no)
    if case is None:
        return None
    clocks = case_clocks(
        case, _transitions(session, [application_no])[application_no], profile, calendar, now
    )
    status = clocks.case
    deadline = status.deadline if status is not None else aware(case.deadline)
    stopped = bool(status is not None and status.state.value == "stopped")
    return {
        "application_no": exporter_number(case.application_no),
        "exporter_uscc": case.exporter_uscc,
        "class": case.enterprise_class,
        "ftz": case.ftz,
        "reputable": case.reputable,
        "status": case.status,
        "stage": STAGE_LABELS_ZH[case.status],
        "rule": status.rule if status else case.deadline_rule,
        "deadline": deadline.isoformat() if deadline else None,
        "provisional": bool(status.provisional if status else case.provisional),
        "used_working_days": status.used if status else 0,
        "remaining_working_days": status.remaining if status else None,
        "light": light_of(clocks),
        "clock": status.state.value if status else None,
        "on_time": (not status.breached) if stopped and status is not None else None,
        "filed_at": aware(case.filed_at).isoformat(),
    }


def public_case(
    session: Session, application_no: str, uscc: str, calendar: WorkingCalendar, now: datetime
) -> dict[str, Any] | None:
    key = case_key_of(session, application_no, uscc)
    case = session.get(RefundCase, key) if key is not None else None
    if case is None:
        return None
    end = aware(case.closed_at) if case.closed_at else now
    filed = aware(case.filed_at)
    elapsed = calendar.workdays_in(filed.date(), end.date()) if end.date() > filed.date() else 0
    return {
        "application_no": application_no,
        "status": case.status,
        "stage": STAGE_LABELS_ZH[case.status],
        "filed_on": filed.date().isoformat(),
        "elapsed_working_days": elapsed,
        "closed": case.status in TERMINAL,
    }


def public_stats(session: Session, calendar: WorkingCalendar, profile: SlaProfile) -> dict[str, Any]:
    """Monthly aggregates over all cases; no enterprise identifiers leave this function."""
    cases = list(session.scalars(select(RefundCase)))
    months: dict[str, dict[str, Any]] = {}
    for c in cases:
        m = aware(c.filed_at).strftime("%Y-%m")
        agg = months.setdefault(m, {"filed": 0, "accepted": 0, "rejected": 0, "credited": 0, "days": []})
        agg["filed"] += 1
        agg["accepted"] += int(c.accepted_at is not None)
        agg["rejected"] += int(c.status == "rejected")
        agg["credited"] += int(c.credited_at is not None)
    frame = report_frame(session, calendar, profile)
    if len(frame):
        metrics = row_metrics(frame, profile, calendar)
        for i, wd in enumerate(metrics["wd"].values):
            if not pd.isna(wd):
                m = frame["accepted_at"].iloc[i].strftime("%Y-%m")
                months.setdefault(m, {"filed": 0, "accepted": 0, "rejected": 0, "credited": 0, "days": []})
                months[m]["days"].append(float(wd))
    result = []
    for m, agg in sorted(months.items()):
        days = agg.pop("days")
        filed = agg["filed"]
        result.append(
            {
                "month": m,
                **agg,
                "acceptance_rate": agg["accepted"] / filed if filed else None,
                "completed": len(days),
                "average_working_days": sum(days) / len(days) if days else None,
            }
        )
    return {"profile": profile.name, "months": result}


def today(now: datetime) -> date:
    return now.date()
