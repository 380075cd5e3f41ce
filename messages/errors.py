"""Typed errors for every message codec (XML and EDIFACT).

Callers (hub intake, CLI) catch `MessageError` and map the subclass to a reply: a sender gets a
precise reason instead of a stack trace. Codecs must never leak IndexError/KeyError/UnicodeDecodeError
on bad input: they wrap them in one of these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One schema/semantic problem. `location` is an element path (XML) or segment position (EDIFACT)."""

    location: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.location
        if self.line is not None:
            where += f" (line {self.line}" + (f", col {self.column})" if self.column is not None else ")")
        return f"{where}: {self.message}"


class MessageError(Exception):
    """Base class of every message-layer error."""


class MalformedMessage(MessageError):
    """Not well-formed: truncated, garbage, bad syntax. Carries a position when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f" at line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{message}{where}")


class UnsafeXml(MessageError):
    """The XML uses a construct we refuse for safety (DOCTYPE, entities: XXE, entity expansion bombs)."""


class PayloadTooLarge(MessageError):
    """The payload exceeds the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"payload of {size} bytes exceeds the limit of {limit} bytes")


class EncodingError(MessageError):
    """Bytes cannot be decoded in the declared/expected character encoding."""


class UnknownMessageType(MessageError):
    """The payload is well-formed but not a message type we know."""


class ValidationFailed(MessageError):
    """Schema (or semantic) validation failed; `issues` lists ALL problems found, not just the first."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        head = "; ".join(str(i) for i in self.issues[:5])
        more = f" (+{len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"{len(self.issues)} validation issue(s): {head}{more}")
