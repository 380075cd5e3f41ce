"""Shared pieces of every EDIFACT <-> canonical-model mapping.

`Issues` collects mapping problems (bad numbers, missing mandatory data) with their EDIFACT
location, so a conversion reports all of them at once. `text_chunks`/`join` split long free text
over the components of a composite (NAD names 35 chars, FTX 512 chars) and join it back without
loss. `lossless_issues` compares a model with the model read back from its EDIFACT rendering: any
difference is a field the EDIFACT message has no place for, reported instead of silently dropped.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal, InvalidOperation

from messages.edifact import GroupNode, Segment
from messages.errors import ValidationIssue

_TO_KG = {"TNE": Decimal(1000), "LBR": Decimal("0.45359237")}


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

    def mass(self, value: str, unit: str, where: str, what: str) -> Decimal | None:
        """A weight in kilograms, as every single-window document carries it. TNE is converted
        exactly and LBR to the gram, each with a warning; any other unit is refused (before, the
        number was taken as kilograms whatever its unit: 54013 LBR became 54013 KGM)."""
        number = self.decimal(value, where, what)
        if number is None or unit in ("KGM", ""):
            return number
        factor = _TO_KG.get(unit)
        if factor is None:
            self.add(where, f"{what} {value!r} is in {unit!r}: send KGM (or TNE / LBR) as the measure unit")
            return None
        kg = (number * factor).quantize(Decimal("0.001"))
        kg = kg.quantize(Decimal(1)) if kg == kg.to_integral_value() else kg.normalize()
        self.warn(where, f"{what} {value} {unit} converted to {kg} KGM")
        return kg

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


# ------------------------------------------------------------------ what the XML side cannot take

_CONTAINER_NO = re.compile(r"[A-Z]{3}[UJZR][0-9]{7}")
_SIZE_TYPE = re.compile(r"[0-9A-Z]{4}")
FULLNESS = {"4": "empty", "5": "full", "7": "LCL", "8": "FCL"}  # UNCL 8169 codes the manifest takes


def check_equipment(eqd: Segment, where: str, issues: Issues) -> None:
    """An EQD+CN whose number, size-type or full/empty code the single-window manifest cannot
    carry is refused here, at the EQD (before, the generated XML failed its schema: 'internal
    error')."""
    number, size, fullness = eqd.get(1), eqd.get(2), eqd.get(5)
    if number and not _CONTAINER_NO.fullmatch(number):
        issues.add(
            where,
            f"EQD+CN container number {number!r} is not an ISO 6346 number (owner code, U/J/Z/R, "
            "7 digits, upper case, no spaces)",
        )
    if size and not _SIZE_TYPE.fullmatch(size):
        issues.add(
            where, f"EQD+CN size and type {size!r} (C224) is not a 4-character ISO 6346 code, e.g. 45G1"
        )
    if fullness and fullness not in FULLNESS:
        issues.add(
            where,
            f"EQD+CN full/empty indicator {fullness!r} (8169) is not one the manifest takes: "
            + ", ".join(f"{k} {v}" for k, v in FULLNESS.items()),
        )


# DTM format code (2379) -> (digits, what they are); 303/304 end in a time zone
_DTM_FORMATS = {
    "101": (6, "YYMMDD"),
    "102": (8, "CCYYMMDD"),
    "201": (10, "YYMMDDHHMM"),
    "203": (12, "CCYYMMDDHHMM"),
    "204": (14, "CCYYMMDDHHMMSS"),
    "303": (12, "CCYYMMDDHHMMZZZ"),
    "304": (14, "CCYYMMDDHHMMSSZZZ"),
}
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_stamp(digits: str, century: bool) -> bool:
    k = 4 if century else 2
    month, day = int(digits[k : k + 2]), int(digits[k + 2 : k + 4])
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return False
    rest = digits[k + 4 :]
    if len(rest) >= 4 and (int(rest[:2]) > 24 or int(rest[2:4]) > 59):
        return False
    return not (len(rest) >= 6 and int(rest[4:6]) > 59)


def date_issues(segments: list[Segment]) -> list[ValidationIssue]:
    """DTM values that do not match their format code (2379): refused at the DTM, e.g. a 10-digit
    value under 203 or month 13. Codes not listed above (periods, ZZZ) are not checked."""
    out: list[ValidationIssue] = []
    for k, seg in enumerate(segments):
        if seg.tag != "DTM":
            continue
        value, code = seg.get(0, 1), seg.get(0, 2)
        known = _DTM_FORMATS.get(code)
        if known is None or not value:
            continue
        digits, shape = known
        head, zone = value[:digits], value[digits:]
        ok = head.isascii() and head.isdigit() and len(head) == digits
        ok = ok and (bool(zone) if code in ("303", "304") else not zone)
        if ok and not _valid_stamp(head, century=code not in ("101", "201")):
            ok = False
        if not ok:
            out.append(
                ValidationIssue(
                    f"segment {k + 2} (DTM)",
                    f"DTM+{seg.get(0)} {value!r} is not a valid date/time for format {code} ({shape})",
                )
            )
    return out


def seal_segments(seals: list[str], agencies: list[str]) -> list[Segment]:
    """SEL per seal with who applied it (4517: CA, SH, CU, ...) as read; none named: no code."""
    return [
        Segment.of("SEL", seal, agencies[k]) if k < len(agencies) and agencies[k] else Segment.of("SEL", seal)
        for k, seal in enumerate(seals)
    ]


def agencies_of(sels: list[Segment]) -> list[str]:
    """SEL 4517 of each seal, parallel to the seal numbers; [] when no SEL names one."""
    found = [s.get(1) for s in sels]
    return found if any(found) else []
