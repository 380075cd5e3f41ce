"""A scenario is checked whole before it runs (issue 14 item 8): expected states, outcomes, refund
statuses and discrepancy kinds against the real vocabularies, every problem at once, exit 2 in seconds
(before, `state: relased` ran the whole scenario and failed as an expectation 30 s later)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hub.services.clearance.holds import DOCUMENTS_NOTICE
from hub.services.clearance.workflow import OPEN_STATES
from hub.services.refunds.clocks import STAGE_LABELS_ZH
from simulators.scenario import vocab
from simulators.scenario.load import SHIPPED, ScenarioError, parse

REPO = Path(__file__).resolve().parents[2]


def with_bad_expectations() -> dict:
    data = yaml.safe_load((SHIPPED / "inspections-and-weight.yaml").read_text(encoding="utf-8"))
    decls = data["expect"]["declarations"]
    decls[0]["state"] = "relased"
    decls[1]["outcome"] = "release_on_arival"
    return data


def test_every_bad_word_is_listed_with_the_closest_real_one() -> None:
    data = with_bad_expectations()
    data["expect"].setdefault("consignments", []).append({"of": "steel", "discrepancies": ["wieght"]})
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    problems = caught.value.problems
    assert any(
        p.startswith("expect.declarations[0].state: unknown state 'relased'") and "'released'" in p
        for p in problems
    ), problems
    assert any(
        p.startswith("expect.declarations[1].outcome") and "'release_on_arrival'" in p for p in problems
    )
    assert any("discrepancies[0]: unknown kind 'wieght'" in p for p in problems), problems
    assert len(problems) == 3, problems


def test_a_type_error_elsewhere_does_not_hide_a_misspelt_state() -> None:
    data = with_bad_expectations()
    data["speed"] = "fast"  # a field error: the model is never built
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    problems = caught.value.problems
    assert any(p.startswith("speed:") for p in problems), problems
    assert any("'relased'" in p for p in problems) and any("'release_on_arival'" in p for p in problems)


def test_sim_run_refuses_two_bad_expectations_at_once_and_quickly(tmp_path: Path) -> None:
    path = tmp_path / "typos.yaml"
    path.write_text(yaml.safe_dump(with_bad_expectations(), allow_unicode=True), encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "sim", "run", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": "/bin"},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    assert "relased" in done.stdout and "release_on_arival" in done.stdout, done.stdout
    assert elapsed < 15, f"{elapsed:.1f} s: the file must be refused before anything starts"


def test_the_vocabularies_are_the_hubs() -> None:
    assert set(OPEN_STATES) <= set(vocab.DECLARATION_STATES)
    assert set(vocab.REFUND_STATUSES) == set(STAGE_LABELS_ZH)
    for name in ("cleared", "released", "rejected", "refused", "held", "submitted", "registered"):
        assert name in vocab.DECLARATION_STATES


def test_a_misspelt_notice_type_is_refused_before_the_run() -> None:
    """`type: ReleseNotice` used to run the whole scenario (about 40 s) and fail as an expectation."""
    data = yaml.safe_load((SHIPPED / "normal-day.yaml").read_text(encoding="utf-8"))
    data["expect"]["notices"][0]["type"] = "ReleseNotice"
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    assert (
        caught.value.problems
        == [p for p in caught.value.problems if p.startswith("expect.notices[0].type: unknown notice type")]
        and "did you mean 'ReleaseNotice'?" in caught.value.problems[0]
    ), caught.value.problems
    data["expect"]["declarations"][1]["kind"] = "compleet"  # the model is not built: still caught
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    assert any(p.startswith("expect.notices[0].type: unknown notice type") for p in caught.value.problems)


def test_one_location_format_for_field_and_word_problems() -> None:
    data = with_bad_expectations()
    data["expect"]["declarations"][1]["kind"] = "compleet"
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    problems = caught.value.problems
    assert any(p.startswith("expect.declarations[1].kind:") for p in problems), problems
    assert any(p.startswith("expect.declarations[0].state:") for p in problems), problems
    assert not [p for p in problems if re.match(r"^\S*\.\d+(\.|:)", p)], problems


def _hub_notice_types() -> set[str]:
    """Every literal notice type the hub's code passes to outbound.send/send_model/send_json for a
    party (the messages a party receives and expect.notices counts)."""
    position = {"send": 2, "send_json": 2, "send_model": 3}
    names = {"DOCUMENTS_NOTICE": DOCUMENTS_NOTICE}
    found: set[str] = set()
    for path in (REPO / "hub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "outbound" and node.func.attr in position):
                continue
            arg = node.args[position[node.func.attr]]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            else:
                assert isinstance(arg, ast.Name) and arg.id in names, (path, ast.dump(arg))
                found.add(names[arg.id])
    return found


def test_the_notice_types_are_what_the_hub_sends() -> None:
    sent = _hub_notice_types()
    assert {"ReleaseNotice", "InspectionNotice", "MT9999"} <= sent, sent
    assert set(vocab.NOTICE_TYPES) == sent


def test_a_field_error_does_not_hide_a_dangling_reference() -> None:
    """Every problem at once (item 8): with one `kind:` wrong the model is never built, and the
    references of the expectations used to go unchecked until the next run."""
    data = yaml.safe_load((SHIPPED / "normal-day.yaml").read_text(encoding="utf-8"))
    data["expect"]["declarations"][1]["kind"] = "compleet"
    data["expect"]["notices"][0]["of"] = "laptopz"
    data["expect"]["notices"][2]["to"] = "carier_agent"
    data["expect"]["consignments"][0]["of"] = "ghost"
    with pytest.raises(ScenarioError) as caught:
        parse(data)
    problems = caught.value.problems
    for expected in (
        "expect.declarations[1].kind:",
        "expect.notices[0].of: unknown consignment 'laptopz'",
        "expect.notices[2].to: unknown party 'carier_agent'",
        "expect.consignments[0].of: unknown consignment 'ghost'",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert len(problems) == 4, problems
