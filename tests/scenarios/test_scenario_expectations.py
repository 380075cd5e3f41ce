"""A scenario whose expectations are wrong fails with a clear list of what differed (runner and CLI exit
code), and an invalid scenario file is refused with every problem at once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulators.scenario.durations import parse_offset
from simulators.scenario.load import SHIPPED, ScenarioError, parse

REPO = Path(__file__).resolve().parents[2]


def shipped_data(name: str) -> dict:
    return yaml.safe_load((SHIPPED / f"{name}.yaml").read_text(encoding="utf-8"))


def test_offsets() -> None:
    assert parse_offset("+3h30m").total_seconds() == 12600
    assert parse_offset("-1d").total_seconds() == -86400
    assert parse_offset(90).total_seconds() == 90
    for bad in ("3 hours", "+", "1h2x"):
        with pytest.raises(ValueError):
            parse_offset(bad)


def test_invalid_scenario_lists_every_problem() -> None:
    data = shipped_data("inspections-and-weight")
    data["vessels"][0]["consignments"][0]["declarations"]["summary"]["by"] = "nobody"
    data["vessels"][0]["arrival"] = "soon"
    data["expect"]["declarations"][0]["of"] = "ghost"
    data["parties"]["haitong"]["uscc"] = "91370200MA3C0IOS01"  # I, O, S: not in GB 32100
    data["start"] = "2026-11-24T06:00:00"  # no offset
    with pytest.raises(ScenarioError) as caught:
        parse(data, "bad.yaml")
    text = " | ".join(caught.value.problems)
    assert "parties.haitong.uscc" in text and "start" in text
    # the reference problems are reported once the fields themselves are valid
    data["parties"]["haitong"]["uscc"] = "91370200M3C0BRK01N"
    data["start"] = "2026-11-24T06:00:00+08:00"
    with pytest.raises(ScenarioError) as caught:
        parse(data, "bad.yaml")
    problems = caught.value.problems
    assert any("declarations.summary.by: unknown party 'nobody'" in p for p in problems)
    assert any("vessels[0].arrival: bad duration 'soon'" in p for p in problems)
    assert any("expect.declarations[0].of: unknown consignment 'ghost'" in p for p in problems)


@pytest.mark.slow
def test_wrong_expectations_fail_with_the_differences_listed(tmp_path: Path) -> None:
    data = shipped_data("inspections-and-weight")
    data["name"] = "wrong-expectations"
    data["settle"] = "1h"
    data["expect"]["declarations"][2] = {"of": "laptops", "state": "cleared", "outcome": "port_inspection"}
    data["expect"]["consignments"][0] = {"of": "machinery", "released": 5}
    data["expect"]["port"] = {"gated_out": 99}
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "sim",
            "run",
            str(path),
            "--quiet",
            "--json",
            str(tmp_path / "result.json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    import json

    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    failed = "\n".join(result["failed"])
    assert "(laptops summary): state: expected cleared, got released" in failed
    assert "(laptops summary): screening outcome: expected port_inspection, got release_on_arrival" in failed
    assert "(machinery): containers released: expected 5, got 2" in failed
    assert "expect.port: gated out: expected 99, got 7" in failed
    assert len(result["failed"]) == 4  # the right expectations still pass
    assert "4 expectation(s) failed" in done.stdout


def test_invalid_scenario_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nstart: yesterday\nparties: {}\nvessels: [{id: V}]\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "sim", "run", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the scenario is not valid" in done.stdout and "start" in done.stdout


def test_the_live_timeline_shows_consignment_events_and_80_columns_keep_each_expectation(
    tmp_path: Path,
) -> None:
    """Issue 14 item 11: manifest, arrival, tally and inspection events on the timeline; at 80 columns
    every expectation is still named in full (the table used to squeeze that column to '…')."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "sim",
            "run",
            "inspections-and-weight",
            "--json",
            str(tmp_path / "result.json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for event in ("manifest accepted", "container(s) (运抵)", "container(s) (理货)", "(查验)"):
        assert event in out, f"{event!r} not on the timeline:\n{out[-3000:]}"
    flat_timeline = " ".join(out.split())
    released = re.findall(r"(\S+) summary: released", flat_timeline)
    assert released, out[-3000:]
    for bill in released:  # the arrivals a release needs come before it, not after
        last_arrival = [m for m in re.finditer(rf"{bill} arrived (\d+)/(\d+) container", flat_timeline)][-1]
        assert last_arrival.group(1) == last_arrival.group(2), (bill, last_arrival.group(0))
        assert last_arrival.start() < flat_timeline.index(f"{bill} summary: released"), out[-3000:]
    import json

    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    flat = " ".join(out.split())
    for line in result["checks"]:
        where_what = line.split(": expected ", 1)[0].removeprefix("ok  ").removeprefix("FAIL").strip()
        assert " ".join(where_what.split()) in flat, f"{where_what!r} cut at 80 columns"
