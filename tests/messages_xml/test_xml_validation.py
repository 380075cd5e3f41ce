"""Validation reports ALL problems at once, each with an element path and (for parsed input) a line."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from messages.errors import ValidationFailed, ValidationIssue
from messages.xml import decode, encode, validate
from messages.xml.declaration import parse_declaration, render_declaration
from messages.xml.samples import TRADE_CO_SCC, declaration, mt1101

SAMPLES = Path(__file__).parent / "samples"


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def test_several_schema_errors_are_all_listed_with_line_and_path() -> None:
    data = (SAMPLES / "DecMessage_complete.xml").read_bytes()
    bad = (
        data.replace(b"<IEFlag>I</IEFlag>", b"<IEFlag>X</IEFlag>")
        .replace(b"<GrossWet>24850.5</GrossWet>", b"<GrossWet>heavy</GrossWet>")
        .replace(
            f"<TradeCoScc>{TRADE_CO_SCC}</TradeCoScc>".encode(), b"<TradeCoScc>SHORT</TradeCoScc><Bogus/>"
        )
        .replace(b"<CodeTS>0206290000</CodeTS>", b"<CodeTS>02062900</CodeTS>")
        .replace(b"<GNo>2</GNo>", b"<GNo>0</GNo>")
    )
    issues = validate(bad)
    by_path = {i.location: i for i in issues}
    expected = {
        "/DecMessage/DecHead/IEFlag": b"<IEFlag>X",
        "/DecMessage/DecHead/GrossWet": b"<GrossWet>heavy",
        "/DecMessage/DecHead/TradeCoScc": b"<TradeCoScc>SHORT",
        "/DecMessage/DecHead/Bogus": b"<Bogus/>",
        "/DecMessage/DecLists/DecList[2]/CodeTS": b"<CodeTS>02062900",
        "/DecMessage/DecLists/DecList[2]/GNo": b"<GNo>0",
    }
    for path, needle in expected.items():
        assert path in by_path, (path, [str(i) for i in issues])
        assert by_path[path].line == _line_of(bad, needle)
        assert by_path[path].message
    assert len(issues) >= len(expected)
    with pytest.raises(ValidationFailed) as info:
        decode(bad)
    assert len(info.value.issues) == len(issues)
    with pytest.raises(ValidationFailed):
        parse_declaration(bad)


def test_missing_required_elements_are_reported_with_parent_path() -> None:
    data = (SAMPLES / "MT1101.xml").read_bytes()
    bad = re.sub(rb"<TotalGrossMassMeasure[^>]*>[^<]*</TotalGrossMassMeasure>", b"", data, count=1)
    bad = bad.replace(b"<FunctionCode>9</FunctionCode>", b"<FunctionCode>7</FunctionCode>")
    issues = validate(bad)
    paths = [i.location for i in issues]
    assert "/Manifest/Head/FunctionCode" in paths
    assert any(p.startswith("/Manifest/Declaration/Consignment[") for p in paths), paths
    assert all(i.line for i in issues)


def test_semantic_rules_are_reported_together() -> None:
    decl = declaration("complete")
    decl.items[1].g_no = 3  # gap
    decl.items[0].code_ts = "020230"  # 6 digits on a complete declaration
    decl.containers[0].goods_no = "1,7"
    with pytest.raises(ValidationFailed) as info:
        render_declaration(decl)
    messages = " | ".join(str(i) for i in info.value.issues)
    assert "GNo must run 1..n" in messages
    assert "6-digit CodeTS" in messages
    assert "['7']" in messages
    assert len(info.value.issues) == 3


def test_encoder_refuses_models_that_would_produce_invalid_xml() -> None:
    decl = declaration("complete")
    decl.head.ie_flag = "X"
    decl.head.trade_co_scc = "not-a-uscc"
    decl.head.gross_wet = Decimal("-1")
    with pytest.raises(ValidationFailed) as info:
        encode(decl)
    paths = {i.location for i in info.value.issues}
    assert {
        "/DecMessage/DecHead/IEFlag",
        "/DecMessage/DecHead/TradeCoScc",
        "/DecMessage/DecHead/GrossWet",
    } <= paths


def test_manifest_missing_consignee_name_and_bad_container_number() -> None:
    m = mt1101(2)
    m.declaration.consignments[1].consignee.name = ""
    m.declaration.consignments[0].transport_equipment[0].equipment_id = "TGHU12345"
    m.declaration.consignments[0].items[0].equipment_ids = ["TGHU12345"]
    with pytest.raises(ValidationFailed) as info:
        encode(m)
    paths = [i.location for i in info.value.issues]
    assert "/Manifest/Declaration/Consignment[2]/Consignee/Name" in paths
    assert any("TransportEquipment[1]/EquipmentIdentification/ID" in p for p in paths), paths


def test_manifest_head_type_must_match_namespace() -> None:
    data = (
        (SAMPLES / "MT3101.xml")
        .read_bytes()
        .replace(b"<MessageType>MT3101</MessageType>", b"<MessageType>MT5102</MessageType>")
    )
    issues = validate(data)
    assert issues == [
        ValidationIssue(
            "/Manifest/Head/MessageType",
            "MessageType 'MT5102' does not match the document namespace (MT3101)",
            _line_of(data, b"<MessageType>"),
        )
    ]


def test_item_container_must_be_listed_in_consignment() -> None:
    m = mt1101(1)
    m.declaration.consignments[0].items[0].equipment_ids = ["MSCU1234565"]
    with pytest.raises(ValidationFailed, match="not listed"):
        encode(m)


def test_valid_documents_have_no_issues() -> None:
    for path in SAMPLES.glob("*.xml"):
        assert validate(path.read_bytes()) == [], path.name


def test_every_error_of_a_large_manifest_is_reported_with_its_own_path() -> None:
    data = encode(mt1101(300))
    bad = data.replace(b"<FullnessCode>8</FullnessCode>", b"<FullnessCode>9</FullnessCode>")
    issues = validate(bad)
    assert len(issues) == 600
    paths = {i.location for i in issues}
    assert len(paths) == 600
    assert "/Manifest/Declaration/Consignment[300]/TransportEquipment[2]/FullnessCode" in paths
    assert all("{'4', '5', '7', '8'}" in i.message for i in issues)
    assert len({i.line for i in issues}) == 600
