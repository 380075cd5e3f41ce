"""Issue 14 item 10: a terminal's CODECO gate-out report (BGM 36) reaches the hub, each box's
gated_out_at shows on the consignment timeline; only an operator of the box's terminal or site may
report it; a box that leaves unreleased is a discrepancy (customs told); a redelivered report
changes nothing. SQLite and PostgreSQL, in-process bus, the tests playing customs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.clock import SHANGHAI
from hub.db.models import AuditEntry
from messages.convert import convert
from messages.models.gate import GateOut, GateOutReport
from messages.xml import encode
from simulators.customs.traffic import Shipment, arrival_xml, distribution_xml
from tests.hub_clearance.clrfixtures import YARD, wait_for
from tests.hub_clearance.clrgaps import audit_actions, hub_env, jsons
from tests.hub_clearance.test_clear_authority import refused, timeline
from tests.hub_clearance.test_clear_flow_api import post, state_is
from tests.hub_clearance.test_clear_gaps_distribution import DESTINATION, registered

TERMINAL = "CNTAO/4227"
GATE_TIME = datetime(2026, 11, 22, 4, 10, tzinfo=SHANGHAI)


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def report(ref: str, bill: str, *boxes: str, site: str = TERMINAL, at: datetime = GATE_TIME) -> GateOutReport:
    return GateOutReport(
        ref, YARD, "COSU", [GateOut(b, bill, at, site, "45G1", "2", "5", "LUB12345") for b in boxes]
    )


def codeco(model: GateOutReport) -> bytes:
    """The report as the terminal sends it: CODECO BGM 36 (EQD + RFF+BM + DTM+7 + LOC+165)."""
    edi = convert(encode(model), to="edifact")[0].content
    assert b"BGM+36+" in edi and b"LOC+165+" in edi
    return edi


def boxes(client: Any, bill: str) -> dict[str, dict[str, Any]]:
    return {c["container_no"]: c for c in timeline(client, bill)["containers"]}


def released(env: dict[str, Any], s: Shipment, seq: str, n: int) -> None:
    client = env["client"]
    decl_id = registered(env, s, seq, n)
    for box in s.containers:
        post(client, "yard", arrival_xml(s.bill_no, box))
    wait_for(state_is(client, decl_id, "released"), "released once every box arrived")


def test_gate_out_after_release_shows_on_the_timeline_once(env: dict[str, Any]) -> None:
    client, hub = env["client"], env["hub"]
    s = Shipment.make(141, containers=2)
    released(env, s, "A26114100000000001", 141)
    first, second = s.containers
    model = report("GO141A", s.bill_no, first)
    receipt = post(client, "yard", codeco(model))
    assert receipt["message_type"] == "GateOutReport" and receipt["bills"] == [s.bill_no]
    row = wait_for(lambda: (b := boxes(client, s.bill_no))[first]["gated_out_at"] and b, "gate-out applied")
    assert row[first]["gated_out_at"] == GATE_TIME.isoformat()
    assert (row[first]["gate_out_site"], row[first]["state"]) == (TERMINAL, "gated_out")
    assert (row[second]["gated_out_at"], row[second]["state"]) == (None, "released")
    assert timeline(client, s.bill_no)["discrepancies"] == []  # released first: nothing to flag
    events = timeline(client, s.bill_no)["events"]
    gate_events = [e for e in events if e["message_type"] == "GateOutReport"]
    assert [(e["direction"], e["container_no"]) for e in gate_events] == [("in", first)]

    # the same bytes again: a duplicate; the same report redelivered to the workflow: no second effect
    assert post(client, "yard", codeco(model), expect=200)["duplicate"] is True
    later = report("GO141A", s.bill_no, first, at=datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    with hub.db.unit_of_work() as session:
        hub.clearance.workflow.apply(session, "GateOutReport", YARD, later, receipt["receipt_id"])
    assert boxes(client, s.bill_no)[first]["gated_out_at"] == GATE_TIME.isoformat()
    with hub.db.sessions() as session:
        gated = select(func.count()).where(AuditEntry.action == "container.gated_out")
        assert session.scalar(gated.select_from(AuditEntry)) == 1


def test_a_box_gated_out_before_its_release_is_a_discrepancy_customs_hears_of(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(91, containers=2)  # as test_clear_gaps_distribution: not randomly sampled
    decl_id = registered(env, s, "A26119100000000001", 91)
    early = s.containers[0]
    post(client, "yard", arrival_xml(s.bill_no, early))  # the other box has not arrived: no release
    wait_for(lambda: boxes(client, s.bill_no)[early]["arrived_at"], "arrived")
    post(client, "yard", codeco(report("GO91A", s.bill_no, early)))
    found = wait_for(lambda: timeline(client, s.bill_no)["discrepancies"], "discrepancy recorded")
    assert [(d["kind"], d["detail"]["container"], d["detail"]["state"]) for d in found] == [
        ("gated_out_unreleased", early, "arrived")
    ]
    row = boxes(client, s.bill_no)[early]
    assert row["gated_out_at"] == GATE_TIME.isoformat() and row["released_at"] is None
    notice = wait_for(lambda: jsons(env["customs"].of("DiscrepancyNotice")), "customs told")
    assert notice[0]["kind"] == "gated_out_unreleased" and notice[0]["container"] == early
    assert jsons(env["broker"].of("DiscrepancyNotice"))[0]["container"] == early  # the manifest's sender

    # the release still comes (paper follows the box); the gated-out box keeps its gate-out
    post(client, "yard", arrival_xml(s.bill_no, s.containers[1]))
    wait_for(state_is(client, decl_id, "released"), "released")
    row = boxes(client, s.bill_no)
    assert row[early]["state"] == "gated_out" and row[early]["released_at"]
    assert row[s.containers[1]]["state"] == "released"


def test_only_an_operator_of_the_boxs_site_may_report_its_gate_out(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(143, containers=1)
    released(env, s, "A26114300000000001", 143)
    (box,) = s.containers
    # another terminal's operator, at its own site: the box is not there
    error = refused(client, "other_yard", codeco(report("GO143A", s.bill_no, box, site="CNRZH/4228")), 403)
    (problem,) = error["details"]
    assert problem["code"] == "not_container_site" and "CNRZH/4228" in problem["message"]
    assert TERMINAL in problem["message"]
    # ... or naming the box's own terminal, which it does not operate
    error = refused(client, "other_yard", codeco(report("GO143B", s.bill_no, box)), 403)
    (problem,) = error["details"]
    assert problem["code"] == "site_not_registered"
    assert "only the operator of the container's terminal or site" in problem["message"]
    assert "CNRZH/4228" in problem["message"]
    # a box the hub does not know under that bill
    error = refused(client, "yard", codeco(report("GO143C", s.bill_no, "TGHU9999996")), 422)
    assert error["details"][0]["code"] == "unknown_container"
    assert boxes(client, s.bill_no)[box]["gated_out_at"] is None  # nothing of the refusals applied


def test_a_distributed_box_leaves_the_terminal_under_supervision_and_gates_out_at_its_site(
    env: dict[str, Any],
) -> None:
    client, hub = env["client"], env["hub"]
    s = Shipment.make(91, containers=2)
    decl_id = registered(env, s, "A26119100000000001", 91)
    post(client, "broker", distribution_xml(s, DESTINATION))
    wait_for(lambda: timeline(client, s.bill_no)["consignment"]["destination_site"], "distribution applied")
    # the terminal's gate-out of a box bound for the supervised site: a transfer under customs
    # control (分拨), not the box's gate-out, and no discrepancy
    post(client, "yard", codeco(report("GO91T", s.bill_no, s.containers[0])))
    wait_for(lambda: "container.transferred" in audit_actions(hub, s.bill_no), "transfer recorded")
    assert boxes(client, s.bill_no)[s.containers[0]]["gated_out_at"] is None
    for box in s.containers:
        post(client, "depot", arrival_xml(s.bill_no, box, site=DESTINATION))
    wait_for(state_is(client, decl_id, "released"), "released at the destination")
    post(client, "depot", codeco(report("GO91D", s.bill_no, *s.containers, site=DESTINATION)))

    def all_gated_out() -> dict[str, dict[str, Any]] | None:
        rows = boxes(client, s.bill_no)
        return rows if all(c["gated_out_at"] for c in rows.values()) else None

    rows = wait_for(all_gated_out, "gated out at the destination")
    assert {(c["state"], c["gate_out_site"]) for c in rows.values()} == {("gated_out", DESTINATION)}
    assert timeline(client, s.bill_no)["discrepancies"] == []
