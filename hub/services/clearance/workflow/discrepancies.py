"""Manifest vs tally vs declaration (the rules are in hub.services.clearance.reconcile): what is
found is recorded once per kind and bill, announced, and re-screens the open summary declarations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDiscrepancy
from hub.db.models import Message
from hub.services.clearance import reconcile, repository
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import ACTOR, publish
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.parking import model_of
from hub.services.clearance.workflow.screening import STAGE1_RANK, apply_stage1, screen


def reconcile_tally(ctx: Context, consignment: ClrConsignment) -> None:
    """Once every listed container has been tallied (once)."""
    if consignment.reconciled_at is not None:
        return
    session = ctx.session
    found = reconcile.tally_complete(
        consignment,
        rows.containers(session, consignment.bill_no),
        rows.summaries(session, consignment.bill_no),
        ctx.settings.weight_tolerance_pct,
    )
    if found is None:
        return
    consignment.reconciled_at = now()
    _record_found(ctx, consignment, found, "tally_complete")


def reconcile_discharge(ctx: Context, consignment: ClrConsignment) -> int:
    """The sweep's trigger once the discharge grace period is over: listed containers never
    discharged (tallied) are discrepancies. Runs once per consignment."""
    consignment.discharge_reconciled_at = now()
    found = reconcile.discharge_grace(
        rows.containers(ctx.session, consignment.bill_no),
        ctx.settings.discharge_grace_hours,
        ctx.settings.weight_tolerance_pct,
    )
    _record_found(ctx, consignment, found, "discharge_grace")
    return len(found)


def report(session: Session, consignment: ClrConsignment, kind: str, detail: dict[str, Any]) -> None:
    """A discrepancy of `kind`, recorded and announced the first time only (domain report_discrepancy)."""
    existing = session.scalars(
        select(ClrDiscrepancy).where(
            ClrDiscrepancy.bill_no == consignment.bill_no, ClrDiscrepancy.kind == kind
        )
    )
    cons = repository.consignment(consignment, discrepancies=[(kind, d.detail) for d in existing])
    cons.report_discrepancy(kind, detail)  # False: reported once already
    publish(session, cons.pull_events())


def _record_found(ctx: Context, consignment: ClrConsignment, found: reconcile.Found, trigger: str) -> None:
    audit.record(
        ctx.session,
        ACTOR,
        "consignment.reconciled",
        "consignment",
        consignment.bill_no,
        {"trigger": trigger, "discrepancies": len(found)},
    )
    for kind, detail in found:
        report(ctx.session, consignment, kind, {**detail, "trigger": trigger})
    if found:
        _risk_signal(ctx, consignment)


def _risk_signal(ctx: Context, consignment: ClrConsignment) -> None:
    """A discrepancy re-screens the open summary declarations (stage 1) with the tally weight:
    a stricter outcome replaces the instruction (and orders the inspection) before release."""
    session = ctx.session
    for row in rows.summaries(session, consignment.bill_no):
        if row.state not in ("submitted", "registered") or row.screening is None:
            continue
        message = session.get(Message, row.message_id)
        model = model_of(message) if message else None
        if model is None:
            continue
        before = row.screening["outcome"]
        decision = screen(ctx, model, row, stage=1)
        if STAGE1_RANK[decision.outcome.value] > STAGE1_RANK[before]:
            audit.record(
                session,
                ACTOR,
                "screening.escalated",
                "declaration",
                row.id,
                {"from": before, "to": decision.outcome.value},
            )
            apply_stage1(session, row, consignment, decision)
        else:
            row.screening = {**row.screening, "outcome": before}
