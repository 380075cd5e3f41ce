"""Idempotent consumers: the message id is recorded in the same transaction as the effects, so a
redelivered message (after a crash, a lost ack or a broker restart) has no second effect."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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


def idempotent(db: Database, consumer: str, handler: SessionHandler) -> Handler:
    """Wrap `handler` so it runs once per message id, in one transaction with the inbox record.

    The bus acks only after this returns, i.e. after the commit."""

    def run(delivery: Delivery) -> None:
        message_id = delivery.envelope.message_id
        try:
            with db.unit_of_work() as session:
                if already_processed(session, consumer, message_id):
                    log.info("%s: duplicate %s ignored", consumer, message_id)
                    return
                session.add(InboxMessage(consumer=consumer, message_id=message_id, processed_at=now()))
                session.flush()  # claim the id first: a concurrent duplicate fails here
                handler(session, delivery)
        except IntegrityError:
            # A concurrent delivery of the same id committed first: its effect stands, ours is void.
            with db.unit_of_work() as session:
                if already_processed(session, consumer, message_id):
                    return
            raise

    return run
