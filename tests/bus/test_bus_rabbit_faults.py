"""RabbitMQ fault tolerance: no confirmed message is lost, none has a second effect.

The consumer below processes idempotently, as the hub's inbox does: it remembers processed
message ids and gives each id its effect once; redeliveries after a fault are expected and only
counted. The tests restart the broker application and cut connections under the bus while a
stream of 1,000 confirmed messages flows."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from bus_helpers import Names, broker_cleanup, envelope, wait_until

from hub.bus.base import BusError, Delivery, QueueSpec
from hub.bus.rabbit_consumer import RabbitConsumer
from hub.bus.rabbitmq import RabbitBus
from tests.conftest import missing

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow, pytest.mark.timeout(120)]

TOTAL = 1000
BATCH = 50


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    if shutil.which("rabbitmqctl") is None:
        missing("rabbitmqctl not on PATH (the broker is not local)")
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}"
    return done.stdout


def close_connections(name: str) -> int:
    """Close, from the broker side, every connection whose client named itself `name`."""
    listed = rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
    closed = 0
    for line in listed.splitlines():
        pid, _, properties = line.partition("\t")
        if f'{{"connection_name","{name}"}}' in properties:
            rabbitmqctl("close_connection", pid, "swhub fault test: connection cut")
            closed += 1
    return closed


class InboxLikeConsumer:
    """Idempotent processing: an effect per message id, once; duplicates counted, not applied."""

    def __init__(self, delay: float = 0.0) -> None:
        self.effects: Counter[str] = Counter()
        self.deliveries = 0
        self.duplicates = 0
        self._processed: set[str] = set()
        self._lock = threading.Lock()
        self._delay = delay

    def __call__(self, delivery: Delivery) -> None:
        if self._delay:
            time.sleep(self._delay)
        with self._lock:
            self.deliveries += 1
            message_id = delivery.envelope.message_id
            if message_id in self._processed:
                self.duplicates += 1
                return
            self.effects[message_id] += 1  # the side effect, committed with the processed id
            self._processed.add(message_id)

    def processed(self) -> int:
        with self._lock:
            return len(self._processed)


class RetryingPublisher(threading.Thread):
    """Publishes TOTAL ids in batches, retrying each batch until confirmed (like the outbox relay)."""

    def __init__(self, bus: RabbitBus, exchange: str, names: Names, pause: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.bus, self.exchange, self.names, self.pause = bus, exchange, names, pause
        self.confirmed: list[str] = []
        self.failures: list[str] = []
        self.halfway = threading.Event()  # set after 300 confirmed; then waits for `resume`
        self.resume = threading.Event()
        self.resume.set()

    def run(self) -> None:
        for start in range(0, TOTAL, BATCH):
            if start == 300:
                self.halfway.set()
                self.resume.wait(30)
            batch = [envelope(f"msg-{i:04d}", self.names.key("decl")) for i in range(start, start + BATCH)]
            while True:
                try:
                    self.bus.publish_many(self.exchange, batch, timeout=10)
                    break
                except BusError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.2)
            self.confirmed.extend(e.message_id for e in batch)
            time.sleep(self.pause)


@pytest.fixture
def rabbit(amqp_url: str) -> Iterator[tuple[RabbitBus, Names, str]]:
    names = Names()
    with broker_cleanup(amqp_url, names) as queues:
        queue = names.queue("stream")
        queues.append(queue)
        bus = RabbitBus(amqp_url, name=names.prefix)
        try:
            bus.declare(names.topology(QueueSpec(queue, ((names.exchange, "#"),), delivery_limit=20)))
            yield bus, names, queue
        finally:
            bus.close()


def assert_each_processed_once(consumer: InboxLikeConsumer) -> None:
    expected = {f"msg-{i:04d}" for i in range(TOTAL)}
    assert set(consumer.effects) == expected, f"missing: {sorted(expected - set(consumer.effects))[:10]}"
    assert max(consumer.effects.values()) == 1


def test_broker_restart_mid_stream_loses_nothing(rabbit: tuple[RabbitBus, Names, str]) -> None:
    bus, names, queue = rabbit
    consumer = InboxLikeConsumer()
    subscription = bus.consume(queue, consumer, prefetch=20)
    assert isinstance(subscription, RabbitConsumer)
    publisher = RetryingPublisher(bus, names.exchange, names)
    publisher.resume.clear()  # hold the stream at 300 so the restart lands in its middle
    publisher.start()
    try:
        assert publisher.halfway.wait(20)
        first_connection = subscription.connection
        rabbitmqctl("stop_app")
        publisher.resume.set()
        time.sleep(1)  # publishes and acks now fail; nothing may be reported confirmed meanwhile
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
        publisher.join(60)
        assert not publisher.is_alive(), "publisher did not finish after the broker came back"
        assert wait_until(lambda: consumer.processed() >= TOTAL, timeout=40)
    finally:
        subprocess.run(["rabbitmqctl", "-q", "start_app"], capture_output=True, timeout=60, check=False)
        subscription.stop()

    assert subscription.connection is not first_connection, "the consumer should have reconnected"
    # publisher.failures may be empty: a restart between two batches is absorbed by reconnecting.
    assert sorted(publisher.confirmed) == [f"msg-{i:04d}" for i in range(TOTAL)]
    assert_each_processed_once(consumer)
    assert bus.queue_depth(queue) == 0


def test_consumer_connection_cut_loses_nothing(rabbit: tuple[RabbitBus, Names, str]) -> None:
    bus, names, queue = rabbit
    publisher = RetryingPublisher(bus, names.exchange, names)
    publisher.run()  # all 1,000 confirmed before consuming
    consumer = InboxLikeConsumer(delay=0.002)
    subscription = bus.consume(queue, consumer, prefetch=50, workers=2)
    assert isinstance(subscription, RabbitConsumer)
    try:
        assert wait_until(lambda: consumer.processed() >= 300, timeout=20)
        first_connection = subscription.connection
        assert close_connections(f"{names.prefix}-consumer-{queue}-1") == 1
        assert wait_until(lambda: consumer.processed() >= TOTAL, timeout=40)
        # it did reconnect (waited for: on a quiet machine the old connection can drain the queue
        # before the broker has closed it, and the reconnect then follows the last message)
        assert wait_until(lambda: subscription.connection is not first_connection, timeout=40)
    finally:
        subscription.stop()

    assert_each_processed_once(consumer)
    assert bus.queue_depth(queue) == 0


def test_publisher_connection_cut_loses_nothing(rabbit: tuple[RabbitBus, Names, str]) -> None:
    bus, names, queue = rabbit
    consumer = InboxLikeConsumer()
    subscription = bus.consume(queue, consumer, prefetch=50)
    publisher = RetryingPublisher(bus, names.exchange, names)
    publisher.resume.clear()
    publisher.start()
    try:
        assert publisher.halfway.wait(20)
        assert close_connections(f"{names.prefix}-publisher") == 1
        publisher.resume.set()
        publisher.join(40)
        assert not publisher.is_alive()
        assert wait_until(lambda: consumer.processed() >= TOTAL, timeout=40)
    finally:
        subscription.stop()

    assert_each_processed_once(consumer)
