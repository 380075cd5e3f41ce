"""Loaded calendar years live in the database: round trip on both databases, and the CLI path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from hub.db.migrate import upgrade
from hub.db.session import Database
from hub.services.calendar_store import DbCalendarStore
from refunds.calendar import WorkingCalendar
from refunds.notice import load_notice_file

NOTICE_2027 = Path(__file__).parents[1] / "refunds" / "data" / "notice-2027-example.yaml"
ROOT = Path(__file__).parents[2]


def test_store_round_trips_a_notice_year(db_url: str) -> None:
    db = Database(db_url)
    store = DbCalendarStore(db)
    assert store.load_all() == {}  # not migrated yet: nothing loaded, no crash
    upgrade(db_url)
    notice = load_notice_file(NOTICE_2027)
    store.save(notice)
    store.save(notice)  # loading the same year again replaces it
    loaded = store.load_all()
    db.dispose()
    assert set(loaded) == {2027}
    assert dict(loaded[2027].holidays) == dict(notice.holidays)
    assert dict(loaded[2027].workdays) == dict(notice.workdays)
    calendar = WorkingCalendar(extra_years=loaded)
    assert calendar.is_workday(date(2027, 2, 14))  # a working Sunday (调休) from the notice
    assert not calendar.is_workday(date(2027, 10, 4))


def test_cli_loads_into_the_database_and_deadlines_stop_being_provisional(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    env.pop("HUB_CALENDAR_DIR", None)

    def swhub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli.main", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )

    deadline_args = ("refunds", "deadline", "--class", "2", "--accepted", "2026-12-24T10:00:00+08:00")
    before = json.loads(swhub(*deadline_args).stdout)
    assert before["provisional"] is True
    loaded = swhub("calendar", "load", str(NOTICE_2027))
    assert loaded.returncode == 0, loaded.stderr
    assert "database" in loaded.stdout
    after = json.loads(swhub(*deadline_args).stdout)
    assert after["provisional"] is False
