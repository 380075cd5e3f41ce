"""Every stage-1 and stage-2 outcome is reachable with a realistic declaration; reasons are present; the
strictest outcome wins and customs + quarantine checks merge into one order (查检合一)."""

from __future__ import annotations

from datetime import date

import pytest
from risk_builders import ctx, decl, item

from risk import (
    DirectReleaseCounter,
    FollowUpError,
    FollowUpKind,
    Lane,
    Outcome,
    lab_result,
    quarantine_result,
    scan_result,
)
from risk.context import ScreeningContext

JSON_FIELDS = {"stage", "outcome", "lane", "checks", "location", "hits", "sampled", "ruleset_version"}


def hit_ids(decision) -> list[str]:
    return [h.rule_id for h in decision.hits]


def assert_explained(decision) -> None:
    for h in decision.hits:
        assert h.rule_id and len(h.reason) >= 10, h


# ---- stage 1 -------------------------------------------------------------------------------------


def test_release_on_arrival_for_ordinary_goods(rules_only):
    d = rules_only.screen(decl(item("8471300000", "VNM", qty="200", unit="001", price="610")), ctx(), 1)
    assert d.outcome is Outcome.RELEASE_ON_ARRIVAL
    assert d.lane is Lane.GREEN
    assert (d.hits, d.checks, d.location, d.sampled) == ([], [], None, False)
    out = d.to_dict()
    assert set(out) == JSON_FIELDS
    assert out["ruleset_version"].startswith("2025.1-default+")


def test_machine_scan_first_then_direct_release_or_escalation(rules_only):
    cigarettes = decl(item("2402200000", "KOR", qty="5000", price="30"))
    d = rules_only.screen(cigarettes, ctx(), 1)
    assert d.outcome is Outcome.MACHINE_SCAN_FIRST and d.lane is Lane.YELLOW
    assert hit_ids(d) == ["S1-SCAN-001"]
    assert [c.code for c in d.checks] == ["non_intrusive_scan"] and d.location == "port"
    assert_explained(d)

    clear = scan_result(d, clear=True)
    assert clear.kind is FollowUpKind.RELEASE and clear.after is Outcome.RELEASE_ON_ARRIVAL
    dirty = scan_result(d, clear=False)
    assert dirty.kind is FollowUpKind.ESCALATE and dirty.after is Outcome.PORT_INSPECTION

    counter = DirectReleaseCounter()
    for f in (clear, clear, dirty, clear):
        counter.record(f)
    assert counter.to_dict() == {"scanned": 4, "released_directly": 3, "ratio": 0.75}


def test_port_inspection_for_dangerous_goods(rules_only):
    methanol = decl(item("2905110000", "SAU", qty="20000", price="0.35", un="1230"))
    d = rules_only.screen(methanol, ctx(), 1)
    assert d.outcome is Outcome.PORT_INSPECTION and d.lane is Lane.RED and d.location == "port"
    assert hit_ids(d) == ["S1-DG-003"]
    assert [c.code for c in d.checks] == ["dangerous_goods_inspection"]
    assert d.hits[0].lines == (1,)


def test_conditional_removal_when_eligible_and_lab_failure_disposes(rules_only):
    formula = decl(item("1901101000", "NZL", qty="8000", price="12"), licences=("A",),
                   conditional_removal_site="QDQW-CR01")  # fmt: skip
    d = rules_only.screen(formula, ctx("general"), 1)
    assert d.outcome is Outcome.CONDITIONAL_REMOVAL and d.lane is Lane.BLUE
    assert d.location == "approved_site"
    assert hit_ids(d) == ["S1-LAB-002"]
    assert [c.code for c in d.checks] == ["sampling_for_lab"]
    failed = lab_result(d, passed=False)
    assert failed.kind is FollowUpKind.DISPOSE and "approved storage site" in failed.reason


@pytest.mark.parametrize(
    ("credit", "site", "expected_rule"),
    [
        ("discredited", "QDQW-CR01", "S1-LAB-003"),  # trader discredited
        ("general", "QDWH-0001", "S1-LAB-004"),  # site not approved
        ("general", None, "S1-LAB-001"),  # not applied for
    ],
)
def test_conditional_removal_refused_keeps_goods_at_port(rules_only, credit, site, expected_rule):
    formula = decl(
        item("1901101000", "NZL", qty="8000", price="12"), licences=("A",), conditional_removal_site=site
    )
    d = rules_only.screen(formula, ctx(credit), 1)
    assert d.outcome is Outcome.PORT_INSPECTION
    assert expected_rule in hit_ids(d)
    assert "S1-LAB-002" not in hit_ids(d)
    assert_explained(d)


def test_destination_inspection_for_used_machinery(rules_only):
    excavator = decl(
        item("8429521200", "JPN", qty="2", unit="001", price="28000", attr="21"), licences=("O",)
    )
    d = rules_only.screen(excavator, ctx(), 1)
    assert d.outcome is Outcome.DESTINATION_INSPECTION and d.location == "destination"
    assert hit_ids(d) == ["S1-USED-002"]
    assert {c.authority for c in d.checks} == {"quarantine", "customs"}


def test_refuse_entry_for_solid_waste_only_once_ban_in_force(rules_only):
    waste = decl(item("3915100000", "JPN", qty="20000", price="0.2"), d_date="20250301")
    d = rules_only.screen(waste, ctx(), 1)
    assert d.outcome is Outcome.REFUSE_ENTRY and d.lane is Lane.RED
    assert hit_ids(d) == ["S1-WASTE-001"] and "2021" in d.hits[0].reason
    assert [c.code for c in d.checks] == ["refusal_order"]
    # before 2021-01-01 the rule is not yet effective
    before = rules_only.screen(waste, ScreeningContext(on_date=date(2020, 6, 1)), 1)
    assert "S1-WASTE-001" not in hit_ids(before)


def test_strictest_wins_and_checks_merge_into_one_order(rules_only):
    # methanol (port inspection) + cigarettes (scan first) + 5 % weight gap (scan + re-weigh)
    mixed = decl(
        item("2905110000", "KOR", qty="10000", price="0.35", un="1230"),
        item("2402200000", "KOR", qty="500", price="30"),
        gross="10500",
    )
    d = rules_only.screen(mixed, ctx(manifest="10500", tally="9975"), 1)
    assert d.outcome is Outcome.PORT_INSPECTION
    assert set(hit_ids(d)) == {"S1-DG-003", "S1-SCAN-001", "S1-WEIGHT-002"}
    assert hit_ids(d)[0] == "S1-DG-003"  # strictest first
    codes = [c.code for c in d.checks]
    assert codes == ["dangerous_goods_inspection", "non_intrusive_scan", "weight_verification"]
    assert d.location == "port"
    assert_explained(d)


def test_customs_and_quarantine_checks_in_one_inspection(rules_only):
    logs = decl(
        item("4403230000", "NZL", qty="30000", price="0.2", attr="23"), licences=("A",), gross="30000"
    )
    d = rules_only.screen(logs, ctx(manifest="30000", tally="26000"), 1)  # 13 % weight gap
    assert d.outcome is Outcome.PORT_INSPECTION
    assert {"S1-LOG-001", "S1-WEIGHT-001", "S1-WEIGHT-002"} <= set(hit_ids(d))
    by_authority = {c.code: c.authority for c in d.checks}
    assert by_authority["quarantine_inspection"] == "quarantine"
    assert by_authority["physical_examination"] == "customs"
    assert len(d.checks) == len(by_authority)  # no duplicates (weight_verification asked twice)


def test_refusal_beats_inspection_and_carries_only_refusal_checks(rules_only):
    mixed = decl(item("7204490000", "USA", qty="20000", price="0.3"), item("2905110000", "USA", un="1230"))
    d = rules_only.screen(mixed, ctx(), 1)
    assert d.outcome is Outcome.REFUSE_ENTRY
    assert set(hit_ids(d)) == {"S1-WASTE-001", "S1-DG-003"}
    assert [c.code for c in d.checks] == ["refusal_order"]


def test_country_codes_are_normalised(rules_only):
    pork = item("0203290090", "304", qty="20000", price="2.8")  # 304 = Germany (customs numeric)
    d = rules_only.screen(decl(pork, licences=("A",)), ctx(), 1)
    assert "S1-PORK-001" in hit_ids(d) and d.outcome is Outcome.REFUSE_ENTRY


# ---- stage 2 -------------------------------------------------------------------------------------


def test_conformity_accepted(rules_only):
    d = rules_only.screen(decl(item("6109100010", "VNM", qty="4000", price="8")), ctx(), 2)
    assert d.outcome is Outcome.CONFORMITY_ACCEPTED and d.lane is Lane.GREEN and d.hits == []


def test_documents_required_when_licence_missing(rules_only):
    pesticide = decl(item("3808911900", "DEU", qty="2000", price="7"))
    d = rules_only.screen(pesticide, ctx(), 2)
    assert d.outcome is Outcome.DOCUMENTS_REQUIRED and d.lane is Lane.YELLOW
    assert hit_ids(d) == ["S2-LIC-001"]
    with_licence = rules_only.screen(
        decl(item("3808911900", "DEU", qty="2000", price="7"), licences=("S",)), ctx(), 2
    )
    assert with_licence.outcome is Outcome.CONFORMITY_ACCEPTED


def test_release_first_test_later_and_recall_on_later_failure(rules_only):
    ore = decl(item("2601110000", "AUS", qty="170000000", price="0.10"), gross="170000000")
    d = rules_only.screen(ore, ctx(), 2)
    assert d.outcome is Outcome.RELEASE_FIRST_TEST_LATER and d.lane is Lane.BLUE
    assert hit_ids(d) == ["S2-BULK-001"] and "先验放后检测" in d.hits[0].reason
    ok = lab_result(d, passed=True)
    assert ok.kind is FollowUpKind.RELEASE
    recall = lab_result(d, passed=False)
    assert recall.kind is FollowUpKind.RECALL
    assert "recall" in recall.reason and recall.declaration_id == "422720250000000001"
    assert recall.to_dict()["ruleset_version"] == d.ruleset_version


def test_undervalued_ore_needs_price_evidence(rules_only):
    # 0.35 CNY/kg = 0.049 USD/kg against a 0.10 USD/kg reference: 51 % below
    ore = decl(item("2601110000", "BRA", qty="100000", price="0.35", curr="CNY"))
    d = rules_only.screen(ore, ctx(), 2)
    assert d.outcome is Outcome.DOCUMENTS_REQUIRED
    assert set(hit_ids(d)) == {"S2-PRICE-001", "S2-BULK-001"}
    assert {c.code for c in d.checks} == {"valuation_review", "sampling_for_lab"}


def test_release_on_inspection_for_fruit(rules_only):
    cherries = decl(item("0809290000", "CHL", qty="18000", price="8.2"), licences=("A",))
    d = rules_only.screen(cherries, ctx(), 2)
    assert d.outcome is Outcome.RELEASE_ON_INSPECTION
    assert [c.code for c in d.checks] == ["quarantine_inspection"] and d.checks[0].authority == "quarantine"
    released = quarantine_result(d, pests_found=False)
    assert released.kind is FollowUpKind.RELEASE and "即验即放" in released.reason
    assert quarantine_result(d, pests_found=True).kind is FollowUpKind.TREAT


def test_green_channel_for_listed_produce_from_mra_partner(rules_only):
    apples = decl(item("0808100000", "JPN", qty="12000", price="1.6"), licences=("A",))
    d = rules_only.screen(apples, ctx("general", mra="JPN"), 2)
    assert d.outcome is Outcome.GREEN_CHANNEL and d.lane is Lane.GREEN
    assert hit_ids(d) == ["S2-GREEN-001"] and d.checks == [] and d.location is None
    # same apples without an AEO mutual-recognition partner: normal on-site quarantine
    plain = rules_only.screen(apples, ctx("general"), 2)
    assert plain.outcome is Outcome.RELEASE_ON_INSPECTION
    # a Korean paprika lot under the Korean MRA (customs numeric origin 133)
    paprika = decl(item("0709600000", "133", qty="9000", price="2.4"))
    assert rules_only.screen(paprika, ctx("certified", mra="KOR"), 2).outcome is Outcome.GREEN_CHANNEL


def test_lab_test_hold_unless_aeo(rules_only):
    formula = decl(item("1901101000", "NLD", qty="8000", price="12"), licences=("A",))
    held = rules_only.screen(formula, ctx("general"), 2)
    assert held.outcome is Outcome.LAB_TEST_HOLD
    assert lab_result(held, passed=False).kind is FollowUpKind.DISPOSE
    aeo = rules_only.screen(formula, ctx("aeo"), 2)
    assert aeo.outcome is Outcome.DOCUMENTS_REQUIRED and hit_ids(aeo) == ["S2-LAB-002"]


def test_follow_ups_reject_the_wrong_decision(rules_only):
    d = rules_only.screen(decl(item("6109100010", "VNM")), ctx(), 2)
    for call in (
        lambda: scan_result(d, True),
        lambda: lab_result(d, True),
        lambda: quarantine_result(d, False),
    ):
        with pytest.raises(FollowUpError):
            call()


def test_every_shipped_outcome_is_reachable_in_a_generated_population(engine):
    from risk.population import generate

    seen = {1: set(), 2: set()}
    for s in generate(4000, seed=11):
        for stage in (1, 2):
            d = engine.screen(s.declaration, s.context, stage)
            seen[stage].add(d.outcome)
            assert_explained(d)
    assert seen[1] == {o for o in Outcome if o.value in {
        "release_on_arrival", "machine_scan_first", "port_inspection", "conditional_removal",
        "destination_inspection", "refuse_entry"}}  # fmt: skip
    assert len(seen[2]) == 6
