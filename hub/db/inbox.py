"""Idempotent consumers: the message id is recorded in the same transaction as the effects, so a
redelivered message (after a crash, a lost ack or a broker restart) has no second effect."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.bus.base import BatchHandler, Delivery, Handler, one_by_one
from hub.clock import now
from hub.db.among import among
from hub.db.batch import BatchFailed, isolating
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


def processed_among(session: Session, consumer: str, message_ids: Sequence[str]) -> set[str]:
    """Which of `message_ids` `consumer` has processed already: one query for a whole batch."""
    return set(
        session.scalars(
            select(InboxMessage.message_id).where(
                InboxMessage.consumer == consumer, among(session, InboxMessage.message_id, message_ids)
            )
        )
    )


def record_processed(session: Session, consumer: str, message_ids: Sequence[str]) -> None:
    """Record `message_ids` as processed by `consumer` in the current transaction: one multi-row
    insert (a plain one: an id recorded by another transaction first fails the commit)."""
    if message_ids:
        stamp = now()
        session.connection().execute(
            insert(InboxMessage.__table__),
            [{"consumer": consumer, "message_id": m, "processed_at": stamp} for m in message_ids],
        )


def idempotent_batch(
    db: Database,
    consumer: str,
    handler: SessionHandler,
    prefetch: Callable[[Session, Sequence[Delivery]], None] | None = None,
) -> BatchHandler:
    """`idempotent` for a batch of deliveries: ONE transaction, one dedupe query and one multi-row
    inbox insert for the whole batch, the handler applied to each new delivery in queue order.
    `prefetch` reads, before the handler runs, what the batch's new deliveries will look up.
    A failing delivery is isolated (hub/db/batch.py); if the commit fails (e.g. another worker
    recorded one of the ids first: the plain insert conflicts), each is applied on its own."""

    def apply_all(deliveries: Sequence[Delivery]) -> None:
        with db.unit_of_work(batch=True) as session:
            done = processed_among(session, consumer, [d.envelope.message_id for d in deliveries])
            if prefetch is not None:
                prefetch(session, [d for d in deliveries if d.envelope.message_id not in done])
            fresh: list[str] = []
            for index, delivery in enumerate(deliveries):
                message_id = delivery.envelope.message_id
                if message_id in done:
                    log.info("%s: duplicate %s ignored", consumer, message_id)
                    continue
                try:
                    handler(session, delivery)
                except Exception as exc:
                    raise BatchFailed(index, exc) from exc
                done.add(message_id)
                fresh.append(message_id)
            record_processed(session, consumer, fresh)

    return isolating(apply_all, one_by_one(idempotent(db, consumer, handler)))


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
