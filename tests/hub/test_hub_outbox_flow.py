"""Outbox -> relay -> bus -> consumer -> inbox, on both buses and both databases: every message
has exactly one effect, also when the relay publishes a message twice or a handler fails once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.bus.base import Bus, Delivery, QueueSpec, Topology
from hub.db import audit
from hub.db.inbox import GroupCommit, idempotent
from hub.db.models import AuditEntry, OutboxMessage
from hub.db.outbox import OutboxRelay, enqueue
from hub.db.session import Database
from tests.hub.hubfixtures import recorded


@pytest.fixture(params=["in-process", "rabbitmq"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    if request.param == "in-process":
        from hub.bus.memory import InProcessBus

        instance: Bus = InProcessBus()
    else:
        from hub.bus.rabbitmq import RabbitBus

        instance = RabbitBus(request.getfixturevalue("amqp_url"))
    yield instance
    instance.close()


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def effects(db: Database, action: str) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == action)))


@pytest.mark.parametrize("commit", ["per-message", "group"])
def test_each_message_has_exactly_one_effect(bus: Bus, db: Database, commit: str) -> None:
    exchange = f"swhub.test.{uuid.uuid4().hex[:8]}"
    queue = QueueSpec(name=f"{exchange}.q", bindings=((exchange, "notice.#"),), delivery_limit=5)
    bus.declare(Topology(exchanges=(exchange,), queues=(queue,)))
    action = f"effect-{uuid.uuid4().hex[:6]}"
    failed_once: set[str] = set()

    def handle(session: Session, delivery: Delivery) -> None:
        audit.record(session, "consumer", action, "message", delivery.envelope.message_id)
        # Fail the first attempt of messages 7, 17, ... 57 after writing: the rollback must undo it.
        if delivery.envelope.body.endswith(b"7") and delivery.envelope.message_id not in failed_once:
            failed_once.add(delivery.envelope.message_id)
            raise RuntimeError("transient failure after the effect was written")

    wrap = idempotent if commit == "per-message" else GroupCommit
    consumer = bus.consume(queue.name, wrap(db, f"test-{action}", handle), prefetch=20, workers=4)
    ids = []
    with db.unit_of_work() as session:
        for i in range(60):
            ids.append(enqueue(session, exchange, f"notice.{i}", f"body {i}".encode()).message_id)
    relay = OutboxRelay(db, bus)
    assert relay.drain() == 60
    # Simulate a relay crash after the broker confirmed but before rows were marked sent:
    with db.unit_of_work() as session:
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id % 3 == 0).values(sent_at=None))
    assert relay.drain() == 20  # re-published: the consumers see duplicates
    try:
        assert wait_for(lambda: len(effects(db, action)) >= 60 and len(failed_once) == 6)
        time.sleep(0.5)  # let duplicates arrive, they must not add effects
        done = effects(db, action)
        assert sorted(done) == sorted(ids), "every message applied exactly once"
    finally:
        consumer.stop()


def test_unroutable_outbox_message_is_kept_with_its_error_and_does_not_block_others(
    bus: Bus, db: Database
) -> None:
    exchange = f"swhub.test.{uuid.uuid4().hex[:8]}"
    queue = QueueSpec(name=f"{exchange}.q", bindings=((exchange, "ok.*"),))
    bus.declare(Topology(exchanges=(exchange,), queues=(queue,)))
    with db.unit_of_work() as session:
        enqueue(session, exchange, "nobody.listens", b"lost?")
        enqueue(session, exchange, "ok.1", b"fine")
    relay = OutboxRelay(db, bus)
    assert relay.relay_once() == 1
    with db.sessions() as session:
        stuck = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    assert stuck is not None and stuck.routing_key == "nobody.listens"
    assert stuck.attempts == 1 and "Unroutable" in (stuck.last_error or "")
    assert wait_for(lambda: bus.queue_depth(queue.name) == 1, 10)


def test_an_idle_relay_polls_at_its_interval_and_wakes_on_a_commit(bus: Bus, db: Database) -> None:
    """The relay's own (empty) transactions must not wake it: an idle hub once queried its outbox in a
    tight loop, one core busy and the hub's other threads starved."""
    exchange = f"swhub.test.{uuid.uuid4().hex[:8]}"
    queue = QueueSpec(name=f"{exchange}.q", bindings=((exchange, "#"),))
    bus.declare(Topology(exchanges=(exchange,), queues=(queue,)))
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "outbox" in statement.lower():
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    relay = OutboxRelay(db, bus, poll_seconds=0.5)
    relay.start()
    try:
        time.sleep(2.0)
        idle_queries = len(statements)
        assert idle_queries <= 10, f"{idle_queries} outbox queries in 2 s of idling (poll every 0.5 s)"
        with db.unit_of_work() as session:  # a commit wakes the relay at once, not at the next poll
            enqueue(session, exchange, "wake.up", b"now")
        assert wait_for(lambda: bus.queue_depth(queue.name) == 1, 0.4)
    finally:
        relay.stop()
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_an_unroutable_copy_does_not_stall_the_rest_of_the_batch_on_the_durable_bus(db: Database) -> None:
    """The embedded default stores queued copies in the hub's own database. Recording why a copy was
    not delivered used to take the write lock in the middle of the batch; publishing the next group
    then waited on that lock from the store's connection (SQLite) until the 30 s busy timeout."""
    from hub.bus.memory import InProcessBus
    from hub.bus.queue_store import DatabaseStore

    bus = InProcessBus()
    bus.attach_store(DatabaseStore(db))
    first, second = (f"swhub.test.{uuid.uuid4().hex[:8]}" for _ in range(2))
    queue = QueueSpec(name=f"{second}.q", bindings=((second, "ok.*"),))
    bus.declare(Topology(exchanges=(first, second), queues=(queue,)))
    try:
        with db.unit_of_work() as session:
            enqueue(session, first, "nobody.listens", b"lost?")  # first group: unroutable
            enqueue(session, second, "ok.1", b"fine")  # second group: stored by the bus
        started = time.monotonic()
        assert OutboxRelay(db, bus).relay_once() == 1
        assert time.monotonic() - started < 5, "the relay waited on its own write lock"
        assert bus.queue_depth(queue.name) == 1
        with db.sessions() as session:
            stuck = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
        assert stuck is not None and "Unroutable" in (stuck.last_error or "")
    finally:
        bus.close()


def test_a_batch_writes_its_outbox_rows_in_one_insert_at_commit_in_call_order(db: Database) -> None:
    """Issue 13: in a batch transaction enqueue() adds no ORM object for the flush to write one by
    one; the rows go out in one multi-row INSERT just before commit, their ids in the order enqueue()
    was called (the relay publishes in id order), and a rolled-back batch writes none."""
    prefix = f"batch.{uuid.uuid4().hex[:8]}"
    with recorded(db.engine) as statements:
        with db.unit_of_work(batch=True) as session:
            for i in range(5):
                assert (
                    enqueue(session, "swhub.test", f"{prefix}.{i}", b"x", message_id=f"{prefix}-{i}") is None
                )
            audit.record(session, "test", "outbox.batch", "message", prefix)
            session.flush()  # the batch's ORM rows flushed mid-transaction: outbox rows still wait
            before_commit = [s for s in statements if "outbox" in s]
        with pytest.raises(RuntimeError), db.unit_of_work(batch=True) as session:
            enqueue(session, "swhub.test", f"{prefix}.lost", b"x", message_id=f"{prefix}-lost")
            raise RuntimeError("the batch fails")
    assert before_commit == []
    assert len([s for s in statements if s.startswith("INSERT INTO outbox")]) == 1, statements
    with db.sessions() as session:
        keys = session.scalars(
            sa.select(OutboxMessage.routing_key)
            .where(OutboxMessage.routing_key.like(f"{prefix}.%"))
            .order_by(OutboxMessage.id)
        ).all()
    assert keys == [f"{prefix}.{i}" for i in range(5)]
