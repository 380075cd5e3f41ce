"""Golden samples: every family validates, decodes, re-encodes to the same canonical model, and the
encoder's bytes stay stable (a change in them is a deliberate, reviewed change of the golden file)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from messages.detect import detect
from messages.errors import UnknownMessageType
from messages.models.declaration import Declaration, DeclarationKind
from messages.models.manifest import Manifest
from messages.models.receipts import ManifestResponse
from messages.xml import decode, encode, validate
from messages.xml.declaration import parse_declaration, render_declaration
from messages.xml.samples import all_samples
from messages.xml.schemas import validate_tree

SAMPLES = Path(__file__).parent / "samples"
MODELS = all_samples()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_golden_file_matches_encoder_output(name: str) -> None:
    assert encode(MODELS[name]) == (SAMPLES / f"{name}.xml").read_bytes()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_decode_encode_decode_is_identity_on_the_model(name: str) -> None:
    data = (SAMPLES / f"{name}.xml").read_bytes()
    assert validate(data) == []
    first = decode(data)
    assert first == MODELS[name]
    again = decode(encode(first))
    assert again == first
    assert type(again) is type(MODELS[name])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_detect_names_every_golden_sample(name: str) -> None:
    found = detect((SAMPLES / f"{name}.xml").read_bytes())
    assert found.format == "xml"
    expected = name.split("_")[0] if not name.startswith("DEC_DATA") else "DEC_DATA"
    assert found.message_type == expected


def test_encoded_output_is_utf8_with_declaration_and_schema_valid() -> None:
    from lxml import etree

    for name, model in MODELS.items():
        data = encode(model)
        assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"), name
        data.decode("utf-8")
        root = etree.fromstring(data)
        key = (
            "MT9999"
            if isinstance(model, ManifestResponse)
            else (model.head.message_type if isinstance(model, Manifest) else root.tag.rpartition("}")[2])
        )
        assert validate_tree(root, key) == [], name


def test_cjk_and_separator_characters_survive() -> None:
    decl = decode((SAMPLES / "DecMessage_complete.xml").read_bytes())
    assert decl.head.trade_name == "青岛海丰＋国际贸易有限公司"
    assert decl.head.goods_place == "青岛前湾港区 QQCT 堆场: 3号'库*"
    assert decl.sign.note == "两步申报 test: 'A'+B?C*D"


def test_summary_and_complete_kinds_come_from_type_position_3() -> None:
    summary = parse_declaration((SAMPLES / "DecMessage_summary.xml").read_bytes())
    complete = parse_declaration((SAMPLES / "DecMessage_complete.xml").read_bytes())
    assert summary.kind is DeclarationKind.SUMMARY and summary.items[0].code_ts == "020230"
    assert complete.kind is DeclarationKind.COMPLETE and complete.items[0].code_ts == "0202300090"
    assert render_declaration(complete) == (SAMPLES / "DecMessage_complete.xml").read_bytes()


def test_client_style_file_with_empty_elements_decodes() -> None:
    """Hand-written, not produced by our encoder: empty elements, tabs, a comment, empty wrappers."""
    data = (SAMPLES / "DecMessage_client_style.xml").read_bytes()
    decl = parse_declaration(data)
    assert isinstance(decl, Declaration)
    assert decl.kind is DeclarationKind.SUMMARY
    assert decl.head.seq_no == "" and decl.head.entry_id == ""
    assert decl.head.gross_wet == Decimal("52000.125")
    assert decl.head.trade_name == "日照钢铁＋控股集团有限公司"
    assert decl.head.note_s == "铁矿砂 'IRON ORE' 散货? 无集装箱*"
    assert decl.items[0].code_ts == "260111" and decl.containers == [] and decl.licences == []
    assert decl.sign is not None and decl.sign.oper_type == "G"
    assert decl.declaration_id == "RZ26115000000099"
    # and our own rendering of it is valid and decodes to the same model
    assert parse_declaration(render_declaration(decl)) == decl


def test_parse_declaration_refuses_other_families() -> None:
    with pytest.raises(UnknownMessageType):
        parse_declaration((SAMPLES / "MT1101.xml").read_bytes())


def test_manifest_message_type_and_structure() -> None:
    m = decode((SAMPLES / "MT1101.xml").read_bytes())
    assert isinstance(m, Manifest) and m.message_type == "MT1101"
    c = m.declaration.consignments[0]
    assert c.bill_no == "COSU6300000001" and c.consignee is not None and c.consignee.country_code == "CN"
    assert c.items[0].equipment_ids == [c.transport_equipment[0].equipment_id]
    assert m.declaration.unloading_location is not None
    assert m.declaration.unloading_location.id == "CNTAO/4227"
    r = decode((SAMPLES / "MT9999.xml").read_bytes())
    assert isinstance(r, ManifestResponse) and r.head.message_type == "MT2101"
    assert [c.code for c in r.consignments] == ["01", "03"]
