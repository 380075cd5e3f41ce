"""CLI: `refunds deadline` in its exact form, `calendar load`, `refunds report` formats, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hub.cli import calendar as calendar_cli
from hub.cli import refunds as refunds_cli

NOTICE_2027 = Path(__file__).parent / "data" / "notice-2027-example.yaml"
ROOT = Path(__file__).parents[2]


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The two sub-apps on a bare root, with the calendar store in a temporary directory."""
    monkeypatch.setenv("HUB_CALENDAR_DIR", str(tmp_path / "calendar"))
    app = typer.Typer()
    refunds_cli.register(app)
    calendar_cli.register(app)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def test_deadline_exact_form(cli) -> None:
    result = cli("refunds", "deadline", "--class", "2", "--accepted", "2026-09-29T10:00:00+08:00")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "deadline": "2026-10-19T23:59:59+08:00",
        "rule": "working_days",
        "working_days": 10,
        "provisional": False,
        "profile": "shandong-2020",
    }
    same_day = cli(
        "refunds",
        "deadline",
        "--class",
        "1",
        "--accepted",
        "2026-10-09T15:00:00+08:00",
        "--ftz",
        "--reputable",
        "--profile",
        "shandong-2020",
    )
    assert json.loads(same_day.stdout)["rule"] == "same_day"
    assert json.loads(same_day.stdout)["deadline"] == "2026-10-09T23:59:59+08:00"


def test_calendar_load_makes_deadline_final(cli, tmp_path: Path) -> None:
    before = json.loads(cli("refunds", "deadline", "--class", "2", "--accepted", "2026-12-28T10:00").stdout)
    assert before["provisional"] is True and before["deadline"] == "2027-01-11T23:59:59+08:00"
    loaded = cli("calendar", "load", str(NOTICE_2027))
    assert loaded.exit_code == 0 and "loaded 2027" in loaded.stdout
    assert (tmp_path / "calendar" / "2027.yaml").is_file()
    after = json.loads(cli("refunds", "deadline", "--class", "2", "--accepted", "2026-12-28T10:00").stdout)
    assert after["provisional"] is False and after["deadline"] == "2027-01-12T23:59:59+08:00"
    years = cli("calendar", "years").stdout
    assert "2027  notice" in years
    shown = json.loads(cli("calendar", "show", "2027", "--format", "json").stdout)
    assert shown["workdays"]["2027-02-14"] == "春节"


def test_bad_inputs_exit_non_zero_without_traceback(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nholidays: [2027-13-01]\nworkdays: [2027-01-06]\n", "utf-8")
    cases = [
        ("calendar", "load", str(bad)),
        ("calendar", "load", str(tmp_path / "missing.yaml")),
        ("calendar", "show", "2031"),
        ("refunds", "deadline", "--class", "2", "--accepted", "not-a-time"),
        ("refunds", "deadline", "--class", "9", "--accepted", "2026-10-09T10:00"),
        ("refunds", "deadline", "--class", "2", "--accepted", "2026-10-09T10:00", "--profile", "nope"),
        ("refunds", "report", "--input", str(tmp_path / "none.csv")),
        ("refunds", "report", "--format", "xml"),
        ("refunds", "report", "--from", "2026-02-30"),
    ]
    for args in cases:
        result = cli(*args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit), args
    listing = cli("calendar", "load", str(bad)).output
    assert "source" in listing and "holidays[0]" in listing and "workdays[0]" in listing


def test_generate_then_report_in_three_formats(cli, tmp_path: Path) -> None:
    data = tmp_path / "apps.csv"
    assert cli("refunds", "generate", "--count", "500", "--out", str(data)).exit_code == 0
    table = cli("refunds", "report", "--input", str(data))
    assert table.exit_code == 0, table.output
    assert "by class" in table.stdout and "portfolio: mean" in table.stdout and "审核" in table.stdout
    as_json = json.loads(cli("refunds", "report", "--input", str(data), "--format", "json").stdout)
    assert as_json["by_class"][-1]["count"] == 500
    csv = cli(
        "refunds",
        "report",
        "--input",
        str(data),
        "--format",
        "csv",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ).stdout
    assert csv.startswith("section,key") and "class,all" in csv
    bad = tmp_path / "bad.csv"
    bad.write_text("id,class,accepted_at\nX,9,2026-01-05T10:00:00+08:00\n", "utf-8")
    failed = cli("refunds", "report", "--input", str(bad))
    assert failed.exit_code != 0 and "class: must be one of" in failed.output


def test_profiles_and_help(cli) -> None:
    listing = cli("refunds", "profiles").stdout
    assert "shandong-2020 v1" in listing and "national-2016" in listing
    assert "审批" in cli("refunds", "profiles", "--name", "shandong-2020").stdout
    for args in (
        ("refunds", "--help"),
        ("calendar", "--help"),
        ("refunds", "deadline", "--help"),
        ("refunds", "report", "--help"),
        ("calendar", "load", "--help"),
    ):
        assert cli(*args).exit_code == 0


def test_real_entry_point(tmp_path: Path) -> None:
    """The installed `swhub` root (hub.cli.main) exposes the command in its exact form."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "refunds",
            "deadline",
            "--class",
            "1",
            "--accepted",
            "2026-02-13T10:00:00+08:00",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HUB_CALENDAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deadline"] == "2026-02-24T23:59:59+08:00"  # Sat Feb 14, Tue Feb 24
