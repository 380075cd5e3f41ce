"""`swhub risk screen | simulate | what-if` through the real CLI root and the real DecMessage codec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from risk_builders import decl, item
from typer.testing import CliRunner

from hub.cli.main import app
from messages.xml.declaration import render_declaration
from risk import DEFAULT_RULES_DIR

runner = CliRunner()
FIELDS = {"stage", "outcome", "lane", "checks", "location", "hits", "sampled", "ruleset_version"}


def run(*args: str):
    return runner.invoke(app, ["risk", *args])


@pytest.fixture
def fruit_xml(tmp_path) -> Path:
    path = tmp_path / "cherries.xml"
    cherries = decl(item("0809290000", "CHL", qty="18000", price="8.2"), licences=("A",))
    path.write_bytes(render_declaration(cherries))
    return path


def test_screen_prints_one_json_object(fruit_xml):
    result = run("screen", str(fruit_xml), "--stage", "2", "--credit", "aeo", "--seed", "1")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == FIELDS
    assert out["stage"] == 2 and out["outcome"] == "release_on_inspection" and out["lane"] == "red"
    assert out["hits"][0]["rule_id"] == "S2-FRUIT-001" and out["hits"][0]["reason"]
    assert out["location"] == "port" and out["sampled"] is False


def test_screen_credit_and_seed_drive_the_sample(fruit_xml):
    outs = [json.loads(run("screen", str(fruit_xml), "--credit", "discredited", "--seed", str(s)).stdout)
            for s in range(12)]  # fmt: skip
    assert {o["sampled"] for o in outs} == {True, False}  # 84.76 %: some sampled, some not over 12 seeds
    again = json.loads(run("screen", str(fruit_xml), "--credit", "discredited", "--seed", "3").stdout)
    assert again == outs[3]
    sampled = next(o for o in outs if o["sampled"])
    assert sampled["outcome"] == "port_inspection"
    assert "RANDOM-S1" in [h["rule_id"] for h in sampled["hits"]]


def test_screen_weights_from_options(tmp_path):
    path = tmp_path / "toys.xml"
    path.write_bytes(
        render_declaration(decl(item("9503008900", "VNM", qty="3000", price="6"), gross="10000"))
    )
    out = json.loads(
        run("screen", str(path), "--credit", "general", "--manifest-kg", "10000", "--tally-kg", "8500").stdout
    )
    assert out["outcome"] == "port_inspection" and {h["rule_id"] for h in out["hits"]} >= {"S1-WEIGHT-001"}
    # an AEO trader: the same hit is recorded with its credit adjustment and draw, waived at 5 %
    aeo = json.loads(
        run("screen", str(path), "--credit", "aeo", "--manifest-kg", "10000", "--tally-kg", "8500").stdout
    )
    weight = next(h for h in aeo["hits"] if h["rule_id"] == "S1-WEIGHT-001")
    adj = weight["credit_adjustment"]
    assert adj["kind"] == "reduced_rate" and adj["rate"] == 0.05 and adj["credit_class"] == "aeo"
    assert weight["applied"] is adj["selected"] is (adj["draw"] < 0.05)
    assert "5.00%" in adj["reason"] and "draw" in adj["reason"]


def test_edifact_cusdec_screens_like_the_same_declaration_in_xml(tmp_path):
    from messages.convert import convert

    xml_path = tmp_path / "toys.xml"
    xml_path.write_bytes(render_declaration(decl(item("9503008900", "VNM", qty="3000", price="6"))))
    edi_path = tmp_path / "toys.edi"
    edi_path.write_bytes(convert(xml_path.read_bytes(), to="edifact")[0].content)
    assert edi_path.read_bytes().startswith(b"UNA") and b"CUSDEC" in edi_path.read_bytes()
    from_xml = json.loads(run("screen", str(xml_path), "--credit", "general").stdout)
    from_edi = json.loads(run("screen", str(edi_path), "--credit", "general").stdout)
    assert from_edi == from_xml


def test_broken_edifact_is_refused_cleanly(tmp_path):
    path = tmp_path / "cusdec.edi"
    path.write_text(
        "UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+250616:1200+1'UNH+1+CUSDEC:D:96B:UN'", encoding="utf-8"
    )
    result = run("screen", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"<DecMessage><DecHead>", "cherries"),  # truncated XML
        (b"this is not a declaration", "cherries"),
        (b'<?xml version="1.0"?><DecMessage xmlns="http://www.chinaport.gov.cn/dec"/>', "cherries"),
    ],
)
def test_bad_declaration_files_give_clean_errors(tmp_path, content, fragment):
    path = tmp_path / "cherries.xml"
    path.write_bytes(content)
    result = run("screen", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error:") and fragment in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_and_bad_rules_dir(tmp_path, fruit_xml):
    missing = run("screen", str(tmp_path / "nope.xml"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    bad = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, bad)
    (bad / "x.yaml").write_text("rules:\n  - id: X\n    stage: 3\n", encoding="utf-8")
    result = run("screen", str(fruit_xml), "--rules", str(bad))
    assert result.exit_code == 2
    assert "rejected with" in result.stderr and "x.yaml:3" in result.stderr
    assert "Traceback" not in result.output


def test_simulate_reports_rates_per_credit_class_and_outcome():
    result = run("simulate", "--declarations", "1500", "--seed", "7")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    stage1 = out["stages"]["1"]
    assert stage1["declarations"] == 1500
    assert set(stage1["per_credit_class"]) == {"aeo", "certified", "general", "discredited"}
    for figures in stage1["per_credit_class"].values():
        assert 0 <= figures["inspection_rate"] <= 1 and "configured_sampling_rate" in figures
    assert stage1["per_credit_class"]["discredited"]["inspection_rate"] > 0.8
    assert abs(sum(o["rate"] for o in stage1["per_outcome"].values()) - 1) < 1e-5
    assert "2" in out["stages"] and 0 <= out["machine_scan"]["ratio"] <= 1
    assert json.loads(run("simulate", "--declarations", "1500", "--seed", "7").stdout) == out


def test_what_if_reports_lane_changes(tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_RULES_DIR, candidate)
    (candidate / "textiles.yaml").write_text(
        """\
rules:
  - id: S1-TEXT-001
    version: 1
    stage: 1
    priority: 20
    reason: "Garments from this origin are often mis-declared: scan the container first."
    when: {hs_prefix: ["6109", "6203"], origin_country: [VNM]}
    action: {outcome: machine_scan_first, checks: [non_intrusive_scan]}
""",
        encoding="utf-8",
    )
    result = run("what-if", str(candidate), "generated:1200", "--seed", "3", "--stage", "1")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    st = out["stages"]["1"]
    assert out["baseline_version"] != out["candidate_version"]
    assert st["changed_decisions"] > 0
    assert st["lanes"]["yellow"]["delta"] > 0 and st["lanes"]["green"]["delta"] < 0
    assert "S1-TEXT-001" in st["rule_hit_changes"]
    assert st["examples"][0]["new_hits"] == ["S1-TEXT-001"]


def test_what_if_on_xml_files(tmp_path, fruit_xml):
    result = run("what-if", str(DEFAULT_RULES_DIR), str(fruit_xml.parent))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["stages"]["2"]["declarations"] == 1 and out["stages"]["2"]["changed_decisions"] == 0


def test_screen_conditional_removal_from_xml(tmp_path):
    path = tmp_path / "formula.xml"
    formula = decl(item("1901101000", "NZL", qty="8000", price="12"), licences=("A",),
                   conditional_removal_site="QDQW-CR01")  # fmt: skip
    path.write_bytes(render_declaration(formula))  # DecTpAccess travels through the real XML codec
    out = json.loads(run("screen", str(path), "--credit", "general", "--seed", "1").stdout)
    assert (
        out["outcome"] == "conditional_removal"
        and out["lane"] == "blue"
        and out["location"] == "approved_site"
    )
    refused = json.loads(run("screen", str(path), "--credit", "discredited", "--seed", "1").stdout)
    assert refused["outcome"] == "port_inspection"
    assert "S1-LAB-003" in [h["rule_id"] for h in refused["hits"]]


def test_what_if_shows_rates_per_credit_class_side_by_side(tmp_path):
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_RULES_DIR, candidate)
    text = (candidate / "ruleset.yaml").read_text(encoding="utf-8")
    (candidate / "ruleset.yaml").write_text(text.replace("aeo: 0.003,", "aeo: 0.2,"), encoding="utf-8")
    args = ("what-if", str(candidate), "generated:3000", "--seed", "5", "--stage", "1")
    out = json.loads(run(*args).stdout)
    aeo = out["stages"]["1"]["per_credit_class"]["aeo"]
    assert aeo["candidate"] > aeo["baseline"] + 0.1 and aeo["delta"] == round(
        aeo["candidate"] - aeo["baseline"], 6
    )
    general = out["stages"]["1"]["per_credit_class"]["general"]
    assert general["delta"] == 0
    table = run(*args, "--format", "table")
    assert table.exit_code == 0, table.output
    assert "| realised rate | active | candidate | difference |" in table.stdout
    row = next(line for line in table.stdout.splitlines() if line.startswith("| inspection, aeo"))
    assert f"{aeo['baseline'] * 100:.2f} %" in row and f"{aeo['candidate'] * 100:.2f} %" in row and "+" in row
    assert "| outcome port_inspection |" in table.stdout


def test_simulate_with_a_population_file(tmp_path):
    mix = tmp_path / "mix.yaml"
    mix.write_text("credit: {discredited: 1}\n", encoding="utf-8")
    out = json.loads(run("simulate", "--declarations", "300", "--seed", "1", "--population", str(mix)).stdout)
    assert set(out["stages"]["1"]["per_credit_class"]) == {"discredited"}
    mix.write_text("credit: {vip: 1}\n", encoding="utf-8")
    bad = run("simulate", "--declarations", "300", "--seed", "1", "--population", str(mix))
    assert bad.exit_code == 2 and "credit.vip" in bad.stderr and "Traceback" not in bad.output
