"""Issue 11 audit: shapes seen in partners' real messages that the hub refused or mis-read.

Samples written by the team in the shapes public terminals', carriers' and client tools' messages
take: an ITG12 COARRI with an empty BGM number and a call sign under code list 146, an ITG13
export gate-in CODECO with only a booking and the vessel's port of loading, a UK LOT10-style CUSCAR
(no NAD+CA, LOC+60, bills numbered '<bill>-0', C058-only parties, a bulk EQD+BL linked by SGP) and
a DEC_RESULT in the 2018+ client's own element order with ISO dates. Each is validated, converted,
checked at its XML paths, converted back and read again to the same document; what the reader
tolerated is a warning naming the input segment; what cannot be carried is refused in the
sender's terms, never as an internal error.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from hub.cli.convert import run_validate
from messages import edifact
from messages.convert import convert, validate
from messages.errors import ValidationIssue
from messages.partners import Partner, load_partners_file, select_profile, sniff_unb_sender

CORPUS = Path(__file__).parent
PROFILES = load_partners_file(CORPUS / "partners.yaml")

# file -> (document type, {xpath: values}, words every warning must contain one of)
SAMPLES: dict[str, tuple[str, dict[str, list[str]]]] = {
    "coarri_terminal_d95b_itg12_comma.edi": (
        "MT5101",
        {
            # BGM+44++9: UNB 0020 + UNH 0062 (UNH references alone repeat across interchanges)
            "/m:Manifest/m:Head/m:MessageID": ["2612030615-DIS0312"],
            "//m:BorderTransportMeans/m:ID": ["9VMK4"],  # a call sign under 146 is not 'UN' + it
            "//m:BorderTransportMeans/m:Name": ["MAERSK SEMBAWANG"],
            "//m:UnloadingLocation/m:ID": ["IDPNJ"],
            "//m:Consignment/m:TransportContractDocument/m:ID": ["MAEU253310477"],
            "//m:Consignment/m:TransportEquipment/m:TotalGrossMassMeasure": ["26410.5"],  # 26410,5
            "//m:Consignment/m:TransportEquipment/m:SealID": ["ML-SG7781342"],
            "/m:Manifest/m:Declaration/m:TransportEquipment/m:EquipmentIdentification/m:ID": ["MRKU5566777"],
            "/m:Manifest/m:Head/m:SendTime": ["20261203061500000"],  # UNB S004
        },
    ),
    "codeco_terminal_d95b_itg13_booking.edi": (
        "MT3101",
        {
            "/m:Manifest/m:Head/m:MessageID": ["11920-11920"],
            "//m:TransportEquipment/m:EquipmentIdentification/m:ID": ["OOLU1644406"],
            "//m:TransportEquipment/m:SealID": ["OOLHCK2210", "BOC0043917"],
            "//m:TransportEquipment/m:TotalGrossMassMeasure": ["18760"],
            "//m:BorderTransportMeans/m:ID": ["VRDZ7"],
            # the gate-in time (DTM+7 in the EQD group), as terminal systems fill ArrivalDate(Time)
            "//m:UnloadingLocation/m:ArrivalDateTime": ["20261203090200"],
        },
    ),
    "cuscar_carrier_d95b_lot10_bulk.edi": (
        "MT1101",
        {
            "//m:Carrier/m:ID": ["GSLU"],  # TDT C040, no NAD+CA
            "/m:Manifest/m:Declaration/m:LoadingLocation/m:ID": ["CNNGB"],  # the bills' LOC+9
            "/m:Manifest/m:Declaration/m:UnloadingLocation/m:ID": ["GBFXT"],  # LOC+60
            "//m:Consignment/m:TransportContractDocument/m:ID": ["GSLUNGB260871", "GSLUNGB260872"],
            "//m:Consignor/m:Name": ["NINGBO OCEANWIDE HOUSEWARE CO LTD", "ZHEJIANG BULK MINERALS CO"],
            "//m:Consignor/m:Address/m:Line": ["NO 18 JIANGNAN RD"],
            "//m:Consignment/m:TotalGrossMassMeasure": ["27140", "41200"],
            # the bulk EQD+BL is no container: only the real box is listed
            "//m:TransportEquipment/m:EquipmentIdentification/m:ID": ["GSLU6120015"],
            "//m:ConsignmentItem/m:EquipmentIdentification/m:ID": ["GSLU6120015"],
            "//m:BorderTransportMeans/m:ID": ["UN9402711"],  # an IMO number under 146
        },
    ),
}


def _xpath(doc: bytes, path: str) -> list[str]:
    root = etree.fromstring(doc)
    return [e.text or "" for e in root.xpath(path, namespaces={"m": root.nsmap[None]})]


def _partner(data: bytes) -> Partner:
    profile = select_profile(PROFILES, sniff_unb_sender(data))
    assert profile is not None
    return profile


def _read(name: str) -> bytes:
    return (CORPUS / "edifact" / name).read_bytes()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_shape_reads_with_its_facts_and_round_trips(name: str) -> None:
    mt, facts = SAMPLES[name]
    data = _read(name)
    partner = _partner(data)
    assert validate(data, partner=partner) == []
    [doc] = convert(data, partner=partner)
    assert doc.message_type == mt
    for path, values in facts.items():
        assert _xpath(doc.content, path) == values, path
    edi = convert(doc.content, partner=partner)[0].content
    assert edifact.validate(edi) == []
    assert convert(edi, partner=partner)[0].content == doc.content


def test_what_the_cuscar_reader_tolerated_is_a_warning_naming_the_input_segment() -> None:
    data = _read("cuscar_carrier_d95b_lot10_bulk.edi")
    warnings: list[ValidationIssue] = []
    convert(data, partner=_partner(data), warnings=warnings)
    text = [f"{w.location}: {w.message}" for w in warnings]
    expected = [
        "segment 17 (RFF): RFF+BM 'GSLUNGB260871' differs from the CNI document number 'GSLUNGB260871-0'",
        "segment 23 (NAD): NAD+CZ: no party name (C080)",
        "segment 30 (CNI): SGP+BULK4471 refers to equipment that is not a container (EQD+BL)",
        "segment 6 (TDT): no NAD+CA: the carrier 'GSLU' is taken from TDT C040",
        "segment 6 (TDT): no LOC+11: the place of unloading is LOC+60 'GBFXT'",
        "segment 6 (TDT): no LOC+9 in the TDT group: the place of loading is the bills' LOC+9 'CNNGB'",
    ]
    for want in expected:
        assert any(want in t for t in text), (want, text)
    assert all(t.startswith("message MREF0044710 segment ") for t in text)


def test_codeco_place_of_loading_is_a_warning_not_an_internal_error() -> None:
    data = _read("codeco_terminal_d95b_itg13_booking.edi")
    warnings: list[ValidationIssue] = []
    convert(data, partner=_partner(data), warnings=warnings)
    assert [w.message for w in warnings] == [
        "no document number (BGM 1004): '11920-11920' (UNB 0020-UNH 0062) is used",
        "LOC+9 'PHMNL' (place of loading) is not carried by MT3101 and was left out",
        "no DTM+232: the arrival date is the containers' gate-in time (DTM+7) 20261203090200",
    ]


def test_coarri_of_empties_only_is_refused_in_the_senders_terms() -> None:
    data = _read("coarri_terminal_d95b_itg12_comma.edi").replace(b"RFF+BM:MAEU253310477'", b"")
    data = data.replace(b"UNT+000017+", b"UNT+000016+")
    issues = validate(data, partner=_partner(data))
    assert [i.message for i in issues] == [
        "no bill of lading in any EQD group: MT5101 lists containers under their bills: "
        "add RFF+BM to the EQD group of each container"
    ]
    assert issues[0].location == "message DIS0312 segment 3 (TDT group)"
    assert not any("internal error" in i.message for i in issues)


@pytest.mark.parametrize(
    ("old", "new", "location", "words"),
    [
        # a package type outside UN/ECE Rec. 21 (UK 'UNT'): refused at its bill, not an XSD failure
        (b"GID+1+1180:CT'", b"GID+1+1180:UNT'", "segment 16 (CNI)", "package type 'UNT'"),
        # a consignee with a code only: MT1101 needs its name
        (
            b"NAD+CN+GB00931+NORTH SEA AGGREGATES LTD'",
            b"NAD+CN+GB00931'",
            "segment 30 (CNI)",
            "NAD+CN 'GB00931' has no name",
        ),
    ],
)
def test_broken_cuscar_is_refused_for_its_real_reason(
    old: bytes, new: bytes, location: str, words: str
) -> None:
    data = _read("cuscar_carrier_d95b_lot10_bulk.edi")
    assert old in data
    issues = validate(data.replace(old, new), partner=_partner(data))
    assert any(i.location == f"message MREF0044710 {location}" and words in i.message for i in issues), issues
    assert not any("internal error" in i.message for i in issues)


def test_cli_validate_prints_the_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "edifact" / "codeco_terminal_d95b_itg13_booking.edi"
    run_validate([str(path)], partners_file=CORPUS / "partners.yaml")
    out = capsys.readouterr()
    assert out.out == "valid\n"
    assert "warning: message 11920 segment 3 (TDT group): LOC+9 'PHMNL'" in out.err


def test_dec_result_in_the_client_order_with_iso_dates() -> None:
    data = (CORPUS / "xml" / "DEC_RESULT_client2018_order.xml").read_bytes()
    assert validate(data) == []
    edi = convert(data)[0].content
    segments = edifact.read(edi).messages[0].segments
    by = {(s.tag, s.get(0)): s for s in segments}
    assert by[("LOC", "22")].get(1) == "4227"  # CUSTOM_MASTER after NOTE, as the client writes it
    assert by[("RFF", "ABT")].get(0, 1) == "422720261000381176"
    assert by[("DTM", "132")].get(0, 1) == "20261202"
    back = convert(edi)[0].content
    root = etree.fromstring(back)
    assert root.findtext("DEC_RESULT/D_DATE") == "2026-12-01T00:00:00"
    assert root.findtext("DEC_RESULT/CUSTOM_MASTER") == "4227"
    assert root.findtext("DEC_RESULT/CHANNEL") == "P"
    # a date the client never writes is still refused, naming the element
    wrong = data.replace(b"<D_DATE>2026-12-01T00:00:00", b"<D_DATE>01/12/2026")
    assert any("D_DATE" in i.location for i in validate(wrong))


def test_dec_message_in_a_client_tools_own_element_order_validates_and_round_trips() -> None:
    from messages import xml

    data = (CORPUS / "xml" / "DecMessage_client_import_order.xml").read_bytes()
    assert validate(data) == []  # before: "Element 'GrossWet': This element is not expected"
    decl = xml.decode(data)
    head = decl.head
    assert (head.ie_flag, head.bill_no, head.gross_wet, head.agent_code_scc) == (
        "I",
        "MEDUQD7712001",
        Decimal("24380.5"),
        "91370200163562681G",
    )
    assert head.fee_rate is None  # written empty: the same as absent
    assert [c.container_id for c in decl.containers] == ["MEDU9182736"]
    assert decl.containers[0].container_wt == Decimal("4200")
    assert (decl.items[0].code_ts, decl.items[0].g_qty) == ("0303890090", Decimal("23900"))
    assert (decl.free_txt.voy_no, decl.sign.client_seq_no) == ("FA248E", "202612030000004471")
    edi = convert(data)[0].content
    assert xml.decode(convert(edi)[0].content) == decl


def test_reordering_does_not_hide_an_unknown_or_misplaced_element() -> None:
    data = (CORPUS / "xml" / "DecMessage_client_import_order.xml").read_bytes()
    unknown = data.replace(b"<dec:MarkNo>", b"<dec:Bogus>1</dec:Bogus><dec:MarkNo>")
    assert any("Bogus" in i.message for i in validate(unknown))
    # a DecList field inside DecHead is no DecHead field, whatever the order
    misplaced = data.replace(b"<dec:MarkNo>", b"<dec:CodeTS>0303890090</dec:CodeTS><dec:MarkNo>")
    assert any("CodeTS" in i.message for i in validate(misplaced))


@pytest.mark.parametrize(
    ("old", "new", "location", "words"),
    [
        # a 10-digit value under 203 (YYMMDDHHMM written as if it were CCYYMMDDHHMM)
        (
            b"DTM+203:202612030548:203",
            b"DTM+203:2612030548:203",
            "segment 8 (DTM)",
            "DTM+203 '2612030548' is not a valid date/time for format 203",
        ),
        (b"DTM+203:202612030548:203", b"DTM+203:202613030548:203", "segment 8 (DTM)", "format 203"),
        (b"DTM+203:202612030548:203", b"DTM+203:20261203:102", None, None),  # a date alone: fine
        (b"DTM+203:202612030548:203", b"DTM+203:202612030548+07:303", None, None),  # with its zone
        (b"DTM+203:202612030548:203", b"DTM+203:20261203054812:304", "segment 8 (DTM)", "format 304"),
        (b"45G1:102:5++3+5'", b"45G1:102:5++3+9'", "segment 6 (EQD)", "full/empty indicator '9'"),
        (b"45G1:102:5++3+5'", b"45G:102:5++3+5'", "segment 6 (EQD)", "size and type '45G'"),
        (b"EQD+CN+MSKU4433220", b"EQD+CN+MSKU 443322-0", "segment 6 (EQD)", "is not an ISO 6346 number"),
    ],
)
def test_broken_terminal_values_are_refused_at_their_segment(
    old: bytes, new: bytes, location: str | None, words: str | None
) -> None:
    data = _read("coarri_terminal_d95b_itg12_comma.edi")
    assert old in data
    issues = validate(data.replace(old, new), partner=_partner(data))
    if location is None:
        assert issues == []
        return
    assert any(i.location == f"message DIS0312 {location}" and words in i.message for i in issues), issues
    assert not any("internal error" in i.message for i in issues)


@pytest.mark.parametrize(
    ("measure", "kilograms", "warning"),
    [
        ("KGM:26410,5", "26410.5", None),
        ("TNE:26,4105", "26410.5", "gross mass 26,4105 TNE converted to 26410.5 KGM"),
        ("LBR:58225", "26410.416", "gross mass 58225 LBR converted to 26410.416 KGM"),
    ],
)
def test_a_weight_in_another_unit_is_converted_with_a_warning(
    measure: str, kilograms: str, warning: str | None
) -> None:
    # before: the number was taken as kilograms whatever its unit (58225 LBR became 58225 KGM)
    data = _read("coarri_terminal_d95b_itg12_comma.edi").replace(b"KGM:26410,5", measure.encode())
    warnings: list[ValidationIssue] = []
    [doc] = convert(data, partner=_partner(data), warnings=warnings)
    assert _xpath(doc.content, "//m:Consignment/m:TransportEquipment/m:TotalGrossMassMeasure") == [kilograms]
    found = [w.message for w in warnings if "converted" in w.message]
    assert found == ([warning] if warning else [])


def test_a_weight_in_a_unit_that_is_no_weight_is_refused_at_its_segment() -> None:
    data = _read("coarri_terminal_d95b_itg12_comma.edi").replace(b"KGM:26410,5", b"MTQ:67")
    [issue] = validate(data, partner=_partner(data))
    assert issue.location == "message DIS0312 segment 6 (EQD)"
    assert issue.message == "gross mass '67' is in 'MTQ': send KGM (or TNE / LBR) as the measure unit"


def test_who_applied_a_seal_survives_both_ways() -> None:
    # before: SEL+<no>+SH / +CU came out as SealID alone and went back as SEL+<no>+CA
    data = _read("codeco_terminal_d95b_itg13_booking.edi")
    partner = _partner(data)
    [doc] = convert(data, partner=partner)
    root = etree.fromstring(doc.content)
    ns = {"m": root.nsmap[None]}
    seals = [(e.text, e.get("AgencyCode")) for e in root.xpath("//m:SealID", namespaces=ns)]
    assert seals == [("OOLHCK2210", "SH"), ("BOC0043917", "CU")]
    edi = convert(doc.content, partner=partner)[0].content
    sels = [(s.get(0), s.get(1)) for s in edifact.read(edi).messages[0].segments if s.tag == "SEL"]
    assert sels == [("OOLHCK2210", "SH"), ("BOC0043917", "CU")]
    # a client's XML with the attribute on some seals only validates and keeps each as written
    mixed = doc.content.replace(b' AgencyCode="CU"', b"")
    assert validate(mixed) == []
    sels = [
        (s.get(0), s.get(1))
        for s in edifact.read(convert(mixed, partner=partner)[0].content).messages[0].segments
        if s.tag == "SEL"
    ]
    assert sels == [("OOLHCK2210", "SH"), ("BOC0043917", "")]


def test_una_without_its_reserved_character_is_refused_for_that_reason() -> None:
    # a generator writing "UNA:+.?'" (five characters and the terminator): before, the refusal was
    # "EDIFACT interchange without a readable UNH message header"
    data = b"UNA:+.?'" + _read("codeco_terminal_d95b_itg13_booking.edi")[9:]
    assert data.startswith(b"UNA:+.?'UNB+")
    [issue] = validate(data)
    assert "malformed UNA service string advice" in issue.message and "UNH" not in issue.message


@pytest.mark.parametrize("width", [80, 128])
def test_a_record_wrapped_file_reads_as_the_unwrapped_one(width: int) -> None:
    # mainframe / VAN output cut into fixed-width records, line breaks inside segments
    data = _read("cuscar_carrier_d95b_lot10_bulk.edi")
    flat = data.replace(b"\n", b"")
    wrapped = b"\r\n".join(flat[i : i + width] for i in range(0, len(flat), width))
    assert any(not line.endswith(b"'") for line in wrapped.split(b"\r\n")[:-1])
    partner = _partner(data)
    warnings: list[ValidationIssue] = []
    assert convert(wrapped, partner=partner, warnings=warnings) == convert(data, partner=partner)
    assert f"line breaks every {width} characters" in warnings[0].message
    # lines of uneven width are no record format: line breaks inside segments are still refused
    uneven = wrapped.replace(b"\r\n", b"\r\n ", 1)
    assert validate(uneven, partner=partner) != []


def test_documents_written_without_their_namespace_are_read_in_it() -> None:
    from messages import xml

    with_ns = (CORPUS / "xml" / "DecMessage_client_import_order.xml").read_bytes()
    without = with_ns.replace(b' xmlns:dec="http://www.chinaport.gov.cn/dec"', b"").replace(b"dec:", b"")
    assert b"chinaport" not in without
    assert validate(without) == [] and xml.decode(without) == xml.decode(with_ns)
    response = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<DecImportResponse><ResponseCode>0</ResponseCode>"
        "<ErrorMessage>通讯回执</ErrorMessage><ClientSeqNo>202612030000004471</ClientSeqNo>"
        "<SeqNo>I20260000381176420</SeqNo><TrnPreId></TrnPreId></DecImportResponse>"
    ).encode()
    assert validate(response) == []
    assert xml.decode(response).client_seq_no == "202612030000004471"
    edi = _read("codeco_terminal_d95b_itg13_booking.edi")
    [doc] = convert(edi, partner=_partner(edi))
    bare = doc.content.replace(b' xmlns="urn:Declaration:datamodel:standard:CN:MT3101:1"', b"")
    assert validate(bare) == [] and xml.decode(bare) == xml.decode(doc.content)
    # a root that is no known document is still refused by name
    unknown = bare.replace(b"Manifest>", b"Manifesto>").replace(b"<Manifest", b"<Manifesto")
    assert "Manifesto" in validate(unknown)[0].message


def test_gate_in_times_on_several_days_give_no_arrival_date() -> None:
    data = _read("codeco_terminal_d95b_itg13_booking.edi")
    second = b"EQD+CN+MSKU4433220+45G1:102:5++2+5'DTM+7:202612040815:203'LOC+165+PHMNL:139:6:MICT+MICT'"
    data = data.replace(b"CNT+16:1'", second + b"CNT+16:2'").replace(b"UNT+18+", b"UNT+21+")
    warnings: list[ValidationIssue] = []
    [doc] = convert(data, partner=_partner(data), warnings=warnings)
    assert _xpath(doc.content, "//m:UnloadingLocation/m:ArrivalDateTime") == []
    assert _xpath(doc.content, "//m:UnloadingLocation/m:ArrivalDate") == []
    assert any("different days" in w.message for w in warnings)
    same_day = data.replace(b"DTM+7:202612040815", b"DTM+7:202612031515")
    [doc] = convert(same_day, partner=_partner(data))
    assert _xpath(doc.content, "//m:UnloadingLocation/m:ArrivalDate") == ["20261203"]


@pytest.mark.parametrize(
    ("text", "codec", "words"),
    [
        # Windows-1252 punctuation under UNOC: before, read as the control character U+0092
        ("SHIPPER’S SEAL", "cp1252", "byte 0x92 is a control character in UNOC"),
        # UTF-8 accents (2-byte sequences) under UNOC: before, read as 'Ã‰' mojibake
        ("ÉTIQUETTE DÉCHIRÉE", "utf-8", "declares UNOC but the content looks like UTF-8"),
        ("ÉTIQUETTE DÉCHIRÉE", "latin-1", None),  # real Latin-1: fine
    ],
)
def test_unoc_bytes_of_another_charset_are_refused_not_read_as_mojibake(
    text: str, codec: str, words: str | None
) -> None:
    data = _read("codeco_terminal_d95b_itg13_booking.edi").replace(b"UNOA:2", b"UNOC:3")
    data = data.replace(b"BGM+34++9'", b"BGM+34++9'FTX+AAI+++" + text.encode(codec) + b"'")
    data = data.replace(b"UNT+18+", b"UNT+19+")
    issues = validate(data, partner=_partner(data))
    if words is None:
        assert issues == []
        [doc] = convert(data, partner=_partner(data))
        assert text.encode() in doc.content or text in doc.content.decode()
        return
    [issue] = issues
    assert words in issue.message and issue.location.startswith("segment 4 (FTX)")
    assert validate(data, partner=_partner(data), encoding=codec) == []  # the partner's encoding


def test_receipts_saved_by_windows_tools_in_utf16_are_read() -> None:
    # .NET XmlSerializer output: real UTF-16 with a BOM, or UTF-8 bytes still declaring utf-16
    text = (CORPUS / "xml" / "DEC_RESULT_client2018_order.xml").read_bytes().decode("utf-8")
    for data in (text.replace("UTF-8", "utf-16").encode("utf-16"), text.replace("UTF-8", "utf-16").encode()):
        assert validate(data) == []
        [edi] = convert(data)
        assert "海关已放行".encode() in edi.content


def test_unset_values_marked_xsi_nil_are_empty_elements() -> None:
    # .NET XmlSerializer: xsi/xsd declarations on the root, unset values as <X xsi:nil="true" />
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n<DEC_RESULT '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<CUS_CIQ_NO>I20260000381176420</CUS_CIQ_NO><ENTRY_ID xsi:nil="true" />'
        "<NOTICE_DATE>2026-12-03T10:41:07</NOTICE_DATE><CHANNEL>L</CHANNEL><NOTE>入库成功</NOTE>"
        '<CUSTOM_MASTER xsi:nil="true"></CUSTOM_MASTER><I_E_DATE /></DEC_RESULT>'
    ).encode()
    assert validate(data) == []  # before: "Element 'ENTRY_ID': The element is not 'nillable'"
    segments = edifact.read(convert(data)[0].content).messages[0].segments
    assert not any(s.tag == "LOC" and s.get(0) == "22" for s in segments)  # no CUSTOM_MASTER
    # a nil mark on an element with a value is no empty element: refused by the schema
    assert validate(data.replace(b"<CHANNEL>", b'<CHANNEL xsi:nil="true">')) != []


def test_blank_lines_before_the_xml_declaration_are_read_keeping_line_numbers() -> None:
    # scripts that print a newline before the document (PHP, shell heredocs)
    data = b"\xef\xbb\xbf\r\n\r\n" + (CORPUS / "xml" / "DEC_RESULT_client2018_order.xml").read_bytes()
    assert validate(data) == []  # before: "XML declaration allowed only at the start"
    broken = data.replace(b"<D_DATE>2026-12-01T00:00:00", b"<D_DATE>01/12/2026")
    [issue] = validate(broken)
    assert (issue.location, issue.line) == ("/DEC_RESULT/D_DATE", 12)  # line 10 + 2 blank lines


@pytest.mark.parametrize("tail", [b"\x1a", b"\r\n\x1a", b"\n\x00\x00\x00\x00"])
def test_an_end_of_file_mark_or_nul_padding_after_unz_is_ignored(tail: bytes) -> None:
    data = _read("codeco_terminal_d95b_itg13_booking.edi")
    partner = _partner(data)
    warnings: list[ValidationIssue] = []
    assert convert(data + tail, partner=partner, warnings=warnings) == convert(data, partner=partner)
    assert any("Ctrl-Z" in w.message for w in warnings)
    # inside the interchange it is still refused
    assert validate(data.replace(b"TMD+3'", b"TMD+3\x1a'"), partner=partner) != []


def test_a_gate_out_without_a_document_number_is_named_by_its_interchange_and_unh() -> None:
    # BGM+36++9 as terminals send it; before: refused ("no document number (BGM 1004)")
    data = _read("codeco_terminal_d95b_itg13_booking.edi").replace(b"BGM+34++9'", b"BGM+36++9'")
    data = data.replace(b"RFF+BN:2740193385'", b"RFF+BN:2740193385'RFF+BM:OOLU2740193385'")
    data = data.replace(b"UNT+18+", b"UNT+19+")
    warnings: list[ValidationIssue] = []
    [doc] = convert(data, partner=_partner(data), warnings=warnings)
    assert doc.message_type == "GateOutReport"
    root = etree.fromstring(doc.content)
    assert root.findtext("{urn:swhub:notice:1}ReportId") == "11920-11920"
    assert any("UNB 0020-UNH 0062" in w.message for w in warnings)
    # two interchanges that both number their message UNH+1 still get two ids
    first = data.replace(b"UNH+11920+", b"UNH+1+").replace(b"UNT+19+11920", b"UNT+19+1")
    other = first.replace(b"+11920'", b"+11921'")  # another interchange (UNB/UNZ 0020)
    tag = "{urn:swhub:notice:1}ReportId"
    ids = {etree.fromstring(convert(d, partner=_partner(d))[0].content).findtext(tag) for d in (first, other)}
    assert ids == {"11920-1", "11921-1"}


@pytest.mark.parametrize(
    ("c222", "vessel_id"),
    [
        (b"9VMK4:146::MAERSK SEMBAWANG", "9VMK4"),  # a call sign under 146: as it is
        (b"9302205:146::MAERSK SEMBAWANG", "UN9302205"),  # an IMO number
        (b"9302205::11:MAERSK SEMBAWANG", "UN9302205"),  # IMO by its agency (11 Lloyd's Register)
        (b"9VMK4:103::MAERSK SEMBAWANG", "9VMK4"),  # a call sign under 103
    ],
)
def test_vessel_identification_as_terminals_write_it(c222: bytes, vessel_id: str) -> None:
    data = _read("coarri_terminal_d95b_itg12_comma.edi").replace(b"9VMK4:146::MAERSK SEMBAWANG", c222)
    [doc] = convert(data, partner=_partner(data))
    assert _xpath(doc.content, "//m:BorderTransportMeans/m:ID") == [vessel_id]
    assert _xpath(
        convert(convert(doc.content, partner=_partner(data))[0].content, partner=_partner(data))[0].content,
        "//m:BorderTransportMeans/m:ID",
    ) == [vessel_id]
