"""Database-backed store for loaded calendar years (refunds.store.CalendarStore protocol)."""

from __future__ import annotations

import json

from sqlalchemy import inspect, select

from hub.clock import now
from hub.db.models import CalendarYear
from hub.db.session import Database
from refunds.calendar import YearCalendar
from refunds.notice import dump_notice, parse_notice


class DbCalendarStore:
    """One calendar_year row per loaded year, holding the notice data exactly as parsed."""

    def __init__(self, db: Database, loaded_by: str = "cli") -> None:
        self.db = db
        self.loaded_by = loaded_by

    def save(self, calendar: YearCalendar) -> None:
        data = dump_notice(calendar)
        with self.db.unit_of_work() as session:
            row = session.get(CalendarYear, calendar.year) or CalendarYear(year=calendar.year)
            row.holidays = data["holidays"]
            row.working_weekends = data["workdays"]
            row.source = json.dumps(data["source"], ensure_ascii=False)
            row.loaded_at = now()
            row.loaded_by = self.loaded_by
            session.add(row)

    def load_all(self) -> dict[int, YearCalendar]:
        if not inspect(self.db.engine).has_table(CalendarYear.__tablename__):
            return {}  # database not migrated yet: no year was ever loaded into it
        with self.db.sessions() as session:
            rows = list(session.scalars(select(CalendarYear)))
        years: dict[int, YearCalendar] = {}
        for row in rows:
            data = {
                "year": row.year,
                "source": json.loads(row.source),
                "holidays": row.holidays,
                "workdays": row.working_weekends,
            }
            years[row.year] = parse_notice(data, origin=f"database calendar_year {row.year}")
        return years
