"""Shared pieces of every EDIFACT <-> canonical-model mapping.

`Issues` collects mapping problems (bad numbers, missing mandatory data) with their EDIFACT
location, so a conversion reports all of them at once. `text_chunks`/`join` split long free text
over the components of a composite (NAD names 35 chars, FTX 512 chars) and join it back without
loss. `lossless_issues` compares a model with the model read back from its EDIFACT rendering: any
difference is a field the EDIFACT message has no place for, reported instead of silently dropped.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation

from messages.edifact import GroupNode, Segment
from messages.errors import ValidationIssue


class Issues:
    """Mapping problems of one message, each located as ``segment N (TAG)``."""

    __slots__ = ("items", "warnings")

    def __init__(self) -> None:
        self.items: list[ValidationIssue] = []
        # what the reader tolerated (read one way, reported on the receipt, never silently)
        self.warnings: list[ValidationIssue] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(ValidationIssue(where, message))

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(ValidationIssue(where, message))

    def decimal(self, value: str, where: str, what: str) -> Decimal | None:
        if value == "":
            return None
        if "," in value:
            # ISO 9735 allows the decimal comma as well as the full stop (UNA names the one written)
            value = value.replace(",", ".", 1) if value.count(",") == 1 and "." not in value else value
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            self.add(where, f"{what} {value!r} is not a number")
            return None
        if not number.is_finite():
            self.add(where, f"{what} {value!r} is not a finite number")
            return None
        return number

    def integer(self, value: str, where: str, what: str) -> int | None:
        if value == "":
            return None
        if not value.isascii() or not value.isdigit() or len(value) > 15:
            self.add(where, f"{what} {value!r} is not a whole number")
            return None
        return int(value)


def comp(elements: list[list[str]], i: int, j: int = 0) -> str:
    """Component ``j`` of element ``i`` of an already split segment, "" when absent."""
    if i < len(elements):
        element = elements[i]
        if j < len(element):
            return element[j]
    return ""


def at(node: GroupNode, tag: str | None = None) -> str:
    """Location of a group (its trigger segment): ``segment 12 (CNI)``."""
    return f"segment {node.position} ({tag or node.trigger})"


def text_chunks(text: str, size: int, limit: int) -> list[str]:
    """Split ``text`` into at most ``limit`` components of ``size`` characters; the last component
    takes any remainder so nothing is lost (over-long text is a length problem, not a silent cut)."""
    if len(text) <= size:
        return [text]
    parts = [text[i : i + size] for i in range(0, size * (limit - 1), size)]
    parts.append(text[size * (limit - 1) :])
    return [p for p in parts if p]


def joined(segment: Segment | None, i: int, start: int = 0, stop: int = 5) -> str:
    """Components ``start..stop-1`` of element ``i`` joined (inverse of `text_chunks`)."""
    if segment is None:
        return ""
    elements = segment.elements  # one full split beats five get() calls
    return "".join(elements[i][start:stop]) if i < len(elements) else ""


def fmt_decimal(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text


def fmt_int(value: int | None) -> str:
    return "" if value is None else str(value)


# 304 (CCYYMMDDHHMMSSZZZ) ends in a time zone, never milliseconds: the single-window 17-digit
# timestamps (yyyyMMddHHmmssSSS) have no UN/EDIFACT format code, so they go out as ZZZ (mutually
# defined) and a real 304 is only read.
DATE_FORMATS = {8: "102", 12: "203", 14: "204"}


def dtm(qualifier: str, value: str) -> Segment:
    """DTM with the format code implied by the length (102 date, 203/204 with minutes/seconds)."""
    return Segment.of("DTM", [qualifier, value, DATE_FORMATS.get(len(value), "ZZZ")])


def dtm_text(segment: Segment) -> str:
    """The date/time of a DTM as the canonical model holds it: 303/304 lose their time zone suffix
    (the model has no zone; the value is kept in the sender's local time)."""
    value, fmt = segment.get(0, 1), segment.get(0, 2)
    if fmt in ("303", "304"):
        digits = 12 if fmt == "303" else 14
        return value[:digits]
    return value


def lossless_issues(original: object, read_back: object, path: str = "model") -> list[ValidationIssue]:
    """Every field whose value does not survive model -> EDIFACT -> model."""
    out: list[ValidationIssue] = []
    _diff(original, read_back, path, out)
    return [
        ValidationIssue(p, f"the EDIFACT mapping has no place for this value ({a!r} came back as {b!r})")
        for p, a, b in out
    ]


def _diff(a: object, b: object, path: str, out: list[tuple[str, object, object]]) -> None:
    if len(out) >= 100:
        return
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        for f in dataclasses.fields(a):  # type: ignore[arg-type]
            _diff(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for k in range(max(len(a), len(b))):
            _diff(a[k] if k < len(a) else None, b[k] if k < len(b) else None, f"{path}[{k}]", out)
        return
    if a != b:
        out.append((path, a, b))
