"""detect(): format + message type from the first bytes, typed errors otherwise."""

from __future__ import annotations

import pytest

from messages.detect import Detected, detect
from messages.errors import MalformedMessage, PayloadTooLarge, UnknownMessageType, UnsafeXml


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"UNA:+.? 'UNB+UNOY:4+SENDER+RECV+20261120:0800+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'", "CUSCAR"),
        (b"UNB+UNOC:3+QQCT+4227+261120:0800+1'\r\nUNH+M?+1+CODECO:D:95B:UN:SMDG16'", "CODECO"),
        (
            b"\xef\xbb\xbf  \nUNB+UNOA:2+A+B+261120:0800+9'UNG+COARRI+A+B+261120:0800+1+UN+D:95B'"
            b"UNH+77+COARRI:D:95B:UN:ITG13'",
            "COARRI",
        ),
        (b"UNA|^.? ~UNB^UNOC|3^A^B~UNH^1^CUSDEC|D|96B|UN~", "CUSDEC"),
        (b"UNB+UNOY:4+4227+AGENT+261121:0940+5'UNH+R1+CUSRES:D:96B:UN'", "CUSRES"),
    ],
)
def test_edifact_types(payload: bytes, expected: str) -> None:
    assert detect(payload) == Detected("edifact", expected)


def test_edifact_without_unh_or_short_una() -> None:
    with pytest.raises(UnknownMessageType):
        detect(b"UNB+UNOC:3+A+B+261120:0800+1'UNZ+0+1'")
    with pytest.raises(MalformedMessage):
        detect(b"UNA:+")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"<DecMessage xmlns='http://www.chinaport.gov.cn/dec' Version='4.0'/>", "DecMessage"),
        (b"<?xml version='1.0'?><DEC_DATA><DEC_RESULT/></DEC_DATA>", "DEC_DATA"),
        (b"<DecImportResponse xmlns='http://www.chinaport.gov.cn/dec'/>", "DecImportResponse"),
        (b"<Manifest xmlns='urn:Declaration:datamodel:standard:CN:MT6102:1'><Head/></Manifest>", "MT6102"),
        # untyped namespace: fall back to Head/MessageType
        (
            b"<Manifest><Head><MessageID>x</MessageID><FunctionCode>9</FunctionCode>"
            b"<MessageType>MT1101</MessageType></Head>",
            "MT1101",
        ),
        (b"<ReleaseNotice xmlns='urn:swhub:notice:1'/>", "ReleaseNotice"),
    ],
)
def test_xml_types(payload: bytes, expected: str) -> None:
    assert detect(payload) == Detected("xml", expected)


def test_detect_reads_only_the_start_of_a_large_document() -> None:
    # the tail is not well-formed: detection must not need it
    payload = (
        b"<Manifest xmlns='urn:Declaration:datamodel:standard:CN:MT1101:1'><Head>"
        + b"<x/>" * 200_000
        + b"<<< not xml"
    )
    assert detect(payload).message_type == "MT1101"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"<Invoice xmlns='urn:other'/>", UnknownMessageType),
        (b"<Manifest><Head><MessageType>BOGUS</MessageType></Head></Manifest>", UnknownMessageType),
        (b"%PDF-1.7", UnknownMessageType),
        (b"", UnknownMessageType),
        (b"<a><b></a>", MalformedMessage),
        (b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", UnsafeXml),
    ],
)
def test_unknown_and_bad(payload: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        detect(payload)


def test_size_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        detect(b"<DecMessage/>" + b" " * 100, max_bytes=50)
