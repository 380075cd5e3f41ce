"""Release of a summary declaration's boxes (放行) once nothing blocks it, and the due date of its
complete declaration."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from hub.clock import SHANGHAI, now
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import repository
from hub.services.clearance.domain import model
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import publish
from hub.services.clearance.workflow.context import Context
from messages.models.notices import ReleaseType

RELEASE_TYPE = {
    "release_on_arrival": ReleaseType.NORMAL,
    "machine_scan_first": ReleaseType.NORMAL,
    "port_inspection": ReleaseType.NORMAL,
    "destination_inspection": ReleaseType.CONDITIONAL,
    "conditional_removal": ReleaseType.CONDITIONAL,
}


def try_release(session: Session, row: ClrDeclaration) -> bool:
    """Release every listed box of the bill when the domain finds no blocker; True if it did."""
    if row.kind != "summary" or row.state != "registered" or not row.entry_id or not row.screening:
        return False  # cheap checks first: no container query for most calls
    outcome = row.screening["outcome"]
    loaded = rows.containers(session, row.bill_no)
    decl = repository.declaration(row)
    boxes = [repository.container(c) for c in loaded]
    if model.release_blockers(decl, outcome, RELEASE_TYPE, row.inspection, boxes):
        return False
    listed = [c for c in loaded if c.listed]
    consignment = session.get(ClrConsignment, row.bill_no)
    stamp, boxes_no = now(), [c.container_no for c in listed]
    if consignment is not None:
        cons = repository.consignment(consignment, listed)
        cons.release(boxes_no, stamp)
        repository.save_consignment(consignment, cons, listed)
        publish(session, cons.pull_events())
    else:
        for c in listed:
            c.released_at = stamp
    decl.release(RELEASE_TYPE[outcome].value, boxes_no, stamp)
    repository.save_declaration(row, decl)
    publish(session, decl.pull_events())
    return True


def set_due(ctx: Context, row: ClrDeclaration) -> None:
    """The complete declaration is due N calendar days after the start event (settings), at 23:59:59
    Shanghai time, rolled to the next working day when configured."""
    settings = ctx.settings
    consignment = ctx.session.get(ClrConsignment, row.bill_no)
    if consignment is None or row.kind != "summary":
        return
    start = (
        consignment.entry_at
        if settings.due_start_event == "conveyance_entry"
        else consignment.first_arrival_at
    )
    start = rows.aware(start)
    if start is None:
        return
    day = start.astimezone(SHANGHAI).date() + timedelta(days=settings.complete_due_days)
    rule = f"{settings.complete_due_days} calendar days after {settings.due_start_event}"
    if settings.roll_to_working_day and not ctx.calendar().is_workday(day):
        day = ctx.calendar().next_workday(day).day
        rule += ", rolled to the next working day"
    row.due_at = datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)
    row.due_rule = rule
