"""Directory-driven grouping and structure validation for the D.95B messages we ship."""

from __future__ import annotations

import pytest

from messages import edifact
from messages.edifact import DirectoryNotFound, EdifactMessage, Segment, StructureError
from messages.edifact.directory import load
from messages.edifact.testing import cuscar_bytes, cuscar_message
from messages.errors import UnknownMessageType, ValidationFailed


def message(kind: str, body: str) -> EdifactMessage:
    """Parse a message body written as segments separated by "'" (UNH/UNT added)."""
    segments = [s for s in body.strip().split("'") if s.strip()]
    count = len(segments) + 2
    text = (
        f"UNB+UNOY:3+S+R+240101:1200+1'UNH+1+{kind}:D:95B:UN'"
        + "'".join(s.strip() for s in segments)
        + f"'UNT+{count}+1'UNZ+1+1'"
    )
    return edifact.read(text.encode()).messages[0]


def issues_of(msg: EdifactMessage) -> list[str]:
    with pytest.raises(StructureError) as caught:
        edifact.structure(msg)
    assert isinstance(caught.value, ValidationFailed)
    return [str(i) for i in caught.value.issues]


COARRI = """BGM+46+LR1+9'TDT+20+V1+1++COSCO:172:20'LOC+9+CNTAO:139:6'NAD+CA+COSCO'
EQD+CN+CBHU1234567+22G1:102:5++2+5'RFF+BM:B1'DTM+203:202401011200:203'LOC+147+0100102::5'
MEA+AAE+G+KGM:15400'SEL+123+CA'DAM+1+01'COD+X'TDT+1++3'LOC+165+CNTAO'NAD+CF+COSCO'
EQD+CN+MSKU7654321+45G1:102:5++2+4'CNT+16:2'"""


def test_coarri_tree() -> None:
    tree = edifact.structure(message("COARRI", COARRI))
    assert [c.name for c in tree.children] == ["SG1", "SG2", "SG3", "SG3"]
    assert [s.tag for s in tree.segments] == ["BGM", "CNT"]
    first = tree.groups("EQD")[0]
    assert first.position == 6 and first.segment("LOC").get(1) == "0100102"
    assert [c.name for c in first.children] == ["SG4", "SG5"]
    assert first.segments[-1].tag == "NAD"  # NAD after SG5 belongs to the EQD group itself
    assert tree.group("SG1").segment("LOC").get(1) == "CNTAO"  # type: ignore[union-attr]


def test_coarri_missing_bgm_and_cnt() -> None:
    body = COARRI.replace("BGM+46+LR1+9'", "").replace("CNT+16:2'", "")
    assert issues_of(message("COARRI", body)) == [
        "segment 2 (TDT): mandatory segment BGM missing in COARRI before this segment",
        "segment 17 (UNT): mandatory segment CNT missing in COARRI before this segment",
    ]


def test_coarri_out_of_order_and_unexpected() -> None:
    body = COARRI.replace("NAD+CA+COSCO'", "NAD+CA+COSCO'FTX+AAI+++LATE'IMD+F'")
    assert issues_of(message("COARRI", body)) == [
        "segment 6 (FTX): segment FTX out of order: not allowed after NAD in SG2",
        "segment 7 (IMD): unexpected segment IMD: not part of COARRI D95B",
    ]


def test_coarri_eqd_beyond_limit() -> None:
    eqd = "".join(f"EQD+CN+C{n:07d}'" for n in range(10_000))
    msg = message("COARRI", f"BGM+46'TDT+20+V1'NAD+CA+X'{eqd}CNT+16:10000'")
    assert issues_of(msg) == ["segment 10004 (EQD): exceeds max repeat 9999 in SG3"]


def test_coarri_segment_repeat_limit_inside_group() -> None:
    body = COARRI.replace("SEL+123+CA'", "SEL+1+CA'" * 10)
    assert issues_of(message("COARRI", body)) == ["segment 20 (SEL): exceeds max repeat 9 in SG3"]


CODECO = """BGM+34+GI1+9'NAD+MS+TERM'NAD+MR+CARR'GID+1+1:CT'SGP+CBHU1234567'
EQD+CN+CBHU1234567+22G1:102:5++2+5'RFF+BN:BK1'DTM+7:202401011200:203'LOC+165+CNSHA:139:6'TDT+1++3+31'
CNT+16:1'"""


def test_codeco_tree_and_missing_nad_group() -> None:
    tree = edifact.structure(message("CODECO", CODECO))
    assert [c.name for c in tree.children] == ["SG2", "SG2", "SG3", "SG5"]
    assert tree.groups("SG5")[0].groups("SG7")[0].segments[0].get(2) == "3"
    body = CODECO.replace("NAD+MS+TERM'NAD+MR+CARR'", "")
    assert issues_of(message("CODECO", body)) == [
        "segment 3 (GID): mandatory group SG2 (NAD) missing in CODECO before this segment",
    ]


def test_codeco_eqd_limit_999() -> None:
    eqd = "".join(f"EQD+CN+C{n:07d}'" for n in range(1000))
    issues = issues_of(message("CODECO", f"BGM+34'NAD+MS+T'{eqd}CNT+16:1000'"))
    assert issues == ["segment 1003 (EQD): exceeds max repeat 999 in SG5"]


CUSCAR = """BGM+85+M1+9'DTM+137:202401011200:203'NAD+CA+COSCO'TDT+20+V1'LOC+5+CNTAO'EQD+CN+CBHU1234567'
CNT+7:1000:KGM'CNI+1+B1'RFF+BM:B1'NAD+CZ+++青岛'CTA+IC+:王'COM+123:TE'NAD+CN+++HAMBURG'
GID+1+10:CT'FTX+AAA+++机械'MEA+AAE+G+KGM:1000'SGP+CBHU1234567'GID+2+5:CT'
CNI+2+B2'RFF+BM:B2'GID+1+1:PK'AUT+X'"""


def test_cuscar_tree_navigation() -> None:
    tree = edifact.structure(message("CUSCAR", CUSCAR))
    cnis = tree.groups("CNI")
    assert [c.segments[0].get(1) for c in cnis] == ["B1", "B2"]
    bill = cnis[0].groups("SG5")[0]
    assert bill.segment("RFF").get(0, 1) == "B1"  # type: ignore[union-attr]
    parties = bill.groups("NAD")
    assert [p.segments[0].get(0) for p in parties] == ["CZ", "CN"]
    assert parties[0].groups("CTA")[0].segment("COM").get(0) == "123"  # type: ignore[union-attr]
    goods = bill.groups("GID")
    assert [g.segment("GID").get(0) for g in goods] == ["1", "2"]  # type: ignore[union-attr]
    assert goods[0].segment("FTX").get(3) == "机械"  # type: ignore[union-attr]
    assert tree.group("SG13").position == 23  # type: ignore[union-attr]
    assert [n.name for n in tree.walk()][:4] == ["CUSCAR", "SG1", "SG2", "SG4"]
    all_goods = tree.descendants("GID")
    assert [(g.position, g.value("GID")) for g in all_goods] == [(15, "1"), (19, "2"), (22, "1")]
    assert tree.descendants("SG10") == all_goods and tree.descendants("CTA")[0].position == 12


def test_cuscar_missing_goods_group_and_out_of_order() -> None:
    body = CUSCAR.replace("GID+1+1:PK'", "").replace(
        "BGM+85+M1+9'DTM+137:202401011200:203'NAD+CA+COSCO'",
        "BGM+85+M1+9'NAD+CA+COSCO'DTM+137:202401011200:203'",
    )
    assert issues_of(message("CUSCAR", body)) == [
        "segment 4 (DTM): segment DTM out of order: not allowed after NAD in CUSCAR",
        "segment 22 (AUT): mandatory group SG10 (GID) missing in SG5 started at segment 21",
    ]


def test_cuscar_gid_beyond_limit() -> None:
    gids = "".join(f"GID+{n}'" for n in range(1, 10_002))
    issues = issues_of(message("CUSCAR", f"BGM+85'CNI+1+B1'RFF+BM:B1'{gids}"))
    assert issues == [
        "segment 10004 (GID): exceeds max repeat 9999 in SG10",
        "segment 10005 (GID): exceeds max repeat 9999 in SG10",
    ]


CUSDEC = """BGM+929+D1+9'DTM+137:20240101:102'NAD+DT+X'UNS+D'CST+1+8471300000:122'FTX+AAA+++电脑'
MOA+39:100:USD'CST+2+8471410000:122'UNS+S'CNT+5:2'"""


def test_cusdec_sections() -> None:
    tree = edifact.structure(message("CUSDEC", CUSDEC))
    items = tree.groups("SG30")
    assert [i.segments[0].get(1) for i in items] == ["8471300000", "8471410000"]
    assert items[0].groups("SG33")[0].segment("MOA").get(0, 1) == "100"  # type: ignore[union-attr]
    assert [s.tag for s in tree.segments] == ["BGM", "DTM", "UNS", "UNS", "CNT"]


def test_cusdec_missing_summary_separator() -> None:
    body = CUSDEC.replace("UNS+S'", "")
    assert issues_of(message("CUSDEC", body)) == [
        "segment 10 (CNT): mandatory segment UNS missing in CUSDEC before this segment",
    ]


def test_cusdec_missing_both_separators() -> None:
    body = CUSDEC.replace("UNS+S'", "").replace("UNS+D'", "")
    # CST after NAD can only be the detail-section customs item, so UNS+D is reported missing there
    assert issues_of(message("CUSDEC", body)) == [
        "segment 5 (CST): mandatory segment UNS missing in CUSDEC before this segment",
        "segment 9 (CNT): mandatory segment UNS missing in CUSDEC before this segment",
    ]


CUSRES = "BGM+962+R1+9'DTM+137:20240101:102'ERP+1'ERC+E001'ERC+E002'RFF+ABT:D1'DTM+171:20240101:102'"


def test_cusres_tree_and_missing_reference_group() -> None:
    tree = edifact.structure(message("CUSRES", CUSRES))
    assert [s.get(0) for s in tree.group("ERP").segments_of("ERC")] == ["E001", "E002"]  # type: ignore[union-attr]
    assert tree.group("SG5").segment("DTM").get(0, 1) == "20240101"  # type: ignore[union-attr]
    body = CUSRES.replace("RFF+ABT:D1'DTM+171:20240101:102'", "")
    assert issues_of(message("CUSRES", body)) == [
        "segment 7 (UNT): mandatory group SG5 (RFF) missing in CUSRES before this segment",
    ]


def test_structure_unknown_directory_or_type() -> None:
    msg = EdifactMessage(ref="1", type="IFTSTA", segments=[Segment.of("BGM", "1")])
    with pytest.raises(DirectoryNotFound) as caught:
        edifact.structure(msg)
    assert isinstance(caught.value, UnknownMessageType) and "IFTSTA" in str(caught.value)
    with pytest.raises(DirectoryNotFound):
        edifact.structure(message("CUSCAR", "BGM+85'"), directory="../D95B")


def test_directory_definitions_load_and_are_cached() -> None:
    assert edifact.available("D95B") == ["COARRI", "CODECO", "CUSCAR", "CUSDEC", "CUSRES"]
    cuscar = load("D95B", "CUSCAR")
    assert load("d.95b", "cuscar") is cuscar  # parsed once per process, names normalised
    gid = cuscar.groups["SG10"]
    assert gid.trigger == "GID"
    assert [(e.tag, e.min, e.max) for e in cuscar.groups["SG5"].entries if e.group and e.tag == "GID"] == [
        ("GID", 1, 9999)
    ]
    assert len(load("D95B", "CUSDEC").groups) == 50


def test_validate_reports_envelope_and_structure_together() -> None:
    data = (
        b"UNB+UNOY:3+S+R+240101:1200+IC1'"
        b"UNH+1+CUSCAR:D:95B:UN'DTM+137:20240101:102'UNT+9+1'"
        b"UNH+2+CUSRES:D:95B:UN'BGM+962'RFF+ABT:1'UNT+4+2'"
        b"UNH+3+IFTSTA:D:95B:UN'BGM+1'UNT+3+3'"
        b"UNZ+2+IC1'"
    )
    assert [str(i) for i in edifact.validate(data)] == [
        "segment 4 (UNT): UNT segment count '9' does not match the 3 segments UNH..UNT of message '1'",
        "segment 12 (UNZ): UNZ count '2' does not match the 3 message(s) in the interchange",
        "message 1 segment 2 (DTM): mandatory segment BGM missing in CUSCAR before this segment",
        "message 3 segment 1 (UNH): no directory definition for IFTSTA D95B (available: COARRI, CODECO, "
        "CUSCAR, CUSDEC, CUSRES); structure not validated",
    ]


def test_validate_turns_fatal_errors_into_issues() -> None:
    (issue,) = edifact.validate(b"garbage without an interchange")
    assert "no UNB" in issue.message
    data = b"UNB+UNOA:3+S+R+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85+x'UNT+3+1'UNZ+1+1'"
    (issue,) = edifact.validate(data)
    assert issue.location == f"segment 3 (BGM), byte {data.index(b'x')}"
    assert issue.message.startswith("character 'x' (U+0078) is not allowed in UNOA")


def test_generated_benchmark_cuscar_is_valid() -> None:
    data = cuscar_bytes(300)
    assert edifact.validate(data) == []
    tree = edifact.structure(edifact.read(data).messages[0])
    assert len(tree.groups("CNI")) == 300
    assert len(cuscar_message(300).segments) == len(edifact.read(data).messages[0].segments)


VALID = {"COARRI": COARRI, "CODECO": CODECO, "CUSCAR": CUSCAR, "CUSDEC": CUSDEC, "CUSRES": CUSRES}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_directory_message_valid_sample_and_missing_bgm(kind: str) -> None:
    body = VALID[kind]
    tree = edifact.structure(message(kind, body))
    assert tree.name == kind and tree.segment("BGM") is not None
    without_bgm = message(kind, body.replace(body[: body.index("'") + 1], "", 1))
    first = without_bgm.segments[0].tag
    assert issues_of(without_bgm)[0] == (
        f"segment 2 ({first}): mandatory segment BGM missing in {kind} before this segment"
    )


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_directory_message_bgm_out_of_order(kind: str) -> None:
    body = VALID[kind].strip()
    bgm = body[: body.index("'") + 1]
    moved = body[len(bgm) :] + bgm  # BGM at the very end, after the last group
    issues = issues_of(message(kind, moved))
    last = len(message(kind, moved).segments) + 1
    assert issues[0].startswith("segment 2 (")
    assert "mandatory segment BGM missing" in issues[0]
    assert f"segment {last} (BGM): segment BGM out of order" in issues[-1]


def test_codeco_gid_beyond_limit() -> None:
    gids = "".join(f"GID+{n}'" for n in range(1, 1001))
    issues = issues_of(message("CODECO", f"BGM+34'NAD+MS+T'{gids}EQD+CN+C1'CNT+16:1'"))
    assert issues == ["segment 1003 (GID): exceeds max repeat 999 in SG3"]


def test_group_value_shortcut() -> None:
    tree = edifact.structure(message("CUSCAR", CUSCAR))
    bill = tree.groups("CNI")[0].group("RFF")
    assert bill is not None
    assert bill.value("RFF", 0, 1, qualifier="BM") == "B1"
    assert bill.value("RFF", 0, 1, qualifier="AAQ", default="-") == "-"
    assert bill.groups("NAD")[0].value("NAD", 3) == "青岛"


def test_d96b_cuscar_uses_its_own_directory() -> None:
    data = cuscar_bytes(20, release="96B")
    assert edifact.validate(data) == []  # directory taken from UNH: D + 96B
    msg = edifact.read(data).messages[0]
    tree = edifact.structure(msg, "D96B")
    assert [c.name for c in tree.children][:3] == ["SG1", "SG2", "SG4"]  # header RFF and NAD are groups
    assert len(tree.groups("CNI")) == 20 and tree.groups("SG7")[0].groups("SG8")[0].groups("SG14")
    # the D.95B reading of the same message puts the consignments in SG4
    assert len(edifact.structure(msg, "D95B").groups("SG4")) == 20


def test_d96b_cusres_document_groups() -> None:
    body = (
        "BGM+962+R1+9'DTM+137:20240101:102'NAD+DT+X'CTA+IC+:LI'COM+123:TE'ERP+1'ERC+E01'FTX+AAO+++BAD'"
        "DOC+830+D1'RFF+ABT:1'CST+1'TAX+7+VAT'MOA+161:100'ERP+2'ERC+E02'CNT+5:1'"
    )
    segments = [s for s in body.split("'") if s]
    text = (
        "UNB+UNOY:3+S+R+240101:1200+1'UNH+1+CUSRES:D:96B:UN'"
        + "'".join(segments)
        + f"'UNT+{len(segments) + 2}+1'UNZ+1+1'"
    )
    assert edifact.validate(text.encode()) == []
    tree = edifact.structure(edifact.read(text.encode()).messages[0], "D96B")
    doc = tree.group("DOC")
    assert doc is not None and doc.group("CST").group("TAX").value("MOA", 0, 1) == "100"  # type: ignore[union-attr]
    assert doc.group("ERP").value("ERC") == "E02"  # type: ignore[union-attr]
    assert tree.group("ERP").value("FTX", 3) == "BAD"  # type: ignore[union-attr]
    # D.95B requires the reference group that D.96B made optional
    issues = [i.message for i in edifact.validate(text.replace("96B", "95B").encode())]
    assert "mandatory group SG5 (RFF) missing in CUSRES before this segment" in issues


@pytest.mark.parametrize("directory", ["D96B", "D00B"])
@pytest.mark.parametrize("kind", ["COARRI", "CODECO"])
def test_container_messages_in_later_directories(directory: str, kind: str) -> None:
    body = VALID[kind]
    segments = [s.strip() for s in body.strip().split("'") if s.strip()]
    text = (
        f"UNB+UNOY:3+S+R+240101:1200+1'UNH+1+{kind}:D:{directory[1:]}:UN:SMDG20'"
        + "'".join(segments)
        + f"'UNT+{len(segments) + 2}+1'UNZ+1+1'"
    )
    assert edifact.validate(text.encode()) == []
    tree = edifact.structure(edifact.read(text.encode()).messages[0], directory)
    assert len(tree.groups("EQD")) >= 1 and tree.group("NAD") is not None


def test_d00b_differences_from_d95b() -> None:
    without_equipment = message("COARRI", COARRI.split("EQD+")[0] + "CNT+16:0'")
    assert edifact.structure(without_equipment, "D00B").groups("EQD") == []  # EQD optional in D.00B
    assert any("SG3 (EQD)" in i for i in issues_of(without_equipment))  # mandatory in D.95B
    eqd = "".join(f"EQD+CN+C{n:07d}'" for n in range(1000))
    many = message("CODECO", f"BGM+34'NAD+MS+T'{eqd}CNT+16:1000'")
    assert len(edifact.structure(many, "D00B").groups("EQD")) == 1000  # 9999 allowed in D.00B
    stowage = message("COARRI", COARRI.replace("LOC+147+0100102::5'", "LOC+147+0100102::5'DTM+178:2024'"))
    cell = edifact.structure(stowage, "D00B").groups("EQD")[0].group("LOC")
    assert cell is not None and cell.value("DTM", 0, 1) == "2024"  # LOC is a group with DTM in D.00B
