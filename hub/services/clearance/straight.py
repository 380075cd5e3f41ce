"""Straight-through intake: a message is applied in intake's own transaction when nothing of its
partition is on its way through the partition queue.

Routing every accepted message through its partition queue costs a second transaction, an outbox row,
a relay publish with its confirm, a delivery and an inbox record per message: a fifth of a worker's
CPU (py-spy) and a broker round trip of latency on every step of the flow. The queue is there for
order (one bill's messages applied in the order accepted) and for the hand-over of a dead worker's
work; when the partition has nothing in flight, applying the message at once keeps that order.

How it stays in order, on any number of workers:
- `clr_partition_flow` counts, per partition, the messages intake routed through the queue
  ("routed", counted in the routing transaction) and those the partition's consumers applied
  ("applied", counted in the applying transaction; a duplicate delivery applies nothing and counts
  nothing). Equal counts: everything routed has been applied and committed, nothing is on its way.
- AMQP intake (one consumer at a time: `swhub.clearance.ingress` is single-active-consumer) reads the
  counts once per batch and applies at once a message whose partition is caught up; once the batch has
  routed one message of a partition through the queue, the rest of that partition's messages in the
  batch go the same way, behind it.
- HTTP intake (a request is one transaction, answered at commit) always routes through the queue.
- A message the workflow dead-letters is not on its way either: the transaction that stores the dead
  letter counts it "dead" for its partition (routed = applied + dead: caught up again), and a replay
  counts it routed once more, in the replay's transaction, so the partition is behind until the
  replayed copy is applied (or dies again). Before this, a dead letter kept its partition on the
  queue path until it was replayed; one that could never be applied, for good. Dead letters stored
  before the "dead" count existed still do so until replayed and applied.
Routed, applied and dead are separate rows so intake, the partition consumers and the dead-letter
consumer never wait for each other.

Upgrading from a hub without it: let the workflow queues drain first (their messages were never
counted routed). `HUB_STRAIGHT_THROUGH=0` routes everything through the queues, as before."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.db.clearance_tables import ClrPartitionFlow
from hub.db.session import at_commit, on_postgresql
from hub.services.clearance.partitions import partition_in

ROUTED, APPLIED, DEAD = "routed", "applied", "dead"

# session.info keys, per transaction
_BEHIND = "clearance.straight.behind"  # partitions with something on its way (read once)
_QUEUED = "clearance.straight.queued"  # partitions this transaction routed through the queue
_COUNTS = "clearance.straight.counts"  # (side, partition) increments written at commit


def behind(session: Session) -> set[int]:
    """Partitions whose routed count is not their applied + dead count: something is on its way."""
    counts: dict[int, dict[str, int]] = {}
    for partition, side, count in session.execute(
        select(ClrPartitionFlow.partition, ClrPartitionFlow.side, ClrPartitionFlow.count)
    ):
        counts.setdefault(partition, {})[side] = count
    return {p for p, c in counts.items() if c.get(ROUTED, 0) != c.get(APPLIED, 0) + c.get(DEAD, 0)}


def may_apply_here(session: Session, partition: int) -> bool:
    """Whether intake may apply a message of `partition` in this transaction (see the module doc)."""
    if partition in session.info.get(_QUEUED, ()):
        return False
    lagging = session.info.get(_BEHIND)
    if lagging is None:
        lagging = session.info[_BEHIND] = behind(session)
    return partition not in lagging


def routed(session: Session, partition: int) -> None:
    """A message of `partition` was routed through its queue in this transaction."""
    session.info.setdefault(_QUEUED, set()).add(partition)
    at_commit(session, _COUNTS, _write).append((ROUTED, partition))


def applied(session: Session, routing_key: str) -> None:
    """The partition consumer applied a message delivered with `routing_key` in this transaction.
    A key without a partition (queued by a hub before partitions) was never counted routed."""
    partition = partition_in(routing_key)
    if partition is not None:
        at_commit(session, _COUNTS, _write).append((APPLIED, partition))


def dead(session: Session, partition: int) -> None:
    """A message routed to `partition` was dead-lettered from its queue (stored in this transaction)."""
    at_commit(session, _COUNTS, _write).append((DEAD, partition))


def replayed(session: Session, partition: int) -> None:
    """A dead letter of `partition` was put back on its queue in this transaction (not intake's)."""
    at_commit(session, _COUNTS, _write).append((ROUTED, partition))


def _write(session: Session, increments: list[tuple[str, int]]) -> None:
    """One upsert for the transaction's increments, in key order (two transactions that both count
    take the rows' locks in the same order)."""
    rows: list[dict[str, Any]] = [
        {"partition": partition, "side": side, "count": n}
        for (side, partition), n in sorted(Counter(increments).items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    insert = pg_insert if on_postgresql(session) else sqlite_insert
    table = ClrPartitionFlow.__table__
    statement = insert(table).values(rows)  # Core: no ORM bulk machinery
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["partition", "side"], set_={"count": table.c.count + statement.excluded.count}
        )
    )
