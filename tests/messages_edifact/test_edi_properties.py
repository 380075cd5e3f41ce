"""Property-based round trips and fuzzing of the EDIFACT reader.

Round trip: any segments with any text (service characters, release characters, CJK, private-use
code points that collide with the tokenizer's sentinels) survive write -> read, in syntax v3 and
v4 and with custom UNA delimiters.
Fuzz: truncated, shuffled, bit-flipped and random inputs only ever raise MessageError subclasses.
"""

from __future__ import annotations

import random
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages import edifact
from messages.edifact import Delimiters, EdifactMessage, Interchange, Segment
from messages.edifact.testing import cuscar_bytes
from messages.errors import MessageError

WHEN = datetime(2026, 1, 2, 3, 4)
SERVICE_TAGS = {"UNA", "UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"}

text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("+:'?* .,AZaz09\n\r")),
        st.sampled_from(list("青岛海关货物测试中文")),
        st.sampled_from(["\ue000", "\ue001", "\ue005", "\ue100"]),  # tokenizer sentinel ranges
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=12,
)
tags = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True).filter(lambda t: t not in SERVICE_TAGS)
element = st.lists(text, min_size=1, max_size=4)
segment_v3 = st.builds(Segment, tags, st.lists(element, max_size=6))


@st.composite
def segment_v4(draw: st.DrawFn) -> Segment:
    seg = draw(segment_v3)
    repeats = {}
    for i, first in enumerate(seg.elements):
        if draw(st.booleans()):
            repeats[i] = [first, *draw(st.lists(element, min_size=1, max_size=3))]
    if repeats:
        seg.repeats = repeats
    return seg


def build(segments: list[Segment], version: int, delimiters: Delimiters | None = None) -> Interchange:
    return Interchange(
        sender="S",
        recipient="R",
        control_ref="1",
        prepared=WHEN,
        syntax_version=version,
        delimiters=delimiters or Delimiters(),
        messages=[EdifactMessage(ref="1", type="CUSCAR", segments=segments)],
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment_v3, max_size=8), st.booleans())
def test_round_trip_v3(segments: list[Segment], newline: bool) -> None:
    data = edifact.write(build(segments, 3), newline=newline)
    interchange = edifact.read(data)
    assert interchange.messages[0].segments == segments
    assert edifact.write(interchange, newline=newline) == data  # pass-through of unexpanded segments


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment_v4(), max_size=6))
def test_round_trip_v4_with_repetitions(segments: list[Segment]) -> None:
    data = edifact.write(build(segments, 4))
    assert edifact.write(edifact.read(data)) == data
    back = edifact.read(data).messages[0].segments
    assert back == segments
    assert [_repetitions(s) for s in back] == [_repetitions(s) for s in segments]


def _repetitions(segment: Segment) -> list[list[list[str]]]:
    """Every element as its list of repetitions, with the trailing empty parts the writer omits."""
    out = []
    for i in range(len(segment.elements)):
        reps = []
        for rep in segment.repetitions(i):
            rep = list(rep)
            while rep and rep[-1] == "":
                rep.pop()
            reps.append(rep)
        out.append(reps)
    while out and out[-1] in ([], [[]]):
        out.pop()
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(segment_v3, max_size=5))
def test_round_trip_custom_una(segments: list[Segment]) -> None:
    delimiters = Delimiters(
        component="|", element="^", decimal=",", release="!", repetition=" ", terminator="~"
    )
    data = edifact.write(build(segments, 3, delimiters))
    assert data.startswith(b"UNA|^,! ~")
    assert edifact.read(data).messages[0].segments == segments


# -------------------------------------------------------------------------------------- fuzzing

SAMPLE = cuscar_bytes(6, newline=True)
FUZZ_SAMPLES = [
    SAMPLE,
    b"UNA:+.?*'UNB+UNOY:4+S+R+20240101:1200+1'UNG+X+A+B+240101:1200+G+UN+D:95B'UNH+1+CODECO:D:95B:UN'"
    b"BGM+34'NAD+MS+X'EQD+CN+A*B?*C'CNT+16:1'UNT+6+1'UNE+1+G'UNZ+1+1'",
    b"UNB+UNOA:3+S+R+240101:1200+1'UNH+1+CUSRES:D:95B:UN'BGM+962'RFF+ABT:1'UNT+4+1'UNZ+1+1'",
]


def must_only_raise_message_errors(data: bytes) -> None:
    try:
        interchange = edifact.read(data)
    except MessageError:
        pass
    else:
        for message in interchange.all_messages():
            try:
                tree = edifact.structure(message)
                assert tree.name == message.type
            except MessageError:
                pass
            for seg in message.segments:
                seg.get(0, 0)
    issues = edifact.validate(data)  # never raises for bytes input
    assert all(isinstance(i.location, str) and i.message for i in issues)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FUZZ_SAMPLES), st.data())
def test_fuzz_truncated(sample: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(sample)))
    must_only_raise_message_errors(sample[:cut])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FUZZ_SAMPLES), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8)
)
def test_fuzz_byte_flips(sample: bytes, flips: list[tuple[int, int]]) -> None:
    mutable = bytearray(sample)
    for where, value in flips:
        mutable[where % len(mutable)] = value
    must_only_raise_message_errors(bytes(mutable))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FUZZ_SAMPLES), st.randoms(use_true_random=False))
def test_fuzz_shuffled_segments(sample: bytes, rnd: random.Random) -> None:
    parts = sample.split(b"'")
    head, body = parts[:1], parts[1:]
    rnd.shuffle(body)
    if rnd.random() < 0.5 and body:
        del body[rnd.randrange(len(body))]
    if rnd.random() < 0.5 and body:
        body.insert(rnd.randrange(len(body)), body[rnd.randrange(len(body))])
    must_only_raise_message_errors(b"'".join(head + body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(blob: bytes) -> None:
    must_only_raise_message_errors(blob)
    must_only_raise_message_errors(b"UNB+" + blob)
    must_only_raise_message_errors(b"UNA" + blob)
    must_only_raise_message_errors(SAMPLE[:80] + blob)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("UNABHTZGEX+:?'* \n\x1c\x1d\x1f0123456789")), max_size=120))
def test_fuzz_edifact_alphabet(chars: str) -> None:
    must_only_raise_message_errors(chars.encode())
    must_only_raise_message_errors(("UNB+UNOY:3+S+R+240101:1200+1'" + chars).encode())


@settings(max_examples=150, deadline=None)
@given(st.lists(segment_v3, min_size=1, max_size=6), st.integers(3, 4))
def test_get_on_compact_form_matches_full_elements(segments: list[Segment], version: int) -> None:
    data = edifact.write(build(segments, version))
    fresh = edifact.read(data).messages[0].segments  # get() before .elements: compact path
    full = edifact.read(data).messages[0].segments
    for compact, expanded in zip(fresh, full, strict=True):
        elements = expanded.elements
        assert compact.count() == len(elements)
        for i in range(len(elements) + 1):
            for j in range(5):
                want = elements[i][j] if i < len(elements) and j < len(elements[i]) else ""
                assert compact.get(i, j, "") == want
                assert compact.get(i, j, "-") == (want or "-")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("?+:'*ab ")), max_size=40))
def test_release_marking_strategies_agree(raw: str) -> None:
    from messages.edifact.tokenizer import _mark_released

    sentinels = {"?": "\ue000", "'": "\ue001", "+": "\ue002", ":": "\ue003"}
    assert _mark_released(raw, "?", sentinels, bulk=True) == _mark_released(raw, "?", sentinels, bulk=False)


def test_structure_issue_list_is_capped() -> None:
    from messages.edifact import StructureError

    msg = EdifactMessage(
        ref="1", type="CUSCAR", segments=[Segment.of("BGM", "85")] + [Segment.of("XYZ")] * 1500
    )
    try:
        edifact.structure(msg)
    except StructureError as exc:
        assert len(exc.issues) == 1001
        assert exc.issues[-1].message == "500 further structure issue(s) not listed"
    else:
        raise AssertionError("expected StructureError")


@settings(max_examples=300, deadline=None)
@given(st.lists(element, max_size=6), st.sampled_from([3, 4]))
def test_fast_segment_encoder_equals_general_path(elements: list[list[str]], version: int) -> None:
    from messages.edifact.writer import _SegmentEncoder

    encoder = _SegmentEncoder(Delimiters().for_version(version), version)
    segment = Segment("FTX", elements)
    assert encoder.encode(segment) == encoder._encode_general(segment)


def test_placeholder_characters_in_values_survive() -> None:
    segments = [Segment.of("FTX", "A\x00B", ["\x01", ""], ""), Segment.of("NAD", ["", "\x00"], "x\x01")]
    data = edifact.write(build(segments, 3))
    assert edifact.read(data).messages[0].segments == segments
