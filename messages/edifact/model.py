"""In-memory model of a UN/EDIFACT interchange.

Kept deliberately small and flat: a `Segment` is a tag plus a list of data elements, each data
element a list of component strings (already unescaped). The reader creates tens of thousands of
these per megabyte, so they use ``__slots__`` and no per-object validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from messages.errors import ValidationIssue

Element = list[str]


class SegmentContext:
    """Shared by all segments of one tokenised interchange: how to split a raw segment lazily."""

    __slots__ = ("component", "delimiters", "element", "repetition", "restore", "sentinels")

    def __init__(
        self,
        element: str,
        component: str,
        repetition: str,
        restore: dict[int, str] | None,
        sentinels: Any,
        delimiters: Delimiters | None = None,
    ) -> None:
        self.element = element
        self.component = component
        self.repetition = repetition  # "" unless syntax v4
        self.restore = restore  # sentinel code point -> released service character
        self.sentinels = sentinels  # compiled regex finding any sentinel, or None
        self.delimiters = delimiters  # as read (lets the writer pass unmodified segments through)


class Segment:
    """One segment. ``elements[i]`` is the i-th data element after the tag (0-based), as a list of
    components; a simple data element is a one-item list. In syntax version 4 a repeated data
    element keeps its first repetition in ``elements[i]`` and all repetitions in ``repeats[i]``.

    Segments produced by the reader keep their raw text. `get` works on a compact form (the raw
    text split on the element separator only, components split per call) so a mapping that reads a
    few values per segment never builds the full list-of-lists; ``elements`` builds (and caches)
    the full form on first use. Structure validation needs only tags.
    """

    __slots__ = ("_ctx", "_els", "_esc", "_parts", "_raw", "_reps", "tag")

    def __init__(
        self, tag: str, elements: list[Element] | None = None, repeats: dict[int, list[Element]] | None = None
    ) -> None:
        self.tag = tag
        self._els: list[Element] | None = elements if elements is not None else []
        self._reps = repeats
        self._raw: str | None = None
        self._ctx: SegmentContext | None = None
        self._parts: list[str] | None = None
        self._esc = False

    @classmethod
    def of(cls, tag: str, *values: str | list[str] | tuple[str, ...]) -> Segment:
        """Convenience constructor: ``Segment.of("NAD", "CZ", ["ID1", "", "ZZZ"])``."""
        return cls(tag, [[v] if isinstance(v, str) else list(v) for v in values])

    @property
    def elements(self) -> list[Element]:
        els = self._els
        if els is None:
            els = self._split()
        return els

    @elements.setter
    def elements(self, value: list[Element]) -> None:
        self._els = value
        self._raw = None
        self._parts = None

    @property
    def repeats(self) -> dict[int, list[Element]] | None:
        if self._els is None:
            self._split()
        return self._reps

    @repeats.setter
    def repeats(self, value: dict[int, list[Element]] | None) -> None:
        if self._els is None:
            self._split()
        self._reps = value

    def _split_parts(self) -> list[str] | None:
        """Compact form: ``[tag, element, element, ...]`` as raw strings (components still joined).
        ``None`` when the segment uses v4 repetitions, which always take the full form."""
        raw = self._raw
        ctx = self._ctx
        rs = ctx.repetition  # type: ignore[union-attr]
        if rs and rs in raw:  # type: ignore[operator]
            self._split()
            return None
        parts = raw.split(ctx.element)  # type: ignore[union-attr]
        # sentinels are private-use (non-ASCII) code points, and isascii() is O(1)
        self._esc = ctx.restore is not None and not raw.isascii() and ctx.sentinels.search(raw) is not None  # type: ignore[union-attr]
        self._parts = parts
        return parts

    def _split(self) -> list[Element]:
        raw, ctx = self._raw, self._ctx
        assert raw is not None and ctx is not None
        cs = ctx.component
        parts = raw.split(ctx.element)
        del parts[0]
        rs = ctx.repetition
        if rs and rs in raw:
            els: list[Element] = []
            reps: dict[int, list[Element]] = {}
            for i, part in enumerate(parts):
                if rs in part:
                    reps[i] = [r.split(cs) for r in part.split(rs)]
                    els.append(reps[i][0])
                else:
                    els.append(part.split(cs))
            self._reps = reps
        else:
            els = [p.split(cs) for p in parts]
        restore = ctx.restore
        if restore is not None and not raw.isascii() and ctx.sentinels.search(raw) is not None:
            els = [[c.translate(restore) for c in element] for element in els]
            if self._reps:
                self._reps = {
                    i: [[c.translate(restore) for c in r] for r in reps_] for i, reps_ in self._reps.items()
                }
                for i, reps_ in self._reps.items():
                    els[i] = reps_[0]
        self._els = els
        return els

    def get(self, i: int, j: int = 0, default: str = "") -> str:
        """Component ``j`` of data element ``i`` (both 0-based), or ``default`` when absent/empty."""
        elements = self._els
        if elements is None:
            parts = self._parts
            if parts is None:
                parts = self._split_parts()
                if parts is None:
                    return self.get(i, j, default)
            i += 1  # parts[0] is the tag
            if i >= len(parts):
                return default
            value = parts[i]
            ctx = self._ctx
            cs = ctx.component  # type: ignore[union-attr]
            if cs in value:
                comps = value.split(cs)
                if j >= len(comps):
                    return default
                value = comps[j]
            elif j:
                return default
            if not value:
                return default
            return value.translate(ctx.restore) if self._esc else value  # type: ignore[union-attr, arg-type]
        if i < len(elements):
            element = elements[i]
            if j < len(element):
                value = element[j]
                if value:
                    return value
        return default

    def count(self) -> int:
        """Number of data elements (trailing empty ones omitted by the sender are not counted)."""
        if self._els is None:
            parts = self._parts if self._parts is not None else self._split_parts()
            if parts is not None:
                return len(parts) - 1
        return len(self.elements)

    def element(self, i: int) -> Element:
        """Data element ``i`` (0-based) as a component list; ``[]`` when absent."""
        elements = self.elements
        return elements[i] if i < len(elements) else []

    def repetitions(self, i: int) -> list[Element]:
        """All repetitions of data element ``i`` (syntax v4); a single-item list otherwise."""
        repeats = self.repeats
        if repeats and i in repeats:
            return repeats[i]
        return [self.element(i)] if i < len(self.elements) else []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (
            self.tag == other.tag
            and _trim(self.elements) == _trim(other.elements)
            and _trim_repeats(self.repeats) == _trim_repeats(other.repeats)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Segment({self.tag!r}, {self.elements!r})"


class _ReadSegment(Segment):
    """A segment created by the reader: elements are split from ``raw`` on first access."""

    __slots__ = ()

    def __init__(self, tag: str, raw: str, ctx: SegmentContext) -> None:
        self.tag = tag
        self._raw = raw
        self._ctx = ctx
        self._els = None
        self._reps = None
        self._parts = None


lazy_segment = _ReadSegment


def _trim_repeats(repeats: dict[int, list[Element]] | None) -> dict[int, list[Element]] | None:
    if not repeats:
        return None
    return {i: _trim_components(reps) for i, reps in repeats.items()}


def _trim_components(elements: list[Element]) -> list[Element]:
    out = []
    for element in elements:
        comps = list(element)
        while comps and comps[-1] == "":
            comps.pop()
        out.append(comps)
    return out


def _trim(elements: list[Element]) -> list[Element]:
    """Elements with trailing empty components/elements removed: ``X+A:'`` equals ``X+A'``."""
    out = []
    for element in elements:
        comps = list(element)
        while comps and comps[-1] == "":
            comps.pop()
        out.append(comps)
    while out and not out[-1]:
        out.pop()
    return out


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Service characters (the six UNA characters, in UNA order)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "  # reserved (space) in syntax v3; "*" in v4
    terminator: str = "'"

    def una(self) -> str:
        return (
            f"UNA{self.component}{self.element}{self.decimal}{self.release}{self.repetition}{self.terminator}"
        )

    def for_version(self, version: int) -> Delimiters:
        """Defaults adjusted to the syntax version (v4 repetition separator ``*``)."""
        if version >= 4 and self.repetition == " ":
            return Delimiters(self.component, self.element, self.decimal, self.release, "*", self.terminator)
        return self


DEFAULT_DELIMITERS = Delimiters()
# Level B without UNA: information separators instead of printable characters (ISO 9735).
UNOB_CONTROL_DELIMITERS = Delimiters("\x1f", "\x1d", ".", "", " ", "\x1c")


@dataclass(slots=True)
class EdifactMessage:
    """UNH..UNT. ``segments`` holds the body only (UNH and UNT are generated by the writer), so
    body segment ``k`` (0-based) is segment number ``k + 2`` counted from UNH."""

    ref: str
    type: str
    version: str = "D"
    release: str = "95B"
    agency: str = "UN"
    association: str = ""
    segments: list[Segment] = field(default_factory=list)
    unh_extra: list[Element] = field(default_factory=list)  # 0068 common access ref, S010, ...

    def find(self, tag: str) -> Segment | None:
        for segment in self.segments:
            if segment.tag == tag:
                return segment
        return None

    def find_all(self, tag: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.tag == tag]


@dataclass(slots=True)
class FunctionalGroup:
    """UNG..UNE."""

    ref: str  # 0048
    group_id: str = ""  # 0038 message group identification (usually the message type)
    sender: str = ""
    sender_qualifier: str = ""
    recipient: str = ""
    recipient_qualifier: str = ""
    prepared: datetime | None = None
    agency: str = "UN"  # 0051
    version: str = "D"  # S008 0052
    release: str = "95B"  # S008 0054
    association: str = ""  # S008 0057
    messages: list[EdifactMessage] = field(default_factory=list)
    extra: list[Element] = field(default_factory=list)  # 0058 password, ...


@dataclass(slots=True)
class Interchange:
    """UNB..UNZ: either a list of messages or a list of functional groups (ISO 9735 forbids mixing)."""

    syntax_id: str = "UNOY"  # S001 0001: decides the character set (see charsets.py)
    syntax_version: int = 3  # S001 0002: 4 enables the repetition separator and CCYYMMDD dates
    sender: str = ""  # S002 0004
    recipient: str = ""  # S003 0010
    prepared: datetime | None = None  # S004 date/time of preparation
    control_ref: str = ""  # 0020, repeated in UNZ
    messages: list[EdifactMessage] = field(default_factory=list)
    groups: list[FunctionalGroup] = field(default_factory=list)
    sender_qualifier: str = ""  # S002 0007
    recipient_qualifier: str = ""  # S003 0007
    delimiters: Delimiters = DEFAULT_DELIMITERS
    syntax_extra: list[str] = field(default_factory=list)  # S001 components after the version (v4)
    unb_extra: list[Element] = field(default_factory=list)  # 0022 password ... 0035 test indicator
    encoding: str | None = None  # codec the reader used / the writer should use (overrides syntax id)
    # what the reader tolerated because the partner profile allowed it (for the receipt)
    warnings: list[ValidationIssue] = field(default_factory=list)

    def all_messages(self) -> Iterator[EdifactMessage]:
        yield from self.messages
        for group in self.groups:
            yield from group.messages

    @property
    def test_indicator(self) -> bool:
        """UNB 0035 = 1 (test interchange)."""
        return len(self.unb_extra) >= 6 and self.unb_extra[5][:1] == ["1"]
