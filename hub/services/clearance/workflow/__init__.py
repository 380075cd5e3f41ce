"""The clearance workflow: one small handler function per inbound message type (HANDLERS), each
given the transaction and the workflow's dependencies (context.Context). Every change happens
inside the caller's transaction together with its audit entry and the outgoing messages it causes
(hub.services.clearance.outbound). States change only in the domain model
(hub.services.clearance.domain: transition tables, aggregates, events): a handler loads an aggregate
from its rows, calls one domain method and writes it back (aggregates.change_declaration), and the
events go to hub.services.clearance.messagebus (audit, release / discrepancy / overdue notices).

Summary declaration: received -> held (no manifest yet) -> submitted (screened, sent to customs)
-> registered (customs EntryId) [-> inspection] -> released -> cleared; or rejected / refused.
Complete declaration: received -> submitted (stage-2 screened, sent to customs) -> registered -> cleared.
Arrival and tally reports for a bill without a manifest are parked and applied when it arrives.

Modules: the handlers (manifests, declarations, customs_answers, inspections, site_reports), what
they share (rows: reads; aggregates: state changes; parking; screening; release; discrepancies),
intake's synchronous hooks (acceptance) and the periodic sweep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db.among import among, update_rows
from hub.db.models import Message
from hub.db.session import at_commit, in_batch
from hub.services.clearance.settings import ClearanceSettings
from hub.services.clearance.workflow import acceptance, sweep
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.customs_answers import OPEN_STATES, dec_data, import_response
from hub.services.clearance.workflow.declarations import declaration
from hub.services.clearance.workflow.inspections import inspection_result
from hub.services.clearance.workflow.manifests import distribution, manifest, manifest_receipt
from hub.services.clearance.workflow.rows import aware
from hub.services.clearance.workflow.site_reports import arrival, gate_out, tally
from hub.services.intake import Accepted, Problem
from refunds import WorkingCalendar
from risk import RuleEngine

__all__ = ["HANDLERS", "OPEN_STATES", "ClearanceWorkflow", "apply", "aware"]

Handler = Callable[[Context, str, Any, str], None]  # (context, sender, canonical model, message id)
HANDLERS: dict[str, Handler] = {
    "MT1101": manifest,
    "MT6102": distribution,
    "MT9999": manifest_receipt,
    "DecMessage": declaration,
    "DecImportResponse": import_response,
    "DEC_DATA": dec_data,
    "InspectionNotice": inspection_result,
    "MT3101": arrival,
    "MT5101": tally,
    "GateOutReport": gate_out,
}


_PROCESSED = "clearance.workflow.processed"  # session.info: archived ids a batch has applied


def apply(ctx: Context, message_type: str, sender: str, model: Any, message_id: str) -> None:
    """Run the message type's handler, then mark the archived message processed."""
    HANDLERS[message_type](ctx, sender, model, message_id)
    session = ctx.session
    if not in_batch(session):
        _mark_processed(session, [message_id])
        return
    # A batch marks its messages in one UPDATE just before it commits: an UPDATE per message would
    # flush each handler's inserts on their own (autoflush) instead of as multi-row inserts.
    at_commit(session, _PROCESSED, _mark_processed).append(message_id)


def _mark_processed(session: Session, message_ids: list[str]) -> None:
    """One UPDATE, not a load of each archived row (raw payload included) and then an UPDATE; a
    handler that parked its message has already moved it off `accepted`."""
    if message_ids:
        archive = Message.__table__.c  # a Core UPDATE, the ids as one array (hub/db/among.py)
        session.execute(
            update_rows(Message)
            .where(among(session, archive.id, message_ids), archive.status == "accepted")
            .values(status="processed", updated_at=now())
        )


class ClearanceWorkflow:
    """What the service and intake call: intake's hooks, the inbound consumer's apply, the sweep."""

    def __init__(
        self,
        settings: ClearanceSettings,
        engine: Callable[[], RuleEngine],
        calendar: Callable[[], WorkingCalendar],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.calendar = calendar

    def context(self, session: Session) -> Context:
        return Context(session, self.settings, self.engine, self.calendar, apply)

    # intake hooks (synchronous, inside the intake transaction)
    def accept(self, session: Session, msg: Accepted) -> dict[str, Any]:
        return acceptance.accept(session, self.settings, msg)

    def prefetch(self, session: Session, batch: Sequence[Accepted]) -> None:
        acceptance.prefetch(session, batch)

    def problems(self, session: Session, msg: Accepted) -> list[Problem]:
        return acceptance.problems(session, msg)

    def receipt_for(self, session: Session, message_id: str) -> dict[str, Any]:
        return acceptance.receipt_for(session, message_id)

    # the workflow (asynchronous, from the inbound consumer)
    def apply(self, session: Session, message_type: str, sender: str, model: Any, message_id: str) -> None:
        apply(self.context(session), message_type, sender, model, message_id)

    def sweep(self, session: Session) -> dict[str, int]:
        return sweep.sweep(self.context(session))
