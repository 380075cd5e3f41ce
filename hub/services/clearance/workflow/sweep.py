"""The periodic sweep: reminders before the complete declaration is due, overdue ones marked late,
reconciliation of consignments whose discharge grace period is over, parked customs answers whose
declaration never appeared expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrContainer, ClrDeclaration, ClrParked
from hub.db.models import Message
from hub.services.clearance import messagebus, outbound, reconcile
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import ACTOR, change_declaration
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.discrepancies import reconcile_discharge

ANSWER_TYPES = ("DEC_DATA", "DecImportResponse")  # customs answers: parked until their declaration appears


def sweep(ctx: Context) -> dict[str, int]:
    counts = _due_dates(ctx)
    counts["reconciled"], counts["not_discharged"] = _discharge(ctx)
    counts["expired"] = _expire_parked(ctx)
    return counts


def _discharge(ctx: Context) -> tuple[int, int]:
    session, settings = ctx.session, ctx.settings
    at, reconciled, missing = now(), 0, 0
    candidates = list(
        session.scalars(
            select(ClrConsignment)
            .where(
                ClrConsignment.reconciled_at.is_(None),
                ClrConsignment.discharge_reconciled_at.is_(None),
                ClrConsignment.manifest_message_id.is_not(None),
            )
            .order_by(ClrConsignment.bill_no)
        )
    )
    first_tally: dict[tuple[str, str], datetime | None] = {}
    for consignment in candidates:
        voyage = (consignment.voyage_no or "", consignment.vessel or "")
        if voyage not in first_tally:
            first_tally[voyage] = _first_tally(session, consignment)
        start = reconcile.grace_start(
            rows.aware(consignment.entry_at), first_tally[voyage], settings.discharge_grace_start
        )
        if not reconcile.grace_over(start, at, settings.discharge_grace_hours):
            continue
        reconciled += 1
        missing += reconcile_discharge(ctx, consignment)
    return reconciled, missing


def _first_tally(session: Session, consignment: ClrConsignment) -> datetime | None:
    """First tally of any bill of the same voyage (same manifest when the voyage is not known)."""
    query = select(func.min(ClrContainer.tallied_at)).join(
        ClrConsignment, ClrConsignment.bill_no == ClrContainer.bill_no
    )
    if consignment.voyage_no:
        query = query.where(
            ClrConsignment.voyage_no == consignment.voyage_no, ClrConsignment.vessel == consignment.vessel
        )
    else:
        query = query.where(ClrConsignment.manifest_message_id == consignment.manifest_message_id)
    return rows.aware(session.scalar(query))


def _expire_parked(ctx: Context) -> int:
    session, hours = ctx.session, ctx.settings.parked_answer_expiry_hours
    at, count = now(), 0
    limit = timedelta(hours=hours)
    parked = session.scalars(
        select(ClrParked).where(
            ClrParked.resolved_at.is_(None),
            ClrParked.message_type.in_(ANSWER_TYPES),
            ClrParked.wait_key.is_not(None),
        )
    )
    for item in parked:
        parked_at = rows.aware(item.parked_at)
        if parked_at is None or at < parked_at + limit:
            continue
        item.resolved_at = at
        item.resolution = (f"expired: no declaration with {item.wait_key} appeared within {hours:g} h")[:255]
        message = session.get(Message, item.message_id)
        if message is not None:
            message.status, message.updated_at = "expired", at
            message.error = item.resolution
        audit.record(
            session, ACTOR, "message.parked.expired", "message", item.message_id, {"reason": item.resolution}
        )
        count += 1
    return count


def _due_dates(ctx: Context) -> dict[str, int]:
    session, settings = ctx.session, ctx.settings
    at, counts = now(), {"reminded": 0, "late": 0}
    open_summaries = session.scalars(
        select(ClrDeclaration).where(
            ClrDeclaration.kind == "summary",
            ClrDeclaration.completed_by.is_(None),
            ClrDeclaration.due_at.is_not(None),
            ClrDeclaration.state.notin_(("rejected", "refused")),
        )
    )
    for row in open_summaries:
        due = rows.aware(row.due_at)
        assert due is not None
        if row.reminded_at is None and at >= due - timedelta(days=settings.remind_days_before):
            row.reminded_at = at
            outbound.send_json(
                session,
                row.broker_uscc,
                "CompleteDeclarationReminder",
                messagebus.deadline_body(row, due),
                bills=[row.bill_no],
                correlation_id=row.id,
            )
            counts["reminded"] += 1
        if not row.late and at > due:
            why = f"complete declaration overdue since {due.isoformat()}"
            change_declaration(
                session, row, lambda d, why=why, due=due: d.mark_late(at, due, why, overdue=True)
            )
            counts["late"] += 1  # the CompleteDeclarationOverdue notice goes out from the Late event
    return counts
