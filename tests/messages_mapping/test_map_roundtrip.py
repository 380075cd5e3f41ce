"""Golden samples and round trips for every implemented pair (CUSCAR/MT1101, CODECO/MT3101,
COARRI/MT5101+MT5102), plus hypothesis-generated manifests with CJK text and separators."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages import edifact, xml
from messages.convert import convert
from messages.errors import UnknownMessageType, ValidationFailed
from messages.mapping import message_to_model, model_to_interchange
from messages.mapping.testing import manifest_cuscar_bytes
from messages.models.manifest import Party
from messages.partners import Partner
from messages.xml import samples

SAMPLES = {
    "MT1101": samples.mt1101,
    "MT3101": samples.mt3101,
    "MT5101": samples.mt5101,
    "MT5102": samples.mt5102,
    "DecMessage-summary": lambda: samples.declaration("summary"),
    "DecMessage-complete": lambda: samples.declaration("complete"),
    "DEC_DATA": samples.dec_data,
    "MT9999": samples.mt9999,
}
EDIFACT_TYPE = {
    "MT1101": ("CUSCAR", "85"),
    "MT3101": ("CODECO", "34"),
    "MT5101": ("COARRI", "44"),
    "MT5102": ("COARRI", "46"),
    "DecMessage-summary": ("CUSDEC", "929"),
    "DecMessage-complete": ("CUSDEC", "929"),
    "DEC_DATA": ("CUSRES", "962"),
    "MT9999": ("CUSRES", "961"),
}


def _edi(model: object, partner: Partner | None = None) -> bytes:
    return edifact.write(model_to_interchange([model], partner or Partner()), newline=True)


@pytest.mark.parametrize("mt", sorted(SAMPLES))
def test_xml_edifact_xml_is_equal_on_the_model(mt: str) -> None:
    model = SAMPLES[mt]()
    [edi] = convert(xml.encode(model))
    kind, bgm = EDIFACT_TYPE[mt]
    assert edi.message_type == kind
    interchange = edifact.read(edi.content)
    message = interchange.messages[0]
    assert message.find("BGM").get(0) == bgm
    [back] = convert(edi.content)
    assert back.message_type == mt.split("-")[0]
    assert xml.decode(back.content) == model


@pytest.mark.parametrize("mt", sorted(SAMPLES))
def test_edifact_xml_edifact_is_equal_on_the_model(mt: str) -> None:
    first = _edi(SAMPLES[mt]())
    [doc] = convert(first)
    [again] = convert(doc.content)
    i1, i2 = edifact.read(first), edifact.read(again.content)
    assert message_to_model(i1.messages[0], i1) == message_to_model(i2.messages[0], i2)


def test_golden_cuscar_segments_carry_cjk_and_escaped_separators() -> None:
    text = _edi(samples.mt1101(1, 1)).decode("utf-8")
    # B/L in CNI and RFF+BM, parties, goods, container link
    assert "CNI+1+COSU6300000001:10'" in text
    assert "RFF+BM:COSU6300000001'" in text
    assert "NAD+CN+USCI?+" in text  # '+' inside the party id is released
    assert "山东省青岛市黄岛区前湾港路88号?: ?'B?'座" in text  # ':' and "'" released, CJK kept
    assert "NAD+N1+USCI?+" in text and "*通知方" in text  # '*' is ordinary data in syntax v3
    assert "FTX+AAA+++冷冻牛肉 FROZEN BEEF?+0 ?'A?' grade'" in text
    assert "SGP+" in text and "EQD+CN+" in text and "DTM+137:20261120091530123:ZZZ'" in text


def test_syntax_version_4_escapes_the_repetition_separator() -> None:
    text = _edi(samples.mt1101(1, 1), Partner(syntax_version=4)).decode("utf-8")
    assert "日照港通报关有限公司?*通知方" in text
    [doc] = convert(text.encode())
    assert xml.decode(doc.content) == samples.mt1101(1, 1)


def test_generated_cuscar_converts_to_a_valid_mt1101_per_bill() -> None:
    [doc] = convert(manifest_cuscar_bytes(30))
    model = xml.decode(doc.content)
    assert doc.message_type == "MT1101" and len(model.declaration.consignments) == 30
    first = model.declaration.consignments[0]
    assert first.bill_no and first.consignor.name and first.items[0].equipment_ids
    assert first.transport_equipment[0].equipment_id == first.items[0].equipment_ids[0]
    assert first.package_quantity == sum(i.package_quantity for i in first.items)


def test_several_messages_become_one_document_each() -> None:
    interchange = model_to_interchange([samples.mt5101(), samples.mt5102()])
    docs = convert(edifact.write(interchange))
    assert [d.message_type for d in docs] == ["MT5101", "MT5102"]
    assert [d.name for d in docs] == ["1-MT5101.xml", "2-MT5102.xml"]


def test_partner_bgm_code_and_gbk_encoding() -> None:
    partner = Partner(syntax_id="UNOC", encoding="gbk", bgm_codes={"COARRI_loading": "270"})
    data = _edi(samples.mt5102(), partner)
    assert "理货正常".encode("gbk") in data and b"BGM+270+" in data and b"UNOC:3" in data
    [mojibake] = convert(data)  # without the override the GBK bytes decode as Latin-1 (UNOC)
    assert xml.decode(mojibake.content) != samples.mt5102()
    [doc] = convert(data, partner=partner)
    assert xml.decode(doc.content) == samples.mt5102()


def test_value_without_an_edifact_place_is_reported_not_dropped() -> None:
    model = samples.mt5101()
    model.declaration.consignments[0].package_quantity = 7  # not the sum of its containers
    with pytest.raises(ValidationFailed) as info:
        model_to_interchange([model])
    assert any("consignments[0].package_quantity" in i.location for i in info.value.issues)


def test_golden_cusres_and_cusdec_segments() -> None:
    receipt = _edi(samples.mt9999()).decode("utf-8")
    assert "RFF+BM:COSU6300000002:03:21302 收货人名称不能为空?: ?'X?''" in receipt
    assert "BGM+961+CN_MT9999_1p0_4227_20261120091500123+3+MT2101'" in receipt
    declaration = _edi(samples.declaration("summary")).decode("utf-8")
    assert "CST+1+020230:HS'" in declaration and "UNS+D'" in declaration and "UNS+S'" in declaration
    assert "RFF+ZZZ:两步申报 test?: ?'A?'?+B??C*D::sign.note'" in declaration


def test_unmapped_types_raise_a_typed_error() -> None:
    with pytest.raises(UnknownMessageType):
        convert(xml.encode(samples.mt2101()))


# ------------------------------------------------------------------------------------- property

_TEXT = (
    st.text(
        alphabet=st.sampled_from(list("+:'?*ABCxyz 019.,/-") + list("青岛港口货物测试有限公司冷冻")),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def manifests(draw: st.DrawFn) -> object:
    model = samples.mt1101(draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    for c in model.declaration.consignments:
        c.consignee = Party(name=draw(_TEXT), address_line=draw(_TEXT), country_code="CN")
        c.consignor.name = draw(_TEXT)
        for item in c.items:
            item.cargo_description = draw(_TEXT)
            item.gross_mass = Decimal(draw(st.integers(1, 10**7))) / 100
    model.declaration.representative_person_name = draw(_TEXT)
    return model


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_random_manifests_round_trip(model: object) -> None:
    try:
        source = xml.encode(model)
    except ValidationFailed:
        return  # generated text the XSD rejects (e.g. lengths) is not a mapping question
    [edi] = convert(source)
    [back] = convert(edi.content)
    assert xml.decode(back.content) == model
