"""Where each canonical field came from in the input EDIFACT message (issue 11: problems in the
sender's own terms).

While a message is mapped, the mapping notes which segment fed which field (``Sources``); once the
model is complete the notes become ``Origins``: canonical field path (``declaration.consignments.1.
bill_no``, list positions 0-based) -> ``message 7 segment 12 RFF+BM``. A problem found later about
the converted document (the hub's business checks) is then located at the sender's segment and
qualifier instead of a path in the XML the hub generated; `messages.xml.layers.FieldLocator`
translates the XML path of such a problem to the field path through the XML binding.

Recording is opt-in (``Sources`` is only created when a caller asks for the origins), so plain
conversions pay nothing for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from messages.edifact import EdifactMessage, Segment

# tags whose first component is a qualifier worth naming (RFF+BM, LOC+11, NAD+CZ, EQD+CN, ...)
_QUALIFIED = frozenset(
    {"CNT", "DOC", "DTM", "EQD", "FTX", "GEI", "LOC", "MEA", "NAD", "RFF", "TDT", "TSR", "GIS"}
)


def label(seg: Segment) -> str:
    """How the sender would name the segment: ``RFF+BM``, ``CNI``, ``RFF+ZZZ::head.trade_mode``."""
    q = seg.get(0) if seg.tag in _QUALIFIED else ""
    if not q:
        return seg.tag
    if seg.tag == "RFF" and q == "ZZZ" and seg.get(0, 3):
        return f"RFF+ZZZ::{seg.get(0, 3)}"
    return f"{seg.tag}+{q}"


class Sources:
    """Notes taken while one message is mapped: (object, attribute) or field path -> segment."""

    __slots__ = ("_keep", "_notes", "_paths", "_positions", "message")

    def __init__(self, message: EdifactMessage) -> None:
        self.message = message
        self._positions: dict[int, int] | None = None
        self._notes: dict[tuple[int, str], str] = {}
        self._keep: list[object] = []  # keeps noted objects alive, so their ids stay theirs
        self._paths: dict[str, str] = {}

    @property
    def label(self) -> str:
        return f"message {self.message.ref} ({self.message.type})"

    def where(self, seg: Segment) -> str:
        if self._positions is None:  # UNH is segment 1, the body starts at 2
            self._positions = {id(s): n for n, s in enumerate(self.message.segments, 2)}
        position = self._positions.get(id(seg))
        return f"segment {position} {label(seg)}" if position is not None else label(seg)

    def note(self, obj: object, attr: str, seg: Segment | None) -> None:
        """``obj.attr`` was read from ``seg`` (``attr`` "" = the object as a whole, e.g. the group
        a consignment came from)."""
        if seg is not None:
            self.text(obj, attr, self.where(seg))

    def text(self, obj: object, attr: str, where: str) -> None:
        """``obj.attr`` came from somewhere that is not a segment (a partner profile default)."""
        self._notes[(id(obj), attr)] = where
        self._keep.append(obj)

    def path(self, path: str, seg: Segment) -> None:
        """The field at ``path`` (``head.trade_mode``) was read from ``seg``."""
        self._paths[path] = self.where(seg)

    def origins(self, model: object, spelling: dict[str, str] | None = None) -> Origins:
        fields = dict(self._paths)
        if self._notes:
            for path, obj in _objects(model, ""):
                for attr in _attrs(obj):
                    where = self._notes.get((id(obj), attr))
                    if where is not None:
                        fields[f"{path}.{attr}".strip(".") if attr else path] = where
        return Origins(self.message.ref, self.message.type, fields, spelling or {})


def _attrs(obj: object) -> list[str]:
    return ["", *(f.name for f in dataclasses.fields(obj))]  # type: ignore[arg-type]


def _objects(obj: Any, path: str) -> list[tuple[str, Any]]:
    """(field path, dataclass instance) for the model and everything nested in it."""
    out = [(path, obj)]
    todo = [(path, obj)]
    while todo:
        base, node = todo.pop()
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            here = f"{base}.{f.name}".lstrip(".")
            if dataclasses.is_dataclass(value):
                out.append((here, value))
                todo.append((here, value))
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if dataclasses.is_dataclass(item):
                        out.append((f"{here}.{k}", item))
                        todo.append((f"{here}.{k}", item))
    return out


@dataclass(frozen=True, slots=True)
class Origins:
    """Field path -> where in the input message it came from, for one converted message."""

    ref: str  # UNH message reference
    type: str  # EDIFACT message type
    fields: dict[str, str] = field(default_factory=dict)
    # field path (or a prefix of one) -> how the sender would write it, for a field the message
    # does not carry: "RFF+BM in the CNI group"
    spelling: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return f"message {self.ref} ({self.type})"

    def locate(self, path: str) -> str:
        """``message 7 segment 12 RFF+BM`` for a field read from the message; for one it does not
        carry, the nearest enclosing group it came from and how the sender would add the field."""
        where = self.fields.get(path)
        if where is not None:  # a segment of this message, or a text naming its own place
            return (
                f"message {self.ref} {where}" if not where.startswith(("message ", "interchange ")) else where
            )
        steps = path.split(".") if path else []
        enclosing = self.message
        for n in range(len(steps) - 1, 0, -1):
            found = self.fields.get(".".join(steps[:n]))
            if found is not None:
                enclosing = f"message {self.ref} {found}"
                break
        how = self._spelling(path)
        return f"{enclosing} (not in the message: {how})" if how else enclosing

    def _spelling(self, path: str) -> str:
        generic = ".".join("N" if s.isdigit() else s for s in path.split("."))
        return self.spelling.get(path) or self.spelling.get(generic, "")
