"""Customs answers reach what they answer: DecImportResponse, DEC_DATA and MT9999 are matched against
the message the hub forwarded to customs, whose id customs carries back (HTTP `X-Correlation-Id`,
AMQP `correlation_id`; the hub sent it as `X-Message-Id` / `message_id`).

- the id must name a message the hub sent to customs, of a type the answer can answer;
- DecImportResponse: the forwarded DecMessage's declaration, and its ClientSeqNo must be the answer's;
- DEC_DATA: the forwarded message's declaration (its DecMessage, or an instruction about it); a SeqNo /
  EntryId in the answer must not belong to another declaration (only to it or its summary/complete);
- MT9999: every bill it answers must be one the forwarded manifest or report named.

Checked at intake (refused 409, archived as rejected, nothing applied) and again when the workflow
applies the answer (a mismatch found then is recorded as rejected with the reason, nothing applied).
An answer without the id falls back to its own references; a ClientSeqNo belongs to one declarant
hub-wide (the workflow refuses a second one), so even then it cannot reach another broker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.among import among
from hub.db.clearance_tables import ClrDeclaration
from hub.db.models import Message, MessageRef
from hub.services.clearance.settings import CUSTOMS_KEY
from hub.services.intake import business_keys
from messages import xml as xmlcodec

REPLY_REF = "reply_to"  # MessageRef kind: the id of the forwarded message an answer carries back
ANSWERS = ("DecImportResponse", "DEC_DATA", "MT9999")
# what each answer may answer (the types the hub forwards to customs)
ANSWERABLE = {
    "DecImportResponse": ("DecMessage",),
    "DEC_DATA": ("DecMessage", "InspectionNotice", "DocumentsRequiredNotice", "ReleaseNotice"),
    "MT9999": ("MT1101", "MT3101", "MT5101", "MT6102"),
}


# session.info key, in a batch: the bill refs of each forwarded copy the batch's MT9999s answer (prefetch)
_BILLS = "clearance.answers.bills"
# session.info key, in a batch: the declaration each DEC_DATA SeqNo / EntryId names, None if none (prefetch)
_NAMED = "clearance.answers.named"

# session.info key, in a workflow batch: the forwarded id each archived answer carried, None if none
_REPLIES = "clearance.answers.replies"
# session.info key, in a workflow batch: who sent the inbound message each forwarded copy carried
_ORIGINS = "clearance.answers.origins"


class AnswerMismatch(Exception):
    """The answer does not belong to the message it says it answers."""


def reply_to(session: Session, message_id: str) -> str | None:
    """The forwarded message id an archived answer carried, if any (prefetched for a batch)."""
    replies = session.info.get(_REPLIES, {})
    if message_id in replies:
        return replies[message_id]
    return session.scalar(
        select(MessageRef.value).where(MessageRef.message_id == message_id, MessageRef.kind == REPLY_REF)
    )


def prefetch_replies(session: Session, archive_ids: Iterable[str]) -> dict[str, str | None]:
    """The forwarded ids a batch's archived answers carried, one query instead of one per answer;
    reply_to() finds them. They were written when each answer was accepted and never change."""
    found: dict[str, str | None] = dict.fromkeys(archive_ids)
    if found:
        refs = select(MessageRef.message_id, MessageRef.value).where(
            among(session, MessageRef.message_id, found), MessageRef.kind == REPLY_REF
        )
        for message_id, value in session.execute(refs):
            found[message_id] = value
    session.info[_REPLIES] = {**session.info.get(_REPLIES, {}), **found}
    return found


def known_replies(session: Session, replies: dict[str, str | None]) -> None:
    """The forwarded ids of archived answers the caller already knows (intake, which archived them
    in this transaction): reply_to() finds them without a query."""
    session.info[_REPLIES] = {**session.info.get(_REPLIES, {}), **replies}


def prefetch(session: Session, answering: Iterable[tuple[str, str, Any]]) -> None:
    """What a batch's customs answers are checked against, in one query per kind instead of one per
    answer: the forwarded copies they answer, the bill refs of those an MT9999 answers, the declarations
    those of a DecImportResponse / DEC_DATA concern and those a DEC_DATA's SeqNo / EntryId name.
    `answering`: (answer type, forwarded id, answer model). Rows land in the batch session's identity
    map (it keeps them: Database.unit_of_work(batch=True)), so forwarded() and _declaration_of() find
    them without a query; anything not found there is queried as on its own. Call it once per batch,
    before the answers are accepted (they change none of these rows)."""
    pairs = [(t, i, m) for t, i, m in answering if t in ANSWERABLE and i]
    session.info[_BILLS], session.info[_NAMED] = {}, {}
    if not pairs:
        return
    with session.no_autoflush:  # the batch's own rows are not flushed: added as each is accepted
        ids = {i for _, i, _ in pairs}
        sent = {m.id: m for m in session.scalars(select(Message).where(among(session, Message.id, ids)))}
        receipts = {i for t, i, _ in pairs if t == "MT9999" and i in sent}
        if receipts:
            bills: dict[str, set[str]] = {i: set() for i in receipts}
            refs = select(MessageRef.message_id, MessageRef.value).where(
                among(session, MessageRef.message_id, receipts), MessageRef.kind == "bill"
            )
            for message_id, value in session.execute(refs):
                bills[message_id].add(value)
            session.info[_BILLS] = bills
        declarations = {sent[i].correlation_id for t, i, _ in pairs if t != "MT9999" and i in sent} - {None}
        named = [_named_keys(m) for t, _, m in pairs if t == "DEC_DATA"]
        seq_nos = {s for s, _ in named} - {""}
        entry_ids = {e for _, e in named} - {""}
        if declarations or seq_nos or entry_ids:
            query = select(ClrDeclaration).where(
                among(session, ClrDeclaration.id, declarations)
                | among(session, ClrDeclaration.seq_no, seq_nos)
                | among(session, ClrDeclaration.entry_id, entry_ids)
            )
            found: dict[tuple[str, str], ClrDeclaration | None] = dict.fromkeys(
                [("seq_no", s) for s in seq_nos] + [("entry_id", e) for e in entry_ids]
            )
            for decl in session.scalars(query.order_by(ClrDeclaration.id)):
                for key in (("seq_no", decl.seq_no), ("entry_id", decl.entry_id)):
                    if key in found and found[key] is None:
                        found[key] = decl
            session.info[_NAMED] = found


def prefetch_origins(session: Session, forwarded_ids: Iterable[str]) -> None:
    """Who sent the message each forwarded copy carried (a copy's correlation id is the archive id of
    the report it carried), for a batch's MT9999s: one query; origin() finds them. Call after
    prefetch(), which loaded the copies into the batch's identity map."""
    copies = {i: session.get(Message, i) for i in forwarded_ids}
    carried = {i: c.correlation_id for i, c in copies.items() if c is not None and c.correlation_id}
    senders: dict[str, str | None] = {}
    if carried:
        query = select(Message.id, Message.sender).where(
            among(session, Message.id, set(carried.values())), Message.direction == "in"
        )
        senders = {message_id: sender for message_id, sender in session.execute(query)}
    session.info[_ORIGINS] = {i: senders.get(carried[i]) if i in carried else None for i in copies}


def origin(session: Session, forwarded_id: str) -> str | None:
    """Who sent the site report whose customs copy an MT9999 answers: the copy's correlation id is
    that report's archive id. Exact, and a primary-key read instead of a search of the bill's reports
    (prefetched for a batch). Both rows were committed by intake: nothing of the batch's is flushed."""
    origins = session.info.get(_ORIGINS, {})
    if forwarded_id in origins:
        return origins[forwarded_id]
    with session.no_autoflush:
        sent = session.get(Message, forwarded_id)
        if sent is None or not sent.correlation_id:
            return None
        return session.scalar(
            select(Message.sender).where(Message.id == sent.correlation_id, Message.direction == "in")
        )


def _named_keys(receipt: Any) -> tuple[str, str]:
    result = getattr(receipt, "result", None)
    return (getattr(result, "seq_no", "") or "", getattr(result, "entry_id", "") or "")


def _named(session: Session, column: str, value: str) -> ClrDeclaration | None:
    """The declaration whose SeqNo / EntryId is `value` (prefetched for a batch, else one query)."""
    found = session.info.get(_NAMED, {})
    if (column, value) in found:
        return found[(column, value)]
    return session.scalar(select(ClrDeclaration).where(getattr(ClrDeclaration, column) == value))


def _bill_refs(session: Session, sent: Message) -> set[str]:
    """The bills a forwarded copy's refs name (prefetched for a batch, else one query)."""
    prefetched = session.info.get(_BILLS, {}).get(sent.id)
    if prefetched is not None:
        return set(prefetched)
    return set(
        session.scalars(
            select(MessageRef.value).where(MessageRef.message_id == sent.id, MessageRef.kind == "bill")
        )
    )


def forwarded(session: Session, message_type: str, forwarded_id: str) -> Message:
    row = session.get(Message, forwarded_id)
    if row is None or row.direction != "out" or row.receiver != CUSTOMS_KEY:
        raise AnswerMismatch(
            f"{message_type} answers message {forwarded_id}, which the hub did not send to customs"
        )
    if row.message_type not in ANSWERABLE[message_type]:
        raise AnswerMismatch(
            f"{message_type} answers message {forwarded_id}, a {row.message_type}; "
            f"it can only answer {', '.join(ANSWERABLE[message_type])}"
        )
    return row


def _declaration_of(session: Session, message_type: str, sent: Message) -> ClrDeclaration:
    decl = session.get(ClrDeclaration, sent.correlation_id) if sent.correlation_id else None
    if decl is None:
        raise AnswerMismatch(f"{message_type} answers message {sent.id}, which concerns no declaration")
    return decl


def family(session: Session, decl: ClrDeclaration) -> set[str]:
    """The declaration and its two-step partner (summary <-> complete)."""
    ids = {decl.id}
    if decl.summary_id:
        ids.add(decl.summary_id)
    if decl.completed_by:
        ids.add(decl.completed_by)
    ids.update(session.scalars(select(ClrDeclaration.id).where(ClrDeclaration.summary_id == decl.id)))
    return ids


def import_response_target(session: Session, forwarded_id: str, response: Any) -> ClrDeclaration:
    decl = _declaration_of(
        session, "DecImportResponse", forwarded(session, "DecImportResponse", forwarded_id)
    )
    if response.client_seq_no and response.client_seq_no != decl.client_seq_no:
        raise AnswerMismatch(
            f"DecImportResponse for ClientSeqNo {response.client_seq_no} answers message {forwarded_id}, "
            f"the declaration with ClientSeqNo {decl.client_seq_no}"
        )
    return decl


def dec_data_target(session: Session, forwarded_id: str, receipt: Any) -> ClrDeclaration:
    """The declaration the DEC_DATA applies to: the one its SeqNo/EntryId names when that is the
    forwarded message's declaration or its partner, else the forwarded message's declaration."""
    decl = _declaration_of(session, "DEC_DATA", forwarded(session, "DEC_DATA", forwarded_id))
    result = receipt.result
    named = None
    if result.seq_no:
        named = _named(session, "seq_no", result.seq_no)
    if named is None and result.entry_id:
        named = _named(session, "entry_id", result.entry_id)
    if named is not None and named.id not in family(session, decl):
        raise AnswerMismatch(
            f"DEC_DATA for SeqNo {result.seq_no or '-'} / EntryId {result.entry_id or '-'} names another "
            f"declaration than the one message {forwarded_id} was about"
        )
    if named is None and decl.seq_no and result.seq_no and result.seq_no != decl.seq_no:
        raise AnswerMismatch(
            f"DEC_DATA for SeqNo {result.seq_no} answers message {forwarded_id}, whose declaration has "
            f"SeqNo {decl.seq_no}"
        )
    return named or decl


def manifest_receipt_check(session: Session, forwarded_id: str, receipt: Any) -> None:
    sent = forwarded(session, "MT9999", forwarded_id)
    answered = receipt.head.message_type
    if answered and answered != "MT9999" and answered != sent.message_type:
        raise AnswerMismatch(
            f"MT9999 answers a {answered}, but message {forwarded_id} was a {sent.message_type}"
        )
    bills = _bill_refs(session, sent)
    answered_bills = {c.bill_no for c in receipt.consignments}
    if answered_bills - bills:  # a report forwarded when only some of its bills applied names all
        bills |= bills_named_in(sent)  # (decoding the copy costs more than the rest of this answer)
    stray = sorted(answered_bills - bills)
    if stray:
        raise AnswerMismatch(
            f"MT9999 answers bill(s) {', '.join(stray)}, which message {forwarded_id} did not name"
        )


def bills_named_in(sent: Message) -> set[str]:
    """Every bill the forwarded message itself names (what customs answers for)."""
    try:
        return set(business_keys(xmlcodec.decode(sent.raw))["bills"])
    except Exception:  # an undecodable copy names nothing more than its refs
        return set()


def check(session: Session, message_type: str, forwarded_id: str, model: Any) -> None:
    """Raise AnswerMismatch unless `model` (a customs answer) fits the forwarded message."""
    if message_type == "DecImportResponse":
        import_response_target(session, forwarded_id, model)
    elif message_type == "DEC_DATA":
        dec_data_target(session, forwarded_id, model)
    elif message_type == "MT9999":
        manifest_receipt_check(session, forwarded_id, model)
