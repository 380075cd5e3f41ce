"""Message intake for every channel (HTTP `POST /api/v1/messages`, AMQP `swhub.ingress`).

Order of work, each step only after the previous one succeeded:
1. archive the raw bytes with their SHA-256 (message table) in their own transaction: nothing
   received is ever lost, rejected messages included;
2. detect the format and type; EDIFACT is converted to single-window XML (messages.convert);
3. validate and decode (all problems at once);
4. check the sender may send this type;
5. deduplicate on the business reference (MessageID / ClientSeqNo / UNB+UNH reference): the same
   content again is a duplicate (answered with the first receipt, no second effect); other content
   under a used reference is a conflict;
6. accept: business keys recorded, the workflow's `accept` hook runs (e.g. a declaration row), and
   the message is routed to the workflow through the outbox (INBOUND_EXCHANGE
   `clearance.<type>.<sender>`), all in one transaction.
A rejection is recorded on the archived row (status `rejected`, every problem in `error`).

An EDIFACT interchange holding several messages (UNH..UNT) is split after step 1: each message is
archived on its own (in an interchange of its own, same UNB; linked to the interchange's row by
correlation_id and a `interchange` ref), then goes through steps 2-6 alone, deduplicated on the UNB
control reference + UNH reference as well. A problem in one message refuses that message only (its
location names the message); the others go through, as EDIFACT acknowledges per message (CONTRL).
Envelope problems (UNB/UNZ, counts) refuse the whole interchange."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hub.bus.base import INBOUND_EXCHANGE
from hub.clock import now
from hub.db.among import among
from hub.db.models import Message, MessageRef
from hub.db.outbox import enqueue
from hub.db.session import Database, at_commit, in_batch
from hub.observability import metrics
from hub.services.clearance import partitions, straight
from hub.services.known_facts import KnownFacts
from messages.detect import detect
from messages.errors import (
    BUSINESS,
    LAYERS,
    SCHEMA,
    EncodingError,
    MalformedMessage,
    MessageError,
    PayloadTooLarge,
    UnknownMessageType,
    UnsafeXml,
    ValidationFailed,
    ValidationIssue,
    default_code,
)
from messages.models import wire
from messages.models.declaration import Declaration
from messages.models.gate import GateOutReport
from messages.models.manifest import Manifest
from messages.models.notices import InspectionNotice
from messages.models.receipts import DecImportResponse, DecResultReceipt, ManifestResponse

if TYPE_CHECKING:
    from messages.convert import ConvertedDocument

ARCHIVE_HEADER = "x-swhub-archive-id"
SENDER_HEADER = "x-swhub-sender"
NOT_IN_DOCUMENT = ("message", "reference", "correlation id")
REPLY_ID = re.compile(r"[0-9A-Za-z-]{1,64}")  # hub message ids (UUIDs), as MessageRef values hold them

# Who may send what (admin may send everything). Manifest transmitters (carriers' agents) hold the
# broker role in the party register; terminals and tally companies send arrival/tally reports.
SENDERS: dict[str, frozenset[str]] = {
    "MT1101": frozenset({"broker", "importer"}),
    "MT6102": frozenset({"broker", "importer"}),
    "DecMessage": frozenset({"broker", "importer"}),
    "MT3101": frozenset({"port_operator", "tally"}),
    "MT5101": frozenset({"port_operator", "tally"}),
    "MT9999": frozenset({"customs"}),
    "DecImportResponse": frozenset({"customs"}),
    "DEC_DATA": frozenset({"customs"}),
    "InspectionNotice": frozenset({"customs"}),
    "GateOutReport": frozenset({"port_operator"}),  # the gate is the terminal's or the site's
}
# EDIFACT types whose XML equivalent the workflow handles (after messages.convert).
EDIFACT_TYPES = ("CUSCAR", "CODECO", "COARRI", "CUSDEC", "CUSRES")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason for a refusal (docs/errors.md): `location` the element path in the sender's document
    (workflows may give it relative to the document element; intake makes it the sender's path and
    adds the line), `code` from messages.errors.CODES."""

    location: str
    message: str
    code: str = ""
    layer: str = BUSINESS
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "code": self.code or default_code(self.layer),
            "location": self.location,
            "line": self.line,
            "message": self.message,
        }

    @classmethod
    def of(cls, issue: ValidationIssue) -> Problem:
        return cls(issue.location, issue.message, issue.kind, issue.layer, issue.line)


def layer_summary(problems: list[Problem], not_run: str = "", after: str = SCHEMA) -> list[dict[str, Any]]:
    """Per layer: run with how many problems, or not run and why (`not_run` applies to the layers
    after `after`)."""
    out: list[dict[str, Any]] = []
    skipping = False
    for layer in LAYERS:
        if skipping:
            out.append({"layer": layer, "run": False, "reason": not_run})
            continue
        out.append({"layer": layer, "run": True, "problems": sum(p.layer == layer for p in problems)})
        skipping = bool(not_run) and layer == after
    return out


@dataclass(slots=True)
class Prepared:
    """A message of a batch decoded and checked, waiting to be applied (Intake.prepare_in)."""

    row: Message
    decoded: Decoded
    keys: dict[str, Any]
    tolerated: list[Any]
    sender: str
    roles: frozenset[str]
    in_reply_to: str | None
    spent: float  # seconds the first half took


@dataclass(frozen=True, slots=True)
class StraightThrough:
    """A message of a batch intake accepted and did not route through its partition queue: the
    caller applies it in the same transaction (hub/services/clearance/straight.py)."""

    message_id: str
    message_type: str
    sender: str
    model: Any
    xml: bytes | None  # the XML intake encoded from the model (EDIFACT), forwarded as it is
    headers: dict[str, Any]
    keys: dict[str, Any]
    in_reply_to: str | None  # customs: the hub message it answers


STRAIGHT = "intake.straight_through"  # session.info, in a batch: its StraightThrough messages, in order


class NotBatchable(Exception):
    """A message Intake.prepare_in cannot take inside a shared transaction: use Intake.receive."""


class IntakeRejected(Exception):
    """The message was archived and refused; `problems` lists every reason, `layers` (when known)
    which layers ran (docs/errors.md)."""

    def __init__(
        self,
        status: int,
        message_id: str,
        problems: list[Problem],
        summary: str = "",
        layers: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.message_id = message_id
        self.problems = problems
        self.layers = layers
        super().__init__(summary or "; ".join(f"{p.location}: {p.message}" for p in problems))


def _counted(problems: list[Problem]) -> str:
    counts = [f"{n} {layer}" for layer in LAYERS if (n := sum(p.layer == layer for p in problems))]
    return f"{len(problems)} problem(s): {', '.join(counts)}"


def _no_document(exc: MessageError) -> str:
    """The schema-layer code of a payload the hub cannot read at all."""
    if isinstance(exc, PayloadTooLarge):
        return "payload_too_large"
    if isinstance(exc, UnsafeXml):
        return "unsafe_xml"
    if isinstance(exc, EncodingError):
        return "bad_encoding"
    if isinstance(exc, UnknownMessageType):
        return "unknown_message_type"
    if isinstance(exc, MalformedMessage):
        return "not_well_formed"
    return "edifact_structure"


@dataclass(slots=True)
class Accepted:
    """A validated message about to be accepted (handed to the workflow's accept hook)."""

    message_id: str
    message_type: str
    format: str
    sender: str
    sender_roles: frozenset[str]
    model: Any
    xml: bytes  # the single-window XML (converted from EDIFACT when that was received)
    keys: dict[str, Any] = field(default_factory=dict)
    in_reply_to: str | None = None  # the id of the hub's message a customs answer says it answers


@dataclass(frozen=True, slots=True)
class Decoded:
    """Steps 2-3 of one message: the schema and semantic layers (docs/errors.md)."""

    format: str
    message_type: str
    xml: bytes
    model: Any | None  # None: no usable model (`not_run` says why)
    problems: list[Problem]
    not_run: str = ""
    # messages.xml.layers.Locator of the sender's XML; for EDIFACT a FieldLocator naming the input
    # segment of each field of the converted document (None when there is none)
    locator: Any = None
    model_xml: bytes | None = None  # EDIFACT: the model's XML as encoded while mapping (forwarded as is)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    message_id: str
    message_type: str
    format: str
    duplicate: bool
    receipt: dict[str, Any]
    # a multi-message interchange: one entry per message, and every problem of the refused ones
    parts: list[dict[str, Any]] | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.duplicate:
            return "duplicate"
        return "partially_accepted" if self.problems else "accepted"

    def as_json(self) -> dict[str, Any]:
        out = {
            "receipt_id": self.message_id,
            "message_type": self.message_type,
            "format": self.format,
            "status": self.status,
            "duplicate": self.duplicate,
            **self.receipt,
        }
        if self.parts is not None:
            out["messages"] = self.parts
            out["problems"] = [p.as_json() for p in self.problems]
        return out


@dataclass(frozen=True, slots=True)
class InterchangePart:
    """One message of a multi-message EDIFACT interchange, re-enveloped alone (same UNA/UNB)."""

    index: int  # 1-based position in the interchange
    unh_ref: str
    edi_type: str
    control_ref: str  # UNB 0020
    raw: bytes

    @property
    def location(self) -> str:
        return f"interchange message {self.index} (UNH {self.unh_ref}, {self.edi_type})"

    @property
    def edi_key(self) -> str:
        return f"{self.control_ref}:{self.unh_ref}"[:64]


def split_interchange(raw: bytes, max_bytes: int) -> list[InterchangePart] | None:
    """The messages of an EDIFACT interchange holding several; None for XML, one message, or an
    interchange whose envelope is broken (the single-message path then reports every problem)."""
    if raw.count(b"UNH") < 2:  # cheap: most messages are single
        return None
    from messages import edifact

    try:
        if detect(raw, max_bytes=max_bytes).format != "edifact":
            return None
        # A 9 MiB interchange is millions of acyclic objects: with the collector on, its full
        # collections held the GIL for up to 1.5 s at a time and stalled every other request.
        with edifact.gc_paused():
            return _split(raw, max_bytes)
    except MessageError:
        return None


def _split(raw: bytes, max_bytes: int) -> list[InterchangePart] | None:
    from messages import edifact

    interchange, issues = edifact.parse(raw, max_bytes=max_bytes)
    messages = list(interchange.all_messages())
    if issues or len(messages) < 2:
        return None
    return [
        InterchangePart(
            index,
            message.ref,
            message.type,
            interchange.control_ref,
            edifact.write(dataclasses.replace(interchange, messages=[message], groups=[]), newline=True),
        )
        for index, message in enumerate(messages, 1)
    ]


class Workflow(Protocol):
    """What intake needs from the workflow it feeds."""

    def accept(self, session: Session, message: Accepted) -> dict[str, Any]:
        """Record what must exist at once (e.g. the declaration); raise IntakeRejected to refuse."""

    def receipt_for(self, session: Session, message_id: str) -> dict[str, Any]:
        """The receipt fields of an accepted message (answered again to a duplicate)."""


def business_keys(model: Any) -> dict[str, Any]:
    """external_id (the sender's reference), bills, containers and declaration keys of a message."""
    keys: dict[str, Any] = {"bills": [], "containers": []}
    if isinstance(model, Manifest):
        decl = model.declaration
        keys["external_id"] = model.head.message_id
        keys["voyage_no"] = decl.conveyance.journey_id if decl.conveyance else None
        for consignment in decl.consignments:
            keys["bills"].append(consignment.bill_no)
            keys["containers"] += [e.equipment_id for e in consignment.transport_equipment]
        for equipment in decl.transport_equipment:
            keys["containers"].append(equipment.equipment_id)
            if equipment.bill_no:
                keys["bills"].append(equipment.bill_no)
    elif isinstance(model, Declaration):
        keys["external_id"] = model.client_seq_no
        keys["client_seq_no"] = model.client_seq_no
        keys["bills"] = [model.head.bill_no] if model.head.bill_no else []
        keys["containers"] = [c.container_id for c in model.containers]
    elif isinstance(model, DecImportResponse):
        keys["external_id"] = f"{model.client_seq_no}:{model.seq_no}:{model.response_code}"
        keys["client_seq_no"], keys["seq_no"] = model.client_seq_no, model.seq_no
    elif isinstance(model, DecResultReceipt):
        r = model.result
        keys["external_id"] = f"{r.seq_no}:{r.channel}:{r.notice_date}"
        keys["seq_no"], keys["entry_id"] = r.seq_no, r.entry_id
        keys["bills"] = [r.bill_no] if r.bill_no else []
    elif isinstance(model, ManifestResponse):
        keys["external_id"] = model.head.message_id
        keys["bills"] = [c.bill_no for c in model.consignments]
        keys["containers"] = [e.equipment_id for e in model.equipment]
    elif isinstance(model, GateOutReport):
        keys["external_id"] = model.report_id
        keys["bills"] = [g.bill_no for g in model.gate_outs]
        keys["containers"] = [g.container_id for g in model.gate_outs]
    elif isinstance(model, InspectionNotice):
        keys["external_id"] = f"{model.notice_id}:{model.outcome.value}"
        keys["bills"] = [model.bill_no]
        keys["containers"] = list(model.container_ids)
    keys["bills"] = list(dict.fromkeys(b for b in keys["bills"] if b))
    keys["containers"] = list(dict.fromkeys(c for c in keys["containers"] if c))
    return keys


_last_stamp = 0
_stamp_lock = threading.Lock()


def ordered_id() -> str:
    """A UUID whose first 64 bits increase strictly in this process (wall-clock nanoseconds, bumped on
    ties): ordering the archive by (received_at, id) keeps the arrival order even when timestamps tie
    (a manual test clock, or several messages written in one transaction)."""
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        stamp = _last_stamp
    return str(uuid.UUID(int=(stamp << 64) | uuid.uuid4().int >> 64))


def archive(
    session: Session,
    raw: bytes,
    *,
    direction: str,
    channel: str,
    sender: str | None,
    receiver: str | None = None,
    message_type: str = "",
    fmt: str = "unknown",
    status: str = "received",
    correlation_id: str | None = None,
    bills: list[str] | None = None,
    message_id: str | None = None,
) -> Message:
    stamp = now()
    bills = bills or []
    row = Message(
        id=message_id or ordered_id(),
        direction=direction,
        channel=channel,
        format=fmt,
        message_type=message_type,
        sender=sender,
        receiver=receiver,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        raw=raw,
        status=status,
        correlation_id=correlation_id,
        bill_no=bills[0] if bills else None,
        received_at=stamp,
        updated_at=stamp,
    )
    bill_refs = [("bill", b) for b in dict.fromkeys(bills)]
    if in_batch(session):
        # Written with the batch's other archive rows in two multi-row INSERTs just before commit,
        # as they stand then (a batch sets status, keys and refs after archiving): not ORM objects
        # the flush handles one by one (or earlier, by write_archived, when the same transaction
        # goes on to apply them straight through: the handlers read them back). Its refs
        # are plain pairs until then: MessageRef objects and the instrumented collection cost a
        # tenth of intake's CPU (py-spy) for rows the ORM never writes.
        at_commit(session, _ARCHIVED, _insert_archived).append(row)
        session.info.setdefault(_REFS, {})[row.id] = bill_refs
    else:
        row.refs = [MessageRef(kind=kind, value=value) for kind, value in bill_refs]
        session.add(row)
    return row


_ARCHIVED = "swhub.archive.pending"  # session.info, in a batch: the rows archive() was given, in order
_REFS = "swhub.archive.refs"  # session.info, in a batch: each of those rows' refs, (kind, value) by row id
_MESSAGE_COLUMNS = tuple(c.key for c in Message.__table__.columns)


def _batch_refs(session: Session, row: Message) -> list[tuple[str, str]] | None:
    """The plain refs of a batch's archive row (written at its commit); None for a row the session holds."""
    pending: dict[str, list[tuple[str, str]]] = session.info.get(_REFS, {})
    return pending.get(row.id)


def set_refs(session: Session, row: Message, refs: list[tuple[str, str]]) -> None:
    """Replace an archive row's refs: plain pairs for a batch's row, ORM rows for one the session holds."""
    kept = _batch_refs(session, row)
    if kept is not None:
        kept[:] = refs
    else:
        row.refs = [MessageRef(kind=kind, value=value) for kind, value in refs]


def add_ref(session: Session, row: Message, kind: str, value: str) -> None:
    kept = _batch_refs(session, row)
    if kept is not None:
        kept.append((kind, value))
    else:
        row.refs.append(MessageRef(kind=kind, value=value))


def write_archived(session: Session) -> None:
    """Write the batch's archive rows now instead of at its commit: what applies its messages in
    the same transaction (straight-through) reads and updates them."""
    rows = session.info.pop(_ARCHIVED, None)  # its commit hook then finds nothing left to write
    if rows:
        _insert_archived(session, rows)


def _insert_archived(session: Session, rows: list[Message]) -> None:
    session.execute(insert(Message.__table__), [{c: getattr(r, c) for c in _MESSAGE_COLUMNS} for r in rows])
    pending: dict[str, list[tuple[str, str]]] = session.info.pop(_REFS, {})
    for r in rows:  # MessageRef objects someone appended to row.refs count too (read without a load)
        pending.setdefault(r.id, []).extend((ref.kind, ref.value) for ref in r.__dict__.get("refs", ()))
    refs = [
        {"message_id": r.id, "kind": kind, "value": value}
        for r in rows
        for kind, value in pending.get(r.id, ())
    ]
    if refs:
        session.execute(insert(MessageRef.__table__), refs)


@dataclass(frozen=True, slots=True)
class RejectBounds:
    """How much of refused payloads the archive keeps (HUB_REJECT_* settings)."""

    full_bytes: int = 64 * 1024
    head_bytes: int = 1024
    daily_quota_bytes: int = 8 * 1024 * 1024

    @classmethod
    def of(cls, settings: Any) -> RejectBounds:
        s = settings
        return cls(s.reject_archive_bytes, s.reject_head_bytes, s.reject_daily_quota_bytes)


def bound_rejected(session: Session, row: Message, bounds: RejectBounds) -> None:
    """Keep a refused payload in full only while it is small and its sender's 24-hour quota of stored
    refusals lasts; otherwise keep its hash, size and head (row.size > len(row.raw) says so)."""
    if len(row.raw) <= bounds.head_bytes:
        return
    spent = 0
    if row.sender is not None:
        spent = (
            session.scalar(
                select(func.coalesce(func.sum(func.length(Message.raw)), 0)).where(
                    Message.sender == row.sender,
                    Message.status == "rejected",
                    Message.received_at >= now() - timedelta(days=1),
                    Message.id != row.id,
                )
            )
            or 0
        )
    if len(row.raw) > bounds.full_bytes or spent + len(row.raw) > bounds.daily_quota_bytes:
        row.raw = row.raw[: bounds.head_bytes]


class Intake:
    def __init__(
        self,
        db: Database,
        workflow: Workflow,
        *,
        max_bytes: int,
        max_messages: int = 1000,
        rejects: RejectBounds | None = None,
        partitions: int = 8,
        straight_through: bool = False,
    ) -> None:
        self.rejects = rejects or RejectBounds()
        self.partitions = partitions
        self.straight_through = straight_through
        self.db = db
        self.workflow = workflow
        self.max_bytes = max_bytes
        self.max_messages = max_messages

    @metrics.timed("intake")
    def receive(
        self, raw: bytes, sender: str, roles: frozenset[str], channel: str, in_reply_to: str | None = None
    ) -> IntakeResult:
        """`in_reply_to`: the hub message id an answer carries back (HTTP X-Correlation-Id, AMQP
        correlation_id); the workflow matches the answer against that message."""
        with self.db.unit_of_work() as session:  # 1. archived before anything else
            message_id = archive(session, raw, direction="in", channel=channel, sender=sender).id
        if in_reply_to is not None and not REPLY_ID.fullmatch(in_reply_to):
            refused = IntakeRejected(
                400, message_id, [Problem("correlation id", "must be the id of a message the hub sent")]
            )
            self._mark_rejected(refused)
            raise refused
        parts = split_interchange(raw, self.max_bytes)
        metrics.BATCH_SIZE.labels("intake").observe(len(parts) if parts is not None else 1)
        if parts is not None and len(parts) > self.max_messages:
            refused = IntakeRejected(
                413,
                message_id,
                [
                    Problem(
                        "UNB",
                        f"interchange holds {len(parts)} messages (UNH..UNT); the limit is "
                        f"{self.max_messages}: send it as several interchanges",
                        "too_many_messages",
                    )
                ],
            )
            self._mark_rejected(refused)
            raise refused
        if parts is not None:
            return self._receive_interchange(message_id, parts, sender, roles, channel)
        return self._receive_one(message_id, raw, sender, roles, channel, in_reply_to=in_reply_to)

    def prepare_in(
        self,
        session: Session,
        raw: bytes,
        sender: str,
        roles: frozenset[str],
        channel: str,
        in_reply_to: str | None = None,
    ) -> Prepared:
        """First half of receive() inside the caller's transaction (a batch of AMQP ingress): archived
        (not flushed), decoded and checked. A message that needs receive()'s own transactions (an
        interchange of several messages, anything refused: its refusal is recorded apart from its
        effects) raises NotBatchable or IntakeRejected; the caller rolls back and uses receive()."""
        started = time.perf_counter()
        if in_reply_to is not None and not REPLY_ID.fullmatch(in_reply_to):
            raise NotBatchable("correlation id is not a hub message id")
        if split_interchange(raw, self.max_bytes) is not None:
            raise NotBatchable("interchange of several messages")
        row = archive(session, raw, direction="in", channel=channel, sender=sender)
        tolerated: list[Any] = []
        decoded, keys = self._checked(row.id, raw, sender, roles, tolerated)
        row.message_type = decoded.message_type
        row.external_id = (keys.get("external_id") or "")[:128] or None
        spent = time.perf_counter() - started
        return Prepared(row, decoded, keys, tolerated, sender, roles, in_reply_to, spent)

    @staticmethod
    def prefetch_references(session: Session, prepared: Sequence[Prepared]) -> None:
        """The reference check of a whole batch in ONE query: the earliest accepted message of each
        (sender, type, reference) the batch carries. apply_in looks there instead of querying, and
        adds each message it accepts, so a reference used twice within the batch is found too. Call
        it once per batch, before apply_in."""
        wanted = {_reference(p.row) for p in prepared if p.row.external_id}
        found: dict[tuple[str | None, str, str | None], Message] = {}
        if wanted:
            with session.no_autoflush:  # the batch's own rows are not flushed: added by apply_in
                # the references as one array (hub/db/among.py), the pairs they belong to checked here
                rows = session.scalars(
                    select(Message)
                    .where(Message.direction == "in", Message.status.in_(("accepted", "processed", "parked")))
                    .where(among(session, Message.external_id, {ref for _, _, ref in wanted}))
                    .order_by(Message.received_at)
                )
                for earlier in rows:
                    reference = _reference(earlier)
                    if reference in wanted:
                        found.setdefault(reference, earlier)
        session.info[_ACCEPTED] = found

    @staticmethod
    def accepted(prepared: Prepared) -> Accepted:
        """What the workflow's accept hook will be handed for a prepared message (for a prefetch)."""
        p = prepared
        d = p.decoded
        return Accepted(
            p.row.id, d.message_type, d.format, p.sender, p.roles, d.model, d.xml, p.keys, p.in_reply_to
        )

    def apply_in(self, session: Session, prepared: Prepared) -> IntakeResult:
        """Second half: the duplicate check, the workflow's acceptance, the queued copy."""
        p = prepared
        with metrics.stage_timer("intake", already=p.spent):  # the decode counts too
            return self._store(
                session, p.row, p.decoded, p.keys, p.tolerated, p.sender, p.roles, None, p.in_reply_to
            )

    def _receive_interchange(
        self,
        interchange_id: str,
        parts: list[InterchangePart],
        sender: str,
        roles: frozenset[str],
        channel: str,
    ) -> IntakeResult:
        """Each message of the interchange on its own: archived, then steps 2-6; refusals collected."""
        entries: list[dict[str, Any]] = []
        problems: list[Problem] = []
        statuses: list[int] = []
        results: list[IntakeResult] = []
        for part in parts:
            with self.db.unit_of_work() as session:
                child = archive(
                    session,
                    part.raw,
                    direction="in",
                    channel=channel,
                    sender=sender,
                    fmt="edifact",
                    correlation_id=interchange_id,
                )
                child_id = child.id
            entry: dict[str, Any] = {
                "index": part.index,
                "unh_ref": part.unh_ref,
                "edifact_type": part.edi_type,
            }
            try:
                result = self._receive_one(child_id, part.raw, sender, roles, channel, part, interchange_id)
            except IntakeRejected as exc:
                located = [
                    dataclasses.replace(p, location=f"{part.location}: {p.location}") for p in exc.problems
                ]
                problems += located
                statuses.append(exc.status)
                entry |= {
                    "receipt_id": child_id,
                    "status": "rejected",
                    "http_status": exc.status,
                    "problems": [p.as_json() for p in located],
                }
            else:
                results.append(result)
                entry |= {k: v for k, v in result.as_json().items() if k != "format"}
            entries.append(entry)
        types = list(dict.fromkeys(r.message_type for r in results)) or [parts[0].edi_type]
        message_type = types[0] if len(types) == 1 else "INTERCHANGE"
        with self.db.unit_of_work() as session:
            row = session.get(Message, interchange_id)
            assert row is not None
            row.format, row.message_type = "edifact", message_type[:32]
            row.external_id = f"UNB {parts[0].control_ref}"[:128]
            row.status = "split" if results else "rejected"
            row.updated_at = now()
            if not results:
                bound_rejected(session, row, self.rejects)
            if problems:
                row.error = json.dumps([p.as_json() for p in problems], ensure_ascii=False)[:20000]
            if results and all(r.duplicate for r in results) and not problems:
                row.status = "duplicate"
        if not results:
            status = statuses[0] if len(set(statuses)) == 1 else 422
            raise IntakeRejected(
                status, interchange_id, problems, f"all {len(parts)} messages of the interchange refused"
            )
        duplicate = all(r.duplicate for r in results) and not problems
        first_id = interchange_id
        if duplicate:  # the interchange seen before: answer with its receipt id
            with self.db.sessions() as session:
                first = session.get(Message, results[0].message_id)
                first_id = (first.correlation_id if first is not None else None) or interchange_id
        return IntakeResult(
            first_id,
            message_type,
            "edifact",
            duplicate,
            {"interchange_id": interchange_id},
            entries,
            problems,
        )

    def _receive_one(
        self,
        message_id: str,
        raw: bytes,
        sender: str,
        roles: frozenset[str],
        channel: str,
        part: InterchangePart | None = None,
        interchange_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> IntakeResult:
        """Steps 2-6 for one archived message (alone, or one part of an interchange), in a transaction
        of its own; a refusal is recorded on the archive row and raised."""
        try:
            tolerated: list[Any] = []  # partner tolerances and left-out values, shown on the receipt
            decoded, keys = self._checked(message_id, raw, sender, roles, tolerated, part, interchange_id)
            with self.db.unit_of_work() as session:
                return self._store(
                    session, message_id, decoded, keys, tolerated, sender, roles, part, in_reply_to
                )
        except IntakeRejected as exc:
            self._mark_rejected(exc)
            raise

    def _checked(
        self,
        message_id: str,
        raw: bytes,
        sender: str,
        roles: frozenset[str],
        tolerated: list[Any],
        part: InterchangePart | None = None,
        interchange_id: str | None = None,
    ) -> tuple[Decoded, dict[str, Any]]:
        """Steps 2-3: decoded with its schema and semantic problems, the sender's role checked; the
        business keys. Raises IntakeRejected with every problem found."""
        decoded = self._decode(raw, message_id, sender, tolerated)
        message_type, model = decoded.message_type, decoded.model
        if model is None:  # the document cannot be read: semantic and business checks not run
            raise IntakeRejected(
                400,
                message_id,
                decoded.problems,
                f"{_counted(decoded.problems)}; semantic and business checks not run: {decoded.not_run}",
                layer_summary(decoded.problems, decoded.not_run),
            )
        role = self._role_problem(message_type, roles)
        if decoded.problems:  # refused already: every business problem too, nothing stored
            problems = self._all_layers(decoded, message_id, sender, roles)
            raise IntakeRejected(400, message_id, problems, _counted(problems), layer_summary(problems))
        if role:
            problems = self._located(decoded, [role])
            raise IntakeRejected(403, message_id, problems, _counted(problems), layer_summary(problems))
        keys = business_keys(model)
        if part is not None:
            keys["edi"], keys["interchange"] = part.edi_key, interchange_id
        return decoded, keys

    def _store(
        self,
        session: Session,
        archived: Message | str,
        decoded: Decoded,
        keys: dict[str, Any],
        tolerated: list[Any],
        sender: str,
        roles: frozenset[str],
        part: InterchangePart | None,
        in_reply_to: str | None,
    ) -> IntakeResult:
        """Steps 4-6 in the caller's transaction: duplicates, the workflow, the queued copy.
        `archived`: the id of an archive row committed before, or (a batch) the row itself, added
        to this transaction and not flushed yet."""
        fmt, message_type, xml_bytes, model = decoded.format, decoded.message_type, decoded.xml, decoded.model
        row = archived if isinstance(archived, Message) else session.get(Message, archived)
        assert row is not None
        message_id = row.id
        batch = isinstance(archived, Message)
        if batch:
            # archived in this transaction and rolled back with it if refused, so it is inserted
            # `accepted` at once instead of inserted `received` and updated
            row.status = "accepted"
        row.format, row.message_type = fmt, message_type
        row.external_id = (keys.get("external_id") or "")[:128] or None
        self._set_keys(session, row, keys)
        if in_reply_to:
            add_ref(session, row, "reply_to", in_reply_to)
        if batch:  # the batch's rows are flushed together at its commit, not one by one here
            first = session.info[_ACCEPTED].get(_reference(row)) if row.external_id else None
        else:
            first = self._same_edi(session, row, part) or self._earlier(session, row)
        if first is not None:
            if first.sha256 == row.sha256:
                row.status, row.correlation_id, row.updated_at = "duplicate", first.id, now()
                receipt = self.workflow.receipt_for(session, first.id)
                return IntakeResult(first.id, message_type, fmt, True, receipt)
            raise IntakeRejected(
                409,
                message_id,
                [
                    Problem(
                        "reference",
                        f"reference {row.external_id!r} was already used by message {first.id} "
                        "with different content",
                        "reference_used",
                    )
                ],
            )
        accepted = Accepted(message_id, message_type, fmt, sender, roles, model, xml_bytes, keys, in_reply_to)
        # A site report's or an answer's checks read what earlier batches committed, never rows this
        # batch writes, so they need no flush; a declaration's checks (e.g. its ClientSeqNo already
        # used) must see the batch's declarations.
        reads_only_committed = batch and message_type != "DecMessage"
        try:
            with session.no_autoflush if reads_only_committed else contextlib.nullcontext():
                receipt = self.workflow.accept(session, accepted)
        except IntakeRejected as exc:  # business layer: same locations as the earlier ones
            problems = self._located(decoded, exc.problems)
            raise IntakeRejected(
                exc.status, exc.message_id, problems, str(exc), layer_summary(problems)
            ) from None
        if tolerated:
            receipt = {
                **receipt,
                "warnings": [_edifact_problem(w).as_json() for w in tolerated],
            }
        if batch:
            if row.external_id:
                session.info[_ACCEPTED].setdefault(_reference(row), row)
        else:
            row.status, row.updated_at = "accepted", now()
        bill = partitions.partition_key(session, keys, row.external_id or message_id)
        partition = partitions.partition_of(bill, self.partitions)
        headers = {ARCHIVE_HEADER: message_id, SENDER_HEADER: sender, **metrics.received_stamp()}
        if batch and self.straight_through and straight.may_apply_here(session, partition):
            # nothing of its partition is on its way: the caller applies it in this transaction
            session.info.setdefault(STRAIGHT, []).append(
                StraightThrough(
                    message_id, message_type, sender, model, decoded.model_xml, headers, keys, in_reply_to
                )
            )
            metrics.CLEARANCE_ROUTED.labels("applied_at_intake").inc()
            return IntakeResult(message_id, message_type, fmt, False, receipt)
        # the decoded model itself, so the workflow does not parse the message again
        enqueue(
            session,
            INBOUND_EXCHANGE,
            partitions.routing_key(message_type, sender, partition),
            wire.dumps(model, **_carried_xml(decoded)),
            message_id=message_id,
            content_type=wire.CONTENT_TYPE,
            headers=headers,
            correlation_id=message_id,
        )
        straight.routed(session, partition)
        metrics.CLEARANCE_ROUTED.labels("queued").inc()
        return IntakeResult(message_id, message_type, fmt, False, receipt)

    # ----- steps ---------------------------------------------------------------------------------
    def _decode(
        self, raw: bytes, message_id: str, sender: str = "", warnings: list[Any] | None = None
    ) -> Decoded:
        """Schema and semantic layers. Raises IntakeRejected only when there is no document to check
        (unreadable, unknown type, EDIFACT that cannot be mapped); otherwise every problem is returned
        with the model when one is usable (messages.xml.layers)."""
        from messages.xml.layers import check_layers

        try:
            found = detect(raw, max_bytes=self.max_bytes)
        except MessageError as exc:
            status = {PayloadTooLarge: 413, UnknownMessageType: 415}.get(type(exc), 400)
            raise self._unreadable(status, message_id, exc) from None
        if found.format == "edifact":
            # mapped to the model once; the XML encoded from it was checked against its own XSD there
            # (a failure is the hub's internal error), so it is not parsed back into a second model
            origins: list[Any] = []  # which input segment fed which field (messages.mapping.provenance)
            document = self._from_edifact(raw, found.message_type, message_id, sender, warnings, origins)
            self._handled(document.message_type, message_id)
            message_type = _type_of(document.model, document.message_type)
            # business problems found later are located at the input segment, never at a path in the
            # XML the hub converted it to
            locator = _edifact_locator(origins, document.model, document.model_xml or document.content)
            return Decoded(
                "edifact",
                message_type,
                document.content,
                document.model,
                [],
                locator=locator,
                model_xml=document.model_xml,
            )
        self._handled(found.message_type, message_id)
        try:
            layered = check_layers(raw, max_bytes=self.max_bytes)
        except MessageError as exc:
            raise self._unreadable(400, message_id, exc) from None
        problems = [Problem.of(i) for i in layered.issues]
        model = layered.model
        message_type = _type_of(model, found.message_type) if model is not None else found.message_type
        return Decoded("xml", message_type, raw, model, problems, layered.not_run, layered.locator)

    @staticmethod
    def _handled(message_type: str, message_id: str) -> None:
        if message_type not in SENDERS:
            raise IntakeRejected(
                415,
                message_id,
                [
                    Problem(
                        "message",
                        f"{message_type} is not handled by the clearance intake; supported: "
                        f"{', '.join(sorted(SENDERS))} (XML) and {', '.join(EDIFACT_TYPES)} (EDIFACT)",
                        "unknown_message_type",
                        SCHEMA,
                    )
                ],
                layers=layer_summary([], "the message type is not one the hub clears"),
            )

    @staticmethod
    def _unreadable(status: int, message_id: str, exc: MessageError) -> IntakeRejected:
        line = getattr(exc, "line", None)
        problem = Problem("message", str(exc), _no_document(exc), SCHEMA, line)
        reason = "there is no document to check"
        return IntakeRejected(status, message_id, [problem], str(exc), layer_summary([problem], reason))

    @staticmethod
    def _located(decoded: Decoded, problems: list[Problem]) -> list[Problem]:
        """Business problems at the sender's element path and line (workflows name paths relative to
        the document element, or 'sender' for the document as a whole)."""
        locator = decoded.locator
        if locator is None:
            return problems
        out = []
        for p in problems:
            # not elements of the document: the interchange, the message as a whole, the sender's
            # reference, the transport's correlation id
            if p.location.startswith("interchange") or p.location in NOT_IN_DOCUMENT:
                out.append(p)
                continue
            if p.location == "sender" and decoded.format == "edifact":
                out.append(p)  # EDIFACT: who sent it is the interchange's business, no segment's
                continue
            location, line = locator.locate("" if p.location == "sender" else p.location)
            out.append(dataclasses.replace(p, location=location, line=p.line or line))
        return out

    def check(
        self, raw: bytes, sender: str, roles: frozenset[str]
    ) -> tuple[list[Problem], list[dict[str, Any]]]:
        """What `receive` would refuse the message for, every layer, without archiving or storing
        anything (POST /api/v1/validate?business=true). ([], layers) when it would be accepted."""
        try:
            decoded = self._decode(raw, "", sender, [])
        except IntakeRejected as exc:
            return exc.problems, exc.layers or layer_summary(exc.problems)
        if decoded.model is None:
            return decoded.problems, layer_summary(decoded.problems, decoded.not_run)
        problems = self._all_layers(decoded, "", sender, roles)
        return problems, layer_summary(problems)

    def _all_layers(
        self, decoded: Decoded, message_id: str, sender: str, roles: frozenset[str]
    ) -> list[Problem]:
        """Schema and semantic problems, then the business ones (the sender's role first: without it
        the workflow's checks say nothing useful)."""
        role = self._role_problem(decoded.message_type, roles)
        business = [role] if role else self._business_preview(decoded, message_id, sender, roles)
        return decoded.problems + _beyond(decoded.problems, self._located(decoded, business))

    def _business_preview(
        self, decoded: Decoded, message_id: str, sender: str, roles: frozenset[str]
    ) -> list[Problem]:
        """The workflow's business checks on a message refused by an earlier layer, in a session
        that is never committed: the answer lists them, nothing is stored."""
        check = getattr(self.workflow, "problems", None)
        if check is None:
            return []
        accepted = Accepted(
            message_id,
            decoded.message_type,
            decoded.format,
            sender,
            roles,
            decoded.model,
            decoded.xml,
            business_keys(decoded.model),
        )
        with self.db.sessions() as session:
            try:
                return list(check(session, accepted))
            finally:
                session.rollback()

    def _from_edifact(
        self,
        raw: bytes,
        edi_type: str,
        message_id: str,
        sender: str = "",
        warnings: list[Any] | None = None,
        origins: list[Any] | None = None,
    ) -> ConvertedDocument:
        try:
            from messages.convert import convert
        except ImportError:  # the conversion layer is optional at run time
            raise IntakeRejected(
                415, message_id, [Problem("message", "EDIFACT intake not available yet")]
            ) from None
        try:
            # the authenticated party's partner profile (match.party), else the UNB sender's
            documents = convert(
                raw,
                to="xml",
                partner=partner_profile_for(sender, raw),
                warnings=warnings,
                known=KnownFacts(self.db).lookup_for(sender),  # enrichment step 2
                origins=origins,
            )
        except ValidationFailed as exc:
            problems = [_edifact_problem(i) for i in exc.issues]
            summary, layers = f"{len(problems)} EDIFACT problem(s)", layer_summary(problems, _UNMAPPED)
            raise IntakeRejected(400, message_id, problems, summary, layers) from None
        except MessageError as exc:
            problem = Problem("interchange", str(exc), _no_document(exc), SCHEMA)
            layers = layer_summary([problem], _UNMAPPED)
            raise IntakeRejected(400, message_id, [problem], layers=layers) from None
        if len(documents) != 1:  # only when the interchange could not be split (see split_interchange)
            raise IntakeRejected(
                422,
                message_id,
                [Problem("interchange", f"{edi_type} interchange holds {len(documents)} messages")],
            )
        return documents[0]

    @staticmethod
    def _role_problem(message_type: str, roles: frozenset[str]) -> Problem | None:
        allowed = SENDERS[message_type]
        if "admin" not in roles and not roles & allowed:
            return Problem(
                "sender",
                f"{message_type} may only be sent by: {', '.join(sorted(allowed))}",
                "sender_not_allowed",
            )
        return None

    @staticmethod
    def _set_keys(session: Session, row: Message, keys: dict[str, Any]) -> None:
        bills, containers = keys["bills"], keys["containers"]
        row.bill_no = bills[0] if bills else None
        row.container_no = containers[0] if len(containers) == 1 else None
        row.client_seq_no = keys.get("client_seq_no") or None
        row.seq_no = keys.get("seq_no") or None
        row.entry_id = keys.get("entry_id") or None
        row.voyage_no = keys.get("voyage_no") or None
        refs = [("bill", b) for b in bills] + [("container", c) for c in containers]
        for kind in ("edi", "interchange"):  # parts of a multi-message interchange
            if keys.get(kind):
                refs.append((kind, str(keys[kind])[:64]))
        set_refs(session, row, refs)

    @staticmethod
    def _same_edi(session: Session, row: Message, part: InterchangePart | None) -> Message | None:
        """The same message of the same interchange (UNB + UNH reference, same bytes) seen before.
        Other bytes under that pair fall through to the business reference: converters that number
        every interchange alike must not turn distinct messages into conflicts."""
        if part is None:
            return None
        ids = select(MessageRef.message_id).where(MessageRef.kind == "edi", MessageRef.value == part.edi_key)
        return session.scalar(
            select(Message)
            .where(Message.id.in_(ids), Message.sender == row.sender, Message.sha256 == row.sha256)
            .where(Message.status.in_(("accepted", "processed", "parked")), Message.id != row.id)
            .order_by(Message.received_at)
            .limit(1)
        )

    @staticmethod
    def _earlier(session: Session, row: Message) -> Message | None:
        if not row.external_id:
            return None
        return session.scalar(
            select(Message)
            .where(Message.direction == "in", Message.sender == row.sender)
            .where(Message.message_type == row.message_type, Message.external_id == row.external_id)
            .where(Message.status.in_(("accepted", "processed", "parked")), Message.id != row.id)
            .order_by(Message.received_at)
            .limit(1)
        )

    def _mark_rejected(self, exc: IntakeRejected) -> None:
        with self.db.unit_of_work() as session:
            row = session.get(Message, exc.message_id)
            if row is not None:
                row.status, row.updated_at = "rejected", now()
                row.error = json.dumps([p.as_json() for p in exc.problems], ensure_ascii=False)[:20000]
                bound_rejected(session, row, self.rejects)


# session.info key, in a batch: the earliest accepted message per reference (prefetch_references)
_ACCEPTED = "intake.accepted_by_reference"


def _reference(row: Message) -> tuple[str | None, str, str | None]:
    return (row.sender, row.message_type, row.external_id)


def _edifact_locator(origins: list[Any], model: Any, xml: bytes) -> Any:
    """A locator naming the input segment of each field of a converted EDIFACT message (None when
    the conversion gave no origins, e.g. an interchange that could not be split)."""
    if len(origins) != 1:
        return None
    from messages.xml.codec import family_for_model
    from messages.xml.layers import FieldLocator

    binding_of = family_for_model(model).binding_of if model is not None else None
    binding = binding_of(model) if binding_of is not None else None
    root = _ROOT.search(xml)  # the converted document's element name, without parsing it back
    return FieldLocator(origins[0], binding, root.group(1).decode() if root else "")


_ROOT = re.compile(rb"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_PROFILES: dict[tuple[str, int, int], Any] = {}


def partner_profile_for(party: str, raw: bytes) -> Any:
    """Partner profile for an intake message (enrichment defaults, tolerances); None = defaults.
    The profiles file is re-read when it changes; a bad file is the operator's problem, logged by
    `swhub validate`, and intake then runs with the built-in defaults."""
    import os
    from pathlib import Path

    from hub.config import get_settings
    from messages.partners import load_partners_file, select_profile, sniff_unb_sender

    env = os.environ.get("SWHUB_PARTNERS_FILE")
    path = Path(env) if env else get_settings().partners_file
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)  # a rewrite within one mtime tick too
    except OSError:
        return None
    if key not in _PROFILES:
        try:
            _PROFILES.clear()
            _PROFILES[key] = load_partners_file(path)
        except (MessageError, OSError):
            _PROFILES[key] = {}
    return select_profile(_PROFILES[key], sniff_unb_sender(raw), party=party)


_UNMAPPED = "the EDIFACT message could not be mapped to a declaration or manifest"


def _carried_xml(decoded: Decoded) -> dict[str, str]:
    """The XML intake already encoded from the model (EDIFACT), carried so that the workflow forwards
    it instead of encoding the same model again."""
    return {"xml": decoded.model_xml.decode("utf-8")} if decoded.model_xml else {}


def _edifact_problem(issue: ValidationIssue) -> Problem:
    code = issue.code or "edifact_structure"
    return Problem(_where(issue), issue.message, code, SCHEMA, issue.line)


def _beyond(earlier: list[Problem], later: list[Problem]) -> list[Problem]:
    """Later-layer problems not at an element an earlier layer already reported (an invalid value
    left out is not reported again as missing)."""
    seen = {p.location for p in earlier}
    return [p for p in later if p.location not in seen]


def _where(issue: Any) -> str:
    where = issue.location
    if issue.line is not None:
        where += f" (line {issue.line})"
    return str(where)


def _type_of(model: Any, detected: str) -> str:
    if isinstance(model, Manifest):
        return model.head.message_type or detected
    return detected
