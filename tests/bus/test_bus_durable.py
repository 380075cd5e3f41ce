"""The embedded bus with its queues in the database: what a crash leaves queued or unacked is
resumed by the next bus on the same database, in order, its attempt count kept; acked copies are
gone from the table."""

from __future__ import annotations

from pathlib import Path

from bus_helpers import Recorder, wait_until
from sqlalchemy import func, select

from hub.bus.base import INBOUND_EXCHANGE, Delivery, Envelope, QueueSpec, Topology
from hub.bus.memory import InProcessBus
from hub.bus.queue_store import DatabaseStore
from hub.db.bus_queue_table import BusQueueRow
from hub.db.migrate import upgrade
from hub.db.session import Database

TOPOLOGY = Topology(queues=(QueueSpec("durable-q", ((INBOUND_EXCHANGE, "x.#"),), delivery_limit=5),))


def _rows(db: Database) -> int:
    with db.unit_of_work(notify=False) as session:
        return int(session.scalar(select(func.count()).select_from(BusQueueRow)) or 0)


def _durable_bus(tmp_path: Path, n: int) -> tuple[Database, InProcessBus]:
    """A migrated SQLite database, an in-process bus storing its queues there, `n` messages queued."""
    url = f"sqlite:///{tmp_path / 'bus.db'}"
    upgrade(url)
    db = Database(url)
    bus = InProcessBus(DatabaseStore(db))
    bus.declare(TOPOLOGY)
    bus.publish_many(INBOUND_EXCHANGE, [Envelope(f"<{i}/>".encode(), "x.m", f"m{i}") for i in range(n)])
    return db, bus


def test_queued_and_unacked_copies_survive_a_crash(tmp_path: Path) -> None:
    db, first = _durable_bus(tmp_path, 5)
    stuck = Recorder(lambda d: wait_until(lambda: False, timeout=2))  # m0 in flight at the "crash"
    consumer = first.consume("durable-q", stuck, prefetch=1)
    assert wait_until(lambda: stuck.count() == 1)
    assert _rows(db) == 5
    consumer.abort()  # the crash: m0 handed back unacked (one return), nothing acked
    first.close()
    # A new process on the same database (the old bus's memory is gone).
    second = InProcessBus()
    second.declare(TOPOLOGY)
    seen: list[Delivery] = []
    second.attach_store(DatabaseStore(db))
    second.consume("durable-q", seen.append)
    assert wait_until(lambda: len(seen) == 5)
    assert [d.envelope.message_id for d in seen] == [f"m{i}" for i in range(5)]
    assert seen[0].redelivered and seen[0].attempt == 2 and seen[1].attempt == 1
    assert wait_until(lambda: _rows(db) == 0), "acked copies must leave the table"
    second.close()
    db.dispose()


def test_a_batch_consumer_removes_its_acked_copies_in_one_write(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from hub.bus.base import Batching

    db, bus = _durable_bus(tmp_path, 6)
    deletes: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        done: list[int] = []
        consumer = bus.consume_batch(
            "durable-q", lambda batch: done.append(len(batch)) or [None] * len(batch), Batching(6, 1.0)
        )
        assert wait_until(lambda: _rows(db) == 0), "acked copies must leave the table"
        consumer.stop()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
        bus.close()
    assert done == [6] and len(deletes) == 1, (done, deletes)
