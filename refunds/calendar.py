"""Working-day calendar for mainland China: statutory holidays plus make-up working weekend days (调休).

Data sources, in order of precedence for a given year:
1. years loaded from the State Council notice (`extra_years`, supplied by the caller as plain data);
2. the `chinesecalendar` package (1.11.0 covers 2004-2026);
3. nothing: weekends only. Such a year is *without data*; anything computed on it is provisional.

A working day is Monday-Friday unless it is a holiday, or a Saturday/Sunday listed as a working day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class NoticeSource:
    """Where a year's data comes from (the State Council notice, or the chinesecalendar package)."""

    title: str
    document_number: str | None = None
    issued: date | None = None
    url: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class YearCalendar:
    """One year's holidays and working weekend days, as published in the official notice.

    `holidays` may include weekend days (they are rest days anyway); `workdays` are Saturdays or Sundays
    that are working days. Dates may spill into the neighbouring month of the adjacent year (the 2018
    notice, for instance, covers 2017-12-30..2018-01-01)."""

    year: int
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    source: NoticeSource
    origin: str = "notice"  # "notice" (loaded) or "chinesecalendar"

    def __post_init__(self) -> None:
        clash = set(self.holidays) & set(self.workdays)
        if clash:
            raise ValueError(f"dates both holiday and working day: {sorted(clash)}")


class CalendarError(ValueError):
    """A calendar question that cannot be answered (e.g. an invalid range)."""


@lru_cache(maxsize=1)
def chinesecalendar_years() -> dict[int, YearCalendar]:
    """The years shipped inside the chinesecalendar package, as YearCalendar objects."""
    import chinese_calendar as cc  # imported lazily: only needed when the package years are used

    years: dict[int, YearCalendar] = {}
    covered = sorted({d.year for d in cc.holidays})
    source = NoticeSource(title=f"chinesecalendar {getattr(cc, '__version__', '?')} (State Council notices)")
    for year in covered:
        holidays = {d: str(name) for d, name in cc.holidays.items() if d.year == year}
        workdays = {d: str(name) for d, name in cc.workdays.items() if d.year == year}
        years[year] = YearCalendar(year, holidays, workdays, source, origin="chinesecalendar")
    return years


@dataclass(frozen=True)
class DayCount:
    """The result of walking the calendar: the day reached and the years without data that were crossed."""

    day: date
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass
class WorkdayIndex:
    """A dense, vectorised view of the calendar over [start, end]: one entry per calendar day.

    `cum[i]` is the number of working days among days[0..i]. Counting working days in (a, b] is then
    cum[b] - cum[a], and "the k-th working day after a" is a searchsorted on cum."""

    start: np.datetime64
    is_work: np.ndarray  # bool, one per day
    cum: np.ndarray  # int64 cumulative working-day count
    has_data: np.ndarray  # bool: the day's year has calendar data
    cum_missing: np.ndarray  # int64 cumulative count of days without calendar data

    @property
    def end(self) -> np.datetime64:
        return self.start + np.timedelta64(len(self.is_work) - 1, "D")

    def offsets(self, days: np.ndarray) -> np.ndarray:
        """Positions of datetime64[D] values in the index (raises if any falls outside)."""
        pos = (days - self.start).astype(np.int64)
        if pos.size and (pos.min() < 0 or pos.max() >= len(self.is_work)):
            raise CalendarError("dates outside the working-day index range")
        return pos


@dataclass
class WorkingCalendar:
    """The working-day calendar. Pure data: no I/O. Build it from the loaded years of a CalendarStore
    (see refunds.store) with `WorkingCalendar(extra_years=store.load_all())`."""

    extra_years: Mapping[int, YearCalendar] = field(default_factory=dict)
    use_chinesecalendar: bool = True

    def __post_init__(self) -> None:
        years: dict[int, YearCalendar] = dict(chinesecalendar_years()) if self.use_chinesecalendar else {}
        years.update(self.extra_years)  # a loaded notice wins over the package for the same year
        self._years = years
        overrides: dict[date, bool] = {}
        # Apply package years first, then loaded years, so a loaded notice has the last word per date.
        for year in sorted(years, key=lambda y: (years[y].origin != "chinesecalendar", y)):
            yc = years[year]
            for d in yc.holidays:
                overrides[d] = False
            for d in yc.workdays:
                overrides[d] = True
        self._overrides = overrides
        self._index_cache: WorkdayIndex | None = None

    # ----- coverage -----------------------------------------------------------------------------
    @property
    def years_with_data(self) -> frozenset[int]:
        return frozenset(self._years)

    def has_data(self, year: int) -> bool:
        return year in self._years

    def year(self, year: int) -> YearCalendar | None:
        return self._years.get(year)

    # ----- scalar questions ---------------------------------------------------------------------
    def is_workday(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override
        return day.weekday() < 5

    def is_make_up_workday(self, day: date) -> bool:
        """A Saturday or Sunday that is a working day (调休上班)."""
        return day.weekday() >= 5 and self.is_workday(day)

    def nth_workday_after(self, day: date, n: int) -> DayCount:
        """The n-th working day strictly after `day` (day 1 = first working day after `day`, whether or
        not `day` itself is a working day). n == 0 returns `day`. Walks day by day: n is small."""
        if n < 0:
            raise CalendarError(f"n must be >= 0, got {n}")
        missing: set[int] = set()
        current, found = day, 0
        while found < n:
            current += timedelta(days=1)
            if current.year not in self._years:
                missing.add(current.year)
            if self.is_workday(current):
                found += 1
        return DayCount(current, tuple(sorted(missing)))

    def next_workday(self, day: date) -> DayCount:
        return self.nth_workday_after(day, 1)

    def workdays_in(self, after: date, until: date) -> int:
        """Number of working days d with after < d <= until (day by day; 0 when until <= after)."""
        count, current = 0, after
        while current < until:
            current += timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count

    def elapsed_workdays(self, start: date, end: date) -> int:
        """Working days used by something that starts on `start` and finishes on `end`: the smallest n
        such that `end` is not later than the n-th working day after `start` (n = 0 on the start date).
        A finish on a rest day counts as the next working day. Day-by-day reference implementation;
        `WorkdayIndex` gives the vectorised equivalent."""
        if end <= start:
            return 0
        return self.workdays_in(start, end - timedelta(days=1)) + 1

    def years_without_data(self, after: date, until: date) -> tuple[int, ...]:
        """Years of the days in (after, until] that have no calendar data."""
        if until <= after:
            return ()
        first = (after + timedelta(days=1)).year
        return tuple(y for y in range(first, until.year + 1) if y not in self._years)

    # ----- vectorised ---------------------------------------------------------------------------
    def index(self, start: date, end: date) -> WorkdayIndex:
        """A WorkdayIndex covering at least [start, end] (cached and grown as needed)."""
        if end < start:
            raise CalendarError(f"index range end {end} before start {start}")
        s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
        cached = self._index_cache
        if cached is not None and cached.start <= s and cached.end >= e:
            return cached
        if cached is not None:  # grow to the union so repeated calls stay O(1)
            s, e = min(s, cached.start), max(e, cached.end)
        days = np.arange(s, e + np.timedelta64(1, "D"), dtype="datetime64[D]")
        weekday = ((days - _EPOCH).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
        is_work = weekday < 5
        if self._overrides:
            odays = np.array(list(self._overrides), dtype="datetime64[D]")
            ovals = np.fromiter(self._overrides.values(), dtype=bool, count=len(self._overrides))
            inside = (odays >= s) & (odays <= e)
            is_work[(odays[inside] - s).astype(np.int64)] = ovals[inside]
        years = days.astype("datetime64[Y]").astype(np.int64) + 1970
        has_data = np.isin(years, np.fromiter(self._years, dtype=np.int64, count=len(self._years)))
        index = WorkdayIndex(
            s, is_work, np.cumsum(is_work, dtype=np.int64), has_data, np.cumsum(~has_data, dtype=np.int64)
        )
        self._index_cache = index
        return index

    def elapsed_workdays_array(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Vectorised `elapsed_workdays` over datetime64[D] arrays (no NaT: mask them beforehand)."""
        if start.size == 0:
            return np.zeros(0, dtype=np.int64)
        lo = min(start.min(), end.min())
        hi = max(start.max(), end.max())
        idx = self.index(_to_date(lo) - timedelta(days=1), _to_date(hi))
        ps, pe = idx.offsets(start), idx.offsets(end)
        before_end = np.maximum(pe - 1, 0)
        return np.where(pe > ps, idx.cum[before_end] - idx.cum[ps] + 1, 0)

    def missing_data_array(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Vectorised: does any day in (start, end] lie in a year without calendar data?"""
        if start.size == 0:
            return np.zeros(0, dtype=bool)
        lo, hi = min(start.min(), end.min()), max(start.max(), end.max())
        idx = self.index(_to_date(lo), _to_date(hi))
        ps, pe = idx.offsets(start), idx.offsets(end)
        return (pe > ps) & (idx.cum_missing[pe] - idx.cum_missing[np.minimum(ps, pe)] > 0)

    def nth_workday_after_array(self, start: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Vectorised `nth_workday_after(...).day` over datetime64[D] `start` and int `n` (n >= 0)."""
        if start.size == 0:
            return start.astype("datetime64[D]")
        span = int(n.max()) if n.size else 0
        # Even a month-long holiday run leaves enough headroom with 3 weeks per working day + 60 days.
        idx = self.index(_to_date(start.min()), _to_date(start.max()) + timedelta(days=span * 3 + 60))
        ps = idx.offsets(start)
        target = idx.cum[ps] + n
        pos = np.searchsorted(idx.cum, target, side="left")
        return np.where(n > 0, idx.start + pos.astype("timedelta64[D]"), start)


def _to_date(value: np.datetime64) -> date:
    return value.astype("datetime64[D]").astype(date)


def merge_years(*sources: Iterable[YearCalendar]) -> dict[int, YearCalendar]:
    """Later sources win: convenience for composing extra years from several stores."""
    merged: dict[int, YearCalendar] = {}
    for source in sources:
        for yc in source:
            merged[yc.year] = yc
    return merged
