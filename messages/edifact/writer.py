"""`Interchange` -> bytes: escaping, UNA, UNB/UNZ, optional UNG/UNE, UNH/UNT with computed counts.

Counts (UNT, UNE, UNZ) are always computed, never taken from the model, so a written interchange
is consistent by construction.
"""

from __future__ import annotations

import re
from datetime import datetime

from messages.edifact.charsets import charset_for
from messages.edifact.errors import EdifactEncodingError, EdifactSyntaxError, UnsupportedCharset
from messages.edifact.model import (
    DEFAULT_DELIMITERS,
    Delimiters,
    EdifactMessage,
    Interchange,
    Segment,
    SegmentContext,
)


def write(interchange: Interchange, *, una: bool = True, newline: bool = False) -> bytes:
    """Serialise. ``una=True`` always writes UNA; ``una=False`` writes it only when the delimiters
    differ from the defaults. ``newline`` puts a line break after every segment terminator."""
    version = interchange.syntax_version
    delimiters = interchange.delimiters.for_version(version)
    charset = charset_for(interchange.syntax_id, interchange.encoding)
    if charset is None:
        raise UnsupportedCharset(
            f"cannot write syntax identifier {interchange.syntax_id!r}: no codec (set interchange.encoding)",
            offset=None,
        )
    encoder = _SegmentEncoder(delimiters, version)
    lines: list[str] = []
    if delimiters.release and (una or delimiters.for_version(3) != DEFAULT_DELIMITERS.for_version(3)):
        lines.append(delimiters.una())
    elif not delimiters.release and delimiters.terminator != "\x1c":
        # UNA cannot announce "no release character" portably: refuse rather than write ambiguous data
        raise EdifactSyntaxError("a release character is required unless UNOB control separators are used")

    enc = encoder.encode
    lines.append(enc(_unb(interchange)))
    if interchange.groups and interchange.messages:
        raise EdifactSyntaxError("an interchange holds either functional groups or messages, not both")
    if interchange.groups:
        for group in interchange.groups:
            lines.append(
                enc(
                    Segment(
                        "UNG",
                        [
                            [group.group_id],
                            [group.sender, group.sender_qualifier],
                            [group.recipient, group.recipient_qualifier],
                            _date_time(group.prepared, version) if group.prepared else [],
                            [group.ref],
                            [group.agency],
                            [group.version, group.release, group.association],
                            *group.extra,
                        ],
                    )
                )
            )
            for message in group.messages:
                _write_message(message, enc, lines)
            lines.append(enc(Segment("UNE", [[str(len(group.messages))], [group.ref]])))
        count = len(interchange.groups)
    else:
        for message in interchange.messages:
            _write_message(message, enc, lines)
        count = len(interchange.messages)
    lines.append(enc(Segment("UNZ", [[str(count)], [interchange.control_ref]])))

    term = delimiters.terminator
    nl = "\n" if newline else ""
    head = lines.pop(0) + nl if lines[0].startswith("UNA") else ""
    sep = term + nl
    text = head + sep.join(lines) + sep

    def segment_at(pos: int) -> int:
        """1-based segment number (from UNB) of a character position, for error messages."""
        return text[:pos].count(term) + 1 - (1 if head else 0)

    if charset.repertoire is not None:
        allowed = "".join(
            c
            for c in (
                delimiters.component,
                delimiters.element,
                delimiters.release,
                delimiters.repetition,
                delimiters.terminator,
                "\n",
            )
            if c
        )
        bad = charset.invalid_char(text, allowed)
        if bad is not None:
            raise EdifactEncodingError(
                f"character {bad.group()!r} cannot be written in {interchange.syntax_id}",
                offset=None,
                segment=segment_at(bad.start()),
            )
    try:
        return text.encode(charset.codec)
    except UnicodeEncodeError as exc:
        raise EdifactEncodingError(
            f"character {exc.object[exc.start]!r} cannot be encoded as {charset.codec} "
            f"({interchange.syntax_id}); use UNOY or an encoding override",
            offset=None,
            segment=segment_at(exc.start),
        ) from None


def _write_message(message: EdifactMessage, enc, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    if not message.ref or not message.type:
        raise EdifactSyntaxError(f"message ref and type are required for UNH (ref={message.ref!r})")
    s009 = [message.type, message.version, message.release, message.agency]
    if message.association:
        s009.append(message.association)
    lines.append(enc(Segment("UNH", [[message.ref], s009, *message.unh_extra])))
    lines.extend(enc(segment) for segment in message.segments)
    lines.append(enc(Segment("UNT", [[str(len(message.segments) + 2)], [message.ref]])))


def _date_time(when: datetime, version: int) -> list[str]:
    return [when.strftime("%Y%m%d" if version >= 4 else "%y%m%d"), when.strftime("%H%M")]


def _unb(interchange: Interchange) -> Segment:
    if interchange.prepared is None:
        raise EdifactSyntaxError("Interchange.prepared (UNB S004 date/time) is required for writing")
    missing = [name for name in ("sender", "recipient", "control_ref") if not getattr(interchange, name)]
    if missing:
        raise EdifactSyntaxError(f"Interchange.{', '.join(missing)} required for writing UNB")
    return Segment(
        "UNB",
        [
            [interchange.syntax_id, str(interchange.syntax_version), *interchange.syntax_extra],
            [interchange.sender, interchange.sender_qualifier],
            [interchange.recipient, interchange.recipient_qualifier],
            _date_time(interchange.prepared, interchange.syntax_version),
            [interchange.control_ref],
            *interchange.unb_extra,
        ],
    )


class _SegmentEncoder:
    """Builds one segment string (without terminator), escaping service characters."""

    def __init__(self, delimiters: Delimiters, version: int) -> None:
        self.delimiters = delimiters
        self.cs = delimiters.component
        self.es = delimiters.element
        self.rs = delimiters.repetition if version >= 4 and delimiters.repetition != " " else ""
        rel = delimiters.release
        specials = [delimiters.component, delimiters.element, delimiters.terminator]
        if self.rs:
            specials.append(self.rs)
        self.specials = specials
        self.table: dict[int, str] | None = {ord(c): rel + c for c in [rel, *specials]} if rel else None
        self.special = re.compile("[" + "".join(re.escape(c) for c in [rel, *specials] if c) + "]")
        # per reader context: can its raw segments be emitted as they are, and how to re-escape
        self._passthrough: dict[int, tuple[SegmentContext, dict[int, str] | None] | None] = {}

    def _raw_table(self, ctx: SegmentContext) -> tuple[SegmentContext, dict[int, str] | None] | None:
        key = id(ctx)
        if key not in self._passthrough:
            same = (
                ctx.delimiters is not None and ctx.delimiters == self.delimiters and ctx.repetition == self.rs
            )
            table = None
            if same and ctx.restore is not None:
                rel = self.delimiters.release
                table = {code: rel + char for code, char in ctx.restore.items()}
            self._passthrough[key] = (ctx, table) if same else None
        return self._passthrough[key]

    def encode(self, segment: Segment) -> str:
        raw = segment._raw
        if raw is not None and segment._els is None:
            # Read and never expanded (get() cannot modify): re-emit the received text, re-escaped.
            entry = self._raw_table(segment._ctx)  # type: ignore[arg-type]
            if entry is not None:
                table = entry[1]
                return raw.translate(table) if table is not None and not raw.isascii() else raw
        repeats = segment.repeats
        table = self.table
        if repeats or table is None:
            return self._encode_general(segment)
        # Join with placeholders (NUL between components, SOH between elements), escape the whole
        # segment in one pass only if it holds a service character, then put the separators in.
        # The counts guard against values that themselves contain NUL/SOH (general path then).
        elements = segment.elements
        body = "\x01".join(["\x00".join(components) for components in elements])
        if body.count("\x01") != len(elements) - 1 or body.count("\x00") != sum(map(len, elements)) - len(
            elements
        ):
            return self._encode_general(segment)
        if "\x00\x01" in body or body.endswith("\x00"):
            body = _TRAILING_EMPTY_COMPONENTS.sub("", body)
        body = body.rstrip("\x01")
        if not body:
            return segment.tag
        if self.special.search(body) is not None:
            body = body.translate(table)
        return f"{segment.tag}{self.es}{body.replace(chr(0), self.cs).replace(chr(1), self.es)}"

    def _component(self, value: str) -> str:
        if self.table is not None:
            return value.translate(self.table)
        if any(s in value for s in self.specials):
            raise EdifactSyntaxError(f"value {value!r} contains a separator but no release character is set")
        return value

    def _element(self, components: list[str]) -> str:
        comp = self._component
        return self.cs.join([comp(c) for c in _trimmed(components)])

    def _encode_general(self, segment: Segment) -> str:
        parts = [segment.tag]
        repeats = segment.repeats
        if repeats and not self.rs:
            raise EdifactSyntaxError(f"segment {segment.tag} has repeated data elements (syntax v4 only)")
        element = self._element
        for i, components in enumerate(segment.elements):
            if repeats and i in repeats:
                parts.append(self.rs.join(element(rep) for rep in repeats[i]))
            else:
                parts.append(element(components))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        return self.es.join(parts)


_TRAILING_EMPTY_COMPONENTS = re.compile("\x00+(?=\x01|\\Z)")


def _trimmed(components: list[str]) -> list[str]:
    end = len(components)
    while end and not components[end - 1]:
        end -= 1
    return components[:end]
