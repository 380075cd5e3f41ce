"""Reader: service string advice, release character, syntax versions, envelopes, charsets."""

from __future__ import annotations

from datetime import datetime

import pytest

from messages import edifact
from messages.edifact import (
    EdifactEncodingError,
    EdifactSyntaxError,
    EnvelopeError,
    Segment,
    UnsupportedCharset,
)
from messages.errors import EncodingError, MalformedMessage, PayloadTooLarge, ValidationFailed


def interchange_text(
    body: str, *, syntax: str = "UNOY:3", una: str = "", count: int = 1, ref: str = "IC1"
) -> str:
    return f"{una}UNB+{syntax}+SENDER:ZZZ+RECEIVER:ZZZ+240101:1200+{ref}'{body}UNZ+{count}+{ref}'"


CODECO_BODY = (
    "UNH+1+CODECO:D:95B:UN:ITG13'BGM+34+DOC1+9'NAD+MS+TERM'EQD+CN+CBHU1234567+22G1:102:5++2+5'"
    "CNT+16:1'UNT+6+1'"
)


def test_default_delimiters_and_envelope_fields() -> None:
    ic = edifact.read(interchange_text(CODECO_BODY).encode())
    assert ic.syntax_id == "UNOY" and ic.syntax_version == 3
    assert (ic.sender, ic.sender_qualifier, ic.recipient) == ("SENDER", "ZZZ", "RECEIVER")
    assert ic.prepared == datetime(2024, 1, 1, 12, 0)
    assert ic.control_ref == "IC1"
    (msg,) = ic.messages
    assert (msg.ref, msg.type, msg.version, msg.release, msg.agency, msg.association) == (
        "1",
        "CODECO",
        "D",
        "95B",
        "UN",
        "ITG13",
    )
    assert [s.tag for s in msg.segments] == ["BGM", "NAD", "EQD", "CNT"]
    eqd = msg.segments[2]
    assert eqd.get(2, 0) == "22G1" and eqd.get(2, 2) == "5" and eqd.get(3) == "" and eqd.get(5) == "5"
    assert eqd.get(9, default="n/a") == "n/a"
    assert eqd.elements[2] == ["22G1", "102", "5"]


@pytest.mark.parametrize(
    ("escaped", "value"),
    [
        ("A?+B", "A+B"),
        ("A?:B", "A:B"),
        ("O?'NEIL", "O'NEIL"),
        ("50?? OFF", "50? OFF"),
        ("???+", "?+"),
        ("END??", "END?"),
        ("?:?+?'??", ":+'?"),
    ],
)
def test_release_character(escaped: str, value: str) -> None:
    body = f"UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++{escaped}:second'UNT+3+1'"
    seg = edifact.read(interchange_text(body).encode()).messages[0].segments[0]
    assert seg.elements[3] == [value, "second"]


def test_release_is_not_a_separator_for_following_segment() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++ENDS WITH RELEASE??'DTM+137:20240101:102'UNT+4+1'"
    segs = edifact.read(interchange_text(body).encode()).messages[0].segments
    assert [s.tag for s in segs] == ["FTX", "DTM"]
    assert segs[0].get(3) == "ENDS WITH RELEASE?"


def test_una_custom_separators() -> None:
    text = "UNA|^,!#~UNB^UNOC|3^S^R^240101|1200^9~UNH^1^CUSRES|D|95B|UN~BGM^962^A!^B!|C!~D~UNT^3^1~UNZ^1^9~"
    ic = edifact.read(text.encode("latin-1"))
    assert ic.delimiters.component == "|" and ic.delimiters.terminator == "~"
    assert ic.delimiters.decimal == ","
    bgm = ic.messages[0].segments[0]
    assert bgm.elements == [["962"], ["A^B|C~D"]]


def test_una_with_crlf_and_junk_before() -> None:
    text = (
        "\ufeffJunk mail header\r\n\r\nUNA:+.? '\r\nUNB+UNOY:3+S+R+240101:1200+1'\r\n"
        "UNH+1+CUSCAR:D:95B:UN'\r\nBGM+85+X+9'\r\nUNT+3+1'\r\nUNZ+1+1'\r\n"
    )
    ic = edifact.read(text.encode("utf-8"))
    assert [s.tag for s in ic.messages[0].segments] == ["BGM"]


def test_no_una_with_lf_after_terminators() -> None:
    text = interchange_text(CODECO_BODY).replace("'", "'\n")
    ic = edifact.read(text.encode())
    assert [s.tag for s in ic.messages[0].segments] == ["BGM", "NAD", "EQD", "CNT"]


def test_una_must_have_six_characters() -> None:
    with pytest.raises(EdifactSyntaxError, match="exactly 6"):
        edifact.read(b"UNA:+.?'UNB+UNOY:3+S+R+240101:1200+1'UNZ+0+1'")


def test_una_with_duplicate_separators_is_rejected() -> None:
    with pytest.raises(EdifactSyntaxError, match="distinct"):
        edifact.read(b"UNA++.? 'UNB+UNOY:3+S+R+240101:1200+1'UNZ+0+1'")


def test_missing_unb() -> None:
    with pytest.raises(EdifactSyntaxError, match="no UNB"):
        edifact.read(b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'")


def test_truncated_interchange() -> None:
    data = interchange_text(CODECO_BODY).encode()[:-5]
    with pytest.raises(EdifactSyntaxError, match="after the last segment terminator") as caught:
        edifact.read(data)
    assert caught.value.segment == 8 and caught.value.tag == "UNZ"
    assert str(caught.value).startswith("segment 8 (UNZ): data after the last segment terminator")


def test_syntax_v3_space_is_not_repetition_and_star_is_data() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++A*B C'UNT+3+1'"
    seg = edifact.read(interchange_text(body).encode()).messages[0].segments[0]
    assert seg.get(3) == "A*B C" and seg.repeats is None


def test_syntax_v4_repetition_and_escaped_star() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++A:1*B:2*C?*D'UNT+3+1'"
    text = f"UNA:+.?*'UNB+UNOY:4+S+R+20240101:1200+1'{body}UNZ+1+1'"
    ic = edifact.read(text.encode())
    assert ic.syntax_version == 4 and ic.prepared == datetime(2024, 1, 1, 12, 0)
    seg = ic.messages[0].segments[0]
    assert seg.repetitions(3) == [["A", "1"], ["B", "2"], ["C*D"]]
    assert seg.elements[3] == ["A", "1"]


def test_syntax_v4_default_repetition_without_una() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'RFF+X*Y'UNT+3+1'"
    text = f"UNB+UNOY:4+S+R+20240101:1200+1'{body}UNZ+1+1'"
    seg = edifact.read(text.encode()).messages[0].segments[0]
    assert seg.repetitions(0) == [["X"], ["Y"]]


def test_several_messages() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNH+2+CUSCAR:D:95B:UN'BGM+85'FTX+AAA'UNT+4+2'"
    ic = edifact.read(interchange_text(body, count=2).encode())
    assert [m.ref for m in ic.messages] == ["1", "2"]
    assert [len(m.segments) for m in ic.messages] == [1, 2]


def test_functional_groups() -> None:
    body = (
        "UNG+CUSCAR+APP1:ZZZ+APP2:ZZZ+240101:1200+G1+UN+D:95B'"
        "UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNH+2+CUSCAR:D:95B:UN'BGM+85'UNT+3+2'UNE+2+G1'"
        "UNG+CUSRES+APP1+APP2+240101:1200+G2+UN+D:95B'UNH+3+CUSRES:D:95B:UN'BGM+962'UNT+3+3'UNE+1+G2'"
    )
    ic = edifact.read(interchange_text(body, count=2).encode())
    assert ic.messages == []
    assert [g.ref for g in ic.groups] == ["G1", "G2"]
    assert [[m.ref for m in g.messages] for g in ic.groups] == [["1", "2"], ["3"]]
    assert ic.groups[0].sender == "APP1" and ic.groups[0].release == "95B"
    assert [m.ref for m in ic.all_messages()] == ["1", "2", "3"]


def test_all_envelope_errors_are_reported_together() -> None:
    body = (
        "UNG+CUSCAR+A+B+240101:1200+G1+UN+D:95B'"
        "UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+9+1'"  # wrong count
        "UNH+2+CUSCAR:D:95B:UN'BGM+85'UNT+3+7'"  # wrong ref
        "UNE+5+G9'"  # wrong count and ref
    )
    data = interchange_text(body, count=4, ref="IC1").replace("UNZ+4+IC1", "UNZ+4+IC2").encode()
    with pytest.raises(EnvelopeError) as caught:
        edifact.read(data)
    assert isinstance(caught.value, ValidationFailed)
    text = [str(i) for i in caught.value.issues]
    assert text == [
        "segment 5 (UNT): UNT segment count '9' does not match the 3 segments UNH..UNT of message '1'",
        "segment 8 (UNT): UNT message reference '7' does not match UNH '2'",
        "segment 9 (UNE): UNE message count '5' does not match the 2 message(s) in group 'G1'",
        "segment 9 (UNE): UNE group reference 'G9' does not match UNG 'G1'",
        "segment 10 (UNZ): UNZ count '4' does not match the 1 functional group(s) in the interchange",
        "segment 10 (UNZ): UNZ control reference 'IC2' does not match UNB 'IC1'",
    ]


def test_missing_unt_and_unz() -> None:
    data = b"UNB+UNOY:3+S+R+240101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNH+2+CUSCAR:D:95B:UN'BGM+85'"
    with pytest.raises(EnvelopeError) as caught:
        edifact.read(data)
    messages = [i.message for i in caught.value.issues]
    assert any("missing UNT" in m for m in messages)
    assert any("message '2' has no UNT" in m for m in messages)
    assert any("no UNZ" in m for m in messages)


def test_segment_outside_message_and_bad_date() -> None:
    data = b"UNB+UNOY:3+S+R+241301:1200+1'BGM+85'UNZ+0+1'"
    with pytest.raises(EnvelopeError) as caught:
        edifact.read(data)
    assert [str(i) for i in caught.value.issues] == [
        "segment 1 (UNB): S004 date/time '241301':'1200' is not YYMMDD or CCYYMMDD : HHMM",
        "segment 2 (BGM): segment outside any UNH..UNT message",
    ]


def test_unob_control_separators_without_una() -> None:
    data = (
        b"UNB\x1dUNOB\x1f3\x1dS\x1dR\x1d240101\x1f1200\x1d1\x1c"
        b"UNH\x1d1\x1dCUSCAR\x1fD\x1f95B\x1fUN\x1cBGM\x1d85\x1dDoc+1:x\x1cUNT\x1d3\x1d1\x1cUNZ\x1d1\x1d1\x1c"
    )
    ic = edifact.read(data)
    assert ic.messages[0].segments[0].elements == [["85"], ["Doc+1:x"]]


# ------------------------------------------------------------------------------------ charsets


def test_unoy_chinese_text() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++青岛海丰国际物流?+有限公司:二部'UNT+3+1'"
    seg = edifact.read(interchange_text(body).encode("utf-8")).messages[0].segments[0]
    assert seg.elements[3] == ["青岛海丰国际物流+有限公司", "二部"]


def test_gbk_override_for_partner_declaring_unoc() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++上海货物?:测试'UNT+3+1'"
    data = interchange_text(body, syntax="UNOC:3").encode("gbk")
    # without the override the GBK bytes decode as Latin-1 mojibake (no error, wrong text)
    assert edifact.read(data).messages[0].segments[0].get(3) != "上海货物:测试"
    ic = edifact.read(data, encoding="gbk")
    assert ic.messages[0].segments[0].elements[3] == ["上海货物:测试"]
    assert ic.encoding == "gbk"
    assert edifact.write(ic, una=False) == data


def test_unknown_encoding_override() -> None:
    with pytest.raises(UnsupportedCharset):
        edifact.read(interchange_text(CODECO_BODY).encode(), encoding="no-such-codec")


def test_unoa_rejects_lower_case_with_position() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++Acme'UNT+3+1'"
    data = interchange_text(body, syntax="UNOA:3").encode()
    with pytest.raises(EdifactEncodingError) as caught:
        edifact.read(data)
    err = caught.value
    assert isinstance(err, EncodingError)
    assert err.offset == data.index(b"cme") and err.segment == 3 and err.tag == "NAD"
    assert "'c'" in str(err) and "UNOA" in str(err) and "lower case" in str(err)


def test_unoa_rejects_cjk_bytes_with_offset() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++ACME 青岛'UNT+3+1'"
    data = interchange_text(body, syntax="UNOA:3").encode("utf-8")
    with pytest.raises(EdifactEncodingError) as caught:
        edifact.read(data)
    assert caught.value.offset == data.index("青".encode())
    assert "0xE9" in str(caught.value) and "UNOA" in str(caught.value)


def test_unob_allows_lower_case() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++Acme Ltd'UNT+3+1'"
    seg = edifact.read(interchange_text(body, syntax="UNOB:3").encode()).messages[0].segments[0]
    assert seg.get(3) == "Acme Ltd"


def test_unoc_latin1_and_unod_latin2() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++Müller Straße'UNT+3+1'"
    seg = edifact.read(interchange_text(body, syntax="UNOC:3").encode("latin-1")).messages[0].segments[0]
    assert seg.get(3) == "Müller Straße"
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++Łódź'UNT+3+1'"
    seg = edifact.read(interchange_text(body, syntax="UNOD:3").encode("iso8859-2")).messages[0].segments[0]
    assert seg.get(3) == "Łódź"


def test_invalid_utf8_reports_byte_offset_and_segment() -> None:
    data = interchange_text("UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++ABC'UNT+3+1'").encode()
    bad = data.replace(b"ABC", b"A\xffC")
    with pytest.raises(EdifactEncodingError) as caught:
        edifact.read(bad)
    assert caught.value.offset == bad.index(b"\xff")
    assert caught.value.segment == 3 and caught.value.tag == "FTX"
    offset = bad.index(b"\xff")
    assert str(caught.value).startswith(f"segment 3 (FTX), byte {offset}: cannot decode byte 0xFF")


def test_unknown_syntax_identifier() -> None:
    with pytest.raises(UnsupportedCharset, match="XXXX"):
        edifact.read(interchange_text(CODECO_BODY, syntax="XXXX:3").encode())


def test_size_limit() -> None:
    data = interchange_text(CODECO_BODY).encode()
    with pytest.raises(PayloadTooLarge):
        edifact.read(data, max_bytes=len(data) - 1)
    assert edifact.read(data, max_bytes=len(data)).control_ref == "IC1"


def test_non_bytes_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        edifact.read("UNB+UNOY:3+S+R+240101:1200+1'UNZ+0+1'")  # type: ignore[arg-type]


def test_segment_helpers() -> None:
    seg = Segment.of("NAD", "CZ", ["ID1", "", "ZZZ"])
    assert seg.get(1, 2) == "ZZZ" and seg.get(1, 1, "-") == "-" and seg.element(7) == []
    assert seg == Segment("NAD", [["CZ"], ["ID1", "", "ZZZ", ""], [""]])


def test_errors_are_message_errors() -> None:
    assert issubclass(EdifactSyntaxError, MalformedMessage)
    assert issubclass(EnvelopeError, ValidationFailed)


def test_gc_paused_restores_collector_state() -> None:
    import gc

    assert gc.isenabled()
    with edifact.gc_paused():
        assert not gc.isenabled()
        with edifact.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    edifact.read(interchange_text(CODECO_BODY).encode())
    assert gc.isenabled()
    gc.disable()
    try:
        edifact.read(interchange_text(CODECO_BODY).encode())
        assert not gc.isenabled()  # an application's choice to disable GC is kept
    finally:
        gc.enable()


def test_v4_with_explicit_una_space_has_no_repetition_separator() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'RFF+X*Y'UNT+3+1'"
    text = f"UNA:+.? 'UNB+UNOY:4+S+R+20240101:1200+1'{body}UNZ+1+1'"
    seg = edifact.read(text.encode()).messages[0].segments[0]
    assert seg.get(0) == "X*Y" and seg.repeats is None


def test_release_heavy_text_uses_same_semantics() -> None:
    # more than 1/64 of the text is release characters: the replace-based path is taken
    value = "?" * 7 + "+:'" * 20
    escaped = "".join("?" + c for c in value)
    body = f"UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++{escaped}:X??'UNT+3+1'"
    seg = edifact.read(interchange_text(body).encode()).messages[0].segments[0]
    assert seg.elements[3] == [value, "X?"]


def test_issue_list_is_capped_for_garbage() -> None:
    data = b"UNB+UNOY:3+S+R+240101:1200+1'" + b"XYZ+1'" * 5000 + b"UNZ+0+1'"
    with pytest.raises(EnvelopeError) as caught:
        edifact.read(data)
    issues = caught.value.issues
    assert len(issues) == 1001
    assert str(issues[0]) == "segment 2 (XYZ): segment outside any UNH..UNT message"
    assert issues[-1].message == "4000 further issue(s) not listed"


def test_override_relaxes_unoa_repertoire_for_sloppy_partners() -> None:
    body = "UNH+1+CUSCAR:D:95B:UN'NAD+CZ+++Acme Ltd'UNT+3+1'"
    data = interchange_text(body, syntax="UNOA:3").encode()
    assert edifact.read(data, encoding="ascii").messages[0].segments[0].get(3) == "Acme Ltd"
