"""Credit-differentiated control as data: a rule's `credit:` entry exempts a class, checks it only at a
reduced rate (deterministic draw), lightens or raises its outcome; every adjustment is recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from risk_builders import ctx, decl, item

from risk import DEFAULT_RULES_DIR, Outcome, RuleEngine, RuleSetError, load_ruleset
from risk.population import PopulationMix, generate, load_mix, mix_from_mapping

TOYS = decl(item("9503008900", "VNM", qty="3000", price="6"), gross="10000")
GAP = {"manifest": "10000", "tally": "8500"}  # 15 % weight gap: S1-WEIGHT-001 and S1-WEIGHT-002 hit

CANDIDATE = """\
rules:
  - id: T-CREDIT-001
    version: 1
    stage: 1
    priority: 20
    reason: "Toys from this origin: examined at the port for safety marking."
    when: {hs_prefix: ["9503"]}
    action: {outcome: port_inspection, checks: [physical_examination]}
    credit:
      aeo: exempt
      certified: {outcome: machine_scan_first, checks: [non_intrusive_scan]}
      general: {rate: 0.5}
      discredited: {outcome: refuse_entry, checks: [refusal_order], reason: "Discredited: not admitted."}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> RuleEngine:
    d = tmp_path_factory.mktemp("credit") / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, d)
    (d / "zz_credit.yaml").write_text(CANDIDATE, encoding="utf-8")
    rs = load_ruleset(d)
    from dataclasses import replace

    from risk.ruleset import SamplingPolicy

    return RuleEngine(replace(rs, sampling=SamplingPolicy(seed=11)))


def _hit(decision, rule_id):
    return next(h for h in (*decision.hits, *decision.waived) if h.rule_id == rule_id)


def test_exempt_is_recorded_and_does_not_shape_the_outcome(engine):
    d = engine.screen(TOYS, ctx("aeo"), 1)
    assert d.outcome is Outcome.RELEASE_ON_ARRIVAL and d.hits == []
    h = _hit(d, "T-CREDIT-001")
    assert h.applied is False and h.credit.kind == "exempt" and h.credit.selected is False
    out = d.to_dict()
    assert out["hits"][0]["applied"] is False and out["hits"][0]["credit_adjustment"]["kind"] == "exempt"


def test_lighter_and_raised_outcomes(engine):
    lighter = engine.screen(TOYS, ctx("certified"), 1)
    assert lighter.outcome is Outcome.MACHINE_SCAN_FIRST
    assert [c.code for c in lighter.checks] == ["non_intrusive_scan"]
    h = _hit(lighter, "T-CREDIT-001")
    assert h.credit.kind == "lighter" and h.credit.original_outcome is Outcome.PORT_INSPECTION
    raised = engine.screen(TOYS, ctx("discredited"), 1)
    assert raised.outcome is Outcome.REFUSE_ENTRY and [c.code for c in raised.checks] == ["refusal_order"]
    assert _hit(raised, "T-CREDIT-001").credit.kind == "raised"
    assert _hit(raised, "T-CREDIT-001").credit.reason == "Discredited: not admitted."


def test_reduced_rate_is_a_reproducible_draw_near_its_rate(engine):
    selected = 0
    n = 0
    for i in range(3000):
        toys = decl(item("9503008900", "VNM", qty="3000", price="6"), entry_id=f"4227202577{i:08d}")
        d = engine.screen(toys, ctx("general"), 1)
        h = _hit(d, "T-CREDIT-001")
        assert h.credit.kind == "reduced_rate" and h.credit.rate == 0.5
        assert h.applied is h.credit.selected is (h.credit.draw < 0.5)
        assert engine.screen(toys, ctx("general"), 1).to_dict() == d.to_dict()
        selected += h.applied
        n += 1
    assert 0.45 < selected / n < 0.55


def test_shipped_aeo_weight_gap_is_lighter_and_at_a_reduced_rate():
    engine = RuleEngine()
    outcomes = set()
    for i in range(400):
        toys = decl(item("9503008900", "VNM", qty="3000", price="6"), gross="10000",
                    entry_id=f"4227202588{i:08d}")  # fmt: skip
        d = engine.screen(toys, ctx("aeo", **GAP), 1, seed=1)
        h = _hit(d, "S1-WEIGHT-001")
        if h.applied:
            assert h.outcome is Outcome.MACHINE_SCAN_FIRST
            assert h.credit.original_outcome is Outcome.PORT_INSPECTION
        if not d.sampled:  # the random compliance sample may still send it to the port
            outcomes.add(d.outcome)
    assert outcomes == {Outcome.RELEASE_ON_ARRIVAL, Outcome.MACHINE_SCAN_FIRST}


def test_bad_credit_entries_are_all_reported(tmp_path):
    d = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, d)
    (d / "bad.yaml").write_text(
        CANDIDATE.replace("aeo: exempt", "vip: exempt")
        .replace("{rate: 0.5}", "{rate: 1.5}")
        .replace("outcome: refuse_entry", "outcome: lab_test_hold")
        + "      aeo: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleSetError) as exc:
        load_ruleset(d)
    messages = "\n".join(str(e) for e in exc.value.errors)
    assert "credit.vip: rule 'T-CREDIT-001': unknown credit class" in messages
    assert "credit.general.rate" in messages and "1.5 must be a probability" in messages
    assert "credit.discredited.outcome" in messages and "stage-2 outcome" in messages
    assert "credit.aeo" in messages
    assert len(exc.value.errors) == 4, messages


def test_population_mix_is_configurable(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(
        "credit: {aeo: 1}\ntrade_modes: {'0615': 1}\nmissing_document_rate: 0\n", encoding="utf-8"
    )
    mix = load_mix(path)
    samples = list(generate(200, seed=1, mix=mix))
    assert {s.context.trader.credit_class.value for s in samples} == {"aeo"}
    assert {s.declaration.head.trade_mode for s in samples} == {"0615"}
    with pytest.raises(ValueError) as exc:
        mix_from_mapping({"credit": {"vip": 1}, "goods": {"unicorns": 1}, "colour": 1, "undervalued_rate": 2})
    for fragment in ("credit.vip", "goods.unicorns", "colour", "undervalued_rate"):
        assert fragment in str(exc.value)
    assert isinstance(PopulationMix(), PopulationMix) and Path(DEFAULT_RULES_DIR).is_dir()
