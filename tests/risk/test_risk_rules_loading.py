"""Rule files: the shipped set is complete; a malformed set is rejected with EVERY error and its location,
and the engine keeps running the last good set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from risk_builders import ctx, decl, item

from risk import DEFAULT_RULES_DIR, Outcome, RuleEngine, RuleSetError, load_ruleset


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def test_shipped_rule_set_is_realistic(shipped_ruleset):
    rules = shipped_ruleset.rules
    assert len(rules) >= 30
    assert {r.stage for r in rules} == {1, 2}
    for r in rules:
        assert r.reason and r.version >= 1 and r.source.endswith(tuple("0123456789"))
    described = shipped_ruleset.describe()
    assert described["sampling"]["stages"]["1"]["rates"]["aeo"] == 0.003
    assert described["sampling"]["stages"]["1"]["rates"]["discredited"] == 0.8476
    assert len(described["rules"]) == len(rules)


BAD_RULES = """\
rules:
  - id: BAD-1
    version: 1
    stage: 1
    priority: 10
    reason: "Fresh vegetables from anywhere are examined at the port."
    when: {hs_prefix: [0701], colour: [red]}
    action: {outcome: port_inspection, checks: [x_ray_magic]}
  - id: BAD-2
    version: 0
    stage: 2
    priority: high
    reason: short
    when: {origin_country: [NOWHERE1]}
    action: {outcome: refuse_entry}
    effective: {from: 2025-05-01, to: 2025-01-01}
  - id: BAD-3
    stage: 1
    priority: 1
    reason: "A rule without a version number or an action."
    when: {category: [spaceships]}
  - id: S1-WASTE-001
    version: 1
    stage: 1
    priority: 1
    reason: "Duplicates an id of the shipped stage-1 rules."
    when: {weight_discrepancy_pct: 5}
    action: {outcome: machine_scan_first}
    action: {outcome: port_inspection}
"""


def test_malformed_rule_file_reports_every_error_with_location(tmp_path):
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "zz_bad.yaml").write_text(BAD_RULES, encoding="utf-8")
    (rules_dir / "zz_broken.yaml").write_text("rules:\n  - id: X\n    when: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as info:
        load_ruleset(rules_dir)
    errors = info.value.errors
    text = "\n".join(str(e) for e in errors)
    expected = [
        ("zz_bad.yaml", 7, "rules[0].when.hs_prefix", "quote codes"),
        ("zz_bad.yaml", 7, "rules[0].when.colour", "unknown condition"),
        ("zz_bad.yaml", 8, "rules[0].action.checks[0]", "unknown check 'x_ray_magic'"),
        ("zz_bad.yaml", 10, "rules[1].version", "must be an integer >= 1"),
        ("zz_bad.yaml", 12, "rules[1].priority", "must be an integer"),
        ("zz_bad.yaml", 13, "rules[1].reason", "plain-language"),
        ("zz_bad.yaml", 14, "rules[1].when.origin_country", "not a country code"),
        ("zz_bad.yaml", 15, "rules[1].action.outcome", "stage-1 outcome, rule is stage 2"),
        ("zz_bad.yaml", 16, "rules[1].effective", "is after"),
        ("zz_bad.yaml", 17, "rules[2]", "missing required `version`"),
        ("zz_bad.yaml", 17, "rules[2]", "missing required `action`"),
        ("zz_bad.yaml", 21, "rules[2].when.category", "unknown category 'spaceships'"),
        ("zz_bad.yaml", 29, "rules[3].action", "duplicate key"),
        ("zz_bad.yaml", 22, "rules[3].id", "duplicate rule id 'S1-WASTE-001'"),
        ("zz_broken.yaml", None, "", "YAML syntax error"),
    ]
    for file, line, path, fragment in expected:
        matches = [
            e
            for e in errors
            if e.file.endswith(file)
            and e.path == path
            and fragment in e.message
            and (line is None or e.line == line)
        ]
        assert matches, f"missing error {file}:{line} {path} ~ {fragment!r}\nall errors:\n{text}"
    assert len(errors) >= len(expected)
    broken = next(e for e in errors if e.file.endswith("zz_broken.yaml"))
    assert broken.line is not None  # the syntax error carries its line too


def test_engine_keeps_last_good_rules_when_reload_fails(tmp_path):
    engine = RuleEngine()
    good_version = engine.version
    waste = decl(item("3915100000", "JPN", qty="20000", price="0.2"))
    assert engine.screen(waste, ctx("aeo"), 1).outcome is Outcome.REFUSE_ENTRY

    rules_dir = copy_rules(tmp_path)
    (rules_dir / "stage1_admission.yaml").write_text(BAD_RULES, encoding="utf-8")
    errors = engine.reload(rules_dir)
    assert len(errors) >= 10
    assert engine.version == good_version
    d = engine.screen(waste, ctx("aeo"), 1)
    assert d.outcome is Outcome.REFUSE_ENTRY and d.ruleset_version == good_version


def test_reload_activates_a_valid_set_with_a_new_version(tmp_path):
    engine = RuleEngine()
    old = engine.version
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "extra.yaml").write_text(
        """\
rules:
  - id: S1-TOYS-001
    version: 1
    stage: 1
    priority: 20
    reason: "Toys from this origin failed lead-paint tests repeatedly: scan the container first."
    when: {hs_prefix: ["9503"], origin_country: [IDN]}
    action: {outcome: machine_scan_first, checks: [non_intrusive_scan]}
""",
        encoding="utf-8",
    )
    assert engine.reload(rules_dir) == []
    assert engine.version != old and engine.version.startswith("2025.1-default+")
    toys = decl(item("9503008900", "IDN", qty="3000", price="6"))
    d = engine.screen(toys, ctx("aeo"), 1, seed=1)
    assert d.outcome is Outcome.MACHINE_SCAN_FIRST and d.hits[0].rule_id == "S1-TOYS-001"
    assert d.ruleset_version == engine.version


def test_version_hash_follows_content(tmp_path):
    rules_dir = copy_rules(tmp_path)
    first = load_ruleset(rules_dir).version
    path = rules_dir / "stage2_conformity.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("fast-clearance", "fast clearance"), encoding="utf-8"
    )
    assert load_ruleset(rules_dir).version != first


def test_missing_directory_and_empty_directory_are_errors(tmp_path):
    with pytest.raises(RuleSetError, match="not a directory"):
        load_ruleset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleSetError, match="no \\*.yaml"):
        load_ruleset(tmp_path / "empty")


def test_bad_sampling_and_catalogue_sections_are_reported(tmp_path):
    rules_dir = copy_rules(tmp_path)
    ruleset = rules_dir / "ruleset.yaml"
    text = ruleset.read_text(encoding="utf-8").replace("discredited: 0.8476", "discredited: 1.5")
    text += "\n  expected_rates:\n    1:\n      red: {rate: 0.05, outcome: machine_scan_first}\n"
    ruleset.write_text(text, encoding="utf-8")
    (rules_dir / "more.yaml").write_text("checks:\n  x: {authority: police}\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as info:
        load_ruleset(rules_dir)
    messages = [f"{e.path}: {e.message}" for e in info.value.errors]
    joined = "\n".join(messages)
    assert "sampling.stages[1].rates.discredited: 1.5 must be a probability between 0 and 1" in joined
    assert "machine_scan_first is in lane yellow, not red" in joined
    assert "section already defined" in joined
    assert "surprise: unknown section" in joined
