"""Writer: escaping, UNA option, counts, groups, v3/v4, encodings; write -> read round trips."""

from __future__ import annotations

from datetime import datetime

import pytest

from messages import edifact
from messages.edifact import (
    Delimiters,
    EdifactEncodingError,
    EdifactMessage,
    EdifactSyntaxError,
    FunctionalGroup,
    Interchange,
    Segment,
)

WHEN = datetime(2026, 11, 22, 9, 30)


def make(segments: list[Segment], **kwargs) -> Interchange:  # type: ignore[no-untyped-def]
    message = EdifactMessage(ref="M1", type="CUSCAR", segments=segments)
    params = {
        "sender": "SND",
        "recipient": "RCV",
        "control_ref": "C1",
        "prepared": WHEN,
        "messages": [message],
    }
    params.update(kwargs)
    return Interchange(**params)


def test_minimal_output_is_exact() -> None:
    ic = make([Segment.of("BGM", "85", "DOC1", "9")])
    assert edifact.write(ic) == (
        b"UNA:+.? 'UNB+UNOY:3+SND+RCV+261122:0930+C1'UNH+M1+CUSCAR:D:95B:UN'BGM+85+DOC1+9'UNT+3+M1'UNZ+1+C1'"
    )


def test_una_only_when_needed_and_newline() -> None:
    ic = make([Segment.of("BGM", "85")])
    assert not edifact.write(ic, una=False).startswith(b"UNA")
    custom = make([Segment.of("BGM", "85")], delimiters=Delimiters("|", "^", ".", "!", " ", "~"))
    assert edifact.write(custom, una=False).startswith(b"UNA|^.! ~UNB^UNOY|3^")
    lines = edifact.write(ic, newline=True).decode().splitlines()
    assert lines[0] == "UNA:+.? '" and lines[-1] == "UNZ+1+C1'" and len(lines) == 6


@pytest.mark.parametrize("value", ["A+B", "A:B", "O'NEIL", "50? OFF", "??", "+:'?", "A*B", "END?", "?"])
def test_every_service_character_round_trips_v3(value: str) -> None:
    ic = make([Segment.of("FTX", "AAA", "", "", [value, value])])
    data = edifact.write(ic)
    back = edifact.read(data).messages[0].segments[0]
    assert back.elements[3] == [value, value]


@pytest.mark.parametrize("value", ["A*B", "**", "?*", "x+y:z'w*v?u"])
def test_star_escaped_in_v4_round_trips(value: str) -> None:
    ic = make([Segment.of("FTX", "AAA", "", "", value)], syntax_version=4)
    data = edifact.write(ic)
    assert data.startswith(b"UNA:+.?*'UNB+UNOY:4+SND+RCV+20261122:0930+C1'")
    if "*" in value:
        assert b"?*" in data
    assert edifact.read(data).messages[0].segments[0].get(3) == value


def test_star_not_escaped_in_v3() -> None:
    data = edifact.write(make([Segment.of("FTX", "A*B")]))
    assert b"FTX+A*B'" in data


def test_repetitions_round_trip_v4_and_refused_in_v3() -> None:
    seg = Segment("RFF", [["BM", "1"]], {0: [["BM", "1"], ["BN", "2*3"]]})
    data = edifact.write(make([seg], syntax_version=4))
    assert b"RFF+BM:1*BN:2?*3'" in data
    back = edifact.read(data).messages[0].segments[0]
    assert back.repetitions(0) == [["BM", "1"], ["BN", "2*3"]]
    with pytest.raises(EdifactSyntaxError, match="v4"):
        edifact.write(make([seg]))


def test_trailing_empty_elements_and_components_are_omitted() -> None:
    data = edifact.write(make([Segment("NAD", [["CZ"], ["ID", "", ""], [""], [""]])]))
    assert b"NAD+CZ+ID'" in data


def test_counts_are_computed_for_groups() -> None:
    g1 = FunctionalGroup(
        ref="G1",
        group_id="CUSCAR",
        sender="A",
        recipient="B",
        prepared=WHEN,
        messages=[
            EdifactMessage(ref="1", type="CUSCAR", segments=[Segment.of("BGM", "85")]),
            EdifactMessage(
                ref="2", type="CUSCAR", segments=[Segment.of("BGM", "85"), Segment.of("FTX", "AAA")]
            ),
        ],
    )
    g2 = FunctionalGroup(
        ref="G2",
        group_id="CUSRES",
        messages=[
            EdifactMessage(ref="3", type="CUSRES", segments=[Segment.of("BGM", "962")]),
        ],
    )
    ic = Interchange(sender="S", recipient="R", control_ref="C9", prepared=WHEN, groups=[g1, g2])
    data = edifact.write(ic, una=False)
    assert b"UNT+3+1'" in data and b"UNT+4+2'" in data and b"UNE+2+G1'" in data and b"UNE+1+G2'" in data
    assert data.endswith(b"UNZ+2+C9'")
    back = edifact.read(data)
    assert [[m.ref for m in g.messages] for g in back.groups] == [["1", "2"], ["3"]]
    assert back.groups[0].prepared == WHEN and back.groups[0].group_id == "CUSCAR"


def test_groups_and_messages_cannot_be_mixed() -> None:
    ic = make([Segment.of("BGM", "85")], groups=[FunctionalGroup(ref="G1")])
    with pytest.raises(EdifactSyntaxError):
        edifact.write(ic)


def test_chinese_text_unoy_round_trip() -> None:
    name = "青岛海丰国际物流+有限公司:二部'测试?"
    data = edifact.write(make([Segment.of("NAD", "CZ", "", "", name)]))
    assert edifact.read(data).messages[0].segments[0].get(3) == name


def test_chinese_text_cannot_be_written_as_unoc_or_unoa() -> None:
    with pytest.raises(EdifactEncodingError, match="UNOC") as caught:
        edifact.write(make([Segment.of("BGM", "85"), Segment.of("NAD", "CZ", "青岛")], syntax_id="UNOC"))
    assert caught.value.segment == 4  # UNB, UNH, BGM, NAD
    with pytest.raises(EdifactEncodingError, match="UNOA"):
        edifact.write(make([Segment.of("NAD", "CZ", "acme")], syntax_id="UNOA"))


def test_gbk_encoding_override_on_write() -> None:
    ic = make([Segment.of("FTX", "AAA", "", "", "上海货物")], syntax_id="UNOC", encoding="gbk")
    data = edifact.write(ic)
    assert "上海货物".encode("gbk") in data
    assert edifact.read(data, encoding="gbk").messages[0].segments[0].get(3) == "上海货物"


def test_full_round_trip_preserves_envelope() -> None:
    ic = make(
        [Segment.of("BGM", "85", "X"), Segment.of("DTM", ["137", "202611220930", "203"])],
        sender_qualifier="ZZZ",
        recipient_qualifier="14",
        syntax_id="UNOC",
        unb_extra=[[""], ["APP"], [""], [""], [""], ["1"]],
    )
    back = edifact.read(edifact.write(ic))
    assert (back.sender, back.sender_qualifier, back.recipient_qualifier) == ("SND", "ZZZ", "14")
    assert back.prepared == WHEN and back.syntax_id == "UNOC" and back.test_indicator
    assert back.messages[0].segments == ic.messages[0].segments


def test_prepared_required() -> None:
    with pytest.raises(EdifactSyntaxError, match="prepared"):
        edifact.write(make([], prepared=None))


def test_required_envelope_fields() -> None:
    with pytest.raises(EdifactSyntaxError, match="control_ref"):
        edifact.write(make([], control_ref=""))
    ic = make([])
    ic.messages[0].ref = ""
    with pytest.raises(EdifactSyntaxError, match="ref and type"):
        edifact.write(ic)


def test_read_then_write_is_byte_identical_and_respects_edits() -> None:
    original = edifact.write(
        make([Segment.of("FTX", "AAA", "", "", "青岛?+测试", "A:B'C"), Segment.of("BGM", "85", "X")]),
        newline=False,
    )
    ic = edifact.read(original)
    assert edifact.write(ic) == original  # unexpanded segments are re-emitted from their raw text
    ftx, bgm = ic.messages[0].segments
    assert ftx.get(4) == "A:B'C"  # get() does not expand: still passed through
    assert edifact.write(ic) == original
    bgm.elements[1][0] = "Y+Z"  # expanding + editing must be written from the model
    assert b"BGM+85+Y?+Z'" in edifact.write(ic)
    ic.delimiters = Delimiters("|", "^", ".", "!", " ", "~")  # other delimiters: re-escaped properly
    data = edifact.write(ic)
    assert "FTX^AAA^^^青岛?+测试^A:B'C~".encode() in data  # ? + : ' are ordinary characters now
    assert edifact.read(data).messages[0].segments[0].get(3) == "青岛?+测试"
