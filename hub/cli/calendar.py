"""`swhub calendar ...`: load the State Council holiday notice for a year, list and show calendar years.

Loaded years are kept in the hub's database (table calendar_year, HUB_DATABASE_URL); `--store DIR` (or
HUB_CALENDAR_DIR) keeps them as YAML files in DIR instead, for use without a database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from refunds.calendar import CalendarError, WorkingCalendar, chinesecalendar_years
from refunds.notice import NoticeError, load_notice_file
from refunds.store import CalendarStore, FileCalendarStore

calendar_app = typer.Typer(
    name="calendar",
    help="Working-day calendar: holidays and make-up working days (调休), per year.",
    no_args_is_help=True,
)

StoreOption = typer.Option(
    None,
    "--store",
    envvar="HUB_CALENDAR_DIR",
    help="Keep loaded years as files in this directory instead of the hub database.",
)


def store_for(store_dir: Path | None) -> CalendarStore:
    """The hub database by default; a directory of notice files when one is given."""
    if store_dir is not None:
        return FileCalendarStore(store_dir)
    from hub.config import get_settings
    from hub.db.session import Database
    from hub.services.calendar_store import DbCalendarStore

    return DbCalendarStore(Database(get_settings().database_url))


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clean error (no traceback) and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def open_calendar(store_dir: Path | None) -> WorkingCalendar:
    """chinesecalendar years plus the years loaded into the store (shared with `swhub refunds`)."""
    try:
        return WorkingCalendar(extra_years=store_for(store_dir).load_all())
    except NoticeError as exc:
        raise fail(f"stored calendar data is invalid: {exc}") from None


@calendar_app.command("load")
def load(
    file: Path = typer.Argument(..., help="Notice file (YAML or JSON): year, source, holidays, workdays."),
    store: Path | None = StoreOption,
) -> None:
    """Validate a year's official holiday notice and store it.

    Deadlines in that year stop being provisional; provisional deadlines computed earlier must be
    recomputed by their owner (refunds.deadline.recompute_provisional)."""
    try:
        year_calendar = load_notice_file(file)
    except NoticeError as exc:
        raise fail(str(exc)) from None
    target = store_for(store)
    try:
        if store is None:
            from hub.config import get_settings
            from hub.db.migrate import upgrade

            upgrade(get_settings().database_url)
        target.save(year_calendar)
    except (OSError, SQLAlchemyError) as exc:
        raise fail(f"cannot store the notice: {exc}") from None
    replaced = (
        " (replaces the chinesecalendar data for that year)"
        if year_calendar.year in chinesecalendar_years()
        else ""
    )
    typer.echo(
        f"loaded {year_calendar.year}: {len(year_calendar.holidays)} holiday day(s), "
        f"{len(year_calendar.workdays)} working weekend day(s) from '{year_calendar.source.title}'"
        f"{replaced} -> {store or 'database'}"
    )


@calendar_app.command("years")
def years(store: Path | None = StoreOption) -> None:
    """List the years with calendar data and where each comes from."""
    calendar = open_calendar(store)
    for year in sorted(calendar.years_with_data):
        yc = calendar.year(year)
        assert yc is not None
        typer.echo(f"{year}  {yc.origin:<16} {yc.source.title}")


@calendar_app.command("show")
def show(
    year: int = typer.Argument(..., help="Calendar year."),
    output: str = typer.Option("text", "--format", help="text or json."),
    store: Path | None = StoreOption,
) -> None:
    """Show a year's holidays and working weekend days."""
    if output not in ("text", "json"):
        raise fail(f"--format must be text or json, got {output!r}")
    calendar = open_calendar(store)
    yc = calendar.year(year)
    if yc is None:
        raise fail(f"no calendar data for {year}: weekends only (provisional); load the notice first", 1)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "year": yc.year,
                    "origin": yc.origin,
                    "source": yc.source.title,
                    "holidays": {d.isoformat(): n for d, n in sorted(yc.holidays.items())},
                    "workdays": {d.isoformat(): n for d, n in sorted(yc.workdays.items())},
                },
                ensure_ascii=False,
            )
        )
        return
    typer.echo(f"{yc.year} ({yc.origin}): {yc.source.title}")
    typer.echo("holidays:")
    for d, name in sorted(yc.holidays.items()):
        typer.echo(f"  {d} {d:%a} {name}")
    typer.echo("working weekend days:")
    for d, name in sorted(yc.workdays.items()):
        typer.echo(f"  {d} {d:%a} {name}")


@calendar_app.command("workdays")
def workdays(
    after: str = typer.Argument(..., help="Start date YYYY-MM-DD (not counted)."),
    until: str = typer.Argument(..., help="End date YYYY-MM-DD (counted)."),
    store: Path | None = StoreOption,
) -> None:
    """Count working days d with AFTER < d <= UNTIL (and say whether a year without data was crossed)."""
    try:
        start, end = date.fromisoformat(after), date.fromisoformat(until)
    except ValueError as exc:
        raise fail(f"dates must be YYYY-MM-DD: {exc}") from None
    calendar = open_calendar(store)
    try:
        count = calendar.workdays_in(start, end)
    except CalendarError as exc:
        raise fail(str(exc)) from None
    missing = calendar.years_without_data(start, end)
    typer.echo(
        json.dumps({"working_days": count, "provisional": bool(missing), "years_without_data": missing})
    )


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
