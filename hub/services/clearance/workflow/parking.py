"""Messages that cannot apply yet (a report before its manifest, a customs answer before its
declaration) are parked, visibly, and applied when what they wait for arrives; customs answers that
no longer fit what they answer are refused."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrDeclaration, ClrParked
from hub.db.models import Message
from hub.services.clearance.workflow.aggregates import ACTOR, change_declaration
from hub.services.clearance.workflow.context import Context
from messages import xml as xmlcodec

log = logging.getLogger(__name__)


def park(
    session: Session,
    bill: str,
    message_id: str,
    message_type: str,
    reason: str,
    wait_key: str | None = None,
) -> None:
    """Kept until the bill's manifest arrives (no wait_key) or until `wait_key` appears."""
    exists = session.scalar(
        select(ClrParked.id).where(
            ClrParked.bill_no == bill, ClrParked.message_id == message_id, ClrParked.resolved_at.is_(None)
        )
    )
    if exists is None:
        session.add(
            ClrParked(
                bill_no=bill,
                message_id=message_id,
                message_type=message_type,
                reason=reason,
                parked_at=now(),
                wait_key=wait_key,
            )
        )
    row = session.get(Message, message_id)
    if row is not None:
        row.status, row.updated_at = "parked", now()
    audit.record(session, ACTOR, "message.parked", "message", message_id, {"bill_no": bill, "reason": reason})


def park_answer(ctx: Context, message_id: str, message_type: str, key: str, bill: str, what: str) -> None:
    """A customs answer for a declaration the hub does not know (yet): kept, visibly, until it
    appears (applied then) or the expiry passes (the sweep says why it expired)."""
    hours = ctx.settings.parked_answer_expiry_hours
    reason = f"{what}: parked, applied if that declaration appears within {hours:g} h, else expired"
    park(ctx.session, bill or "", message_id, message_type, reason, wait_key=key)


def refuse_answer(session: Session, message_id: str, reason: str) -> None:
    """A customs answer that no longer fits what it answers (the intake check passed, the state
    moved since): recorded as rejected with the reason; nothing applied, nothing forwarded."""
    row = session.get(Message, message_id)
    if row is not None:
        row.status, row.error, row.updated_at = "rejected", reason[:20000], now()
    audit.record(session, ACTOR, "answer.refused", "message", message_id, {"reason": reason})
    log.warning("customs answer %s refused: %s", message_id, reason)


def unpark_key(ctx: Context, key: str) -> None:
    """Apply what waited for `key` (a declaration's ClientSeqNo / SeqNo / EntryId, a bill's
    distribution application). A message that still cannot apply is parked again."""
    parked = list(
        ctx.session.scalars(
            select(ClrParked)
            .where(ClrParked.wait_key == key, ClrParked.resolved_at.is_(None))
            .order_by(ClrParked.id)
        )
    )
    for item in parked:
        item.resolved_at, item.resolution = now(), "applied"
        message = ctx.session.get(Message, item.message_id)
        model = model_of(message) if message else None
        if message is None or model is None:
            continue
        message.status = "accepted"
        ctx.apply(ctx, item.message_type, message.sender or "", model, item.message_id)


def unpark(ctx: Context, bill: str) -> None:
    """Apply what waited for the bill's manifest; a held summary declaration resumes first."""
    session = ctx.session
    parked = list(
        session.scalars(
            select(ClrParked)
            .where(
                ClrParked.bill_no == bill,
                ClrParked.resolved_at.is_(None),
                ClrParked.wait_key.is_(None),
            )
            .order_by(ClrParked.id)
        )
    )
    for item in parked:
        item.resolved_at, item.resolution = now(), "applied"
        message = session.get(Message, item.message_id)
        model = model_of(message) if message else None
        if message is None or model is None:
            continue
        message.status = "accepted"
        if item.message_type == "DecMessage":
            row = session.get(ClrDeclaration, item.message_id)
            if row is not None and row.state == "held":
                change_declaration(session, row, lambda d: d.resume(now()))
                ctx.apply(ctx, "DecMessage", message.sender or "", model, item.message_id)
        else:
            ctx.apply(ctx, item.message_type, message.sender or "", model, item.message_id)
        if message.status == "accepted":  # not parked again (e.g. an arrival from an unknown site)
            message.status = "processed"


def model_of(message: Message) -> Any:
    """The canonical model of an archived message (parked messages are applied from the archive)."""
    raw = message.raw
    if message.format == "edifact":
        from messages.convert import convert

        raw = convert(raw, to="xml")[0].content
    return xmlcodec.decode(raw)
