"""Issue 11: partners' EDIFACT as terminals write it (tests/partners_corpus), enrichment and refusals."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from messages import edifact
from messages.convert import convert, validate
from messages.edifact.directory import available, load, shipped_directories
from messages.errors import MessageError, ValidationFailed
from messages.mapping import message_to_model
from messages.mapping.common import Issues
from messages.partners import load_partners_file, select_profile, sniff_unb_sender

CORPUS = Path(__file__).parents[1] / "partners_corpus"
COARRI = (CORPUS / "edifact" / "coarri_smdg_d95b_discharge_loading.edi").read_bytes()
PROFILES = load_partners_file(CORPUS / "partners.yaml")


def _xpath(doc: bytes, path: str) -> list[str]:
    root = etree.fromstring(doc)
    return [e.text or "" for e in root.xpath(path, namespaces={"m": root.nsmap[None]})]


def test_profile_is_chosen_by_unb_sender() -> None:
    assert select_profile(PROFILES, sniff_unb_sender(COARRI)).name == "genoa"
    assert select_profile(PROFILES, "NOBODY") is None


def test_smdg_coarri_discharge_and_loading_convert_with_their_facts_and_back() -> None:
    partner = select_profile(PROFILES, sniff_unb_sender(COARRI))
    docs = convert(COARRI, partner=partner)
    assert [d.message_type for d in docs] == ["MT5101", "MT5102"]
    discharge, loading = docs[0].content, docs[1].content
    # preparation time from UNB S004 (no DTM+137 in the message)
    assert _xpath(discharge, "/m:Manifest/m:Head/m:SendTime") == ["20261128141200000"]
    # customs office, tally party, unloading location from the partner profile
    assert _xpath(discharge, "//m:Declaration/m:DeclarationOfficeID") == ["4227"]
    assert _xpath(discharge, "//m:TallyParty/m:ID") == ["91370200163562681G"]
    assert _xpath(discharge, "//m:UnloadingLocation/m:ID") == ["CNTAO/4227"]
    # RFF+BM inside the EQD group is the bill; MEA+AAE+G the gross mass; seals CA and CU
    assert _xpath(discharge, "//m:Consignment/m:TransportContractDocument/m:ID") == ["MEDUGE123456"]
    box = "//m:Consignment/m:TransportEquipment"
    assert _xpath(discharge, f"{box}/m:EquipmentIdentification/m:ID") == ["MSCU1234566"]
    assert _xpath(discharge, f"{box}/m:TotalGrossMassMeasure") == ["24500"]
    assert _xpath(discharge, f"{box}/m:SealID") == ["ML12345", "CU998877"]
    # decimal comma VGM in the loading report (BGM 46)
    assert _xpath(loading, f"{box}/m:TotalGrossMassMeasure") == ["29100.5"]
    back = edifact.read(convert(discharge, partner=partner)[0].content)
    segs = [(s.tag, s.get(0), s.get(1)) for s in back.messages[0].segments]
    assert ("BGM", "44", "20261128141200") in segs
    assert ("LOC", "22", "4227") in segs
    assert ("EQD", "CN", "MSCU1234566") in segs
    assert ("RFF", ["BM", "MEDUGE123456"][0], "") in segs or any(
        s.tag == "RFF" and s.get(0, 1) == "MEDUGE123456" for s in back.messages[0].segments
    )


def test_missing_facts_are_refused_in_the_senders_terms() -> None:
    with pytest.raises(ValidationFailed) as exc:
        convert(COARRI)
    text = [str(i) for i in exc.value.issues]
    assert (
        "message 1452515553811 segment 3 (TDT group): no customs office: add LOC+22 or set "
        "defaults.customs_office in partner profile 'default'"
    ) in text
    assert any("segment 3 (TDT group): no tally party: add NAD+TL" in t for t in text)
    assert not any("/Manifest" in t for t in text)  # never a path in the generated document


def test_container_check_digit_is_a_warning_by_default_and_an_error_on_request() -> None:
    bad = COARRI.replace(b"TGHU7654320", b"TGHU7654321")
    interchange = edifact.read(bad)
    warnings: list = []
    message_to_model(interchange.messages[0], interchange, PROFILES["genoa"], warnings=warnings)
    assert any("segment 25 (EQD+CN)" in str(w) and "ISO 6346" in str(w) for w in warnings)
    with pytest.raises(ValidationFailed) as exc:
        message_to_model(interchange.messages[0], interchange, PROFILES["qqct"])
    assert any("(EQD+CN)" in i.location and "TGHU7654321" in i.message for i in exc.value.issues)


def test_unoc_with_utf8_bytes_is_refused() -> None:
    data = (
        "UNB+UNOC:3+A+B+261122:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'FTX+AAI+++青岛'UNT+4+1'UNZ+1+1'"
    ).encode()
    with pytest.raises(
        MessageError, match="declares UNOC but the content looks like UTF-8; set the partner's encoding"
    ):
        edifact.read(data)
    assert "(FTX)" in str(validate(data)[0])


def test_unknown_directory_is_refused_with_the_shipped_list() -> None:
    data = COARRI.replace(b"COARRI:D:95B:UN:ITG13'", b"COARRI:D:91A:UN:ITG13'", 1)
    issues = validate(data, partner=PROFILES["genoa"])
    assert any("D91A is not shipped (shipped: " in i.message and "D95B" in i.message for i in issues)


def test_wrong_unt_count_and_reference_and_missing_bgm_all_listed() -> None:
    data = COARRI.replace(b"BGM+46+20261128141201+9'", b"", 1).replace(
        b"UNT+13+1452515553812", b"UNT+99+XX", 1
    )
    issues = [str(i) for i in validate(data, partner=PROFILES["genoa"])]
    assert any("UNT segment count '99'" in i for i in issues)
    assert any("UNT message reference 'XX'" in i for i in issues)
    assert any("BGM" in i and "missing" in i for i in issues)


def test_dtm_304_keeps_time_zone_out_and_is_read() -> None:
    data = COARRI.replace(b"DTM+178:202611271030:203'", b"DTM+178:20261127103000+01:304'", 1)
    docs = convert(data, partner=PROFILES["genoa"])
    assert _xpath(docs[0].content, "//m:BorderTransportMeans/m:ActualDateTime") == ["20261127103000"]
    edi = convert(docs[0].content, partner=PROFILES["genoa"])[0].content
    assert b":304'" not in edi


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False))
def test_decimal_comma_and_point_read_the_same(value: Decimal) -> None:
    text = format(value, "f")
    issues = Issues()
    assert issues.decimal(text, "x", "mass") == issues.decimal(text.replace(".", ","), "x", "mass") == value
    assert issues.items == []


def test_lenient_lowercase_in_unoa_is_a_warning_never_silent() -> None:
    data = COARRI.replace(b"MSC FLAVIA", b"MSC Flavia")
    with pytest.raises(MessageError, match="lower case is not allowed in UNOA"):
        edifact.read(data)
    partner = replace(PROFILES["genoa"], lenient=("lowercase_in_unoa",))
    interchange = edifact.read(data, lenient=partner.lenient)
    warnings: list = []
    message_to_model(interchange.messages[0], interchange, partner, warnings=warnings)
    assert any("segment 4 (TDT)" in str(w) and "lowercase_in_unoa" in str(w) for w in warnings)


CUSCAR = (CORPUS / "edifact" / "cuscar_carrier_d95b_unoa4.edi").read_bytes()


def test_carrier_cuscar_unoa4_ung_group_decimal_comma_converts_both_ways() -> None:
    docs = convert(CUSCAR)
    assert [d.message_type for d in docs] == ["MT1101"]
    xml = docs[0].content
    assert _xpath(xml, "/m:Manifest/m:Head/m:SendTime") == ["20261128093000000"]
    assert _xpath(xml, "//m:Carrier/m:ID") == ["MSCU"]
    assert _xpath(xml, "//m:Consignment/m:TotalGrossMassMeasure") == ["24500.5"]
    assert _xpath(xml, "//m:Consignment/m:TotalPackageQuantity") == ["120"]
    assert _xpath(xml, "//m:ConsignmentItemPackaging/m:MarksNumbers") == ["MARKS 1-120"]
    assert _xpath(xml, "//m:GoodsReceiptPlace/m:Name") == ["GENOA"]
    comma = replace(PROFILES["genoa"], decimal_mark=",")
    edi = convert(xml, partner=comma)[0].content
    assert edi.startswith(b"UNA:+,? '")
    segs = {(s.tag, s.get(0)): s for s in edifact.read(edi).messages[0].segments}
    assert segs[("CNT", "7")].get(0, 1) == "24500,5"
    assert segs[("MEA", "AAE")].get(2, 1) == "24500,5"
    assert convert(edi)[0].content == xml


def test_generated_document_failing_its_xsd_is_an_internal_error_naming_both_sides() -> None:
    broken = replace(PROFILES["genoa"], defaults={**PROFILES["genoa"].defaults, "customs_office": "42"})
    with pytest.raises(ValidationFailed) as exc:
        convert(COARRI, partner=broken)
    text = str(exc.value.issues[0])
    assert text.startswith("message 1452515553811 (generated MT5101): internal error: COARRI message")
    assert "generated MT5101 fails its schema at /Manifest/Declaration/DeclarationOfficeID" in text


CODECO = (CORPUS / "edifact" / "codeco_smdg_d95b_gate_in.edi").read_bytes()


def test_smdg_codeco_gate_in_without_gid_converts_with_its_facts_and_back() -> None:
    partner = select_profile(PROFILES, sniff_unb_sender(CODECO))
    xml = convert(CODECO, partner=partner)[0].content
    box = "/m:Manifest/m:Declaration/m:TransportEquipment"
    assert _xpath(xml, f"{box}/m:EquipmentIdentification/m:ID") == ["MSCU1234566"]
    assert _xpath(xml, f"{box}/m:TransportContractDocument/m:ID") == ["MEDUGE123456"]  # RFF+BM
    assert _xpath(xml, f"{box}/m:TotalGrossMassMeasure") == ["28300.0"]  # MEA+AAE+VGM, comma-free
    assert _xpath(xml, "/m:Manifest/m:Head/m:SendTime") == ["20261128080000000"]  # UNB S004
    edi = convert(xml, partner=partner)[0].content
    message = edifact.read(edi).messages[0]
    assert [s.get(0) for s in message.segments if s.tag == "BGM"] == ["34"]
    eqd = next(s for s in message.segments if s.tag == "EQD")
    assert (eqd.get(0), eqd.get(1), eqd.get(2)) == ("CN", "MSCU1234566", "45G1")
    assert convert(edi)[0].content == xml


SHIPPED = shipped_directories()


@pytest.mark.parametrize("directory", SHIPPED)
def test_every_shipped_directory_loads_each_of_its_messages(directory: str) -> None:
    names = available(directory)
    assert names
    for name in names:
        definition = load(directory, name)
        assert definition.root.entries[0].tag == "UNH" and definition.root.entries[-1].tag == "UNT"


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from([d for d in SHIPPED if "COARRI" in available(d)]),
    st.decimals(min_value=1, max_value=99999, places=1, allow_nan=False, allow_infinity=False),
    st.sampled_from([",", "."]),
)
def test_coarri_in_every_shipped_directory_with_either_decimal_mark(
    directory: str, mass: Decimal, mark: str
) -> None:
    text = format(mass, "f")
    data = COARRI.replace(b":D:95B:", f":D:{directory[1:]}:".encode()).replace(
        b"MEA+AAE+VGM+KGM:29100,5", f"MEA+AAE+VGM+KGM:{text.replace('.', mark)}".encode()
    )
    partner = replace(PROFILES["genoa"], directory=directory, decimal_mark=mark if mark == "," else "")
    xml = convert(data, partner=partner)[1].content
    assert _xpath(xml, "//m:Consignment/m:TotalGrossMassMeasure") == [text]
    edi = convert(xml, partner=partner)[0].content
    assert f"COARRI:D:{directory[1:]}:UN".encode() in edi
    assert f"KGM:{text.replace('.', mark)}'".encode() in edi
    assert convert(edi, partner=partner)[0].content == xml


@pytest.mark.parametrize("directory", [d for d in SHIPPED if "CUSCAR" in available(d)])
def test_carrier_cuscar_per_shipped_directory(directory: str) -> None:
    data = CUSCAR.replace(b"CUSCAR:D:95B:UN", f"CUSCAR:D:{directory[1:]}:UN".encode()).replace(
        b"+UN+D:95B'", f"+UN+D:{directory[1:]}'".encode()
    )
    partner = replace(PROFILES["genoa"], directory=directory)
    xml = convert(data, partner=partner)[0].content
    assert _xpath(xml, "//m:Consignment/m:TransportContractDocument/m:ID") == ["MEDUGE123456"]
    edi = convert(xml, partner=partner)[0].content
    assert f"CUSCAR:D:{directory[1:]}:UN".encode() in edi
    assert convert(edi, partner=partner)[0].content == xml


def test_cuscar_in_an_unshipped_directory_is_refused_naming_unh_and_the_shipped_list() -> None:
    data = CUSCAR.replace(b"CUSCAR:D:95B:UN", b"CUSCAR:D:01B:UN")
    issues = [str(i) for i in validate(data)]
    shipped = "D95B, D96A, D96B, D00B, D03B, D13B"  # oldest release first
    assert any(
        "segment 1 (UNH)" in i and f"directory D01B is not shipped (shipped: {shipped})" in i for i in issues
    ), issues
    with pytest.raises(ValidationFailed) as exc:
        convert(data)
    assert f"(shipped: {shipped})" in str(exc.value)


def test_every_directory_the_issue_names_ships_all_five_messages() -> None:
    assert shipped_directories() == ["D95B", "D96A", "D96B", "D00B", "D03B", "D13B"]
    for directory in shipped_directories():
        assert available(directory) == ["COARRI", "CODECO", "CUSCAR", "CUSDEC", "CUSRES"], directory


def test_config_partners_file_ships_match_and_defaults() -> None:
    shipped = load_partners_file(Path(__file__).parents[2] / "config" / "partners.yaml")
    qqct = select_profile(shipped, "CNTAOQQCT")
    assert qqct is not None and qqct.name == "qqct"
    assert qqct.defaults == {
        "customs_office": "4227",
        "tally_party": "91370200163562681G",
        "unloading_location": "CNTAO/4227",
    }
