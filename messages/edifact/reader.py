"""bytes -> `Interchange`: service string advice, character set, envelope and control counts.

`parse()` returns the interchange together with every envelope issue it found (counts, control
references, missing trailers, bad dates) so that `validate()` can report them all at once; `read()`
raises `EnvelopeError` carrying that list. Problems that make the rest unreadable (no UNB, bad UNA,
undecodable bytes) raise immediately with a byte offset / segment number.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime

from messages.edifact.charsets import Charset, charset_for, known_syntax_ids
from messages.edifact.errors import (
    EdifactEncodingError,
    EdifactSyntaxError,
    EnvelopeError,
    UnsupportedCharset,
    segment_location,
)
from messages.edifact.model import (
    DEFAULT_DELIMITERS,
    UNOB_CONTROL_DELIMITERS,
    Delimiters,
    EdifactMessage,
    FunctionalGroup,
    Interchange,
    Segment,
)
from messages.edifact.tokenizer import tokenize
from messages.errors import PayloadTooLarge, ValidationIssue

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A garbage payload could otherwise yield one issue per segment (millions); the first thousand
# locate the problem, the rest is summarised in one closing issue.
MAX_ISSUES = 1000

# Start of the interchange: an optional UNA (exactly 6 characters, possibly followed by line breaks)
# immediately before UNB. Anything earlier (BOM, mail headers, whitespace) is skipped.
_START = re.compile(rb"(?:UNA(.{6})[\r\n\t ]*)?UNB", re.S)
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
_DIGITS = re.compile(r"\d+")


class _Issues:
    """Collects envelope issues with their interchange segment number."""

    def __init__(self) -> None:
        self.items: list[ValidationIssue] = []
        self.suppressed = 0

    def add(self, position: int, tag: str, message: str) -> None:
        if len(self.items) < MAX_ISSUES:
            self.items.append(ValidationIssue(segment_location(position, tag), message))
        else:
            self.suppressed += 1

    def finish(self) -> list[ValidationIssue]:
        if self.suppressed:
            self.items.append(
                ValidationIssue("interchange", f"{self.suppressed} further issue(s) not listed")
            )
            self.suppressed = 0
        return self.items


def read(
    data: bytes,
    *,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lenient: frozenset[str] | tuple[str, ...] = (),
) -> Interchange:
    interchange, issues = parse(data, encoding=encoding, max_bytes=max_bytes, lenient=lenient)
    if issues:
        raise EnvelopeError(issues)
    return interchange


def parse(
    data: bytes,
    *,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lenient: frozenset[str] | tuple[str, ...] = (),
) -> tuple[Interchange, list[ValidationIssue]]:
    """Read an interchange; return it with the list of envelope issues (empty when valid)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"EDIFACT input must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise PayloadTooLarge(len(data), max_bytes)

    start, delimiters, una = _locate(data)
    tolerated: list[ValidationIssue] = []
    padded = data.rstrip(b" \t\r\n")
    if padded.endswith((b"\x1a", b"\x00")):
        # a DOS end-of-file mark (Ctrl-Z) or NUL block padding after the interchange: not data
        data = padded.rstrip(b"\x1a\x00 \t\r\n")
        tolerated.append(
            ValidationIssue("interchange", "end-of-file mark (Ctrl-Z) or NUL padding after UNZ ignored")
        )
    body = data[start:]
    unwrapped = _unwrap(data, start, delimiters.terminator.encode("latin-1"))
    if unwrapped is not None:
        body, width = unwrapped
        tolerated.append(
            ValidationIssue(
                "interchange",
                f"line breaks every {width} characters inside segments (a record-wrapped file) were "
                "removed before reading",
            )
        )
    syntax_id, version = _sniff_syntax(body, delimiters)
    charset = _charset(syntax_id, encoding)
    if "lowercase_in_unoa" in lenient and charset.syntax_id.upper() == "UNOA":
        lower = re.search(rb"[a-z]", body)
        if lower is not None:
            # the partner's profile allows it: read with the UNOB repertoire, say so on the receipt
            term = delimiters.terminator.encode("latin-1")
            segment = body[: lower.start()].count(term) + 1
            seg_start = body.rfind(term, 0, lower.start()) + 1
            tag = body[seg_start : seg_start + 8].lstrip(b"\r\n")[:3].decode("latin-1")
            tolerated.append(
                ValidationIssue(
                    segment_location(segment, tag),
                    "lower case in UNOA accepted (partner profile lenient: lowercase_in_unoa)",
                )
            )
            charset = charset_for("UNOB") or charset
    text = _decode(body, start, charset, delimiters)
    if version >= 4 and not una:
        # v4 default repetition separator; an explicit UNA is taken literally (space = none)
        delimiters = delimiters.for_version(version)
    segments = tokenize(text, delimiters, repetition=version >= 4)
    issues = _Issues()
    interchange = _envelope(segments, delimiters, issues)
    interchange.encoding = charset.codec if encoding else None
    interchange.warnings = tolerated
    return interchange, issues.finish()


# --------------------------------------------------------------------------- service string advice


def _locate(data: bytes) -> tuple[int, Delimiters, bool]:
    """Byte offset of UNB, the delimiters (from UNA, or the defaults) and whether UNA was given."""
    match = _START.search(data)
    if match is None:
        una_at = data.find(b"UNA")
        if una_at >= 0:
            raise EdifactSyntaxError(
                "UNA service string advice is not followed by UNB (UNA must be 'UNA' + exactly 6 characters)",
                offset=una_at,
            )
        raise EdifactSyntaxError("no UNB interchange header found", offset=0)
    skipped = data[: match.start()]
    una_at = skipped.rfind(b"UNA")
    if match.group(1) is None and una_at >= 0 and len(skipped) - una_at < 16:
        # "UNA" just before UNB that did not parse as UNA + 6 characters
        raise EdifactSyntaxError(
            f"malformed UNA service string advice {skipped[una_at:]!r}: 'UNA' must be followed by exactly "
            "6 service characters",
            offset=una_at,
        )
    unb_at = match.end() - 3
    if match.group(1) is not None:
        delimiters = _una(match.group(1), match.start())
    elif data[unb_at + 3 : unb_at + 4] == b"\x1d":
        delimiters = UNOB_CONTROL_DELIMITERS
    else:
        delimiters = DEFAULT_DELIMITERS
    if data[unb_at + 3 : unb_at + 4] != delimiters.element.encode("latin-1"):
        raise EdifactSyntaxError(
            f"UNB is not followed by the data element separator {delimiters.element!r}", offset=unb_at + 3
        )
    return unb_at, delimiters, match.group(1) is not None


def _unwrap(data: bytes, start: int, term: bytes) -> tuple[bytes, int] | None:
    """(body from UNB without line breaks, record width) when the file is cut into fixed-width
    records regardless of segments (mainframe / VAN output, often 80 characters); None otherwise.
    Only when every line but the last has the same width and some line ends inside a segment: a
    file with one segment per line is left alone."""
    if b"\n" not in data:
        return None
    first = data.rfind(b"\n", 0, start) + 1
    head = data[first : first + 1024].split(b"\n")
    if len(head) < 3 or len(head[0].rstrip(b"\r")) != len(head[1].rstrip(b"\r")):
        return None  # the common case (one segment per line) decided without splitting the file
    lines = [line.rstrip(b"\r") for line in data[first:].split(b"\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 3:
        return None
    width = len(lines[0])
    full = lines[:-1]
    if width < 40 or any(len(line) != width for line in full) or len(lines[-1]) > width:
        return None
    if all(line.endswith(term) for line in full):
        return None
    joined = b"".join(lines)
    return joined[start - first :], width


def _una(raw: bytes, offset: int) -> Delimiters:
    chars = raw.decode("latin-1")
    component, element, decimal, release, repetition, terminator = chars
    release = "" if release == " " else release
    used = [component, element, terminator] + ([release] if release else [])
    used += [repetition] if repetition != " " else []
    if len(set(used)) != len(used):
        raise EdifactSyntaxError(f"UNA{chars}: service characters must be distinct", offset=offset)
    if any(c.isalnum() for c in used):
        raise EdifactSyntaxError(f"UNA{chars}: letters/digits cannot be service characters", offset=offset)
    if "\r" in used or "\n" in used:
        raise EdifactSyntaxError(f"UNA{chars}: CR/LF cannot be service characters", offset=offset)
    return Delimiters(component, element, decimal, release, repetition, terminator)


def _sniff_syntax(body: bytes, delimiters: Delimiters) -> tuple[str, int]:
    """Syntax identifier and version from the raw UNB bytes (needed before decoding)."""
    es = delimiters.element.encode("latin-1")
    cs = delimiters.component.encode("latin-1")
    term = delimiters.terminator.encode("latin-1")
    s001 = body[4:64].split(es, 1)[0].split(term, 1)[0]
    parts = s001.split(cs)
    syntax_id = parts[0].decode("ascii", "replace").strip()
    version_raw = parts[1].decode("ascii", "replace").strip() if len(parts) > 1 else ""
    version = int(version_raw) if version_raw in {"1", "2", "3", "4"} else 3
    return syntax_id, version


def _charset(syntax_id: str, encoding: str | None) -> Charset:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise UnsupportedCharset(f"unknown encoding override {encoding!r}", offset=None) from exc
    charset = charset_for(syntax_id, encoding)
    if charset is None:
        raise UnsupportedCharset(
            f"unsupported syntax identifier {syntax_id!r} in UNB (known: {', '.join(known_syntax_ids())}); "
            "pass encoding=... for a partner-specific character set",
            offset=None,
            segment=1,
        )
    return charset


_C1 = re.compile(rb"[\x80-\x9f]")
# 2-byte sequences too: Latin-1 accents are followed by ASCII letters, so Latin-1 text with accents
# fails to decode as UTF-8; UTF-8 'é' (C3 A9) read as Latin-1 would reach customs as 'Ã©'
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _looks_utf8(body: bytes) -> bool:
    """Valid UTF-8 with multi-byte sequences: Latin-1 text with accents virtually never decodes so."""
    if body.isascii() or _UTF8_MULTIBYTE.search(body) is None:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(body: bytes, start: int, charset: Charset, delimiters: Delimiters) -> str:
    term = delimiters.terminator.encode("latin-1")
    if charset.codec == "latin-1" and charset.syntax_id.upper() == "UNOC" and _looks_utf8(body):
        # would decode as mojibake and be forwarded to customs as such: refuse instead
        match = _UTF8_MULTIBYTE.search(body)
        at = match.start() if match else 0
        segment = body[:at].count(term) + 1
        seg_start = body.rfind(term, 0, at) + 1
        tag = body[seg_start : seg_start + 8].lstrip(b"\r\n")[:3].decode("latin-1")
        raise EdifactEncodingError(
            "declares UNOC but the content looks like UTF-8; set the partner's encoding (or declare UNOY)",
            offset=start + at,
            segment=segment,
            tag=tag,
        )
    if charset.codec.startswith(("latin", "iso8859", "iso-8859")) and (c1 := _C1.search(body)):
        # ISO 8859 has no graphic character at 0x80-0x9F: such bytes are Windows-1252 (0x92 = ’,
        # 0x80 = €) and would reach customs as control characters
        at = c1.start()
        segment = body[:at].count(term) + 1
        seg_start = body.rfind(term, 0, at) + 1
        tag = body[seg_start : seg_start + 8].lstrip(b"\r\n")[:3].decode("latin-1")
        shown = body[at : at + 1].decode("cp1252", errors="replace")
        try:
            body.decode("utf-8")
            reason = (
                f"declares {charset.syntax_id} but the content looks like UTF-8; set the partner's "
                "encoding (or declare UNOY)"
            )
        except UnicodeDecodeError:
            reason = (
                f"byte 0x{body[at]:02X} is a control character in {charset.syntax_id} (ISO 8859) and "
                f"{shown!r} in Windows-1252: set the partner's encoding (e.g. cp1252) or declare UNOY"
            )
        raise EdifactEncodingError(
            reason,
            offset=start + at,
            segment=segment,
            tag=tag,
        )
    try:
        text = body.decode(charset.codec)
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.start + 1]
        segment = body[: exc.start].count(term) + 1
        seg_start = body.rfind(term, 0, exc.start) + 1
        tag = body[seg_start : seg_start + 8].lstrip(b"\r\n")[:3].decode("latin-1")
        if charset.repertoire is not None:
            reason = (
                f"byte 0x{bad.hex().upper()} is outside the {charset.syntax_id} repertoire (7-bit ISO 646"
                f"{', no lower case' if charset.syntax_id.upper() == 'UNOA' else ''}); declare UNOY for "
                "UTF-8 text or pass encoding=... for this partner"
            )
        else:
            reason = f"cannot decode byte 0x{bad.hex().upper()} as {charset.codec} ({charset.syntax_id})"
        raise EdifactEncodingError(reason, offset=start + exc.start, segment=segment, tag=tag) from None
    if charset.repertoire is not None:
        allowed = "".join(
            c
            for c in (
                delimiters.component,
                delimiters.element,
                delimiters.release,
                delimiters.repetition,
                delimiters.terminator,
            )
            if c
        )
        bad_match = charset.invalid_char(text, allowed)
        if bad_match is not None:
            char = bad_match.group()
            segment = text[: bad_match.start()].count(delimiters.terminator) + 1
            seg_start = text.rfind(delimiters.terminator, 0, bad_match.start()) + 1
            tag = text[seg_start : seg_start + 8].lstrip("\r\n")[:3]
            hint = " (lower case is not allowed in UNOA; use UNOB/UNOC)" if char.islower() else ""
            raise EdifactEncodingError(
                f"character {char!r} (U+{ord(char):04X}) is not allowed in {charset.syntax_id}{hint}",
                offset=start + bad_match.start(),
                segment=segment,
                tag=tag,
            )
    return text


# --------------------------------------------------------------------------------------- envelope


def _parse_datetime(date: str, time: str) -> datetime | None:
    try:
        if len(date) == 6 and date.isdigit():
            year = int(date[:2])
            # ISO 9735 v3 YYMMDD: assume 20YY, a hub does not receive 20th-century interchanges.
            day = datetime(2000 + year, int(date[2:4]), int(date[4:6]))
        elif len(date) == 8 and date.isdigit():
            day = datetime(int(date[:4]), int(date[4:6]), int(date[6:8]))
        else:
            return None
        if time:
            if len(time) not in (4, 6) or not time.isdigit():
                return None
            day = day.replace(
                hour=int(time[:2]), minute=int(time[2:4]), second=int(time[4:6]) if len(time) == 6 else 0
            )
        return day
    except ValueError:
        return None


def _count(segment: Segment) -> int | None:
    value = segment.get(0)
    return int(value) if _DIGITS.fullmatch(value) else None


class _OpenMessage:
    __slots__ = ("message", "start")

    def __init__(self, message: EdifactMessage, start: int) -> None:
        self.message = message
        self.start = start  # index of UNH in the segment list


def _envelope(segments: list[Segment], delimiters: Delimiters, issues: _Issues) -> Interchange:
    if not segments or segments[0].tag != "UNB":
        raise EdifactSyntaxError("interchange does not start with UNB", segment=1)
    interchange = _unb(segments[0], delimiters, issues)
    _check_tags(segments, issues)

    group: FunctionalGroup | None = None
    group_position = 0
    open_msg: _OpenMessage | None = None
    unz_seen = False
    n = len(segments)
    service = {"UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"}

    def close_message(end: int) -> None:
        """Attach the open message (body = segments between UNH and ``end``)."""
        nonlocal open_msg
        assert open_msg is not None
        open_msg.message.segments = segments[open_msg.start + 1 : end]
        (group.messages if group is not None else interchange.messages).append(open_msg.message)
        open_msg = None

    for index in range(1, n):
        segment = segments[index]
        tag = segment.tag
        if tag not in service:
            if open_msg is None:
                if unz_seen:
                    issues.add(index + 1, tag, "segment after UNZ")
                    break
                issues.add(index + 1, tag, "segment outside any UNH..UNT message")
            continue
        position = index + 1
        if unz_seen:
            issues.add(position, tag, "segment after UNZ")
            break
        if tag == "UNH":
            if open_msg is not None:
                issues.add(position, tag, f"UNH before UNT of message {open_msg.message.ref!r} (missing UNT)")
                close_message(index)
            open_msg = _OpenMessage(_unh(segment, position, issues), index)
        elif tag == "UNT":
            if open_msg is None:
                issues.add(position, tag, "UNT without a preceding UNH")
                continue
            expected = index - open_msg.start + 1
            declared = _count(segment)
            if declared != expected:
                issues.add(
                    position,
                    tag,
                    f"UNT segment count {segment.get(0)!r} does not match the {expected} segments "
                    f"UNH..UNT of message {open_msg.message.ref!r}",
                )
            if segment.get(1) != open_msg.message.ref:
                issues.add(
                    position,
                    tag,
                    f"UNT message reference {segment.get(1)!r} does not match UNH {open_msg.message.ref!r}",
                )
            close_message(index)
        elif open_msg is not None:
            issues.add(position, tag, f"{tag} inside message {open_msg.message.ref!r} (missing UNT)")
            close_message(index)
        if tag == "UNG":
            if group is not None:
                issues.add(position, tag, f"UNG before UNE of group {group.ref!r} (missing UNE)")
            if interchange.messages:
                issues.add(position, tag, "functional groups and ungrouped messages are mixed")
            group = _ung(segment, position, issues)
            group_position = position
            interchange.groups.append(group)
        elif tag == "UNE":
            if group is None:
                issues.add(position, tag, "UNE without a preceding UNG")
                continue
            declared = _count(segment)
            if declared != len(group.messages):
                issues.add(
                    position,
                    tag,
                    f"UNE message count {segment.get(0)!r} does not match the {len(group.messages)} "
                    f"message(s) in group {group.ref!r}",
                )
            if segment.get(1) != group.ref:
                issues.add(
                    position, tag, f"UNE group reference {segment.get(1)!r} does not match UNG {group.ref!r}"
                )
            group = None
        elif tag == "UNZ":
            if group is not None:
                issues.add(group_position, "UNG", f"group {group.ref!r} has no UNE")
                group = None
            unz_seen = True
            counted = len(interchange.groups) if interchange.groups else len(interchange.messages)
            what = "functional group(s)" if interchange.groups else "message(s)"
            declared = _count(segment)
            if declared != counted:
                issues.add(
                    position,
                    tag,
                    f"UNZ count {segment.get(0)!r} does not match the {counted} {what} in the interchange",
                )
            if segment.get(1) != interchange.control_ref:
                issues.add(
                    position,
                    tag,
                    f"UNZ control reference {segment.get(1)!r} does not match UNB "
                    f"{interchange.control_ref!r}",
                )
        elif tag == "UNB":
            issues.add(position, tag, "second UNB inside an interchange (missing UNZ)")

    if open_msg is not None:
        issues.add(n, segments[-1].tag, f"message {open_msg.message.ref!r} has no UNT")
        close_message(n)
    if group is not None:
        issues.add(group_position, "UNG", f"group {group.ref!r} has no UNE")
    if not unz_seen:
        issues.add(n, segments[-1].tag, "interchange has no UNZ trailer")
    return interchange


def _check_tags(segments: list[Segment], issues: _Issues) -> None:
    """Tags must be 3 upper-case alphanumerics. Checked per distinct tag (few) for speed."""
    bad = {tag for tag in {s.tag for s in segments} if not _TAG.fullmatch(tag)}
    if bad:
        for index, segment in enumerate(segments):
            if segment.tag in bad:
                issues.add(index + 1, segment.tag, "invalid segment tag (3 upper-case letters/digits)")


def _unb(segment: Segment, delimiters: Delimiters, issues: _Issues) -> Interchange:
    s001 = segment.element(0)
    syntax_id = s001[0] if s001 else ""
    version_raw = s001[1] if len(s001) > 1 else ""
    if version_raw not in {"1", "2", "3", "4"}:
        issues.add(1, "UNB", f"S001 syntax version {version_raw!r} is not 1..4")
    version = int(version_raw) if version_raw in {"1", "2", "3", "4"} else 3
    date, time = segment.get(3, 0), segment.get(3, 1)
    prepared = _parse_datetime(date, time)
    if prepared is None:
        issues.add(1, "UNB", f"S004 date/time {date!r}:{time!r} is not YYMMDD or CCYYMMDD : HHMM")
    control_ref = segment.get(4)
    if not control_ref:
        issues.add(1, "UNB", "0020 interchange control reference is missing")
    if not segment.get(1):
        issues.add(1, "UNB", "S002 interchange sender identification is missing")
    if not segment.get(2):
        issues.add(1, "UNB", "S003 interchange recipient identification is missing")
    return Interchange(
        sender=segment.get(1, 0),
        recipient=segment.get(2, 0),
        control_ref=control_ref,
        syntax_id=syntax_id,
        syntax_version=version,
        prepared=prepared,
        sender_qualifier=segment.get(1, 1),
        recipient_qualifier=segment.get(2, 1),
        delimiters=delimiters,
        syntax_extra=s001[2:],
        unb_extra=[list(e) for e in segment.elements[5:]],
    )


def _unh(segment: Segment, position: int, issues: _Issues) -> EdifactMessage:
    ref = segment.get(0)
    if not ref:
        issues.add(position, "UNH", "0062 message reference number is missing")
    s009 = segment.element(1)
    if len(s009) < 4 or not all(s009[:4]):
        issues.add(
            position, "UNH", f"S009 message identifier {':'.join(s009)!r} must be type:version:release:agency"
        )
    s009 = s009 + [""] * (5 - len(s009))
    return EdifactMessage(
        ref=ref,
        type=s009[0],
        version=s009[1],
        release=s009[2],
        agency=s009[3],
        association=s009[4],
        unh_extra=[list(e) for e in segment.elements[2:]],
    )


def _ung(segment: Segment, position: int, issues: _Issues) -> FunctionalGroup:
    ref = segment.get(4)
    if not ref:
        issues.add(position, "UNG", "0048 group reference number is missing")
    date, time = segment.get(3, 0), segment.get(3, 1)
    prepared = _parse_datetime(date, time) if date else None
    if date and prepared is None:
        issues.add(position, "UNG", f"S004 date/time {date!r}:{time!r} is not YYMMDD or CCYYMMDD : HHMM")
    return FunctionalGroup(
        ref=ref,
        group_id=segment.get(0),
        sender=segment.get(1, 0),
        sender_qualifier=segment.get(1, 1),
        recipient=segment.get(2, 0),
        recipient_qualifier=segment.get(2, 1),
        prepared=prepared,
        agency=segment.get(5),
        version=segment.get(6, 0),
        release=segment.get(6, 1),
        association=segment.get(6, 2),
        extra=[list(e) for e in segment.elements[7:]],
    )
