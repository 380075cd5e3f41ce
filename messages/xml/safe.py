"""Hardened XML parsing: the only way any swhub code turns untrusted bytes into an lxml tree.

Policy:
* size limit first (default 10 MiB) -> PayloadTooLarge, before any parsing work;
* encoding: UTF-8 (BOM allowed) is the single-window norm. Documents that *declare* GBK/GB2312/
  GB18030 are transcoded (legacy Chinese partners), UTF-16 (with BOM, as .NET tools save it) too,
  and UTF-8 bytes declared "utf-16" are read as UTF-8; anything else -> EncodingError. Bytes that do not
  decode in the declared encoding -> EncodingError with line and byte offset (never UnicodeDecodeError);
* any DOCTYPE is refused -> UnsafeXml. No business message needs a DTD, and refusing it outright
  closes XXE, external DTD fetches and entity-expansion bombs (billion laughs) in one rule; the
  parser is additionally configured not to resolve entities, load DTDs or touch the network;
* not well-formed -> MalformedMessage with line/column from libxml2.
"""

from __future__ import annotations

import re

from lxml import etree

from messages.errors import EncodingError, MalformedMessage, PayloadTooLarge, UnsafeXml

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_DECL = re.compile(rb"^\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE|<!\s*ENTITY", re.IGNORECASE)
_UTF8 = {"utf-8", "utf8"}
_GB = {"gbk", "gb2312", "gb18030", "cp936"}


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=False,
    )


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise EncodingError(
            f"bytes are not valid UTF-8 at line {line}, byte offset {exc.start} "
            f"(0x{data[exc.start : exc.start + 2].hex()}): declare the real encoding or send UTF-8"
        ) from None


def normalise_encoding(data: bytes) -> bytes:
    """Return UTF-8 bytes or raise EncodingError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        # .NET tools (XmlSerializer to a string) save UTF-16: transcoded, the declaration says UTF-8
        codec = (
            "utf-16"
            if data.startswith((b"\xff\xfe", b"\xfe\xff"))
            else ("utf-16-le" if data[:1] == b"<" else "utf-16-be")
        )
        try:
            return _re_declare(data.decode(codec))
        except UnicodeDecodeError as exc:
            raise EncodingError(f"bytes are not valid UTF-16 at byte offset {exc.start}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    match = _DECL.match(data)
    declared = match.group(1).decode("ascii").lower() if match else "utf-8"
    if declared in ("utf-16", "utf16", "unicode"):
        # declared UTF-16 but written as 8-bit text (a .NET StringWriter's declaration saved as
        # UTF-8): read as the UTF-8 it is
        _check_utf8(data)
        return _re_declare(data.decode("utf-8"))
    if declared in _UTF8:
        _check_utf8(data)
        return data
    if declared in _GB:
        try:
            text = data.decode("gb18030")  # superset of GBK/GB2312
        except UnicodeDecodeError as exc:
            raise EncodingError(f"bytes are not valid {declared} at byte offset {exc.start}") from None
        return _re_declare(text)
    raise EncodingError(f"unsupported encoding {declared!r}: send UTF-8")


def _re_declare(text: str) -> bytes:
    """Rewrite the XML declaration of transcoded text to say UTF-8."""
    return re.sub(
        r"^(\s*<\?xml\s[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._-]+", r"\1UTF-8", text, count=1
    ).encode("utf-8")


_LATE_DECL = re.compile(rb"^(\s+)(<\?xml\s[^>]*\?>)")


def late_declaration(data: bytes) -> bytes:
    """Blank lines before the XML declaration (scripts that print a newline first): the
    declaration (already honoured for the encoding) is blanked out in place, so the document
    parses and every line and column stays the sender's."""
    match = _LATE_DECL.match(data)
    if match is None:
        return data
    return match.group(1) + b" " * len(match.group(2)) + data[match.end() :]


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes into the root element, or raise a typed MessageError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedMessage(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise PayloadTooLarge(len(data), max_bytes)
    if not data.strip():
        raise MalformedMessage("empty document")
    if _DOCTYPE.search(data):
        raise UnsafeXml("DOCTYPE/ENTITY declarations are not allowed (XXE and entity-expansion protection)")
    data = late_declaration(normalise_encoding(data))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise MalformedMessage(f"not well-formed XML: {exc.msg}", line, column) from None
    except (ValueError, etree.LxmlError) as exc:
        raise MalformedMessage(f"not parseable XML: {exc}") from None
    if root is None:
        raise MalformedMessage("no root element")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # belt and braces
        raise UnsafeXml("DOCTYPE declarations are not allowed")
    return root
