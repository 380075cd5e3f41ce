"""The customs simulator's engine with the hub's hold instructions (pure engine, no process): kept until
their declaration is registered, answered after the steered delay, DEC_DATA R only after a passed
stage-2 hold; the F prefix fails the checks; redeliveries are answered once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from messages.models.notices import (
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
)
from messages.models.receipts import DecResultReceipt
from messages.xml import decode, encode
from simulators.customs.engine import CustomsEngine, steering
from simulators.customs.traffic import Shipment, declaration_xml

CST = timezone(timedelta(hours=8))


def answers(engine: CustomsEngine, message_type: str, body: bytes) -> list[tuple[str, float, object]]:
    return [(a.message_type, a.delay, decode(a.body)) for a in engine.handle(message_type, body)]


def kinds(got: list[tuple[str, float, object]]) -> list[str]:
    """DEC_DATA by channel, InspectionNotice by outcome."""
    out = []
    for kind, _, model in got:
        if isinstance(model, DecResultReceipt):
            out.append(f"DEC_DATA {model.result.channel}")
        elif isinstance(model, InspectionNotice):
            out.append(f"InspectionNotice {model.outcome.value}")
        else:
            out.append(kind)
    return out


def lab_instruction(s: Shipment, client_seq_no: str, notice_id: str = "HOLD-1") -> bytes:
    return encode(
        InspectionNotice(
            notice_id=notice_id,
            bill_no=s.bill_no,
            issued_at=datetime(2026, 11, 20, 9, 0, tzinfo=CST),
            location=InspectionLocation.PORT,
            instruction=InspectionInstruction.SAMPLING,
            declaration_ids=[client_seq_no],
            container_ids=list(s.containers),
        )
    )


def documents_request(client_seq_no: str, notice_id: str = "HOLD-D") -> bytes:
    return json.dumps(
        {"notice_id": notice_id, "client_seq_no": client_seq_no, "outcome": "documents_required"}
    ).encode()


def test_failure_prefix() -> None:
    assert steering("F26110000000000002") == ("fail", 0.0)
    assert steering("D2F110000000000002") == ("fail", 2.0)


def test_lab_hold_before_the_declaration_is_answered_after_registration_then_cleared() -> None:
    engine, s = CustomsEngine(), Shipment.make(1, 1)
    assert engine.handle("InspectionNotice", lab_instruction(s, "D3A110000000000002")) == []  # kept
    got = answers(engine, "DecMessage", declaration_xml("complete", s, "D3A110000000000002"))
    assert kinds(got) == [
        "DecImportResponse",
        "DEC_DATA L",
        "InspectionNotice PASSED",
        "DEC_DATA R",
    ]
    assert {delay for _, delay, _ in got} == {3.0}  # the steered delay before each answer
    assert got[2][2].notice_id == "HOLD-1"  # type: ignore[attr-defined]
    assert engine.snapshot()["declarations"][0]["status"] == "cleared"


def test_failed_lab_test_is_never_cleared() -> None:
    engine, s = CustomsEngine(), Shipment.make(2, 1)
    engine.handle("InspectionNotice", lab_instruction(s, "F26110000000000002"))
    got = answers(engine, "DecMessage", declaration_xml("complete", s, "F26110000000000002"))
    assert kinds(got) == ["DecImportResponse", "DEC_DATA L", "InspectionNotice ANOMALY"]
    assert engine.snapshot()["declarations"][0]["status"] == "held"


def test_documents_request_is_answered_g_then_r_or_sp1() -> None:
    engine, s = CustomsEngine(), Shipment.make(3, 1)
    engine.handle("DocumentsRequiredNotice", documents_request("A26110000000000002"))
    ok = answers(engine, "DecMessage", declaration_xml("complete", s, "A26110000000000002"))
    assert kinds(ok) == ["DecImportResponse", "DEC_DATA L", "DEC_DATA G", "DEC_DATA R"]
    engine.handle("DocumentsRequiredNotice", documents_request("F26110000000000003", "HOLD-E"))
    bad = answers(engine, "DecMessage", declaration_xml("complete", s, "F26110000000000003"))
    assert kinds(bad) == ["DecImportResponse", "DEC_DATA L", "DEC_DATA Sp1"]


def test_instruction_after_registration_is_answered_at_once_and_once() -> None:
    engine, s = CustomsEngine(), Shipment.make(4, 1)
    summary = answers(engine, "DecMessage", declaration_xml("summary", s, "X26110000000000001"))
    assert kinds(summary)[:2] == ["DecImportResponse", "DEC_DATA SpL"]
    # a port inspection the hub orders later (e.g. after a discrepancy): X fails it
    late = lab_instruction(s, "X26110000000000001", "INSP-2")
    assert kinds(answers(engine, "InspectionNotice", late)) == ["InspectionNotice ANOMALY"]
    assert engine.handle("InspectionNotice", late) == []  # redelivered: answered once
    result = decode(late)
    result.outcome = InspectionOutcome.PASSED
    assert engine.handle("InspectionNotice", encode(result)) == []  # a result is no instruction


def test_stage1_instruction_before_the_summary_is_steered_by_its_client_seq_no() -> None:
    engine, s = CustomsEngine(), Shipment.make(5, 1)
    assert engine.handle("InspectionNotice", lab_instruction(s, "X26110000000000005", "INSP-5")) == []
    got = answers(engine, "DecMessage", declaration_xml("summary", s, "X26110000000000005"))
    assert "InspectionNotice ANOMALY" in kinds(got)
    assert [m.notice_id for _, _, m in got if isinstance(m, InspectionNotice)][-1] == "INSP-5"


def test_every_answer_carries_back_the_hub_message_it_answers() -> None:
    """Issue 12 item 3: the hub matches customs' answers against what it forwarded, so each answer
    names the hub's id of its input; a kept instruction's answers name the instruction."""
    engine, s = CustomsEngine(), Shipment.make(3, 1)
    assert engine.handle("DocumentsRequiredNotice", documents_request("A26110000000000009"), "hub-docs") == []
    got = engine.handle("DecMessage", declaration_xml("complete", s, "A26110000000000009"), "hub-decl")
    assert [(a.message_type, a.in_reply_to) for a in got] == [
        ("DecImportResponse", "hub-decl"),
        ("DEC_DATA", "hub-decl"),  # L
        ("DEC_DATA", "hub-docs"),  # G, the documents hold's result
        ("DEC_DATA", "hub-decl"),  # R
    ]
    later = engine.handle("InspectionNotice", lab_instruction(s, "A26110000000000009", "HOLD-9"), "hub-lab")
    assert {a.in_reply_to for a in later} == {"hub-lab"}
