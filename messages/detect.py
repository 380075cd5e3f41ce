"""Cheap format and message-type sniffing for inbound payloads, before any full decode.

XML: a pull parser (same hardening as messages.xml.safe) reads only as far as the root element
(and, for manifests without a recognisable namespace, Head/MessageType). EDIFACT: regexes over the
first bytes find the UNA service characters and the UNH message type (S009/0065). Neither path
imports the EDIFACT codec, so detection stays fast and dependency-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from messages.errors import MalformedMessage, PayloadTooLarge, UnknownMessageType, UnsafeXml

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_CHUNK = 16 * 1024
# The type is in the root or a manifest's Head, near the start: a small first bite, so a typical
# message is not parsed whole (lxml parses all of what it is fed) only to read its first elements.
_FIRST_CHUNK = 1024

_DEC_NS = "http://www.chinaport.gov.cn/dec"
_NOTICE_NS = "urn:swhub:notice:1"
_NOTICE_ROOTS = ("InspectionNotice", "ReleaseNotice", "GateOutReport")
_MANIFEST_NS = re.compile(r"^urn:Declaration:datamodel:standard:CN:(MT[0-9]{4}):1$")
_MESSAGE_TYPE = re.compile(r"^MT[0-9]{4}$")
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE|<!\s*ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Detected:
    format: Literal["xml", "edifact"]
    message_type: str  # "DecMessage", "DEC_DATA", "DecImportResponse", "MT1101", ..., "CUSCAR", ...


def detect(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Detected:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedMessage(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise PayloadTooLarge(len(data), max_bytes)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        from messages.xml.safe import normalise_encoding

        data = normalise_encoding(data)  # UTF-16 XML (.NET tools): sniffed as the UTF-8 it becomes
    elif re.match(rb"\s*<\?xml[^>]*encoding\s*=\s*[\"'](?i:utf-?16|unicode)[\"']", data[:200]):
        from messages.xml.safe import normalise_encoding

        data = normalise_encoding(data)  # 8-bit text declared utf-16
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"UNA", b"UNB")):
        return Detected("edifact", _edifact_type(head))
    if head.startswith(b"<"):
        from messages.xml.safe import late_declaration

        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        return Detected("xml", _xml_type(late_declaration(body)))
    raise UnknownMessageType("neither XML (starts with '<') nor EDIFACT (starts with UNA/UNB)")


# ------------------------------------------------------------------------------------------ EDIFACT


def _edifact_type(head: bytes) -> str:
    text = head.decode("latin-1")  # tags and separators are ASCII in every EDIFACT syntax level
    comp, elem, release, term = ":", "+", "?", "'"
    if text.startswith("UNA"):
        if len(text) < 9:
            raise MalformedMessage("UNA service string advice is shorter than 6 characters")
        if not text[9:].lstrip("\r\n\t ").startswith("UNB"):
            # e.g. "UNA:+.?'UNB" (the reserved character left out): name that, not a missing UNH
            raise MalformedMessage(
                f"malformed UNA service string advice {text[:12]!r}: 'UNA' must be followed by exactly "
                "6 service characters (component, element, decimal, release, reserved/repetition, "
                "segment terminator), then UNB"
            )
        comp, elem, release, term = text[3], text[4], text[6], text[8]
    e, c, t, r = re.escape(elem), re.escape(comp), re.escape(term), re.escape(release)
    # UNH+<ref>+<TYPE>:<version>...  preceded by a segment terminator (optionally a line break);
    # the reference may contain released separators (M?+1).
    ref = rf"(?:[^{e}{t}{r}]|{r}.)*"
    pattern = re.compile(rf"{t}\s*UNH{e}{ref}{e}([A-Z0-9]{{1,6}})(?:{c}|{e}|{t})")
    match = pattern.search(text)
    if not match:
        raise UnknownMessageType("EDIFACT interchange without a readable UNH message header")
    return match.group(1)


def unb_sender(data: bytes) -> str | None:
    """The interchange sender id (UNB S002/0004) from the first bytes, or None (XML, no UNB).
    Used to pick the partner profile before the full read; cheap and never raises."""
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf \t\r\n").decode("latin-1")
    comp, elem, release, term = ":", "+", "?", "'"
    if head.startswith("UNA") and len(head) >= 9:
        comp, elem, release, term = head[3], head[4], head[6], head[8]
    start = head.find("UNB" + elem)
    if start < 0:
        return None
    e, c, t, r = re.escape(elem), re.escape(comp), re.escape(term), re.escape(release)
    value = rf"((?:[^{e}{c}{t}{r}]|{r}.)*)"
    match = re.compile(rf"UNB{e}[^{e}{t}]*{e}{value}").match(head, start)
    if not match:
        return None
    return re.sub(rf"{r}(.)", r"\1", match.group(1)) or None


# ---------------------------------------------------------------------------------------------- XML


def _xml_type(data: bytes) -> str:
    if _DOCTYPE.search(data):
        raise UnsafeXml("DOCTYPE/ENTITY declarations are not allowed (XXE and entity-expansion protection)")
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root: tuple[str, str] | None = None
    try:
        for start, end in _bites(len(data)):
            parser.feed(data[start:end])
            for event, el in parser.read_events():
                if not isinstance(el.tag, str):
                    continue
                qname = etree.QName(el)
                if root is None:
                    root = (qname.namespace or "", qname.localname)
                    known = _known_root(*root)
                    if known:
                        return known
                elif event == "end" and qname.localname == "MessageType" and root[1] in _MANIFEST_ROOTS:
                    text = (el.text or "").strip()
                    if _MESSAGE_TYPE.match(text):
                        return text
                    raise UnknownMessageType(f"manifest with unknown MessageType {text!r}")
        parser.close()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise MalformedMessage(f"not well-formed XML: {exc.msg}", line, column) from None
    if root is None:
        raise MalformedMessage("no root element")
    ns, name = root
    raise UnknownMessageType(f"unknown XML root {{{ns}}}{name}" if ns else f"unknown XML root {name}")


def _bites(size: int) -> list[tuple[int, int]]:
    cuts = [0, *range(_FIRST_CHUNK, size, _CHUNK), size] if size > _FIRST_CHUNK else [0, size]
    return list(zip(cuts, cuts[1:], strict=False))


_MANIFEST_ROOTS = ("Manifest", "MFTMessage")  # MFTMessage: the client's transport envelope


def _known_root(ns: str, name: str) -> str:
    if ns in (_DEC_NS, "") and name in ("DecMessage", "DecImportResponse"):
        return name  # without the namespace: read in it (messages.xml.normalise.open_envelope)
    if not ns and name in ("DEC_DATA", "DEC_RESULT"):
        return "DEC_DATA"  # the bare DEC_RESULT the client writes to its inbox is a DEC_DATA receipt
    if ns == _NOTICE_NS and name in _NOTICE_ROOTS:
        return name
    if name == "Manifest":
        match = _MANIFEST_NS.match(ns)
        if match:
            return match.group(1)
    return ""  # Manifest without a typed namespace: fall back to Head/MessageType
