"""Hostile and broken input: every failure is a typed MessageError, never a raw Python error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages.detect import detect
from messages.errors import (
    EncodingError,
    MalformedMessage,
    MessageError,
    PayloadTooLarge,
    UnknownMessageType,
    UnsafeXml,
    ValidationFailed,
)
from messages.xml import decode, validate
from messages.xml.declaration import parse_declaration
from messages.xml.safe import parse

SAMPLES = Path(__file__).parent / "samples"
DEC = (SAMPLES / "DecMessage_complete.xml").read_bytes()
MT1101 = (SAMPLES / "MT1101.xml").read_bytes()

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE DecMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<DecMessage xmlns="http://www.chinaport.gov.cn/dec" Version="4.0"><DecHead><IEFlag>I</IEFlag>
<NoteS>&xxe;</NoteS></DecHead></DecMessage>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>"""


@pytest.mark.parametrize("payload", [XXE_FILE, XXE_NETWORK, BILLION_LAUGHS, PARAMETER_ENTITY])
@pytest.mark.parametrize("entry", [parse, decode, validate, parse_declaration, detect])
def test_doctype_and_entities_are_refused(payload: bytes, entry) -> None:
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        entry(payload)


def test_lowercase_or_spaced_doctype_is_still_refused() -> None:
    for payload in (b"<!doctype r><r/>", b"<?xml version='1.0'?>\n<! DOCTYPE r><r/>"):
        with pytest.raises(UnsafeXml):
            parse(payload)


def test_payload_over_the_limit_is_rejected_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge) as info:
        decode(MT1101, max_bytes=1000)
    assert info.value.size == len(MT1101) and info.value.limit == 1000
    big = b"<a>" + b"x" * (10 * 1024 * 1024) + b"</a>"
    with pytest.raises(PayloadTooLarge):
        parse(big)
    with pytest.raises(PayloadTooLarge):
        detect(big)


def test_gbk_bytes_declared_utf8_are_an_encoding_error() -> None:
    gbk = DEC.decode("utf-8").encode("gbk", errors="strict")  # declaration still says UTF-8
    with pytest.raises(EncodingError, match="not valid UTF-8 at line"):
        decode(gbk)
    with pytest.raises(EncodingError):
        parse_declaration(gbk)


def test_document_declared_gbk_is_transcoded() -> None:
    text = DEC.decode("utf-8").replace("encoding='UTF-8'", "encoding='GBK'")
    gbk = text.replace("＋", "+").encode("gbk")  # full-width plus exists in GBK too, but keep it plain
    decl = parse_declaration(gbk)
    assert decl.head.trade_name == "青岛海丰+国际贸易有限公司"


def test_declared_gbk_but_invalid_bytes_is_an_encoding_error() -> None:
    with pytest.raises(EncodingError):
        parse(b"<?xml version='1.0' encoding='GBK'?><a>\x81</a>")


@pytest.mark.parametrize(
    "payload",
    [
        b"<?xml version='1.0' encoding='ISO-8859-7'?><a/>",
        "<?xml version='1.0' encoding='utf-16'?><a>测试</a>".encode("gbk"),  # neither UTF-16 nor UTF-8
    ],
)
def test_unsupported_encodings(payload: bytes) -> None:
    with pytest.raises(EncodingError):
        parse(payload)


@pytest.mark.parametrize(
    "payload",
    [
        "<a>测试</a>".encode("utf-16"),  # with BOM, as .NET tools save XmlSerializer output
        "<?xml version='1.0' encoding='utf-16'?><a>测试</a>".encode("utf-16"),
        "<?xml version='1.0' encoding='utf-16'?><a>测试</a>".encode(),  # declaration lies
    ],
)
def test_utf16_as_windows_tools_write_it_is_read(payload: bytes) -> None:
    assert parse(payload).text == "测试"


@pytest.mark.parametrize("cut", [1, 10, 100, 500, len(DEC) // 2, len(DEC) - 3])
def test_truncated_documents_are_malformed_with_position(cut: int) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode(DEC[:cut])
    assert info.value.line is not None or "empty" in str(info.value) or "no root" in str(info.value)


@pytest.mark.parametrize(
    "payload", [b"", b"   ", b"not xml at all", b"<<<>>>", b"<a><b></a>", b"\x00\x01\x02"]
)
def test_garbage_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse(payload)


def test_non_bytes_input_is_a_typed_error() -> None:
    with pytest.raises(MalformedMessage):
        parse("<a/>")  # type: ignore[arg-type]


def test_well_formed_but_unknown_root() -> None:
    with pytest.raises(UnknownMessageType):
        decode(b"<Invoice xmlns='urn:x'/>")
    with pytest.raises(UnknownMessageType):
        decode(b"<Manifest xmlns='urn:Declaration:datamodel:standard:CN:MT8104:1'/>")


def test_undefined_entity_reference_is_malformed_not_expanded() -> None:
    with pytest.raises(MalformedMessage):
        parse(b"<a>&xxe;</a>")


_ALLOWED = (MalformedMessage, ValidationFailed, EncodingError, UnknownMessageType, UnsafeXml)


def _mutations() -> st.SearchStrategy[bytes]:
    base = st.sampled_from(
        [
            DEC,
            MT1101,
            (SAMPLES / "InspectionNotice.xml").read_bytes(),
            (SAMPLES / "DEC_DATA_L.xml").read_bytes(),
            (SAMPLES / "MT9999.xml").read_bytes(),
        ]
    )

    def mutate(data: bytes, pos: float, kind: int, junk: bytes) -> bytes:
        i = int(pos * len(data))
        if kind == 0:
            return data[:i]
        if kind == 1:
            return data[:i] + junk + data[i:]
        if kind == 2:
            return data[:i] + junk + data[i + len(junk) :]
        return data[:i] + data[i + 1 + len(junk) :]

    return st.builds(
        mutate,
        base,
        st.floats(0, 1),
        st.integers(0, 3),
        st.binary(max_size=8)
        | st.sampled_from([b"<", b">", b"&", b"</x>", b"\xe9", b"\xff\xfe", b"]]>", b"'"]),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_fuzzed_documents_only_raise_typed_errors(data: bytes) -> None:
    for entry in (decode, validate, detect):
        try:
            entry(data)
        except _ALLOWED:
            pass
        except MessageError as exc:  # any other typed error is fine too, but name it
            pytest.fail(f"unexpected MessageError subclass {type(exc).__name__}: {exc}")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_typed_errors(data: bytes) -> None:
    for entry in (decode, detect):
        with contextlib.suppress(MessageError):
            entry(data)
