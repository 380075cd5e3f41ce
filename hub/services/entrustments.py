"""Electronic agency entrustments (代理报关委托): which broker may declare for which consignee."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db.models import Entrustment


def entrusted(session: Session, consignee: str, broker: str) -> bool:
    return (
        session.scalar(
            select(Entrustment.id).where(
                Entrustment.consignee_uscc == consignee, Entrustment.broker_uscc == broker
            )
        )
        is not None
    )


def register(session: Session, consignee: str, broker: str, created_by: str) -> Entrustment:
    """Idempotent: registering the same pair again returns the existing entrustment."""
    row = session.scalar(
        select(Entrustment).where(Entrustment.consignee_uscc == consignee, Entrustment.broker_uscc == broker)
    )
    if row is None:
        row = Entrustment(
            consignee_uscc=consignee, broker_uscc=broker, created_by=created_by, created_at=now()
        )
        session.add(row)
        session.flush()
    return row


def listing(session: Session, party: str | None) -> list[Entrustment]:
    """Every entrustment (party None: admin) or those the party is consignee or broker of."""
    query = select(Entrustment).order_by(Entrustment.id)
    if party is not None:
        query = query.where((Entrustment.consignee_uscc == party) | (Entrustment.broker_uscc == party))
    return list(session.scalars(query))


def as_json(row: Entrustment) -> dict[str, object]:
    return {
        "id": row.id,
        "consignee": row.consignee_uscc,
        "broker": row.broker_uscc,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }
