"""Handlers of the clearance domain events, one small function each, and the bus that runs them:
after the workflow wrote an aggregate back, its events become audit entries and notices in the same
transaction (the caller's session is the unit of work: one commit for the state, the audit and the
outbox rows, so a notice goes out if and only if the change it announces is stored)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration, ClrDiscrepancy
from hub.services.clearance import outbound
from hub.services.clearance.domain import events
from messages import xml as xmlcodec
from messages.models.notices import ReleaseNotice, ReleaseType

ACTOR = "clearance"
RELEASE_NOTE = {
    "conditional_removal": "附条件提离: to the approved site until the lab result",
    "destination_inspection": "目的地检验",
}


def deadline_body(row: ClrDeclaration, due: datetime) -> dict[str, Any]:
    """The broker's reminder and overdue notices about the complete declaration carry the same facts."""
    return {
        "declaration_id": row.id,
        "client_seq_no": row.client_seq_no,
        "bill_no": row.bill_no,
        "due_at": due.isoformat(),
        "rule": row.due_rule,
    }


def audit_state_change(session: Session, event: events.DeclarationStateChanged) -> None:
    if event.audited:
        audit.record(
            session,
            ACTOR,
            f"declaration.{event.target}",
            "declaration",
            event.declaration_id,
            {"from": event.source, "to": event.target, "reason": event.reason},
        )


def audit_inspection_ordered(session: Session, event: events.InspectionOrdered) -> None:
    """The notice itself is sent where the instruction is built: it carries the risk decision's
    checks and reasons, which are no business of the domain model."""
    audit.record(
        session,
        ACTOR,
        "inspection.ordered",
        "declaration",
        event.declaration_id,
        {"by": event.ordered_by, "instruction": event.instruction, "stage": event.stage},
    )


def send_release_notice(session: Session, event: events.Released) -> None:
    """ReleaseNotice (XML) to the broker, the yard and customs."""
    row = session.get(ClrDeclaration, event.declaration_id)
    assert row is not None
    consignment = session.get(ClrConsignment, event.bill_no)
    outcome = str((row.screening or {}).get("outcome"))
    notice = ReleaseNotice(
        notice_id=outbound.new_id("REL"),
        bill_no=event.bill_no,
        released_at=event.at,
        release_type=ReleaseType(event.release_type),
        entry_id=row.entry_id or "",
        container_ids=list(event.containers),
        note=RELEASE_NOTE.get(outcome, "放行"),
    )
    body = xmlcodec.encode(notice)
    for receiver in dict.fromkeys([row.broker_uscc, *outbound.yard_operators(session, consignment)]):
        outbound.send(session, receiver, "ReleaseNotice", body, bills=[row.bill_no], correlation_id=row.id)
    outbound.to_customs(session, "ReleaseNotice", body, bills=[row.bill_no], correlation_id=row.id)


def record_discrepancy(session: Session, event: events.DiscrepancyFound) -> None:
    """Stored, a DiscrepancyNotice (JSON) to the manifest's sender, audited."""
    bill, kind, detail = event.bill_no, event.kind, event.detail
    session.add(ClrDiscrepancy(bill_no=bill, kind=kind, detail=detail, found_at=now()))
    consignment = session.get(ClrConsignment, bill)
    if consignment is not None and consignment.manifest_sender:
        outbound.send_json(
            session,
            consignment.manifest_sender,
            "DiscrepancyNotice",
            {"bill_no": bill, "kind": kind, **detail},
            bills=[bill],
        )
    audit.record(session, ACTOR, f"discrepancy.{kind}", "consignment", bill, detail)


def send_overdue_notice(session: Session, event: events.Late) -> None:
    """Only the sweep's overdue finding is announced; a complete declaration filed late is marked."""
    if not event.overdue:
        return
    row = session.get(ClrDeclaration, event.declaration_id)
    assert row is not None and event.due_at is not None
    body = deadline_body(row, event.due_at)
    outbound.send_json(
        session,
        row.broker_uscc,
        "CompleteDeclarationOverdue",
        body,
        bills=[row.bill_no],
        correlation_id=row.id,
    )
    audit.record(session, ACTOR, "declaration.overdue", "declaration", row.id, body)


Handler = Callable[[Session, Any], None]
# Every event type has an entry, empty when nothing outside the model needs to know (status changes
# of consignments and containers were never audited); a test checks none is forgotten.
HANDLERS: dict[type[events.Event], list[Handler]] = {
    events.DeclarationStateChanged: [audit_state_change],
    events.InspectionOrdered: [audit_inspection_ordered],
    events.Released: [send_release_notice],
    events.DiscrepancyFound: [record_discrepancy],
    events.Late: [send_overdue_notice],
    events.ConsignmentStatusChanged: [],
    events.ContainerReleased: [],
}


def handle(session: Session, happened: Iterable[events.Event]) -> None:
    for event in happened:
        for handler in HANDLERS[type(event)]:
            handler(session, event)
