"""EDIFACT-specific refinements of the shared message error hierarchy (messages/errors.py).

Every class derives from a shared one, so callers that only know `MessageError`,
`MalformedMessage`, `EncodingError` or `ValidationFailed` keep working.
"""

from __future__ import annotations

from messages.errors import (
    EncodingError,
    MalformedMessage,
    UnknownMessageType,
    ValidationFailed,
    ValidationIssue,
)


def segment_location(position: int, tag: str, message_ref: str | None = None) -> str:
    """Location text used in every EDIFACT issue: ``segment 57 (GID)``; with a message reference
    (interchange-wide validation) ``message 12 segment 57 (GID)``."""
    tag = tag if tag.isprintable() and len(tag) <= 6 else repr(tag[:6])
    where = f"segment {position} ({tag})"
    return f"message {message_ref} {where}" if message_ref is not None else where


def _where(segment: int | None, tag: str | None, offset: int | None) -> str:
    parts = []
    if segment is not None:
        parts.append(f"segment {segment}" + (f" ({tag})" if tag else ""))
    if offset is not None:
        parts.append(f"byte {offset}")
    return ", ".join(parts)


class EdifactSyntaxError(MalformedMessage):
    """Service-string level problem that prevents tokenising (no UNB, bad UNA, ...)."""

    def __init__(
        self, message: str, *, offset: int | None = None, segment: int | None = None, tag: str | None = None
    ) -> None:
        self.offset = offset
        self.segment = segment
        self.tag = tag
        self.where = _where(segment, tag, offset)
        super().__init__(f"{self.where}: {message}" if self.where else message)


class EdifactEncodingError(EncodingError):
    """Bytes not decodable with the interchange's character set, or characters outside the
    repertoire of UNOA/UNOB. ``offset`` is the byte offset in the original payload."""

    def __init__(
        self, message: str, *, offset: int | None, segment: int | None = None, tag: str | None = None
    ) -> None:
        self.offset = offset
        self.segment = segment
        self.tag = tag
        self.where = _where(segment, tag, offset)
        super().__init__(f"{self.where}: {message}" if self.where else message)


class UnsupportedCharset(EdifactEncodingError):
    """UNB declares a syntax identifier we have no codec for (and no override was given)."""


class EnvelopeError(ValidationFailed):
    """UNB/UNG/UNH/UNT/UNE/UNZ problems (counts, control references, missing trailers).
    All problems of the interchange are collected in ``issues``."""


class StructureError(ValidationFailed):
    """Segment order / group / repeat violations against a directory message definition."""


class DirectoryNotFound(UnknownMessageType):
    """No directory definition file for this message type / directory version."""


__all__ = [
    "DirectoryNotFound",
    "EdifactEncodingError",
    "EdifactSyntaxError",
    "EnvelopeError",
    "StructureError",
    "UnsupportedCharset",
    "ValidationIssue",
    "segment_location",
]
