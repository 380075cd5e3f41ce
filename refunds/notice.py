"""Parser for the holiday-notice file loaded with `swhub calendar load FILE` (YAML or JSON).

Format (see docs/refunds.md):

    year: 2027
    source:
      title: 国务院办公厅关于2027年部分节假日安排的通知
      document_number: 国办发明电〔2026〕X号      # optional
      issued: 2026-11-05                          # optional
      url: https://www.gov.cn/...                 # optional
      text: |                                     # optional: the notice text
        一、元旦：1月1日放假……
    holidays:
      - {name: 元旦, start: 2027-01-01, end: 2027-01-03}
      - {name: 清明节, start: 2027-04-05}          # end defaults to start
      - 2027-06-14                                # a bare date is a one-day holiday
    workdays:                                     # Saturdays/Sundays that are working days (调休上班)
      - 2027-02-06
      - {date: 2027-02-20, name: 春节}

Validation collects every problem, each with its location, and raises NoticeError once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from refunds.calendar import NoticeSource, YearCalendar

_TOP_KEYS = {"year", "source", "holidays", "workdays"}
_SOURCE_KEYS = {"title", "document_number", "issued", "url", "text"}
_HOLIDAY_KEYS = {"name", "start", "end"}
_WORKDAY_KEYS = {"date", "name"}
MAX_HOLIDAY_RUN_DAYS = 31  # longest plausible run of consecutive holiday days in one entry


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date becomes a located validation problem instead
    of an exception inside the YAML constructor."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse YAML safely, keeping dates as strings (validated later with their location)."""
    return yaml.load(text, Loader=_TextDatesLoader)  # a SafeLoader subclass: no arbitrary objects


@dataclass(frozen=True)
class Problem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class NoticeError(ValueError):
    """The notice file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem], origin: str = "notice") -> None:
        self.problems = problems
        self.origin = origin
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s)\n{lines}")


def load_notice_file(path: Path) -> YearCalendar:
    """Read and validate a notice file (.yaml/.yml/.json; anything else is parsed as YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoticeError([Problem("file", f"cannot read {path}: {exc}")], origin=str(path)) from exc
    return parse_notice_text(text, origin=str(path), is_json=path.suffix.lower() == ".json")


def parse_notice_text(text: str, origin: str = "notice", is_json: bool = False) -> YearCalendar:
    try:
        data = json.loads(text) if is_json else load_yaml(text)
    except json.JSONDecodeError as exc:
        raise NoticeError([Problem(f"line {exc.lineno}", f"invalid JSON: {exc.msg}")], origin) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise NoticeError([Problem(where, f"invalid YAML: {getattr(exc, 'problem', exc)}")], origin) from exc
    return parse_notice(data, origin)


def parse_notice(data: Any, origin: str = "notice") -> YearCalendar:
    """Validate already-decoded notice data (a mapping) into a YearCalendar."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise NoticeError(
            [Problem("(root)", "expected a mapping with year, source, holidays, workdays")], origin
        )
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(Problem(str(key), f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})"))

    year = data.get("year")
    if year is None:
        problems.append(Problem("year", "required"))
    elif not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200:
        problems.append(Problem("year", f"must be an integer year between 1949 and 2200, got {year!r}"))
        year = None

    source = _parse_source(data.get("source"), problems)
    holidays = _parse_holidays(data.get("holidays"), year, problems)
    workdays = _parse_workdays(data.get("workdays"), year, problems)

    for day in sorted(set(holidays) & set(workdays)):
        problems.append(Problem("workdays", f"{day} is listed both as a holiday and as a working day"))

    if problems:
        raise NoticeError(problems, origin)
    assert year is not None and source is not None  # guaranteed when there are no problems
    return YearCalendar(year, holidays, workdays, source, origin="notice")


def _parse_source(raw: Any, problems: list[Problem]) -> NoticeSource | None:
    if raw is None:
        problems.append(Problem("source", "required (at least source.title: the notice it comes from)"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("source", "must be a mapping with title, document_number, issued, url, text"))
        return None
    for key in sorted(set(raw) - _SOURCE_KEYS, key=str):
        problems.append(Problem(f"source.{key}", "unknown key"))
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("source.title", "required non-empty text"))
    issued = raw.get("issued")
    issued_date = None
    if issued is not None:
        issued_date = _as_date(issued, "source.issued", problems)
    for key in ("document_number", "url", "text"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            problems.append(Problem(f"source.{key}", "must be text"))
    if problems and any(p.location.startswith("source") for p in problems):
        return None
    return NoticeSource(
        title=str(title).strip(),
        document_number=raw.get("document_number"),
        issued=issued_date,
        url=raw.get("url"),
        text=raw.get("text"),
    )


def _parse_holidays(raw: Any, year: int | None, problems: list[Problem]) -> dict[date, str]:
    result: dict[date, str] = {}
    if raw is None:
        problems.append(Problem("holidays", "required (a list; a notice always has holidays)"))
        return result
    if not isinstance(raw, list):
        problems.append(Problem("holidays", "must be a list"))
        return result
    if not raw:
        problems.append(Problem("holidays", "must not be empty"))
    for i, entry in enumerate(raw):
        loc = f"holidays[{i}]"
        name = ""
        if isinstance(entry, dict):
            for key in sorted(set(entry) - _HOLIDAY_KEYS, key=str):
                problems.append(Problem(f"{loc}.{key}", "unknown key (allowed: name, start, end)"))
            name = entry.get("name") or ""
            if not isinstance(name, str):
                problems.append(Problem(f"{loc}.name", "must be text"))
                name = ""
            if "start" not in entry:
                problems.append(Problem(f"{loc}.start", "required"))
                continue
            start = _as_date(entry["start"], f"{loc}.start", problems)
            end = _as_date(entry["end"], f"{loc}.end", problems) if "end" in entry else start
        else:
            start = end = _as_date(entry, loc, problems)
        if start is None or end is None:
            continue
        if end < start:
            problems.append(Problem(f"{loc}.end", f"{end} is before start {start}"))
            continue
        if (end - start).days + 1 > MAX_HOLIDAY_RUN_DAYS:
            problems.append(
                Problem(loc, f"range of {(end - start).days + 1} days exceeds {MAX_HOLIDAY_RUN_DAYS}")
            )
            continue
        day = start
        while day <= end:
            if _check_year(day, year, loc, problems):
                if day in result:
                    problems.append(Problem(loc, f"{day} listed twice among holidays"))
                result[day] = name
            day += timedelta(days=1)
    return result


def _parse_workdays(raw: Any, year: int | None, problems: list[Problem]) -> dict[date, str]:
    result: dict[date, str] = {}
    if raw is None:
        return result  # some years have no make-up working days
    if not isinstance(raw, list):
        problems.append(Problem("workdays", "must be a list"))
        return result
    for i, entry in enumerate(raw):
        loc = f"workdays[{i}]"
        name = ""
        if isinstance(entry, dict):
            for key in sorted(set(entry) - _WORKDAY_KEYS, key=str):
                problems.append(Problem(f"{loc}.{key}", "unknown key (allowed: date, name)"))
            name = entry.get("name") or ""
            if not isinstance(name, str):
                problems.append(Problem(f"{loc}.name", "must be text"))
                name = ""
            if "date" not in entry:
                problems.append(Problem(f"{loc}.date", "required"))
                continue
            day = _as_date(entry["date"], f"{loc}.date", problems)
        else:
            day = _as_date(entry, loc, problems)
        if day is None or not _check_year(day, year, loc, problems):
            continue
        if day.weekday() < 5:
            problems.append(
                Problem(loc, f"{day} is a {day:%A}: only a Saturday or Sunday can be a make-up working day")
            )
            continue
        if day in result:
            problems.append(Problem(loc, f"{day} listed twice among working days"))
        result[day] = name
    return result


def _as_date(value: Any, loc: str, problems: list[Problem]) -> date | None:
    if isinstance(value, date):  # YAML gives datetime.date for unquoted ISO dates
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(Problem(loc, f"expected a date YYYY-MM-DD, got {value!r}"))
    return None


def _check_year(day: date, year: int | None, loc: str, problems: list[Problem]) -> bool:
    """A notice covers its year; it may spill into December of the previous year or January of the next
    (e.g. a New Year holiday 12-30..01-01), nothing further."""
    if year is None:
        return True
    if (
        day.year == year
        or (day.year == year - 1 and day.month == 12)
        or (day.year == year + 1 and day.month == 1)
    ):
        return True
    problems.append(Problem(loc, f"{day} is outside the notice year {year} (and its adjacent month)"))
    return False


def dump_notice(calendar: YearCalendar) -> dict[str, Any]:
    """The YearCalendar as notice-file data (round-trips through parse_notice). Consecutive holiday days
    with the same name are folded back into ranges."""
    source: dict[str, Any] = {"title": calendar.source.title}
    for key in ("document_number", "url", "text"):
        if getattr(calendar.source, key):
            source[key] = getattr(calendar.source, key)
    if calendar.source.issued:
        source["issued"] = calendar.source.issued.isoformat()
    runs: list[dict[str, Any]] = []
    for day in sorted(calendar.holidays):
        name = calendar.holidays[day]
        last = runs[-1] if runs else None
        if last and last["name"] == name and date.fromisoformat(last["end"]) + timedelta(days=1) == day:
            last["end"] = day.isoformat()
        else:
            runs.append({"name": name, "start": day.isoformat(), "end": day.isoformat()})
    workdays = [{"date": d.isoformat(), "name": n} for d, n in sorted(calendar.workdays.items())]
    return {"year": calendar.year, "source": source, "holidays": runs, "workdays": workdays}
