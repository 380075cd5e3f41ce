"""UN/EDIFACT syntax layer: reader, writer, directory-driven segment grouping and validation.

Public API (the mapping layer calls exactly these)::

    read(data, *, encoding=None, max_bytes=10 MiB) -> Interchange
    write(interchange, *, una=True, newline=False) -> bytes
    structure(message, directory="D95B") -> GroupNode       # raises StructureError (ValidationFailed)
    validate(data, *, encoding=None) -> list[ValidationIssue]

All errors derive from messages.errors.MessageError (see messages/edifact/errors.py).
"""

from __future__ import annotations

from messages.edifact.directory import MessageDefinition, available, load
from messages.edifact.errors import (
    DirectoryNotFound,
    EdifactEncodingError,
    EdifactSyntaxError,
    EnvelopeError,
    StructureError,
    UnsupportedCharset,
    segment_location,
)
from messages.edifact.gcpause import gc_paused
from messages.edifact.grouping import GroupNode, build_tree
from messages.edifact.model import (
    DEFAULT_DELIMITERS,
    Delimiters,
    EdifactMessage,
    FunctionalGroup,
    Interchange,
    Segment,
)
from messages.edifact.reader import DEFAULT_MAX_BYTES, parse
from messages.edifact.reader import read as _read
from messages.edifact.writer import write as _write
from messages.errors import MessageError, ValidationIssue


def read(
    data: bytes,
    *,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lenient: frozenset[str] | tuple[str, ...] = (),
) -> Interchange:
    """Parse an interchange. ``encoding`` overrides the codec implied by the UNB syntax identifier
    (e.g. ``"gbk"`` for partners that declare UNOC but send GBK). Raises `EnvelopeError` listing all
    envelope/count problems, `EdifactSyntaxError`/`EdifactEncodingError`/`PayloadTooLarge` otherwise."""
    with gc_paused():
        return _read(data, encoding=encoding, max_bytes=max_bytes, lenient=lenient)


def write(interchange: Interchange, *, una: bool = True, newline: bool = False) -> bytes:
    """Serialise with escaping and computed UNT/UNE/UNZ counts."""
    return _write(interchange, una=una, newline=newline)


def structure(message: EdifactMessage, directory: str = "D95B") -> GroupNode:
    """Segment-group tree of ``message`` per its definition in ``directory``. Raises
    `StructureError` (a `ValidationFailed`) with every problem, each located as
    ``segment N (TAG)`` where N counts from UNH = 1; `DirectoryNotFound` for an unknown type."""
    if message.type != message.type.upper():
        # message types are upper case (ISO 9735): "COdECO" in UNH is not CODECO
        raise DirectoryNotFound(f"invalid message type {message.type!r} in UNH (upper case required)")
    definition = load(directory, message.type)
    with gc_paused():
        tree, problems = build_tree(message.segments, definition)
    if problems:
        raise StructureError([ValidationIssue(segment_location(p, t), text) for p, t, text in problems])
    return tree


def validate(
    data: bytes, *, encoding: str | None = None, lenient: frozenset[str] | tuple[str, ...] = ()
) -> list[ValidationIssue]:
    """Syntax + envelope + structure problems of an interchange, all at once (never raises a
    MessageError: a fatal syntax/encoding problem becomes a single issue)."""
    with gc_paused():
        return _validate(data, encoding, lenient)


def _validate(
    data: bytes, encoding: str | None, lenient: frozenset[str] | tuple[str, ...] = ()
) -> list[ValidationIssue]:
    try:
        interchange, issues = parse(data, encoding=encoding, lenient=lenient)
    except MessageError as exc:
        return _fatal_issue(exc)
    for message in interchange.all_messages():
        directory = f"{message.version}{message.release}"
        try:
            definition = load(directory, message.type)
        except DirectoryNotFound as exc:
            issues.append(
                ValidationIssue(f"message {message.ref} segment 1 (UNH)", f"{exc}; structure not validated")
            )
            continue
        _tree, problems = build_tree(message.segments, definition)
        issues.extend(ValidationIssue(segment_location(p, t, message.ref), text) for p, t, text in problems)
    return issues


def _fatal_issue(exc: MessageError) -> list[ValidationIssue]:
    if isinstance(exc, EnvelopeError | StructureError):
        return list(exc.issues)
    where = getattr(exc, "where", "") or "interchange"
    message = str(exc)
    if message.startswith(f"{where}: "):
        message = message[len(where) + 2 :]
    return [ValidationIssue(where, message)]


__all__ = [
    "DEFAULT_DELIMITERS",
    "DirectoryNotFound",
    "Delimiters",
    "EdifactEncodingError",
    "EdifactMessage",
    "EdifactSyntaxError",
    "EnvelopeError",
    "FunctionalGroup",
    "GroupNode",
    "Interchange",
    "MessageDefinition",
    "Segment",
    "StructureError",
    "UnsupportedCharset",
    "available",
    "gc_paused",
    "load",
    "read",
    "structure",
    "validate",
    "write",
]
