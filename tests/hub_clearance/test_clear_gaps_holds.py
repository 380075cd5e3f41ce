"""Gap 2: stage-2 holds block clearance. A complete declaration whose stage-2 screening decides a hold
(lab_test_hold, documents_required) is recorded as held; the broker and customs are told (the lab
test also the yard); DEC_DATA R does not clear it while the hold is open; customs' result (an
InspectionNotice PASSED / ANOMALY for the lab test, DEC_DATA G / Sp1 for documents) lifts or keeps it.
Here the tests play customs (SQLite and PostgreSQL); the simulator as a separate process, on the
in-process bus and on RabbitMQ, is in test_clear_gaps_holds_e2e.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from messages.models.notices import InspectionOutcome
from messages.xml import decode, encode
from simulators.customs.traffic import Shipment, declaration, declaration_xml, manifest_xml
from tests.hub_clearance.clrfixtures import import_response, inspection_result, wait_for
from tests.hub_clearance.clrgaps import dec_data, hub_env
from tests.hub_clearance.test_clear_flow_api import declaration as view_of
from tests.hub_clearance.test_clear_flow_api import post, state_is

WINE = "2204210000"  # lab_test_listed (S2-LAB-001): sampled, held until the laboratory result


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def complete_xml(s: Shipment, client_seq_no: str, entry: str, hs: str = "", **kw: Any) -> bytes:
    decl = declaration("complete", s, client_seq_no, summary_entry_id=entry, **kw)
    if hs:
        for item in decl.items:
            item.code_ts, item.g_name = hs, "红葡萄酒"
    return encode(decl)


def registered_summary(env: dict[str, Any], n: int) -> tuple[Shipment, str, str]:
    """Manifest and a summary declaration registered by customs: (shipment, summary id, EntryId)."""
    client = env["client"]
    s = Shipment.make(n, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, f"A2611{n:02d}00000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "summary submitted")
    seq, entry = f"{n:018d}", f"42272026{n:010d}"
    post(client, "customs", import_response(f"A2611{n:02d}00000000001", seq))
    wait_for(lambda: view_of(client, filed["declaration_id"])["seq_no"] == seq, "summary seq no")
    post(client, "customs", dec_data(seq, entry, s.bill_no, "SpL", 1))
    wait_for(state_is(client, filed["declaration_id"], "registered"), "summary registered")
    return s, filed["declaration_id"], entry


def register_complete(env: dict[str, Any], view: dict[str, Any], seq: str, entry: str, bill: str) -> None:
    client = env["client"]
    post(client, "customs", import_response(view["client_seq_no"], seq))
    wait_for(lambda: view_of(client, view["id"])["seq_no"] == seq, "complete seq no")
    post(client, "customs", dec_data(seq, entry, bill, "L", 2))
    wait_for(state_is(client, view["id"], "registered"), "complete registered")


def customs_order(env: dict[str, Any]) -> list[str]:
    return [t for t, _ in env["customs"].messages]


def test_lab_test_hold_blocks_clearance_until_the_result_passes(env: dict[str, Any]) -> None:
    client = env["client"]
    s, summary_id, entry = registered_summary(env, 51)
    filed = post(client, "broker", complete_xml(s, "A26115100000000002", entry, hs=WINE))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "complete submitted")
    view = view_of(client, filed["declaration_id"])
    assert view["screening"]["outcome"] == "lab_test_hold"
    assert view["hold"] == {
        "kind": "lab_test_hold",
        "open": True,
        "result": "PENDING",
        "notice_id": view["inspection"]["notice_id"],
        "why": "goods held until the laboratory result",
    }
    assert any("stage-2 hold (lab_test_hold)" in r for r in view["reasons"])
    # the instruction: to the broker, the yard (samples are drawn from the boxes) and customs, and it
    # reaches customs before the declaration itself
    instruction = wait_for(lambda: env["customs"].of("InspectionNotice"), "instruction to customs")[0]
    notice = decode(instruction)
    assert notice.instruction.value == "SAMPLING" and notice.outcome == InspectionOutcome.PENDING
    assert "A26115100000000002" in notice.declaration_ids
    assert {c.code for c in notice.checks} >= {"SAMPLING_FOR_LAB", "LABEL_CHECK"}
    assert wait_for(lambda: env["broker"].of("InspectionNotice"), "to the broker")[0] == instruction
    assert wait_for(lambda: env["yard"].of("InspectionNotice"), "to the yard")[0] == instruction
    order = wait_for(lambda: (o := customs_order(env)).count("DecMessage") == 2 and o, "complete to customs")
    assert order.index("InspectionNotice") < len(order) - 1 - order[::-1].index("DecMessage")

    register_complete(env, view, "000000000000005102", "422720261000005102", s.bill_no)
    post(client, "customs", dec_data("000000000000005102", "422720261000005102", s.bill_no, "R", 3))
    wait_for(
        lambda: any("while the stage-2 hold" in r for r in view_of(client, view["id"])["reasons"]),
        "R withheld",
    )
    assert view_of(client, view["id"])["state"] == "registered"
    assert view_of(client, summary_id)["state"] == "registered"  # the summary is not cleared either

    post(client, "customs", inspection_result(instruction, InspectionOutcome.PASSED))
    wait_for(lambda: not view_of(client, view["id"])["hold"]["open"], "hold lifted by the lab result")
    wait_for(
        lambda: [b for b in env["broker"].of("InspectionNotice") if b"PASSED" in b], "result to the broker"
    )
    post(client, "customs", dec_data("000000000000005102", "422720261000005102", s.bill_no, "R", 4))
    wait_for(state_is(client, view["id"], "cleared"), "cleared after the hold")
    assert view_of(client, summary_id)["state"] == "cleared"


def test_failed_lab_test_keeps_the_declaration_held_and_uncleared(env: dict[str, Any]) -> None:
    client = env["client"]
    s, summary_id, entry = registered_summary(env, 52)
    filed = post(client, "broker", complete_xml(s, "A26115200000000002", entry, hs=WINE))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "complete submitted")
    view = view_of(client, filed["declaration_id"])
    instruction = wait_for(lambda: env["customs"].of("InspectionNotice"), "instruction to customs")[0]
    register_complete(env, view, "000000000000005202", "422720261000005202", s.bill_no)
    post(client, "customs", inspection_result(instruction, InspectionOutcome.ANOMALY))
    wait_for(state_is(client, view["id"], "held"), "held on the failed lab test")
    held = view_of(client, view["id"])
    assert held["hold"]["open"] and held["hold"]["result"] == "ANOMALY"
    assert any("Laboratory result failed" in r for r in held["reasons"])
    post(client, "customs", dec_data("000000000000005202", "422720261000005202", s.bill_no, "R", 3))
    wait_for(
        lambda: sum("while the stage-2 hold" in r for r in view_of(client, view["id"])["reasons"]) == 1,
        "R withheld",
    )
    assert view_of(client, view["id"])["state"] == "held"
    assert view_of(client, summary_id)["state"] == "registered"
    wait_for(lambda: [b for b in env["yard"].of("InspectionNotice") if b"ANOMALY" in b], "result to the yard")


def test_documents_required_hold_is_lifted_by_customs_examination(env: dict[str, Any]) -> None:
    client = env["client"]
    s, summary_id, entry = registered_summary(env, 53)
    heavier = s.gross_kg * Decimal("1.1")  # S2-WEIGHT-001: quantity evidence required
    filed = post(client, "broker", complete_xml(s, "A26115300000000002", entry, gross_kg=heavier))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "complete submitted")
    view = view_of(client, filed["declaration_id"])
    assert view["screening"]["outcome"] == "documents_required"
    assert view["hold"]["kind"] == "documents_required" and view["hold"]["open"]
    for inbox in (env["broker"], env["customs"]):
        notice = json.loads(wait_for(lambda i=inbox: i.of("DocumentsRequiredNotice"), "documents notice")[0])
        assert notice["client_seq_no"] == "A26115300000000002" and notice["declaration_id"] == view["id"]
        assert "weight_verification" in [c["code"] for c in notice["checks"]]
        assert any(r.startswith("S2-WEIGHT-001") for r in notice["reasons"])
    assert not env["yard"].of("DocumentsRequiredNotice")  # no physical check: the yard is not involved
    assert not env["yard"].of("InspectionNotice")

    register_complete(env, view, "000000000000005302", "422720261000005302", s.bill_no)
    post(client, "customs", dec_data("000000000000005302", "422720261000005302", s.bill_no, "R", 3))
    wait_for(
        lambda: any("while the stage-2 hold" in r for r in view_of(client, view["id"])["reasons"]),
        "R withheld",
    )
    post(client, "customs", dec_data("000000000000005302", "422720261000005302", s.bill_no, "Sp1", 4))
    wait_for(state_is(client, view["id"], "held"), "supplementary documents required")
    assert view_of(client, view["id"])["hold"]["result"] == "SUPPLEMENT_REQUIRED"
    post(client, "customs", dec_data("000000000000005302", "422720261000005302", s.bill_no, "G", 5))
    wait_for(state_is(client, view["id"], "registered"), "documents accepted: examined (G)")
    assert view_of(client, view["id"])["hold"]["open"] is False
    post(client, "customs", dec_data("000000000000005302", "422720261000005302", s.bill_no, "R", 6))
    wait_for(state_is(client, view["id"], "cleared"), "cleared")
    assert view_of(client, summary_id)["state"] == "cleared"


def test_no_hold_clears_at_once(env: dict[str, Any]) -> None:
    """Control: a complete declaration without a stage-2 hold is cleared by the first R."""
    client = env["client"]
    s, _, entry = registered_summary(env, 54)
    filed = post(client, "broker", complete_xml(s, "A26115400000000002", entry))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "complete submitted")
    view = view_of(client, filed["declaration_id"])
    assert view["hold"] is None and view["screening"]["outcome"] == "conformity_accepted"
    register_complete(env, view, "000000000000005402", "422720261000005402", s.bill_no)
    post(client, "customs", dec_data("000000000000005402", "422720261000005402", s.bill_no, "R", 3))
    wait_for(state_is(client, view["id"], "cleared"), "cleared")
    assert not env["customs"].of("InspectionNotice") and not env["customs"].of("DocumentsRequiredNotice")
