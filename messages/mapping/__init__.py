"""EDIFACT message <-> canonical model, one module per pair (docs/mappings.md).

    message_to_model(message, interchange, partner) -> model        # raises ValidationFailed
    model_to_message(model, partner, ref="1") -> EdifactMessage      # raises ValidationFailed
    model_to_interchange(models, partner) -> Interchange

Reading validates the segment structure against the partner's directory first (all structure
problems at once), then maps; mapping problems (numbers, missing bill numbers, unknown BGM codes)
are collected and raised together with their segment locations. Writing checks that the model
survives the trip (model -> segments -> model): a value the EDIFACT message has no place for is an
error naming the model field, never silently dropped.
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import replace
from datetime import datetime
from types import ModuleType

from messages.edifact import (
    DEFAULT_DELIMITERS,
    EdifactMessage,
    GroupNode,
    Interchange,
    StructureError,
    structure,
)
from messages.errors import UnknownMessageType, ValidationFailed, ValidationIssue
from messages.mapping.common import Issues, date_issues, lossless_issues
from messages.mapping.enrich import Known, enrich
from messages.mapping.provenance import Origins, Sources
from messages.models.declaration import Declaration
from messages.models.gate import GateOutReport
from messages.models.manifest import Manifest
from messages.models.receipts import DecResultReceipt, ManifestResponse
from messages.partners import DEFAULT_PARTNER, Partner

# EDIFACT type -> XML types it can produce (for docs, CLI help and tests)
PAIRS: dict[str, tuple[str, ...]] = {
    "CUSCAR": ("MT1101",),
    "CODECO": ("MT3101", "GateOutReport"),
    "COARRI": ("MT5101", "MT5102"),
    "CUSDEC": ("DecMessage",),
    "CUSRES": ("DEC_DATA", "MT9999"),
}
XML_TO_EDIFACT: dict[str, str] = {x: e for e, xs in PAIRS.items() for x in xs}


def _module(kind: str) -> ModuleType:
    """The mapping module of one EDIFACT message type, imported on first use: a one-file
    `swhub convert` then loads only the mapping it needs (start-up is most of its time)."""
    return importlib.import_module(f"messages.mapping.{kind.lower()}")


def _bgm_code(tree: GroupNode) -> str:
    seg = tree.segment("BGM")
    return seg.get(0) if seg is not None else ""


def tree_to_model(
    message: EdifactMessage,
    tree: GroupNode,
    sender: str,
    receiver: str,
    partner: Partner,
    warnings: list[ValidationIssue] | None = None,
    control_ref: str = "",
) -> object:
    """Map one structured message; ``warnings`` (optional) is given what the reader tolerated.
    ``control_ref`` (UNB 0020) makes the id of a message without BGM 1004 unique per sender."""
    issues = Issues()
    # a message without BGM 1004 is named by its interchange and UNH reference: UNH references
    # alone repeat (UNH+1 in every interchange) and the hub deduplicates on the id
    fallback_id = f"{control_ref}-{message.ref}" if control_ref else message.ref
    code = _bgm_code(tree)
    where = "segment 2 (BGM)"
    kind = message.type
    model: object
    if kind == "CUSCAR":
        if code not in ("85", "785", partner.bgm("CUSCAR")):
            issues.add(where, f"BGM document code {code!r} is not a customs manifest (85)")
        model = _module("CUSCAR").to_model(tree, sender, receiver, issues)
    elif kind == "CODECO" and code in ("36", partner.bgm("CODECO_gate_out")):
        model = _module("CODECO_gate_out").to_model(tree, sender, issues, partner, fallback_id)
    elif kind == "CODECO":
        if code not in ("34", partner.bgm("CODECO_gate_in")):
            issues.add(
                where,
                f"BGM document code {code!r} is neither a gate-in (34, MT3101) nor a gate-out report "
                "(36, GateOutReport)",
            )
        model = _module("CODECO").to_model(tree, sender, receiver, issues)
    elif kind == "COARRI":
        discharge = {"44", partner.bgm("COARRI_discharge")}
        loading = {"46", "270", "98", partner.bgm("COARRI_loading")}
        if code in discharge:
            mt = "MT5101"
        elif code in loading:
            mt = "MT5102"
        else:
            mt = "MT5101"
            issues.add(
                where, f"BGM document code {code!r} is neither a discharge (44) nor a loading report (46/270)"
            )
        model = _module("COARRI").to_model(tree, mt, sender, receiver, issues)
    elif kind == "CUSDEC":
        export = {"830", partner.bgm("CUSDEC_export")}
        if code not in export | {"929", partner.bgm("CUSDEC_import")}:
            issues.add(
                where,
                f"BGM document code {code!r} is neither an import (929) nor an export (830) declaration",
            )
        model = _module("CUSDEC").to_model(tree, issues, export=code in export)
    elif kind == "CUSRES":
        if code == partner.bgm("CUSRES_mt9999"):
            model = _module("CUSRES").to_manifest_response(tree, sender, receiver, issues)
        elif code == partner.bgm("CUSRES_dec_data"):
            model = _module("CUSRES").to_dec_data(tree, issues)
        else:
            issues.add(
                where,
                f"BGM document code {code!r} names no known receipt "
                f"({partner.bgm('CUSRES_dec_data')} DEC_DATA, {partner.bgm('CUSRES_mt9999')} MT9999)",
            )
            model = None
    else:
        raise UnknownMessageType(f"no mapping for EDIFACT {kind} (mapped: {', '.join(PAIRS)})")
    if not isinstance(model, GateOutReport):  # a gate-out checks its gate times itself
        issues.items += date_issues(message.segments)
    if isinstance(model, Manifest) and not model.head.message_id:
        # terminals often leave BGM 1004 empty (BGM+34++9): UNB + UNH references name the message
        model.head.message_id = fallback_id
        issues.warn(
            "segment 2 (BGM)", f"no document number (BGM 1004): {fallback_id!r} (UNB 0020-UNH 0062) is used"
        )
    if issues.items:
        raise ValidationFailed(issues.items)
    if warnings is not None:
        warnings += issues.warnings
    return model


def message_to_model(
    message: EdifactMessage,
    interchange: Interchange,
    partner: Partner = DEFAULT_PARTNER,
    *,
    known: Known | None = None,
    warnings: list[ValidationIssue] | None = None,
    sources: Sources | None = None,
) -> object:
    """Structure-validate, map and enrich one message; locations are prefixed with the message
    reference. ``known`` = facts the hub already holds (intake only); ``warnings`` collects what
    was tolerated or left out (for the receipt); ``sources`` (optional) is told which segment fed
    which field (`origins` turns it into the field -> segment map)."""
    if message.type not in PAIRS:
        raise UnknownMessageType(f"no mapping for EDIFACT {message.type} (mapped: {', '.join(PAIRS)})")
    directory = f"{message.version}{message.release}" if message.release else partner.directory
    try:
        tree = structure(message, directory)
        tolerated: list[ValidationIssue] = []
        model = tree_to_model(
            message,
            tree,
            interchange.sender,
            interchange.recipient,
            partner,
            tolerated,
            interchange.control_ref,
        )
        if sources is not None:
            note = getattr(_module(message.type), "note", None)
            if note is not None:
                note(tree, model, sources)
        errors, found = enrich(model, tree, interchange, partner, known=known, sources=sources)
    except ValidationFailed as exc:
        raise type(exc)([_prefixed(i, message.ref) for i in exc.issues]) from None
    if warnings is not None:
        warnings += [w for w in interchange.warnings if w not in warnings]
        warnings += [_prefixed(i, message.ref) for i in tolerated + found]
    if errors:
        raise ValidationFailed([_prefixed(i, message.ref) for i in errors])
    return model


def origins(sources: Sources, model: object) -> Origins:
    """The field -> input segment map of one mapped message (messages.mapping.provenance)."""
    spelling = getattr(_module(sources.message.type), "SPELLING", None)
    return sources.origins(model, spelling)


def _prefixed(issue: ValidationIssue, ref: str) -> ValidationIssue:
    return ValidationIssue(f"message {ref} {issue.location}", issue.message, issue.line, issue.column)


def _bgm_for(model: object, partner: Partner) -> tuple[str, str]:
    """(EDIFACT message type, BGM code) for a model."""
    if isinstance(model, Manifest):
        mt = model.head.message_type
        if mt == "MT1101":
            return "CUSCAR", partner.bgm("CUSCAR")
        if mt == "MT3101":
            return "CODECO", partner.bgm("CODECO_gate_in")
        if mt == "MT5101":
            return "COARRI", partner.bgm("COARRI_discharge")
        if mt == "MT5102":
            return "COARRI", partner.bgm("COARRI_loading")
        raise UnknownMessageType(f"no EDIFACT mapping for {mt} (mapped: {', '.join(XML_TO_EDIFACT)})")
    if isinstance(model, GateOutReport):
        return "CODECO", partner.bgm("CODECO_gate_out")
    if isinstance(model, Declaration):
        return "CUSDEC", partner.bgm("CUSDEC_export" if model.head.ie_flag == "E" else "CUSDEC_import")
    if isinstance(model, DecResultReceipt):
        return "CUSRES", partner.bgm("CUSRES_dec_data")
    if isinstance(model, ManifestResponse):
        return "CUSRES", partner.bgm("CUSRES_mt9999")
    raise UnknownMessageType(f"no EDIFACT mapping for {type(model).__name__}")


def _segments(model: object, kind: str, code: str, directory: str) -> list:
    if kind == "CUSCAR":
        return _module("CUSCAR").to_segments(model, code)  # type: ignore[arg-type]
    if isinstance(model, GateOutReport):
        return _module("CODECO_gate_out").to_segments(model, code)
    if kind == "CODECO":
        return _module("CODECO").to_segments(model, code)  # type: ignore[arg-type]
    if kind == "COARRI":
        return _module("COARRI").to_segments(model, code)  # type: ignore[arg-type]
    if kind == "CUSDEC":
        return _module("CUSDEC").to_segments(model, code)  # type: ignore[arg-type]
    if isinstance(model, DecResultReceipt):
        return _module("CUSRES").dec_data_segments(model, code, directory)
    return _module("CUSRES").manifest_response_segments(model, code, directory)  # type: ignore[arg-type]


def envelope_ids(model: object) -> tuple[str, str]:
    head = getattr(model, "head", None) or model  # a GateOutReport names its sender itself
    return getattr(head, "sender_id", "") or "SWHUB", getattr(head, "receiver_id", "") or "SWHUB"


def model_to_message(model: object, partner: Partner = DEFAULT_PARTNER, ref: str = "1") -> EdifactMessage:
    kind, code = _bgm_for(model, partner)
    message = EdifactMessage(
        ref=ref,
        type=kind,
        version=partner.directory[:1],
        release=partner.directory[1:],
        agency="UN",
        association=partner.association.get(kind, ""),
        segments=_segments(model, kind, code, partner.directory),
    )
    if kind == "CUSCAR":  # the one writer whose segments depend on the directory
        message.segments = _module("CUSCAR").for_directory(message.segments, partner.directory)
    # The round trip through our own reader is the "no silent loss" check.
    try:
        tree = structure(message, partner.directory)
    except StructureError as exc:
        raise ValidationFailed(
            [
                ValidationIssue(i.location, f"generated {kind} breaks the directory: {i.message}")
                for i in exc.issues
            ]
        ) from None
    sender, receiver = envelope_ids(model)
    try:
        back = tree_to_model(message, tree, sender, receiver, partner)
    except ValidationFailed as exc:
        raise ValidationFailed(
            [ValidationIssue(i.location, f"generated {kind}: {i.message}") for i in exc.issues]
        ) from None
    lost = lossless_issues(model, back)
    if lost:
        raise ValidationFailed(lost)
    return message


def model_to_interchange(models: list[object], partner: Partner = DEFAULT_PARTNER) -> Interchange:
    messages = [model_to_message(m, partner, str(n)) for n, m in enumerate(models, 1)]
    sender, receiver = envelope_ids(models[0]) if models else ("SWHUB", "SWHUB")
    key = "|".join(
        f"{m.type}:{getattr(getattr(x, 'head', None), 'message_id', '') or getattr(x, 'report_id', '')}"
        for m, x in zip(messages, models, strict=True)
    )
    if partner.decimal_mark == ",":
        for message in messages:
            _decimal_comma(message)
    return Interchange(
        delimiters=replace(DEFAULT_DELIMITERS, decimal=partner.decimal_mark or "."),
        syntax_id=partner.syntax_id,
        syntax_version=partner.syntax_version,
        sender=(partner.unb_sender or sender)[:35],
        recipient=(partner.unb_recipient or receiver)[:35],
        sender_qualifier=partner.unb_sender_qualifier,
        recipient_qualifier=partner.unb_recipient_qualifier,
        prepared=_prepared(models),
        control_ref=f"SW{zlib.crc32(key.encode()):08X}",
        messages=messages,
        encoding=partner.encoding,
    )


# (tag, element, component) of the numeric values the mappings write with a decimal mark
_NUMERIC_AT = {"MEA": (2, 1), "CNT": (0, 1), "MOA": (0, 1)}


def _decimal_comma(message: EdifactMessage) -> None:
    """Write the decimal comma the partner's UNA names (ISO 9735 allows both marks)."""
    for seg in message.segments:
        where = _NUMERIC_AT.get(seg.tag)
        if where is None:
            continue
        i, j = where
        elements = seg.elements
        if i < len(elements) and j < len(elements[i]) and "." in elements[i][j]:
            elements = [list(e) for e in elements]
            elements[i][j] = elements[i][j].replace(".", ",")
            seg.elements = elements


def _prepared(models: list[object]) -> datetime:
    """Envelope date from the first message's own timestamp, so output is deterministic."""
    for m in models:
        if isinstance(m, GateOutReport) and (first := _module("CODECO_gate_out").prepared(m)):
            return first
        head = getattr(m, "head", None)
        stamp = getattr(head, "send_time", "") or getattr(head, "d_date", "")
        digits = stamp[:12]
        if len(digits) >= 8 and digits.isdigit():
            try:
                return datetime.strptime(digits.ljust(12, "0"), "%Y%m%d%H%M")
            except ValueError:
                pass
    return datetime(2000, 1, 1)
