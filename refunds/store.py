"""Where loaded notice years live. The library only needs the `CalendarStore` protocol; the hub can
provide a database-backed store. The default keeps one YAML file per year under var/calendar/."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import yaml

from refunds.calendar import WorkingCalendar, YearCalendar
from refunds.notice import NoticeError, dump_notice, load_yaml, parse_notice


class CalendarStore(Protocol):
    def save(self, calendar: YearCalendar) -> None:
        """Store (or replace) one year's notice data."""
        ...

    def load_all(self) -> dict[int, YearCalendar]:
        """Every stored year, keyed by year."""
        ...


class FileCalendarStore:
    """One `<year>.yaml` notice file per loaded year in `directory` (written atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, year: int) -> Path:
        return self.directory / f"{year}.yaml"

    def save(self, calendar: YearCalendar) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_for(calendar.year)
        tmp = target.with_suffix(".yaml.tmp")
        tmp.write_text(yaml.safe_dump(dump_notice(calendar), allow_unicode=True, sort_keys=False), "utf-8")
        tmp.replace(target)

    def load_all(self) -> dict[int, YearCalendar]:
        years: dict[int, YearCalendar] = {}
        if not self.directory.is_dir():
            return years
        for path in sorted(self.directory.glob("*.yaml")):
            try:
                data = load_yaml(path.read_text("utf-8"))
            except yaml.YAMLError as exc:
                raise NoticeError([], origin=f"{path}: unreadable stored notice: {exc}") from exc
            calendar = parse_notice(data, origin=str(path))
            years[calendar.year] = calendar
        return years


class MemoryCalendarStore:
    """In-memory store, for tests and for callers that keep the data elsewhere."""

    def __init__(self) -> None:
        self._years: dict[int, YearCalendar] = {}

    def save(self, calendar: YearCalendar) -> None:
        self._years[calendar.year] = calendar

    def load_all(self) -> dict[int, YearCalendar]:
        return dict(self._years)


def calendar_from_store(store: CalendarStore) -> WorkingCalendar:
    """chinesecalendar years plus every year loaded into `store` (a loaded year wins)."""
    return WorkingCalendar(extra_years=store.load_all())
