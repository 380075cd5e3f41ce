"""Where the in-process bus keeps its queued deliveries.

`MemoryStore` keeps nothing (tests, a throwaway bus); `DatabaseStore` writes every queued copy to
the hub's database before publish returns and deletes it on ack, so the embedded default survives
a SIGKILL: on the next start, declaring a queue loads what was left in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from hub.bus.base import Envelope
from hub.db.bus_queue_table import BusQueueRow
from hub.db.session import Database


@dataclass(frozen=True, slots=True)
class StoredCopy:
    row_id: int
    exchange: str
    envelope: Envelope
    returns: int


class QueueStore:
    """The no-op store: queues live in memory only."""

    durable = False

    def add(self, copies: Sequence[tuple[str, str, Envelope]]) -> list[int | None]:
        """Persist (queue, exchange, envelope) copies; returns one row id per copy."""
        return [None] * len(copies)

    def returned(self, row_id: int | None, returns: int) -> None:
        """A copy went back to its queue unacked `returns` times in all."""

    def remove(self, row_id: int | None) -> None:
        """A copy was acked, dead-lettered or dropped."""

    def remove_many(self, row_ids: Sequence[int | None]) -> None:
        """Several copies acked together (a batch consumer's): one write instead of one each."""
        for row_id in row_ids:
            self.remove(row_id)

    def load(self, queue: str) -> list[StoredCopy]:
        return []


class DatabaseStore(QueueStore):
    durable = True

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, copies: Sequence[tuple[str, str, Envelope]]) -> list[int | None]:
        if not copies:
            return []
        # notify=False: the bus's own writes must not wake the outbox relay (idle-CPU rule).
        with self.db.unit_of_work(notify=False) as session:
            rows = [
                BusQueueRow(
                    queue=queue,
                    exchange=exchange,
                    routing_key=env.routing_key,
                    message_id=env.message_id,
                    body=env.body,
                    headers=dict(env.headers),
                    content_type=env.content_type,
                    correlation_id=env.correlation_id,
                    returns=0,
                )
                for queue, exchange, env in copies
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def returned(self, row_id: int | None, returns: int) -> None:
        if row_id is None:
            return
        with self.db.unit_of_work(notify=False) as session:
            session.execute(update(BusQueueRow).where(BusQueueRow.id == row_id).values(returns=returns))

    def remove(self, row_id: int | None) -> None:
        if row_id is None:
            return
        with self.db.unit_of_work(notify=False) as session:
            session.execute(delete(BusQueueRow).where(BusQueueRow.id == row_id))

    def remove_many(self, row_ids: Sequence[int | None]) -> None:
        ids = [row_id for row_id in row_ids if row_id is not None]
        if ids:
            with self.db.unit_of_work(notify=False) as session:
                session.execute(delete(BusQueueRow).where(BusQueueRow.id.in_(ids)))

    def load(self, queue: str) -> list[StoredCopy]:
        with self.db.unit_of_work(notify=False) as session:
            rows = session.scalars(
                select(BusQueueRow).where(BusQueueRow.queue == queue).order_by(BusQueueRow.id)
            )
            return [
                StoredCopy(
                    row.id,
                    row.exchange,
                    Envelope(
                        body=row.body,
                        routing_key=row.routing_key,
                        message_id=row.message_id,
                        headers=dict(row.headers or {}),
                        content_type=row.content_type,
                        correlation_id=row.correlation_id,
                    ),
                    row.returns,
                )
                for row in rows
            ]
