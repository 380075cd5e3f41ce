"""Several workers each run an outbox relay on one PostgreSQL database (issue 13 item 4): they take
turns, so the rows reach the broker in the order they were committed. Before, each relay took its own
batch (FOR UPDATE SKIP LOCKED) and published it beside the other's: a later batch could land first,
and one bill's messages overtook each other on the way to its partition queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import pytest

from hub.bus.base import INBOUND_EXCHANGE, Envelope, QueueSpec, Topology
from hub.bus.memory import InProcessBus
from hub.db.migrate import upgrade
from hub.db.outbox import OutboxRelay, enqueue
from hub.db.session import Database
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
