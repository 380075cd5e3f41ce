"""Several workers each run an outbox relay on one PostgreSQL database (issue 13 item 4): they take
turns, so the rows reach the broker in the order they were committed. Before, each relay took its own
batch (FOR UPDATE SKIP LOCKED) and published it beside the other's: a later batch could land first,
and one bill's messages overtook each other on the way to its partition queue.

A relay refused the turn tries again within TURN_RETRY_SECONDS, not after its poll: the holder read
its batch before this process's rows were committed, and only its own process's commits wake it.
Before, those rows waited a whole poll (0.5 s) with several workers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable

import pytest
import sqlalchemy as sa

from hub.bus.base import INBOUND_EXCHANGE, Envelope, QueueSpec, Topology
from hub.bus.memory import InProcessBus
from hub.db.migrate import upgrade
from hub.db.models import OutboxMessage
from hub.db.outbox import OutboxRelay, enqueue
from hub.db.session import Database
from hub.db.turns import turn_key
from tests.hub_clearance.clrfixtures import fresh_postgres

pytestmark = pytest.mark.timeout(120)


class SlowBus(InProcessBus):
    """A broker whose confirms take a while, so two relays' batches overlap in time."""

    def publish_many(self, exchange: str, envelopes: Iterable[Envelope], timeout: float = 30.0) -> None:
        envelopes = list(envelopes)
        time.sleep(0.05)
        super().publish_many(exchange, envelopes, timeout)


def test_two_relays_publish_in_commit_order() -> None:
    with fresh_postgres() as url:
        upgrade(url)
        db = Database(url)
        bus = SlowBus()
        bus.declare(Topology(queues=(QueueSpec("ordered", ((INBOUND_EXCHANGE, "#"),)),)))
        try:
            with db.unit_of_work() as session:
                for i in range(300):
                    enqueue(session, INBOUND_EXCHANGE, "clearance.x", b"", message_id=f"m{i:04d}")
            relays = [OutboxRelay(db, bus, batch=25), OutboxRelay(db, bus, batch=25)]
            threads = [threading.Thread(target=relay.drain, args=(60.0,)) for relay in relays]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(90)
            received: list[str] = []
            consumer = bus.consume("ordered", lambda d: received.append(d.envelope.message_id))
            deadline = time.monotonic() + 10
            while len(received) < 300 and time.monotonic() < deadline:
                time.sleep(0.05)
            consumer.stop()
        finally:
            bus.close()
            db.dispose()
    assert len(received) == 300
    assert received == sorted(received)


def test_a_relay_refused_the_turn_publishes_soon_after_the_holder_is_done(pg_url: str) -> None:
    upgrade(pg_url)
    db = Database(pg_url)
    bus = InProcessBus()
    exchange = f"swhub.test.{uuid.uuid4().hex[:8]}"
    bus.declare(Topology(exchanges=(exchange,), queues=(QueueSpec(f"{exchange}.q", ((exchange, "#"),)),)))
    relay = OutboxRelay(db, bus, poll_seconds=5.0)  # a poll far longer than the retry: it would show
    other_process = sa.create_engine(pg_url)  # its commits do not wake this process's relay
    holder = other_process.connect()  # another worker's relay, mid-batch: it holds the turn
    held = holder.begin()
    holder.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": turn_key("outbox-relay")})
    message_id = f"turn-{uuid.uuid4().hex[:8]}"

    def refused(at_least: int) -> None:
        deadline = time.monotonic() + 10
        while relay.turns_refused < at_least and time.monotonic() < deadline:
            time.sleep(0.005)
        assert relay.turns_refused >= at_least

    relay.start()
    try:
        refused(1)  # its first round at start
        before = relay.turns_refused
        with db.unit_of_work() as session:  # this process's commit wakes its relay: refused again
            enqueue(session, exchange, "notice.x", b"<x/>", message_id=message_id)
        refused(before + 1)

        held.commit()  # the holder's batch is done
        released = time.monotonic()

        def sent() -> bool:
            with db.sessions() as session:
                query = sa.select(OutboxMessage.sent_at).where(OutboxMessage.message_id == message_id)
                return session.scalar(query) is not None

        published = sent()
        while not published and time.monotonic() - released < 10:
            time.sleep(0.01)
            published = sent()
        waited = time.monotonic() - released
    finally:
        relay.stop()
        holder.close()
        other_process.dispose()
        bus.close()
        db.dispose()
    assert published, "never published"
    assert waited < 2.0, f"published {waited:.2f} s after the turn was free (the poll is 5 s)"
