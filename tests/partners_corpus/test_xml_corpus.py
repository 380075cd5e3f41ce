"""Client-tool shaped single-window XML (tests/partners_corpus/xml): every element written, unused
ones empty, the extra DecMessage blocks, MFTMessage, bare DEC_RESULT, GB2312/GBK receipts. Each is
validated, converted to EDIFACT and back, and its facts checked at their XML paths and in the
EDIFACT; empty versus absent is checked for every leaf element of every sample."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from messages import edifact, xml
from messages.convert import convert, validate
from messages.edifact.directory import shipped_directories
from messages.errors import ValidationFailed
from messages.partners import Partner

CORPUS = Path(__file__).parent / "xml"
SAMPLES = sorted(CORPUS.glob("*.xml"))


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_validates(path: Path) -> None:
    assert validate(path.read_bytes()) == []


def test_declaration_without_version_keeps_every_block_in_an_xml_round_trip() -> None:
    decl = xml.decode(_read("DecMessage_client_full.xml"))
    assert decl.version == ""
    assert decl.head.cop_code == "3711980123"  # 10 characters, as the field spec has it
    assert decl.head.fee_rate is None and decl.items[0].decl_price is None  # empty numeric = absent
    limit = decl.items[0].goods_limits[0]
    assert (limit.lic_type_code, limit.licence_no, limit.lic_wrtof_qty) == ("411", "3702260000123", 1)
    assert limit.vins[0].vin_code == "LSVAU2180N2123456" and limit.vins[0].price_per_unit is None
    assert decl.request_certs[0].app_cert_code == "11" and decl.other_packs[0].pack_type == "22"
    assert decl.cop_limits[0].ent_qualif_type_code == "101"
    assert decl.users[0].use_org_person_code.startswith("日照钢铁")
    assert decl.edocs[0].edoc_id == "A2026111800001"
    assert decl.cop_promises[0].declaratio_material_code == "000"
    data = xml.encode(decl)
    assert b"Version=" not in data and xml.decode(data) == decl


def test_declaration_blocks_cross_to_cusdec_and_back() -> None:
    decl = xml.decode(_read("DecMessage_client_full.xml"))
    edi = convert(xml.encode(decl))[0].content
    assert b"request_certs.0.app_cert_code" in edi and b"users.0.use_org_person_code" in edi
    back = xml.decode(convert(edi)[0].content)
    assert back.request_certs == decl.request_certs and back.users == decl.users
    assert back.other_packs == decl.other_packs and back.cop_limits == decl.cop_limits
    assert back.items[0].goods_limits == decl.items[0].goods_limits
    assert back == decl


@pytest.mark.parametrize("directory", shipped_directories())
def test_goods_limits_travel_in_the_goods_item_group_of_every_directory(directory: str) -> None:
    decl = xml.decode(_read("DecMessage_client_full.xml"))
    limit = decl.items[0].goods_limits[0]
    partner = replace(Partner(), directory=directory)
    edi = convert(xml.encode(decl), partner=partner)[0].content
    assert edifact.validate(edi) == []
    tree = edifact.structure(edifact.read(edi).messages[0], directory)
    line = tree.groups("CST")[0]
    [doc] = line.groups("DOC")  # the licence sits in its own goods line, not in the header
    assert (doc.segments[0].get(0), doc.segments[0].get(0, 2), doc.segments[0].get(1)) == (
        limit.lic_type_code,
        "ZZZ",
        limit.licence_no,
    )
    refs = {g.segments[0].get(0, 3): g.segments[0].get(0, 1) for g in line.groups("RFF")}
    assert refs["limits.0.vins.0.vin_code"] == limit.vins[0].vin_code
    assert refs["limits.0.lic_wrtof_qty"] == "1"
    assert all(len(path) <= 35 for path in refs)  # data element 4000 is an..35
    back = xml.decode(convert(edi, partner=partner)[0].content)
    assert back.items[0].goods_limits == decl.items[0].goods_limits


def test_goods_licence_reference_without_its_doc_is_refused_at_the_goods_line() -> None:
    decl = xml.decode(_read("DecMessage_client_full.xml"))
    edi = convert(xml.encode(decl))[0].content
    doc = re.search(rb"DOC\+411::ZZZ\+3702260000123'\n?", edi)
    assert doc is not None
    broken = edi.replace(doc.group(0), b"")
    count = re.search(rb"UNT\+(\d+)\+", broken)
    assert count is not None
    broken = broken.replace(count.group(0), b"UNT+%d+" % (int(count.group(1)) - 1))
    with pytest.raises(ValidationFailed) as caught:
        convert(broken)
    [issue] = caught.value.issues
    assert "(CST)" in issue.location and "DOC+<LicTypeCode>::ZZZ+<LicenceNo>" in issue.message


@pytest.mark.parametrize("name", ["DEC_RESULT_bare_gbk.xml", "DEC_DATA_gb2312.xml"])
def test_receipts_in_chinese_legacy_charsets_convert_both_ways(name: str) -> None:
    receipt = xml.decode(_read(name))
    assert receipt.result.pack_no is None and receipt.result.net_wt is None  # empty numeric
    edi = convert(_read(name))[0].content
    assert edi.startswith(b"UNA") and b"CUSRES" in edi
    back = xml.decode(convert(edi)[0].content)
    assert back.result.channel == receipt.result.channel
    assert back.result.seq_no == receipt.result.seq_no
    assert back.result.note == receipt.result.note  # CJK survived GB2312/GBK -> UTF-8 -> EDIFACT


def test_bare_dec_result_reads_as_dec_data() -> None:
    receipt = xml.decode(_read("DEC_RESULT_bare_gbk.xml"))
    assert receipt.result.channel == "L" and receipt.result.note == "海关已接收"


def test_mft_message_envelope_is_opened_and_its_location_id_kept() -> None:
    manifest = xml.decode(_read("MFTMessage_MT3101.xml"))
    assert manifest.head.message_type == "MT3101"
    edi = convert(_read("MFTMessage_MT3101.xml"))[0].content
    assert b"CODECO" in edi and b"CNTAC230030" in edi
    back = xml.decode(convert(edi)[0].content)
    assert back.head.message_type == "MT3101"
    assert b"CNTAC230030/2327" in xml.encode(back)


def test_errors_in_a_bare_dec_result_name_its_elements_without_the_reader_s_wrapper() -> None:
    bare = _read("DEC_RESULT_bare_gbk.xml").replace(b"</CHANNEL>", b"</CHANNEL><BOGUS>1</BOGUS>", 1)
    assert [i.location for i in validate(bare)] == ["/DEC_RESULT/BOGUS"]
    wrapped = _read("DEC_DATA_gb2312.xml").replace(b"</SEQ_NO>", b"</SEQ_NO><BOGUS>1</BOGUS>", 1)
    assert [i.location for i in validate(wrapped)] == ["/DEC_DATA/DEC_RESULT/BOGUS"]  # as written


def test_errors_inside_an_mft_message_name_the_senders_elements_as_written() -> None:
    data = _read("MFTMessage_MT3101.xml")
    bad = data.replace(b"<DeclarationOfficeID>4228<", b"<DeclarationOfficeID>42<", 1).replace(
        b"<JourneyID>2611W</JourneyID>", b"<JourneyID>2611W</JourneyID><Bogus>1</Bogus>", 1
    )
    issues = validate(bad)
    assert sorted(i.location for i in issues) == [
        "/MFTMessage/MFTData/Manifest/Declaration/BorderTransportMeans/Bogus",
        "/MFTMessage/MFTData/Manifest/Declaration/DeclarationOfficeID",
    ]
    assert not any(":" in i.location or "urn:" in i.message for i in issues)


def test_an_unknown_empty_element_is_still_refused_by_name() -> None:
    data = _read("DecMessage_client_full.xml").replace(b"<ApprNo></ApprNo>", b"<ApprNo></ApprNo><Bogus/>")
    issues = validate(data)
    assert any(i.location.endswith("/Bogus") for i in issues)


# ---------------------------------------------------------------- empty versus absent, every leaf


def _leaves(data: bytes) -> list[int]:
    root = etree.fromstring(data)
    return [
        i for i, el in enumerate(root.iter()) if isinstance(el.tag, str) and len(el) == 0 and not el.attrib
    ]


def _variant(data: bytes, index: int, how: str) -> bytes:
    root = etree.fromstring(data)
    el = [e for e in root.iter()][index]
    if how == "absent":
        el.getparent().remove(el)
    else:
        el.text = None if how == "self-closed" else ""
        if how == "open-close":
            el.text = ""
    encoding = re.search(rb'encoding="([^"]+)"', data[:100])
    declared = encoding.group(1).decode() if encoding else "UTF-8"
    return etree.tostring(root, xml_declaration=True, encoding=declared)


def _outcome(data: bytes) -> object:
    try:
        return ("model", xml.decode(data))
    except ValidationFailed as exc:
        return ("refused", sorted(re.sub(r"\[\d+\]", "", i.location).rsplit("/", 1)[0] for i in exc.issues))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES).flatmap(
        lambda p: st.tuples(st.just(p.read_bytes()), st.sampled_from(_leaves(p.read_bytes())))
    )
)
def test_an_empty_element_reads_as_an_absent_one(case: tuple[bytes, int]) -> None:
    data, index = case
    absent = _outcome(_variant(data, index, "absent"))
    assert _outcome(_variant(data, index, "self-closed")) == absent
    assert _outcome(_variant(data, index, "open-close")) == absent


def test_mft_message_is_written_where_the_partner_profile_asks() -> None:
    from messages.mapping.testing import manifest_cuscar_bytes
    from messages.partners import load_partners

    [profile] = load_partners("partners:\n  client:\n    xml_envelope: MFTMessage\n").values()
    edi = manifest_cuscar_bytes(2)
    [doc] = convert(edi, partner=profile)
    root = etree.fromstring(doc.content)
    assert root.tag == "MFTMessage" and root.findtext("MFTHead/MessageType") == "MT1101"
    inner = root.find("MFTData/Manifest")
    assert inner is not None and etree.QName(inner).namespace is None
    assert validate(doc.content) == []
    assert xml.decode(doc.content) == xml.decode(convert(edi)[0].content)


def test_several_licences_and_vin_lines_per_goods_line_keep_their_order_and_every_field() -> None:
    decl = xml.decode(_read("DecMessage_client_full.xml"))
    template = decl.items[0].goods_limits[0]
    full_vin = replace(template.vins[0], quality_qgp="12", chassis_no="C9", invoice_num=Decimal("3"))
    full_vin = replace(full_vin, price_per_unit=Decimal("12500.5"))
    second_vin = replace(full_vin, vin_no="2", vin_code="LSVAU2180N2123457", motor_no="")
    limits = [
        replace(template, lic_type_code="411", licence_no="L1", lic_wrtof_detail_no="7", vins=[full_vin]),
        replace(
            template,
            lic_type_code="A",
            licence_no="L2",
            lic_wrtof_qty_unit="035",
            vins=[second_vin, full_vin],
        ),
    ]
    decl.items[0].goods_limits = limits
    if len(decl.items) > 1:
        decl.items[1].goods_limits = [replace(template, licence_no="L3", vins=[])]
    back = xml.decode(convert(convert(xml.encode(decl))[0].content)[0].content)
    assert [item.goods_limits for item in back.items] == [item.goods_limits for item in decl.items]
