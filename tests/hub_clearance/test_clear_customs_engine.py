"""The customs simulator's decisions and steering (pure engine, no process)."""

from __future__ import annotations

from messages.models.notices import InspectionNotice, InspectionOutcome
from messages.models.receipts import DecImportResponse, DecResultReceipt, ManifestResponse
from messages.xml import decode
from simulators.customs.engine import CustomsEngine, steering
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml


def answers(engine: CustomsEngine, message_type: str, body: bytes) -> list[tuple[str, float, object]]:
    return [(a.message_type, a.delay, decode(a.body)) for a in engine.handle(message_type, body)]


def test_steering_prefixes() -> None:
    assert steering("A26110000000000001") == ("normal", 0.0)
    assert steering("R26110000000000001") == ("reject", 0.0)
    assert steering("I26110000000000001") == ("inspect", 0.0)
    assert steering("X26110000000000001") == ("anomaly", 0.0)
    assert steering("D3R110000000000001") == ("reject", 3.0)


def test_summary_registration_and_complete_clearance() -> None:
    engine, s = CustomsEngine(), Shipment.make(1, 2)
    got = answers(engine, "DecMessage", declaration_xml("summary", s, "A26110000000000001"))
    assert [t for t, _, _ in got] == ["DecImportResponse", "DEC_DATA"]
    response, receipt = got[0][2], got[1][2]
    assert isinstance(response, DecImportResponse) and response.accepted and len(response.seq_no) == 18
    assert isinstance(receipt, DecResultReceipt) and receipt.result.channel == "SpL"
    assert len(receipt.result.entry_id) == 18 and receipt.result.seq_no == response.seq_no
    full = answers(engine, "DecMessage", declaration_xml("complete", s, "A26110000000000002"))
    assert [r.result.channel for t, _, r in full if t == "DEC_DATA"] == ["L", "R"]  # type: ignore[attr-defined]


def test_rejection_inspection_anomaly_and_delay() -> None:
    engine, s = CustomsEngine(), Shipment.make(2, 1)
    rejected = answers(engine, "DecMessage", declaration_xml("summary", s, "R26110000000000001"))
    assert len(rejected) == 1 and rejected[0][2].response_code == "1"  # type: ignore[attr-defined]
    inspected = answers(engine, "DecMessage", declaration_xml("summary", s, "I26110000000000001"))
    channels = [r.result.channel for t, _, r in inspected if t == "DEC_DATA"]  # type: ignore[attr-defined]
    assert channels == ["SpL", "SpC"]
    notice = inspected[-1][2]
    assert isinstance(notice, InspectionNotice) and notice.outcome == InspectionOutcome.PASSED
    bad = answers(engine, "DecMessage", declaration_xml("summary", s, "X26110000000000001"))
    assert bad[-1][2].outcome == InspectionOutcome.ANOMALY  # type: ignore[attr-defined]
    slow = answers(engine, "DecMessage", declaration_xml("summary", s, "D5A110000000000001"))
    assert {delay for _, delay, _ in slow} == {5.0}


def test_manifest_family_gets_mt9999_per_bill() -> None:
    engine, a, b = CustomsEngine(), Shipment.make(3, 1), Shipment.make(4, 1)
    ((kind, _, receipt),) = answers(engine, "MT1101", manifest_xml(a, b))
    assert kind == "MT9999" and isinstance(receipt, ManifestResponse)
    assert [c.bill_no for c in receipt.consignments] == [a.bill_no, b.bill_no]
    assert {c.code for c in receipt.consignments} == {"01"} and receipt.head.message_type == "MT1101"
    ((_, _, arrival),) = answers(engine, "MT3101", arrival_xml(a.bill_no, a.containers[0]))
    assert arrival.head.message_type == "MT3101"  # type: ignore[attr-defined]
