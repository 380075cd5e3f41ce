"""Read models of the clearance workflow: timeline of a bill, declaration view, parked messages,
each filtered to what the caller may see (brokers: their own declarations; port operators: their
terminal's consignments; customs/admin: everything)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.clock import SHANGHAI
from hub.db.clearance_tables import ClrConsignment, ClrContainer, ClrDeclaration, ClrDiscrepancy, ClrParked
from hub.db.models import Message, MessageRef, Party
from hub.services.clearance import repository
from hub.services.clearance.holds import hold_view
from hub.services.clearance.workflow import aware
from hub.services.parties import Principal

SEES_ALL = ("admin", "customs")


def _iso(value: Any) -> str | None:
    value = aware(value)
    return value.astimezone(SHANGHAI).isoformat() if value is not None else None


def terminal_of(session: Session, principal: Principal) -> str | None:
    party = session.get(Party, principal.party_id)
    return party.terminal_code if party else None


def may_see_consignment(
    session: Session, principal: Principal, consignment: ClrConsignment | None, bill_no: str
) -> bool:
    if principal.has(*SEES_ALL):
        return True
    if consignment is not None:
        if consignment.manifest_sender == principal.uscc:
            return True
        if (
            principal.has("port_operator")
            and consignment.terminal_code
            and (consignment.terminal_code == terminal_of(session, principal))
        ):
            return True
    return (
        session.scalar(
            select(ClrDeclaration.id)
            .where(ClrDeclaration.bill_no == bill_no, ClrDeclaration.broker_uscc == principal.uscc)
            .limit(1)
        )
        is not None
    )


def _linked(session: Session, principal: Principal, bill_no: str) -> bool:
    return (
        session.scalar(
            select(ClrDeclaration.id)
            .where(
                ClrDeclaration.bill_no == bill_no,
                ClrDeclaration.broker_uscc == principal.uscc,
                ClrDeclaration.state != "rejected",
            )
            .limit(1)
        )
        is not None
    )


def container_state(row: ClrContainer) -> str:
    """awaited / arrived / released / gated_out (the domain's derived container state)."""
    return repository.container(row).state.value


def timeline(session: Session, principal: Principal, bill_no: str) -> dict[str, Any] | None:
    consignment = session.get(ClrConsignment, bill_no)
    if not may_see_consignment(session, principal, consignment, bill_no):
        return None
    full = principal.has(*SEES_ALL) or (
        consignment is not None
        and (consignment.manifest_sender == principal.uscc or principal.has("port_operator"))
    )
    ids = select(MessageRef.message_id).where(MessageRef.kind == "bill", MessageRef.value == bill_no)
    query = select(Message).where(or_(Message.bill_no == bill_no, Message.id.in_(ids)))
    if not full:  # a broker sees only what it sent or received
        query = query.where(or_(Message.sender == principal.uscc, Message.receiver == principal.uscc))
    messages = list(session.scalars(query.order_by(Message.received_at, Message.id)))
    # A broker linked to the bill (a declaration of its own, not refused) sees the containers; one
    # whose declarations were all refused sees only the clearance status. No broker sees the owner.
    linked = full or _linked(session, principal, bill_no)
    containers = (
        list(session.scalars(select(ClrContainer).where(ClrContainer.bill_no == bill_no))) if linked else []
    )
    return {
        "bill_no": bill_no,
        "consignment": None
        if consignment is None
        else {"status": consignment.status}
        if not linked
        else {
            "status": consignment.status,
            "voyage_no": consignment.voyage_no,
            "vessel": consignment.vessel,
            "terminal_code": consignment.terminal_code,
            **({"manifest_sender": consignment.manifest_sender} if full else {}),
            "entry_at": _iso(consignment.entry_at),
            "first_arrival_at": _iso(consignment.first_arrival_at),
            "destination_site": consignment.destination_site,
            "reconciled_at": _iso(consignment.reconciled_at),
            "discharge_reconciled_at": _iso(consignment.discharge_reconciled_at),
        },
        "containers": [
            {
                "container_no": c.container_no,
                "listed": c.listed,
                "arrived_at": _iso(c.arrived_at),
                "arrival_site": c.arrival_site,
                "tallied_at": _iso(c.tallied_at),
                "tally_packages": c.tally_packages,
                "tally_gross_kg": None if c.tally_gross_kg is None else str(c.tally_gross_kg),
                "released_at": _iso(c.released_at),
                # the terminal's gate-out report (CODECO 36); before released_at = a discrepancy
                "gated_out_at": _iso(c.gated_out_at),
                "gate_out_site": c.gate_out_site,
                "state": container_state(c),
            }
            for c in sorted(containers, key=lambda c: c.container_no)
        ],
        # Port operators and the manifest owner see the clearance state of the bill's declarations
        # (what the yard acts on), never who declared; brokers see their own via /declarations.
        "declarations": _declaration_states(session, bill_no) if full else [],
        "discrepancies": [
            {"kind": d.kind, "detail": d.detail, "found_at": _iso(d.found_at)}
            for d in session.scalars(select(ClrDiscrepancy).where(ClrDiscrepancy.bill_no == bill_no))
        ]
        if full
        else [],
        "events": [
            {
                "at": _iso(m.received_at),
                "direction": m.direction,
                "message_type": m.message_type,
                "format": m.format,
                "channel": m.channel,
                "status": m.status,
                "sender": m.sender,
                "receiver": m.receiver,
                "message_id": m.id,
                "external_id": m.external_id,
                "container_no": m.container_no,
                "error": m.error,
                "raw_url": f"/api/v1/messages/{m.id}/raw",
            }
            for m in messages
        ],
    }


_INSPECTION_SHOWN = ("instruction", "location", "result", "result_at")


def _declaration_states(session: Session, bill_no: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ClrDeclaration).where(ClrDeclaration.bill_no == bill_no).order_by(ClrDeclaration.created_at)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "state": row.state,
            "bill_no": row.bill_no,
            "entry_id": row.entry_id,
            "inspection": {k: v for k, v in (row.inspection or {}).items() if k in _INSPECTION_SHOWN} or None,
            "released_at": _iso(row.released_at),
            "cleared_at": _iso(row.cleared_at),
        }
        for row in rows
    ]


NOT_WIRED = (
    "waiting: no customs system is wired, so nothing takes the DecMessage the hub queued for customs "
    "(set HUB_CLEARANCE_CUSTOMS_URL to a customs system, start `swhub serve` with its customs simulator, "
    "or consume customs.# on swhub.notices); it is sent as soon as one is"
)


def waiting(session: Session, row: ClrDeclaration) -> str | None:
    """Why a declaration filed with customs has no answer yet, from its copy to customs: still
    `queued` (no one took it) says so plainly instead of letting `submitted` look like progress."""
    if row.state != "submitted":
        return None
    copy = session.scalars(
        select(Message)
        .where(
            Message.correlation_id == row.id,
            Message.direction == "out",
            Message.receiver == "customs",
            Message.message_type == "DecMessage",
        )
        .order_by(Message.received_at.desc())
        .limit(1)
    ).first()
    if copy is None:
        return None
    if copy.status == "queued":
        if copy.error and "UnroutableError" in copy.error:
            return NOT_WIRED
        why = (copy.error or "in the outbox").removeprefix("not delivered yet: ")
        return f"waiting: the DecMessage for customs is not delivered yet ({why})"
    return "waiting for customs: " + (
        "registration (DEC_DATA with its EntryId)" if not row.entry_id else "its decision (DEC_DATA)"
    )


def declaration_view(row: ClrDeclaration, session: Session | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "broker_uscc": row.broker_uscc,
        "client_seq_no": row.client_seq_no,
        "bill_no": row.bill_no,
        "seq_no": row.seq_no,
        "entry_id": row.entry_id,
        "summary_id": row.summary_id,
        "completed_by": row.completed_by,
        "deadlines": {
            "complete_declaration_due": _iso(row.due_at),
            "rule": row.due_rule,
            "reminded_at": _iso(row.reminded_at),
            "late": row.late,
        },
        "screening": row.screening,
        "inspection": row.inspection,
        "hold": hold_view(row),  # stage-2 hold (lab test, documents...): open until customs reports
        "reasons": row.reasons or [],
        "waiting": waiting(session, row) if session is not None else None,
        "released_at": _iso(row.released_at),
        "cleared_at": _iso(row.cleared_at),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "raw_url": f"/api/v1/messages/{row.message_id}/raw",
    }


def visible_declaration(session: Session, principal: Principal, declaration_id: str) -> ClrDeclaration | None:
    row = session.get(ClrDeclaration, declaration_id)
    if row is None:
        return None
    if principal.has(*SEES_ALL) or row.broker_uscc == principal.uscc:
        return row
    if principal.has("port_operator"):
        consignment = session.get(ClrConsignment, row.bill_no)
        if consignment is not None and consignment.terminal_code == terminal_of(session, principal):
            return row
    return None


def declarations(
    session: Session, principal: Principal, state: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(ClrDeclaration).order_by(ClrDeclaration.created_at.desc()).limit(limit)
    if not principal.has(*SEES_ALL):
        query = query.where(ClrDeclaration.broker_uscc == principal.uscc)
    if state:
        query = query.where(ClrDeclaration.state == state)
    return [declaration_view(r, session) for r in session.scalars(query)]


def parked(session: Session, principal: Principal, include_resolved: bool) -> list[dict[str, Any]]:
    query = (
        select(ClrParked, Message).join(Message, Message.id == ClrParked.message_id).order_by(ClrParked.id)
    )
    if not include_resolved:
        query = query.where(ClrParked.resolved_at.is_(None))
    if not principal.has(*SEES_ALL):
        query = query.where(Message.sender == principal.uscc)
    return [
        {
            "bill_no": p.bill_no,
            "message_id": p.message_id,
            "message_type": p.message_type,
            "reason": p.reason,
            "parked_at": _iso(p.parked_at),
            "resolved_at": _iso(p.resolved_at),
            "sender": m.sender,
            "waiting_for": p.wait_key or f"manifest of bill {p.bill_no}",
            "resolution": p.resolution,
        }
        for p, m in session.execute(query)
    ]
