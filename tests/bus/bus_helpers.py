"""Helpers shared by the bus tests: unique names, a recording handler, waiting, broker cleanup."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pika

from hub.bus.base import DEAD_LETTER_EXCHANGE, Bus, Delivery, Envelope, QueueSpec, Topology


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Recorder:
    """A handler that records deliveries; `behaviour` decides what it does with each one."""

    def __init__(self, behaviour: Callable[[Delivery], None] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._behaviour = behaviour

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
        if self._behaviour is not None:
            self._behaviour(delivery)

    def count(self) -> int:
        with self._lock:
            return len(self.deliveries)

    def ids(self) -> list[str]:
        with self._lock:
            return [d.envelope.message_id for d in self.deliveries]


class Names:
    """Unique exchange/queue names for one test, and a dead-letter tap for its own messages.

    The dead-letter queue is shared by everyone on the broker, so tests do not consume it; every
    test routes its messages under its own prefix and binds a private tap queue to the dead-letter
    exchange with that prefix."""

    def __init__(self) -> None:
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self.exchange = f"{self.prefix}.inbound"
        self.notices = f"{self.prefix}.notices"
        self.dead_tap = f"{self.prefix}.dead-tap"

    def key(self, rest: str) -> str:
        return f"{self.prefix}.{rest}"

    def queue(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def topology(self, *queues: QueueSpec) -> Topology:
        tap = QueueSpec(self.dead_tap, ((DEAD_LETTER_EXCHANGE, f"{self.prefix}.#"),), dead_letter=False)
        return Topology(exchanges=(self.exchange, self.notices), queues=(*queues, tap))


def envelope(message_id: str, routing_key: str, body: bytes | None = None, **headers: object) -> Envelope:
    return Envelope(
        body=body if body is not None else f"body of {message_id}".encode(),
        routing_key=routing_key,
        message_id=message_id,
        headers=dict(headers),
        content_type="application/xml",
        correlation_id=f"corr-{message_id}",
    )


def drain(bus: Bus, queue: str, expected: int, timeout: float = 10.0) -> Recorder:
    """Consume `queue` until `expected` deliveries arrived, then stop."""
    recorder = Recorder()
    consumer = bus.consume(queue, recorder, prefetch=10)
    try:
        wait_until(lambda: recorder.count() >= expected, timeout)
    finally:
        consumer.stop()
    return recorder


@contextmanager
def broker_cleanup(amqp_url: str, names: Names) -> Iterator[list[str]]:
    """Delete the test's queues and exchanges from the shared broker afterwards."""
    queues: list[str] = []
    yield queues
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        for queue in [*queues, names.dead_tap]:
            channel = connection.channel()
            with suppress(pika.exceptions.ChannelClosedByBroker):
                channel.queue_delete(queue)
        for exchange in (names.exchange, names.notices):
            channel = connection.channel()
            with suppress(pika.exceptions.ChannelClosedByBroker):
                channel.exchange_delete(exchange)
    finally:
        connection.close()
