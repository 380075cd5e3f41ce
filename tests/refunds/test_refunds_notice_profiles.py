"""Notice files and SLA profiles: validation lists every problem with its location; stores round-trip."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from refunds.notice import NoticeError, load_notice_file, parse_notice, parse_notice_text
from refunds.sla import ProfileError, ProfileRegistry, parse_profile
from refunds.store import FileCalendarStore, MemoryCalendarStore, calendar_from_store

NOTICE_2027 = Path(__file__).parent / "data" / "notice-2027-example.yaml"


def test_example_notice_parses() -> None:
    yc = load_notice_file(NOTICE_2027)
    assert yc.year == 2027 and yc.origin == "notice"
    assert len(yc.holidays) == 31 and date(2027, 2, 13) in yc.holidays
    assert yc.workdays[date(2027, 10, 9)] == "国庆节"
    assert yc.source.issued == date(2026, 11, 1)


def test_every_problem_is_listed_with_its_location() -> None:
    bad = """
year: 2027
extra: 1
source: {title: ""}
holidays:
  - {name: 元旦, start: 2027-01-03, end: 2027-01-01}
  - 2029-05-01
  - {name: x, start: notadate}
  - {name: y}
  - {name: z, start: 2027-03-01, end: 2027-05-01}
workdays:
  - 2027-02-10
  - {date: 2027-05-01}
  - {date: 2027-05-08, colour: red}
"""
    with pytest.raises(NoticeError) as err:
        parse_notice_text(bad)
    assert [p.location for p in err.value.problems] == [
        "extra",
        "source.title",
        "holidays[0].end",
        "holidays[1]",
        "holidays[2].start",
        "holidays[3].start",
        "holidays[4]",
        "workdays[0]",
        "workdays[2].colour",
    ]
    messages = str(err.value)
    assert "is a Wednesday" in messages and "outside the notice year 2027" in messages
    assert "62 days exceeds 31" in messages


def test_holiday_and_workday_clash_and_missing_parts() -> None:
    with pytest.raises(NoticeError) as err:
        parse_notice(
            {"year": 2027, "source": {"title": "t"}, "holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}
        )
    assert [p.location for p in err.value.problems] == ["workdays"]
    with pytest.raises(NoticeError) as err:
        parse_notice({})
    assert [p.location for p in err.value.problems] == ["year", "source", "holidays"]
    with pytest.raises(NoticeError) as err:
        parse_notice_text("year: [1, 2", origin="x.yaml")
    assert err.value.problems[0].message.startswith("invalid YAML")
    with pytest.raises(NoticeError):
        parse_notice_text("{", is_json=True)


def test_spill_into_the_adjacent_month_is_allowed() -> None:
    yc = parse_notice(
        {
            "year": 2018,
            "source": {"title": "t"},
            "holidays": [{"name": "元旦", "start": "2017-12-30", "end": "2018-01-01"}],
        }
    )
    assert date(2017, 12, 30) in yc.holidays


def test_file_store_round_trip_and_calendar(tmp_path: Path) -> None:
    store = FileCalendarStore(tmp_path / "calendar")
    assert store.load_all() == {}
    original = load_notice_file(NOTICE_2027)
    store.save(original)
    assert store.path_for(2027).is_file()
    again = store.load_all()[2027]
    assert (dict(again.holidays), dict(again.workdays), again.source) == (
        dict(original.holidays),
        dict(original.workdays),
        original.source,
    )
    calendar = calendar_from_store(store)
    assert calendar.has_data(2027) and not calendar.is_workday(date(2027, 1, 1))
    memory = MemoryCalendarStore()
    memory.save(original)
    assert calendar_from_store(memory).has_data(2027)


def _profile_data() -> dict:
    path = Path(__file__).parents[2] / "refunds" / "profiles" / "shandong-2020.yaml"
    return yaml.safe_load(path.read_text("utf-8"))


def test_builtin_profiles() -> None:
    registry = ProfileRegistry.builtin()
    assert registry.names() == ["national-2016", "shandong-2020"]
    p = registry.get("shandong-2020")
    assert [p.limit(c) for c in (1, 2, 3, 4)] == [2, 10, 15, 20]
    assert p.portfolio_target == 10 and p.same_day.cutoff.hour == 16
    assert p.same_day_applies(2, ftz=True, reputable=True)
    assert not p.same_day_applies(2, ftz=True, reputable=False)
    assert "2个工作日" in p.source.text
    assert registry.select("370000", date(2024, 1, 1)).name == "shandong-2020"
    assert registry.select("CN", date(2024, 1, 1)).name == "national-2016"
    with pytest.raises(ProfileError, match="no profile in force"):
        registry.select("370000", date(2019, 1, 1))


def test_profile_validation_lists_every_problem() -> None:
    data = _profile_data()
    data["classes"][2] = {"limit": 0}
    data["stages"]["review"][1] = 5  # review 5 + approval 1 > class-1 limit 2
    data["same_day"]["cutoff"] = "25:00"
    data["traffic_lights"]["amber_ratio"] = 1.5
    data["colour"] = "red"
    del data["source"]
    with pytest.raises(ProfileError) as err:
        parse_profile(data)
    assert sorted(p.location for p in err.value.problems) == sorted(
        [
            "colour",
            "source.title",
            "classes.2.limit",
            "stages.review/approval.1",
            "same_day.cutoff",
            "traffic_lights.amber_ratio",
        ]
    )


def test_extra_profile_directory_and_versions(tmp_path: Path) -> None:
    data = _profile_data()
    data.update(name="shandong-2023", version=2, effective_from="2023-01-01")
    data["classes"][1] = {"limit": 1}
    data["stages"]["review"][1] = 0
    (tmp_path / "shandong-2023.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    registry = ProfileRegistry.builtin(tmp_path)
    assert registry.select("370000", date(2022, 6, 1)).name == "shandong-2020"
    assert registry.select("370000", date(2024, 6, 1)).name == "shandong-2023"
    assert registry.get("shandong-2023").limit(1) == 1
    with pytest.raises(ProfileError, match="unknown profile"):
        registry.get("nope")
