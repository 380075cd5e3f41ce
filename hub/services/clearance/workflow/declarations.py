"""Handler of the broker's declarations (DecMessage): the summary declaration (概要申报) screened at
stage 1 and forwarded, held until its manifest; the complete declaration (完整申报) screened at stage 2,
checked against its due date, forwarded."""

from __future__ import annotations

from hub.clock import now
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import authority, outbound
from hub.services.clearance.holds import STAGE2_HOLDS
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import change_declaration
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.inspections import stage2_hold
from hub.services.clearance.workflow.parking import park, unpark_key
from hub.services.clearance.workflow.release import set_due
from hub.services.clearance.workflow.screening import apply_stage1, screen
from messages.models.declaration import Declaration


def declaration(ctx: Context, sender: str, decl: Declaration, message_id: str) -> None:
    """Intake stored the row (`received`); this screens and forwards it, once."""
    row = ctx.session.get(ClrDeclaration, message_id)
    if row is None or row.state != "received":
        return  # already applied (a redelivery after a crash between effects and ack)
    if row.kind == "summary":
        _summary(ctx, row, decl)
    else:
        _complete(ctx, row, decl)
    unpark_key(ctx, f"client:{row.client_seq_no}")  # customs answered before we knew it


def _summary(ctx: Context, row: ClrDeclaration, decl: Declaration) -> None:
    session = ctx.session
    consignment = session.get(ClrConsignment, row.bill_no)
    if consignment is None:
        why = f"waiting for the manifest of bill {row.bill_no}"
        change_declaration(session, row, lambda d: d.hold(why, now()))
        park(
            session,
            row.bill_no,
            row.message_id,
            "DecMessage",
            "summary declaration before its manifest: held, forwarded when the manifest arrives",
        )
        return
    mismatch = authority.consignee_mismatch(session, row.bill_no, decl.head.trade_co_scc)
    if mismatch:  # parked before its manifest, which names another consignee
        change_declaration(session, row, lambda d: d.reject(f"DecHead/TradeCoScc: {mismatch}", now()))
        return
    decision = screen(ctx, decl, row, stage=1)
    apply_stage1(session, row, consignment, decision)
    if row.state != "refused":
        change_declaration(session, row, lambda d: d.submit(1, now()))
    outbound.to_customs(
        session, "DecMessage", outbound.encoded(decl), bills=[row.bill_no], correlation_id=row.id
    )
    set_due(ctx, row)


def _complete(ctx: Context, row: ClrDeclaration, decl: Declaration) -> None:
    session = ctx.session
    summary = session.get(ClrDeclaration, row.summary_id) if row.summary_id else None
    decision = screen(ctx, decl, row, stage=2)
    if summary is not None:
        summary.completed_by, summary.updated_at = row.id, now()
        row.due_at, row.due_rule = summary.due_at, summary.due_rule
        due = rows.aware(summary.due_at)
        if due is not None and now() > due:
            why = f"filed after the due date {due.isoformat()}"
            change_declaration(session, row, lambda d: d.mark_late(now(), due, why, overdue=False))
            change_declaration(session, summary, lambda d: d.mark_late(now(), due, None, overdue=False))
    change_declaration(session, row, lambda d: d.submit(2, now()))
    if decision.outcome.value in STAGE2_HOLDS:
        # the instruction reaches customs before the declaration: customs then knows, when it
        # registers the declaration, that it must not clear it before the hold's result
        stage2_hold(session, row, decision)
    outbound.to_customs(
        session, "DecMessage", outbound.encoded(decl), bills=[row.bill_no], correlation_id=row.id
    )
