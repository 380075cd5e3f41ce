"""Intake's hooks, synchronous inside the accepting transaction: who may send the message, whether a
customs answer fits what it answers, and for a declaration its business checks and its row
(`received`) with the DecImportResponse the broker gets at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrDeclaration
from hub.services.clearance import answers, authority, outbound
from hub.services.clearance.domain.states import DECLARATION_INITIAL
from hub.services.clearance.settings import ClearanceSettings
from hub.services.intake import Accepted, IntakeRejected, Problem
from messages import xml as xmlcodec
from messages.models.declaration import Declaration, DeclarationKind
from messages.models.receipts import DecImportResponse


def accept(session: Session, settings: ClearanceSettings, msg: Accepted) -> dict[str, Any]:
    if msg.message_type != "DecMessage":
        _check_report_or_answer(session, settings, msg)
        return {"bills": msg.keys["bills"]}
    decl: Declaration = msg.model
    found = problems(session, msg)
    if found:
        raise IntakeRejected(422, msg.message_id, found, f"{len(found)} problem(s)")
    kind = decl.kind.value
    summary = _summary_for(session, decl, msg.sender) if kind == "complete" else None
    stamp = now()
    row = ClrDeclaration(
        id=msg.message_id,
        kind=kind,
        broker_uscc=msg.sender,
        client_seq_no=decl.client_seq_no,
        bill_no=decl.head.bill_no,
        summary_id=summary.id if summary else None,
        state=DECLARATION_INITIAL.value,
        message_id=msg.message_id,
        package_qty=decl.head.pack_no,
        gross_kg=decl.head.gross_wet,
        reasons=[],
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(row)
    response = DecImportResponse("0", "", decl.client_seq_no)
    outbound.send_model(
        session, msg.sender, response, "DecImportResponse", bills=[row.bill_no], correlation_id=row.id
    )
    audit.record(
        session,
        msg.sender,
        f"declaration.{kind}.received",
        "declaration",
        row.id,
        {"client_seq_no": row.client_seq_no, "bill_no": row.bill_no},
    )
    return {
        "declaration_id": row.id,
        "state": row.state,
        "import_response": xmlcodec.encode(response).decode("utf-8"),
    }


def prefetch(session: Session, batch: Sequence[Accepted]) -> None:
    """What accept() reads for a batch of messages, one query per kind instead of one per message
    (authority.prefetch, answers.prefetch); accept() still queries whatever is not found."""
    authority.prefetch(session, batch)
    answers.prefetch(session, [(m.message_type, m.in_reply_to or "", m.model) for m in batch])


def _check_report_or_answer(session: Session, settings: ClearanceSettings, msg: Accepted) -> None:
    authority.check(session, msg)  # who may send it: bill owner, reporting site
    required = settings.require_answer_correlation and msg.message_type in answers.ANSWERS
    if required and not msg.in_reply_to:
        raise IntakeRejected(
            422,
            msg.message_id,
            [Problem("correlation id", "required: the id of the hub message this answers")],
        )
    if msg.in_reply_to and msg.message_type in answers.ANSWERS:
        try:  # a customs answer must fit the message it says it answers
            answers.check(session, msg.message_type, msg.in_reply_to, msg.model)
        except answers.AnswerMismatch as exc:
            raise IntakeRejected(409, msg.message_id, [Problem("correlation id", str(exc))]) from None


def problems(session: Session, msg: Accepted) -> list[Problem]:
    """Every business problem of a message, read-only: accept refuses on them, and intake lists
    them beside the schema and semantic problems of a message refused earlier (docs/errors.md)."""
    if msg.message_type != "DecMessage":
        return authority.problems(session, msg)
    decl: Declaration = msg.model
    found = _declaration_problems(session, decl, msg.sender)
    return found + authority.declaration_problems(session, decl, msg.sender, msg.sender_roles)


def receipt_for(session: Session, message_id: str) -> dict[str, Any]:
    row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.message_id == message_id))
    return {"declaration_id": row.id, "state": row.state} if row else {}


def _declaration_problems(session: Session, decl: Declaration, sender: str) -> list[Problem]:
    found = []
    if decl.head.ie_flag != "I":
        found.append(
            Problem("DecHead/IEFlag", "only import declarations take the two-step route", "not_import")
        )
    if decl.kind == DeclarationKind.ORDINARY:
        found.append(
            Problem("DecHead/Type", "position 3 must be 5 (summary) or 6 (complete)", "not_two_step")
        )
    if not decl.client_seq_no:
        found.append(Problem("DecSign/ClientSeqNo", "required: it correlates every receipt", "missing_value"))
    if not decl.head.bill_no:
        found.append(
            Problem("DecHead/BillNo", "required: the bill of lading links the manifest", "missing_value")
        )
    used = session.scalar(
        select(ClrDeclaration.id).where(
            ClrDeclaration.broker_uscc == sender, ClrDeclaration.client_seq_no == decl.client_seq_no
        )
    )
    if used:
        found.append(Problem("DecSign/ClientSeqNo", f"already used by declaration {used}", "reference_used"))
    elif decl.client_seq_no and session.scalar(
        select(ClrDeclaration.id).where(ClrDeclaration.client_seq_no == decl.client_seq_no).limit(1)
    ):
        # customs answers (DecImportResponse) carry only the ClientSeqNo: one number, one
        # declarant, so an answer can never reach another broker's declaration
        found.append(
            Problem(
                "DecSign/ClientSeqNo",
                "not available: choose another client sequence number",
                "reference_used",
            )
        )
    if (
        decl.kind == DeclarationKind.COMPLETE
        and decl.head.bill_no
        and not _summary_for(session, decl, sender)
    ):
        found.append(
            Problem(
                "DecHead/BillNo",
                f"no open summary declaration of yours for bill "
                f"{decl.head.bill_no} (or for the EntryId in CorrelationNo) to complete",
                "no_open_summary",
            )
        )
    return found


def _summary_for(session: Session, decl: Declaration, sender: str) -> ClrDeclaration | None:
    """The broker's open summary declaration a complete declaration completes (by bill, and by the
    EntryId it names, if it names one)."""
    ref = decl.head.correlation_no or (decl.free_txt.rel_id if decl.free_txt else "")
    query = select(ClrDeclaration).where(
        ClrDeclaration.kind == "summary",
        ClrDeclaration.broker_uscc == sender,
        ClrDeclaration.bill_no == decl.head.bill_no,
        ClrDeclaration.completed_by.is_(None),
        ClrDeclaration.state.notin_(("rejected", "refused")),
    )
    if ref:
        query = query.where(ClrDeclaration.entry_id == ref)
    return session.scalars(query.order_by(ClrDeclaration.created_at)).first()
