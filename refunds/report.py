"""SLA reports over a table of refund applications (pandas, vectorised on a working-day index).

Input: a DataFrame with one row per application (see APPLICATION_COLUMNS). Timestamps may be
timezone-aware (converted to the profile's zone) or naive (taken as local time); NaT = stage not reached.

Per row (`row_metrics`): the rule (working_days / same_day), working days from acceptance to approval net
of pauses (`wd`), done / open, on time, breach, provisional, and per stage the working days used and
whether the stage limit was exceeded. `summarise` aggregates per class, per rule, per stage and for the
portfolio average against the profile target.

Measures:
- `wd` = elapsed working days acceptance -> approval (the smallest n such that the approval is not later
  than the n-th working day after the acceptance date; 0 on the acceptance date itself; a rest-day finish
  counts as the next working day) minus `paused_working_days`.
- Working-day rule: done when approved; on time when wd <= class limit.
- Same-day rule: done when credited; on time when credited by the same-day deadline computed from
  `filed_at` (or `accepted_at` when filed_at is missing).
- Open applications count as breaches when `as_of` is given and their deadline has passed.
- Stage durations are gross elapsed working days between the two stage timestamps (pauses not subtracted:
  the table does not say in which stage a pause happened).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from refunds.calendar import WorkingCalendar
from refunds.notice import Problem
from refunds.sla import CLASSES, STAGE_BOUNDS, STAGES, SlaProfile

TIMESTAMP_COLUMNS: tuple[str, ...] = (
    "filed_at",
    "accepted_at",
    "reviewed_at",
    "approved_at",
    "treasury_at",
    "credited_at",
)
APPLICATION_COLUMNS: dict[str, str] = {
    "id": "application identifier (required)",
    "class": "enterprise class 1-4 (required)",
    "ftz": "bool: enterprise in the FTZ (default False)",
    "reputable": "bool: reputable enterprise flag (default False)",
    "filed_at": "申报 filing time (same-day clock start; accepted_at when null; acceptance stage needs it)",
    "accepted_at": "受理 acceptance time (required, not null)",
    "reviewed_at": "审核 review done",
    "approved_at": "审批 approval done",
    "treasury_at": "退库 treasury payment",
    "credited_at": "到账 bank credit",
    "paused_working_days": "int >= 0: working days returned for correction (default 0)",
}
_DAY = np.timedelta64(1, "D")
_END_OF_DAY = np.timedelta64(86399, "s")


class ReportInputError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("invalid applications table\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class Report:
    by_class: pd.DataFrame
    by_rule: pd.DataFrame
    by_stage: pd.DataFrame
    portfolio: dict[str, Any]
    profile: str
    period: tuple[date | None, date | None]

    def as_json(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = frame.reset_index().astype(object).where(frame.reset_index().notna(), None)
            return [{k: _plain(v) for k, v in row.items()} for row in out.to_dict("records")]

        return {
            "profile": self.profile,
            "from": self.period[0].isoformat() if self.period[0] else None,
            "to": self.period[1].isoformat() if self.period[1] else None,
            "portfolio": {k: _plain(v) for k, v in self.portfolio.items()},
            "by_class": records(self.by_class),
            "by_rule": records(self.by_rule),
            "by_stage": records(self.by_stage),
        }

    def to_csv(self) -> str:
        """One CSV: a `section` column (class / rule / stage / portfolio) and `key` identifying the row."""
        parts = []
        for section, frame in (("class", self.by_class), ("rule", self.by_rule), ("stage", self.by_stage)):
            part = frame.reset_index().rename(columns={frame.index.name or "index": "key"})
            part.insert(0, "section", section)
            parts.append(part)
        portfolio = pd.DataFrame([{"section": "portfolio", "key": "all", **self.portfolio}])
        return pd.concat([*parts, portfolio], ignore_index=True).to_csv(index=False, float_format="%.4g")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


# ----- input preparation -----------------------------------------------------------------------------
def _local_ns(series: pd.Series, profile: SlaProfile, column: str, problems: list[Problem]) -> np.ndarray:
    """Timestamps as naive local datetime64[ns] (NaT kept)."""
    try:
        values = pd.to_datetime(series)
    except (ValueError, TypeError) as exc:
        problems.append(Problem(column, f"not convertible to timestamps: {exc}"))
        return np.full(len(series), np.datetime64("NaT"), dtype="datetime64[ns]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert(profile.timezone).dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]")


@dataclass
class Prepared:
    ids: np.ndarray
    cls: np.ndarray
    ftz: np.ndarray
    reputable: np.ndarray
    paused: np.ndarray
    times: dict[str, np.ndarray]  # local naive datetime64[ns]


def prepare(df: pd.DataFrame, profile: SlaProfile) -> Prepared:
    """Validate the applications table (every problem listed) and normalise it to numpy arrays."""
    problems: list[Problem] = []
    for column in ("id", "class", "accepted_at"):
        if column not in df.columns:
            problems.append(Problem(column, "required column missing"))
    unknown = set(df.columns) - set(APPLICATION_COLUMNS)
    if unknown:
        problems.append(Problem(",".join(sorted(map(str, unknown))), "unknown column(s)"))
    if problems:
        raise ReportInputError(problems)
    n = len(df)

    def sample(mask: np.ndarray) -> str:
        bad = df["id"].to_numpy()[mask][:5]
        return f"{int(mask.sum())} row(s), e.g. id {', '.join(map(str, bad))}"

    cls = pd.to_numeric(df["class"], errors="coerce").to_numpy(dtype=float)
    bad_cls = ~np.isin(cls, CLASSES)
    if bad_cls.any():
        problems.append(Problem("class", f"must be one of {list(CLASSES)}: {sample(bad_cls)}"))
    flags = {}
    for column in ("ftz", "reputable"):
        if column in df.columns:
            raw = df[column]
            if raw.dtype != bool and not raw.isin([True, False, 0, 1]).all():
                problems.append(Problem(column, "must be boolean"))
                flags[column] = np.zeros(n, dtype=bool)
            else:
                flags[column] = raw.to_numpy(dtype=bool)
        else:
            flags[column] = np.zeros(n, dtype=bool)
    if "paused_working_days" in df.columns:
        paused_raw = pd.to_numeric(df["paused_working_days"], errors="coerce").to_numpy(dtype=float)
        bad_p = np.isnan(paused_raw) | (paused_raw < 0) | (paused_raw != np.floor(paused_raw))
        if bad_p.any():
            problems.append(Problem("paused_working_days", f"must be an integer >= 0: {sample(bad_p)}"))
        paused = np.nan_to_num(paused_raw).astype(np.int64)
    else:
        paused = np.zeros(n, dtype=np.int64)

    times = {
        c: _local_ns(df[c], profile, c, problems)
        if c in df.columns
        else np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        for c in TIMESTAMP_COLUMNS
    }
    if np.isnat(times["accepted_at"]).any():
        problems.append(Problem("accepted_at", f"must not be null: {sample(np.isnat(times['accepted_at']))}"))
    # Each timestamp must not precede any earlier stage's (one problem per column, however many rows).
    latest = times[TIMESTAMP_COLUMNS[0]]
    for column in TIMESTAMP_COLUMNS[1:]:
        current = times[column]
        backwards = ~np.isnat(latest) & ~np.isnat(current) & (current < latest)
        if backwards.any():
            problems.append(Problem(column, f"earlier than a previous stage: {sample(backwards)}"))
        latest = np.where(np.isnat(latest) | (current > latest), current, latest)
    if problems:
        raise ReportInputError(problems)
    return Prepared(
        df["id"].to_numpy(), cls.astype(np.int64), flags["ftz"], flags["reputable"], paused, times
    )


def _same_day_mask(p: Prepared, profile: SlaProfile) -> np.ndarray:
    rule = profile.same_day
    mask = np.full(len(p.cls), rule.enabled) & np.isin(p.cls, sorted(rule.classes))
    if "ftz" in rule.requires:
        mask &= p.ftz
    if "reputable" in rule.requires:
        mask &= p.reputable
    return mask


def _as_of_local(as_of: datetime | None, profile: SlaProfile) -> np.datetime64 | None:
    if as_of is None:
        return None
    local = as_of.astimezone(profile.timezone).replace(tzinfo=None) if as_of.tzinfo else as_of
    return np.datetime64(local, "ns")


# ----- per-row metrics: vectorised ---------------------------------------------------------------------
def row_metrics(
    df: pd.DataFrame, profile: SlaProfile, calendar: WorkingCalendar, as_of: datetime | None = None
) -> pd.DataFrame:
    """Per-application SLA metrics, vectorised (see the module docstring for the measures)."""
    p = prepare(df, profile)
    n = len(p.cls)
    t = p.times
    limits = np.zeros(5, dtype=np.int64)
    for c in CLASSES:
        limits[c] = profile.limit(c)
    limit = limits[p.cls] if n else np.zeros(0, dtype=np.int64)
    same_day = _same_day_mask(p, profile)
    acc = t["accepted_at"].astype("datetime64[D]")
    appr_ns = t["approved_at"]
    approved = ~np.isnat(appr_ns)

    wd = np.full(n, np.nan)
    elapsed = calendar.elapsed_workdays_array(acc[approved], appr_ns[approved].astype("datetime64[D]"))
    net = elapsed - p.paused[approved]
    if (net < 0).any():
        bad = p.ids[approved][net < 0][:5]
        raise ReportInputError(
            [Problem("paused_working_days", f"exceeds the elapsed working days, e.g. id {list(bad)}")]
        )
    wd[approved] = net

    # Working-day rule: deadline = (limit + paused)-th working day after acceptance (see refunds.clock).
    wd_deadline = calendar.nth_workday_after_array(acc, limit + p.paused) + _END_OF_DAY
    # Same-day rule, from the filing time.
    filed = np.where(np.isnat(t["filed_at"]), t["accepted_at"], t["filed_at"])  # same-day clock start
    fd = filed.astype("datetime64[D]")
    sd_deadline_day = _same_day_deadline_days(fd, filed - fd.astype("datetime64[ns]"), profile, calendar)
    sd_deadline = sd_deadline_day + _END_OF_DAY
    credited = ~np.isnat(t["credited_at"])

    done = np.where(same_day, credited, approved)
    on_time = np.where(same_day, credited & (t["credited_at"] <= sd_deadline), approved & (wd <= limit))
    as_of_ns = _as_of_local(as_of, profile)
    deadline = np.where(same_day, sd_deadline, wd_deadline).astype("datetime64[ns]")
    overdue = (~done & (as_of_ns > deadline)) if as_of_ns is not None else np.zeros(n, dtype=bool)
    breach = (done & ~on_time) | overdue

    end_day = np.where(approved, appr_ns.astype("datetime64[D]"), wd_deadline.astype("datetime64[D]"))
    provisional = np.where(
        same_day,
        calendar.missing_data_array(fd - _DAY, sd_deadline_day),
        calendar.missing_data_array(acc, end_day),
    )

    out: dict[str, Any] = {
        "id": p.ids,
        "class": p.cls,
        "rule": np.where(same_day, "same_day", "working_days"),
        "limit": limit,
        "wd": wd,
        "done": done,
        "on_time": on_time,
        "breach": breach,
        "provisional": provisional,
    }
    for stage in STAGES:
        start, end = STAGE_BOUNDS[stage]
        a, b = t[start], t[end]
        both = ~np.isnat(a) & ~np.isnat(b)
        used = np.full(n, np.nan)
        used[both] = calendar.elapsed_workdays_array(
            a[both].astype("datetime64[D]"), b[both].astype("datetime64[D]")
        )
        stage_limits = np.array([0, *(profile.stage_limit(stage, c) for c in CLASSES)], dtype=np.int64)
        out[f"{stage}_wd"] = used
        out[f"{stage}_breach"] = both & (used > stage_limits[p.cls])
    return pd.DataFrame(out)


def _same_day_deadline_days(
    day: np.ndarray, time_of_day: np.ndarray, profile: SlaProfile, calendar: WorkingCalendar
) -> np.ndarray:
    if day.size == 0:
        return day
    cutoff = np.timedelta64(
        profile.same_day.cutoff.hour * 3600
        + profile.same_day.cutoff.minute * 60
        + profile.same_day.cutoff.second,
        "s",
    )
    idx = calendar.index(day.min().astype(date), day.max().astype(date) + timedelta(days=60))
    same = idx.is_work[idx.offsets(day)] & (time_of_day < cutoff)
    following = calendar.nth_workday_after_array(day, np.ones(day.size, dtype=np.int64))
    return np.where(same, day, following)


# ----- per-row metrics: day-by-day reference --------------------------------------------------------------
def row_metrics_reference(
    df: pd.DataFrame, profile: SlaProfile, calendar: WorkingCalendar, as_of: datetime | None = None
) -> pd.DataFrame:
    """The same metrics as `row_metrics`, computed row by row with the scalar calendar (day-by-day
    walks). Slow: it is the baseline of bench/refunds.py and the oracle of the tests."""
    p = prepare(df, profile)
    as_of_ts = None if as_of is None else pd.Timestamp(_as_of_local(as_of, profile))
    sd_mask = _same_day_mask(p, profile)
    rows = []
    ts = {c: pd.DatetimeIndex(v) for c, v in p.times.items()}
    for i in range(len(p.cls)):
        cls = int(p.cls[i])
        limit = profile.limit(cls)
        same_day = bool(sd_mask[i])
        acc = ts["accepted_at"][i].date()
        appr = ts["approved_at"][i]
        approved = appr is not pd.NaT
        wd = float(calendar.elapsed_workdays(acc, appr.date()) - p.paused[i]) if approved else np.nan
        wd_deadline_day = calendar.nth_workday_after(acc, limit + int(p.paused[i])).day
        filed = ts["filed_at"][i] if ts["filed_at"][i] is not pd.NaT else ts["accepted_at"][i]
        fday = filed.date()
        if calendar.is_workday(fday) and filed.time() < profile.same_day.cutoff:
            sd_day = fday
        else:
            sd_day = calendar.next_workday(fday).day
        credited = ts["credited_at"][i]
        if same_day:
            deadline = pd.Timestamp(datetime.combine(sd_day, datetime.max.time())).floor("s")
            done = credited is not pd.NaT
            on_time = done and credited <= deadline
            provisional = bool(calendar.years_without_data(fday - timedelta(days=1), sd_day))
        else:
            deadline = pd.Timestamp(datetime.combine(wd_deadline_day, datetime.max.time())).floor("s")
            done = approved
            on_time = approved and wd <= limit
            end = appr.date() if approved else wd_deadline_day
            provisional = bool(calendar.years_without_data(acc, end))
        overdue = as_of_ts is not None and not done and as_of_ts > deadline
        row: dict[str, Any] = {
            "id": p.ids[i],
            "class": cls,
            "rule": "same_day" if same_day else "working_days",
            "limit": limit,
            "wd": wd,
            "done": done,
            "on_time": bool(on_time),
            "breach": (done and not on_time) or overdue,
            "provisional": provisional,
        }
        for stage in STAGES:
            start, end_col = STAGE_BOUNDS[stage]
            a, b = ts[start][i], ts[end_col][i]
            if a is pd.NaT or b is pd.NaT:
                row[f"{stage}_wd"], row[f"{stage}_breach"] = np.nan, False
            else:
                used = calendar.elapsed_workdays(a.date(), b.date())
                row[f"{stage}_wd"] = float(used)
                row[f"{stage}_breach"] = used > profile.stage_limit(stage, cls)
        rows.append(row)
    columns = list(row_metrics(df.iloc[:0], profile, calendar).columns)
    return pd.DataFrame(rows, columns=columns)


# ----- aggregation ---------------------------------------------------------------------------------------
def _group_stats(frame: pd.DataFrame, key: str, order: list[Any]) -> pd.DataFrame:
    grouped = frame.groupby(key, sort=False)
    stats = pd.DataFrame(
        {
            "count": grouped.size(),
            "done": grouped["done"].sum(),
            "on_time": grouped["on_time"].sum(),
            "breaches": grouped["breach"].sum(),
            "mean_wd": grouped["wd"].mean(),
            "p90_wd": grouped["wd"].quantile(0.9),
            "provisional": grouped["provisional"].sum(),
        }
    )
    stats = stats.reindex(order)
    for column in ("count", "done", "on_time", "breaches", "provisional"):
        stats[column] = stats[column].fillna(0).astype(np.int64)
    stats.insert(3, "on_time_rate", stats["on_time"] / stats["done"].replace(0, np.nan))
    return stats


def summarise(
    metrics: pd.DataFrame, profile: SlaProfile, period: tuple[date | None, date | None] = (None, None)
) -> Report:
    """Aggregate `row_metrics` output per class, per rule, per stage and for the portfolio."""
    by_class = _group_stats(metrics, "class", list(CLASSES))
    overall = _group_stats(metrics.assign(_all="all"), "_all", ["all"])
    by_class = pd.concat([by_class, overall])
    by_class.index = pd.Index([str(i) for i in by_class.index], name="class")
    by_class.insert(0, "limit", [*(profile.limit(c) for c in CLASSES), np.nan])
    by_rule = _group_stats(metrics, "rule", ["working_days", "same_day"])
    by_rule.index.name = "rule"

    stage_rows = []
    for stage in STAGES:
        used = metrics[f"{stage}_wd"]
        measured = int(used.notna().sum())
        breaches = int(metrics[f"{stage}_breach"].sum())
        stage_rows.append(
            {
                "stage": stage,
                "count": measured,
                "mean_wd": used.mean(),
                "p90_wd": used.quantile(0.9),
                "breaches": breaches,
                "on_time_rate": (measured - breaches) / measured if measured else np.nan,
            }
        )
    by_stage = pd.DataFrame(stage_rows).set_index("stage")

    mean = metrics["wd"].mean()
    portfolio = {
        "completed": int(metrics["wd"].notna().sum()),
        "mean_wd": mean,
        "target_wd": profile.portfolio_target,
        "met": bool(mean <= profile.portfolio_target) if not np.isnan(mean) else None,
    }
    return Report(by_class, by_rule, by_stage, portfolio, profile.name, period)


def filter_period(
    df: pd.DataFrame, profile: SlaProfile, start: date | None, end: date | None
) -> pd.DataFrame:
    """Applications whose local acceptance date lies in [start, end] (either bound optional)."""
    if start is None and end is None:
        return df
    problems: list[Problem] = []
    if "accepted_at" not in df.columns:
        raise ReportInputError([Problem("accepted_at", "required column missing")])
    days = _local_ns(df["accepted_at"], profile, "accepted_at", problems).astype("datetime64[D]")
    if problems:
        raise ReportInputError(problems)
    keep = np.ones(len(df), dtype=bool)
    if start is not None:
        keep &= days >= np.datetime64(start, "D")
    if end is not None:
        keep &= days <= np.datetime64(end, "D")
    return df[keep]


def build_report(
    df: pd.DataFrame,
    profile: SlaProfile,
    calendar: WorkingCalendar,
    start: date | None = None,
    end: date | None = None,
    as_of: datetime | None = None,
) -> Report:
    """The whole report: filter on the acceptance date, per-row metrics (vectorised), aggregation."""
    selected = filter_period(df, profile, start, end)
    return summarise(row_metrics(selected, profile, calendar, as_of), profile, (start, end))
