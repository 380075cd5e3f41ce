"""Idempotent consumers: the message id is recorded in the same transaction as the effects, so a
redelivered message (after a crash, a lost ack or a broker restart) has no second effect."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass(eq=False)
class _Pending:
    delivery: Delivery
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommit:
    """A bus Handler that applies deliveries in shared transactions (group commit).

    The bus's handler threads hand their delivery over and wait; one committer thread applies up to
    `max_batch` waiting deliveries in ONE transaction (inbox claim + effects each), commits, and only
    then releases the waiting threads, which return so the bus acks. So the rule "nothing is acked
    before its effects are committed" holds, while the commit cost is shared. If any handler of a
    batch raises, the batch is rolled back and every delivery of it is applied again in its own
    transaction, so one bad message cannot take others down with it. Handlers run one at a time on
    the committer thread: use this for handlers that only touch the database."""

    def __init__(self, db: Database, consumer: str, handler: SessionHandler, max_batch: int = 64) -> None:
        self.db = db
        self.consumer = consumer
        self.handler = handler
        self.max_batch = max_batch
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._single = idempotent(db, consumer, handler)
        threading.Thread(target=self._run, name=f"group-commit-{consumer}", daemon=True).start()

    def __call__(self, delivery: Delivery) -> None:
        pending = _Pending(delivery)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.get()]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            try:
                with self.db.unit_of_work() as session:
                    for pending in batch:
                        if claim(session, self.consumer, pending.delivery.envelope.message_id):
                            self.handler(session, pending.delivery)
            except Exception:
                for pending in batch:  # isolate the failure: each on its own
                    try:
                        self._single(pending.delivery)
                    except Exception as exc:
                        pending.error = exc
            for pending in batch:
                pending.done.set()
