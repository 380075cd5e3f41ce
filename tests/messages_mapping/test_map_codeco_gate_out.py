"""CODECO gate-out (BGM 36) <-> GateOutReport: what is refused, all at once and located, and the
partner profile's default site."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from messages.convert import convert
from messages.errors import ValidationFailed
from messages.mapping.codeco_gate_out import CST
from messages.models.gate import GateOutReport
from messages.partners import Partner
from messages.xml import decode, encode, samples


def codeco(*eqd_groups: str, bgm: str = "36") -> bytes:
    body = [f"BGM+{bgm}+GO1+9", "NAD+MS+CNTAOQQCT", *eqd_groups, f"CNT+16:{len(eqd_groups)}"]
    segments = [s for group in body for s in group.split("'") if s]
    return (
        "UNB+UNOA:2+CNTAOQQCT+SWHUB+261122:0410+R1'UNH+1+CODECO:D:95B:UN:SMDG16'"
        + "'".join(segments)
        + f"'UNT+{len(segments) + 2}+1'UNZ+1+R1'"
    ).encode()


BOX = "EQD+CN+TGHU1234567+45G1:102:5++2+5'RFF+BM:COSU6312345670'DTM+7:202611220410:203'LOC+165+CNTAO/4227"


def test_a_gate_out_reads_into_a_gate_out_report() -> None:
    (doc,) = convert(codeco(BOX))
    report = decode(doc.content)
    assert isinstance(report, GateOutReport) and doc.message_type == "GateOutReport"
    (gate,) = report.gate_outs
    assert (gate.container_id, gate.bill_no, gate.site_code) == (
        "TGHU1234567",
        "COSU6312345670",
        "CNTAO/4227",
    )
    assert gate.gated_out_at == datetime(2026, 11, 22, 4, 10, tzinfo=CST)
    assert report.sender_id == "CNTAOQQCT"


def test_every_problem_of_every_box_is_refused_at_once() -> None:
    no_bill = "EQD+CN+TGHU1234567+45G1:102:5++2+5'DTM+7:202611220410:203'LOC+165+CNTAO/4227"
    bad_time = "EQD+CN+CSNU6543210+45G1:102:5++2+5'RFF+BM:B2'DTM+7:20261322:203'LOC+165+CNTAO/4227"
    no_site_no_time = "EQD+CN+MSCU1234566+22G1:102:5++2+5'RFF+BM:B3"
    with pytest.raises(ValidationFailed) as caught:
        convert(codeco(no_bill, bad_time, no_site_no_time))
    found = [(i.location, i.message) for i in caught.value.issues]
    assert len(found) == 4, found
    assert "no bill of lading (RFF+BM)" in found[0][1] and "(EQD)" in found[0][0]
    assert "'20261322' is not a date/time in format 203" in found[1][1]
    assert {m for _, m in found[2:]} == {
        "container MSCU1234566: no gate site: add LOC+165 to its EQD group",
        "container MSCU1234566: no gate-out time (DTM+7 or DTM+203)",
    }


def test_the_partner_profile_names_the_site_a_terminal_leaves_out() -> None:
    box = "EQD+CN+TGHU1234567+45G1:102:5++2+5'RFF+BM:COSU6312345670'DTM+203:202611220410:203"
    partner = replace(Partner(), defaults={"unloading_location": "CNTAO/4227"})
    (gate,) = decode(convert(codeco(box), partner=partner)[0].content).gate_outs  # type: ignore[attr-defined]
    assert gate.site_code == "CNTAO/4227"


def test_another_bgm_code_is_neither_gate_in_nor_gate_out() -> None:
    with pytest.raises(ValidationFailed) as caught:
        convert(codeco(BOX, bgm="99"))
    assert "neither a gate-in (34, MT3101) nor a gate-out report (36, GateOutReport)" in str(
        caught.value.issues
    )


def test_written_back_as_bgm_36_and_fractions_of_a_second_are_refused() -> None:
    model = samples.gate_out_report()
    edi = convert(encode(model))[0].content
    assert b"BGM+36+" in edi and b"DTM+7:202611220315:203'" in edi and b"LOC+165+CNTAO/4227'" in edi
    assert decode(convert(edi)[0].content) == model
    model.gate_outs[0].gated_out_at = model.gate_outs[0].gated_out_at.replace(second=5, microsecond=7)
    with pytest.raises(ValidationFailed, match="no place for this value"):
        convert(encode(model))
