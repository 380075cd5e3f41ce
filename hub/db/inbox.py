"""Idempotent consumers: the message id is recorded in the same transaction as the effects, so a
redelivered message (after a crash, a lost ack or a broker restart) has no second effect."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.bus.base import Delivery, Handler
from hub.clock import now
from hub.db.models import InboxMessage
from hub.db.session import Database

log = logging.getLogger(__name__)

SessionHandler = Callable[[Session, Delivery], None]


def already_processed(session: Session, consumer: str, message_id: str) -> bool:
    return (
        session.scalar(
            select(InboxMessage.message_id).where(
                InboxMessage.consumer == consumer, InboxMessage.message_id == message_id
            )
        )
        is not None
    )


def claim(session: Session, consumer: str, message_id: str) -> bool:
    """Record `message_id` as processed by `consumer` in the current transaction, in one round trip.

    False when it was already recorded (a duplicate). A concurrent claim of the same id waits for
    the other transaction and then sees the conflict, so only one of them can commit effects."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(InboxMessage)
        .values(consumer=consumer, message_id=message_id, processed_at=now())
        .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
        .returning(InboxMessage.message_id)  # rowcount is unreliable for INSERTs across drivers
    )
    # Core execution on the session's connection: same transaction, without the ORM bulk-insert path.
    return session.connection().execute(statement).scalar() is not None


def idempotent(db: Database, consumer: str, handler: SessionHandler) -> Handler:
    """Wrap `handler` so it runs once per message id, in one transaction with the inbox record.

    The bus acks only after this returns, i.e. after the commit."""

    def run(delivery: Delivery) -> None:
        with db.unit_of_work() as session:
            if not claim(session, consumer, delivery.envelope.message_id):
                log.info("%s: duplicate %s ignored", consumer, delivery.envelope.message_id)
                return
            handler(session, delivery)

    return run
