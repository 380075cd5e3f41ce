"""Two-stage admission (两段准入): a declaration screened by the risk engine, and what the stage-1
outcome sets in motion (refusal, an inspection order)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import outbound
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import ACTOR, change_declaration
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.inspections import INSPECTIONS, order_inspection
from hub.services.screening import trader_profile
from messages.models.declaration import Declaration
from risk import Decision, ScreeningContext

# how strict a stage-1 outcome is: a re-screening replaces the instruction only with a stricter one
STAGE1_RANK = {
    "release_on_arrival": 0,
    "machine_scan_first": 1,
    "destination_inspection": 2,
    "conditional_removal": 3,
    "port_inspection": 4,
    "refuse_entry": 5,
}


def screen(ctx: Context, decl: Declaration, row: ClrDeclaration, stage: int) -> Decision:
    """The risk engine's decision with the trader profile and the manifest and tally weights, kept on
    the row and audited."""
    session = ctx.session
    consignment = session.get(ClrConsignment, row.bill_no)
    tally = rows.tally_total(session, row.bill_no)
    context = ScreeningContext(
        trader=trader_profile(session, decl),
        manifest_gross_kg=consignment.gross_kg if consignment else None,
        tally_gross_kg=tally,
    )
    decision = ctx.engine().screen(decl, context, stage=stage)
    row.screening = decision.to_dict()
    audit.record(
        session,
        ACTOR,
        f"declaration.screened.stage{stage}",
        "declaration",
        row.id,
        {"outcome": decision.outcome.value, "ruleset": decision.ruleset_version},
    )
    return decision


def apply_stage1(
    session: Session, row: ClrDeclaration, consignment: ClrConsignment, decision: Decision
) -> None:
    """Refuse entry (RefusalNotice to the broker), or order the outcome's inspection, or nothing."""
    outcome = decision.outcome.value
    if outcome == "refuse_entry":
        why = "; ".join(h.reason for h in decision.hits)
        if not change_declaration(session, row, lambda d: d.refuse(why, now())):
            return
        outbound.send_json(
            session,
            row.broker_uscc,
            "RefusalNotice",
            {"declaration_id": row.id, "bill_no": row.bill_no, "screening": row.screening},
            bills=[row.bill_no],
            correlation_id=row.id,
        )
        return
    if outcome in INSPECTIONS:
        order_inspection(session, row, consignment, decision)
