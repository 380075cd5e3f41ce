"""Conversion and validation facade: single-window XML <-> UN/EDIFACT, detected from the bytes.

    convert(data, *, to=None, encoding=None, partner=None) -> list[ConvertedDocument]
    validate(data, *, encoding=None, partner=None) -> list[ValidationIssue]

EDIFACT -> XML: read (envelope), per message structure validation + mapping to the canonical model,
then `messages.xml.encode` (XSD + semantic validation). One XML document per message.
XML -> EDIFACT: `messages.xml.decode` (XSD + semantic), mapping, lossless check, one interchange.
Every failure is a `MessageError`; `ValidationFailed.issues` lists all problems with locations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from messages import edifact, xml
from messages.detect import detect
from messages.edifact import gc_paused
from messages.errors import MessageError, UnknownMessageType, ValidationFailed, ValidationIssue
from messages.mapping import PAIRS, XML_TO_EDIFACT, message_to_model, model_to_interchange
from messages.mapping import origins as origins_of
from messages.mapping.enrich import Known
from messages.mapping.fast_mt1101 import encode_mt1101
from messages.mapping.provenance import Origins, Sources
from messages.models.manifest import Manifest
from messages.partners import DEFAULT_PARTNER, Partner

FORMATS = ("xml", "edifact")


@dataclass(frozen=True, slots=True)
class ConvertedDocument:
    name: str  # file name suggestion, e.g. "1-MT1101.xml" / "MT1101.edi"
    content: bytes
    message_type: str  # type of the produced document (MT1101, CUSCAR, ...)
    # EDIFACT -> XML: the canonical model the XML was encoded from, so a caller that needs both (the
    # hub's intake) does not parse its own XML back into the model it already had
    model: object | None = field(default=None, compare=False, repr=False)
    # ... and that XML as `messages.xml` encodes it, without a partner's transport envelope: what
    # the hub forwards, so it need not encode the same model a second time
    model_xml: bytes | None = field(default=None, compare=False, repr=False)


def _target(source: str, to: str | None) -> str:
    if to is None:
        return "edifact" if source == "xml" else "xml"
    if to not in FORMATS:
        raise UnknownMessageType(f"unknown target format {to!r}: expected 'xml' or 'edifact'")
    return to


def convert(
    data: bytes,
    *,
    to: str | None = None,
    encoding: str | None = None,
    partner: Partner | None = None,
    warnings: list[ValidationIssue] | None = None,
    known: Known | None = None,
    origins: list[Origins] | None = None,
) -> list[ConvertedDocument]:
    """``warnings`` (optional) collects what was tolerated or left out, for the receipt. ``known``:
    facts the hub already holds (intake only: fixed, or a lookup given the mapped model), used
    before the profile's defaults. ``origins`` (optional, EDIFACT input) receives, per document
    returned, which input segment fed which field (messages.mapping.provenance), so problems found
    later in the document can name the sender's segment."""
    partner = partner or DEFAULT_PARTNER
    found = detect(data)
    target = _target(found.format, to)
    if target == found.format:
        raise UnknownMessageType(f"input is already {found.format}; nothing to convert (use --to)")
    with gc_paused():
        if found.format == "edifact":
            return _edifact_to_xml(data, encoding or partner.encoding, partner, warnings, known, origins)
        return _xml_to_edifact(data, found.message_type, partner)


def _edifact_to_xml(
    data: bytes,
    encoding: str | None,
    partner: Partner,
    warnings: list[ValidationIssue] | None = None,
    known: Known | None = None,
    origins: list[Origins] | None = None,
) -> list[ConvertedDocument]:
    interchange = edifact.read(data, encoding=encoding, lenient=partner.lenient)
    out: list[ConvertedDocument] = []
    issues: list[ValidationIssue] = []
    for message in interchange.all_messages():
        sources = Sources(message) if origins is not None else None
        try:
            model = message_to_model(
                message, interchange, partner, known=known, warnings=warnings, sources=sources
            )
        except ValidationFailed as exc:
            issues += [_in_message(i, message.ref) for i in exc.issues]
            continue
        except MessageError as exc:
            issues.append(ValidationIssue(f"message {message.ref}", str(exc)))
            continue
        try:
            content = bare = _encode_xml(model)
            if partner.xml_envelope == "MFTMessage" and isinstance(model, Manifest):
                content = _in_mft_message(content, model)
        except ValidationFailed as exc:
            # mapping succeeded, so the input was fine: a generated document failing its own
            # schema is the hub's bug; name both sides so it can be traced and fixed
            issues += [_internal(i, message, _xml_type(model)) for i in exc.issues]
            continue
        except MessageError as exc:
            issues.append(ValidationIssue(f"message {message.ref}", str(exc)))
            continue
        kind = _xml_type(model)
        out.append(ConvertedDocument(f"{message.ref}-{kind}.xml", content, kind, model, bare))
        if origins is not None and sources is not None:
            origins.append(origins_of(sources, model))
    if issues:
        raise ValidationFailed(issues)
    return out


def _encode_xml(model: object) -> bytes:
    if isinstance(model, Manifest) and model.head.message_type == "MT1101":
        return encode_mt1101(model)  # bulk manifests: direct serialisation, same validation
    return xml.encode(model)


def _internal(issue: ValidationIssue, message: object, kind: str) -> ValidationIssue:
    ref, edi = getattr(message, "ref", ""), getattr(message, "type", "")
    return ValidationIssue(
        f"message {ref} (generated {kind})",
        f"internal error: {edi} message {ref} mapped without problems but the generated {kind} fails "
        f"its schema at {issue.location}: {issue.message} (a hub defect, please report it)",
    )


def _in_mft_message(content: bytes, model: Manifest) -> bytes:
    """The manifest inside the client's transport envelope (the partner profile asked for it)."""
    from lxml import etree

    from messages.xml.normalise import build_mft_message

    head = model.head
    fields = {
        "MessageID": head.message_id,
        "FunctionCode": head.function_code,
        "MessageType": head.message_type,
        "SenderID": head.sender_id,
        "ReceiverID": head.receiver_id,
        "SendTime": head.send_time,
        "Version": head.version,
    }
    envelope = build_mft_message(
        etree.fromstring(content), head.message_type, {k: str(v) for k, v in fields.items() if v is not None}
    )
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _in_message(issue: ValidationIssue, ref: str) -> ValidationIssue:
    if issue.location.startswith("message "):
        return issue
    # XSD issues of the produced XML: say which message they came from
    return ValidationIssue(f"message {ref} -> {issue.location}", issue.message, issue.line, issue.column)


def _xml_type(model: object) -> str:
    head = getattr(model, "head", None)
    mt = getattr(head, "message_type", None)
    if type(model).__name__ == "ManifestResponse":
        return "MT9999"
    if mt:
        return str(mt)
    names = {"Declaration": "DecMessage", "DecResultReceipt": "DEC_DATA", "GateOutReport": "GateOutReport"}
    return names.get(type(model).__name__, "XML")


def _xml_to_edifact(data: bytes, message_type: str, partner: Partner) -> list[ConvertedDocument]:
    if message_type not in XML_TO_EDIFACT:
        raise UnknownMessageType(
            f"no EDIFACT mapping for {message_type} (mapped: {', '.join(XML_TO_EDIFACT)})"
        )
    model = xml.decode(data)
    interchange = model_to_interchange([model], partner)
    content = edifact.write(interchange, una=True, newline=True)
    kind = interchange.messages[0].type
    return [ConvertedDocument(f"{message_type}.edi", content, kind)]


def validate(
    data: bytes,
    *,
    encoding: str | None = None,
    partner: Partner | None = None,
    warnings: list[ValidationIssue] | None = None,
) -> list[ValidationIssue]:
    """All problems of the input: XML = XSD + semantic; EDIFACT = syntax + envelope + structure +
    mapping + XSD of the mapped result. [] when valid. Never raises a MessageError. ``warnings``
    (optional) collects what was tolerated or left out, as `convert` reports it."""
    partner = partner or DEFAULT_PARTNER
    try:
        found = detect(data)
    except MessageError as exc:
        return [ValidationIssue("input", str(exc))]
    with gc_paused():
        if found.format == "xml":
            try:
                return xml.validate(data)
            except MessageError as exc:
                return [ValidationIssue("input", str(exc))]
        issues = edifact.validate(data, encoding=encoding or partner.encoding, lenient=partner.lenient)
        if issues:
            return issues
        try:
            _edifact_to_xml(data, encoding or partner.encoding, partner, warnings)
        except ValidationFailed as exc:
            return exc.issues
        except MessageError as exc:
            return [ValidationIssue("interchange", str(exc))]
        return []


__all__ = ["FORMATS", "PAIRS", "ConvertedDocument", "convert", "validate"]
