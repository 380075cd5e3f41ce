"""The RabbitMQ bus: durable topic exchanges and quorum queues, confirmed publishing, manual acks.

Three kinds of connection, each with one job:
- an admin BlockingConnection (declare, queue depth, ping), used under a lock;
- one pipelined confirm-mode publisher (hub.bus.rabbit_publisher);
- one BlockingConnection per consumer (hub.bus.rabbit_consumer).
All of them reconnect with bounded exponential backoff after a broker restart or connection loss.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, ChannelClosedByBroker
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.bus.base import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    BatchHandler,
    Batching,
    Bus,
    BusUnavailable,
    Consumer,
    Envelope,
    QueueSpec,
    Topology,
    TopologyError,
    check_headers,
)
from hub.bus.rabbit_consumer import QueuePolicy, RabbitConsumer
from hub.bus.rabbit_params import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    connection_parameters,
    log_retry,
    translate,
)
from hub.bus.rabbit_publisher import ConfirmedPublisher

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_EXCHANGE = ""
DEAD_LETTER_PUBLISH_TIMEOUT = 30.0


def queue_arguments(spec: QueueSpec) -> dict[str, Any]:
    """Quorum queue arguments for a QueueSpec. RabbitMQ 3.10 has no default delivery limit (4.x: 20),
    so it is always explicit; the broker's limit is a safety net behind the consumer's own
    dead-lettering (which adds the reason), e.g. for a message whose handler keeps crashing the process."""
    arguments: dict[str, Any] = {"x-queue-type": "quorum", "x-delivery-limit": spec.delivery_limit}
    if spec.single_active_consumer:
        arguments["x-single-active-consumer"] = True
    if spec.dead_letter:
        arguments.update(
            {
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                # 3.10+: keep the message until the dead-letter queue confirmed it (needs reject-publish).
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
        )
    return arguments


DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


class _AdminLink:
    """A lazily (re)opened BlockingConnection for short synchronous operations."""

    def __init__(self, url: str, timeout: float, name: str) -> None:
        self._url = url
        self._name = name
        self._timeout = timeout
        self._lock = threading.RLock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def run(self, what: str, operation: Callable[[BlockingChannel], T], timeout: float | None = None) -> T:
        retrying = Retrying(
            stop=stop_after_delay(self._timeout if timeout is None else timeout),
            wait=wait_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX),
            retry=retry_if_exception_type(BusUnavailable),
            before_sleep=log_retry,
            reraise=True,
        )
        with self._lock:
            return retrying(self._run_once, what, operation)

    def _run_once(self, what: str, operation: Callable[[BlockingChannel], T]) -> T:
        try:
            channel = self._open_channel()
            return operation(channel)
        except ChannelClosedByBroker as exc:
            self._channel = None  # the broker closed the channel; the connection survives
            raise translate(exc, what) from exc
        except (AMQPError, OSError) as exc:
            self.close()
            raise translate(exc, what) from exc

    def _open_channel(self) -> BlockingChannel:
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(connection_parameters(self._url, self._name))
            self._channel = None
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
        return self._channel

    def close(self) -> None:
        with self._lock:
            connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:
                log.debug("closing admin connection", exc_info=True)


class RabbitBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        default_delivery_limit: int = 5,
        reconnect_timeout: float | None = None,
        admin_timeout: float = 20.0,
        name: str = "swhub",
    ) -> None:
        """`reconnect_timeout`: how long a consumer keeps trying to reconnect (None: for ever, with
        backoff capped at 10 s). Publishing retries for at most the publish timeout; declare,
        queue_depth and consume's queue check for at most `admin_timeout`."""
        self.url = url
        self._name = name
        self._default_policy = QueuePolicy(default_delivery_limit, dead_letter=True)
        self._reconnect_timeout = reconnect_timeout
        self._admin = _AdminLink(url, admin_timeout, f"{name}-admin")
        self._publisher = ConfirmedPublisher(url, name=f"{name}-publisher")
        self._policies: dict[str, QueuePolicy] = {DEAD_LETTER_QUEUE: QueuePolicy(None, dead_letter=False)}
        self._known_exchanges: set[str] = {DEFAULT_EXCHANGE}
        self._consumers: list[RabbitConsumer] = []
        self._consumer_ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- topology --
    def declare(self, topology: Topology) -> None:
        for spec in topology.queues:
            if spec.delivery_limit < 1:
                raise TopologyError(f"queue {spec.name!r}: delivery_limit must be >= 1")

        def declare_all(channel: BlockingChannel) -> None:
            channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="topic", durable=True)
            channel.queue_declare(DEAD_LETTER_QUEUE, durable=True, arguments=DEAD_LETTER_QUEUE_ARGUMENTS)
            channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, routing_key="#")
            for exchange in topology.exchanges:
                channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            for spec in topology.queues:
                channel.queue_declare(spec.name, durable=True, arguments=queue_arguments(spec))
                for exchange, key in spec.bindings:
                    channel.queue_bind(spec.name, exchange, routing_key=key)

        self._admin.run("declare topology", declare_all)
        with self._lock:
            self._known_exchanges.update(topology.exchanges)
            self._known_exchanges.add(DEAD_LETTER_EXCHANGE)
            for spec in topology.queues:
                self._policies[spec.name] = QueuePolicy(spec.delivery_limit, spec.dead_letter)

    def _require_exchange(self, exchange: str) -> None:
        # Publishing to a missing exchange makes the broker close the publisher's channel; check first.
        with self._lock:
            if exchange in self._known_exchanges:
                return
        self._admin.run(f"exchange {exchange!r}", lambda ch: ch.exchange_declare(exchange, passive=True))
        with self._lock:
            self._known_exchanges.add(exchange)

    # -- publishing --
    def publish(self, exchange: str, envelope: Envelope, timeout: float = 30.0) -> None:
        self.publish_many(exchange, (envelope,), timeout)

    def publish_many(self, exchange: str, envelopes: Iterable[Envelope], timeout: float = 30.0) -> None:
        batch = list(envelopes)
        if not batch:
            return
        for envelope in batch:
            check_headers(envelope.headers, f"message {envelope.message_id}")
        self._require_exchange(exchange)
        self._publisher.publish(exchange, batch, timeout)

    def publish_dead_letter(self, envelope: Envelope) -> None:
        self._publisher.publish(DEAD_LETTER_EXCHANGE, [envelope], DEAD_LETTER_PUBLISH_TIMEOUT)

    # -- consuming --
    def consume_batch(
        self,
        queue: str,
        handler: BatchHandler,
        batching: Batching | None = None,
        prefetch: int = 50,
        *,
        workers: int = 1,
    ) -> Consumer:
        if prefetch < 1 or workers < 1:
            raise ValueError("prefetch and workers must be >= 1")
        batching = batching or Batching()
        prefetch = max(prefetch, batching.size)
        self.queue_depth(queue)  # TopologyError now rather than endless reconnecting later
        with self._lock:
            policy = self._policies.get(queue, self._default_policy)
            name = f"{self._name}-consumer-{queue}-{next(self._consumer_ids)}"
        consumer = RabbitConsumer(
            self, queue, handler, batching, prefetch, workers, policy, self._reconnect_timeout, name
        )
        consumer.start(timeout=15.0)
        with self._lock:
            self._consumers.append(consumer)
        return consumer

    # -- inspection and lifecycle --
    def queue_depth(self, queue: str) -> int:
        result = self._admin.run(f"queue {queue!r}", lambda ch: ch.queue_declare(queue, passive=True))
        return int(result.method.message_count)

    def ping(self) -> bool:
        try:
            self._admin.run("ping", lambda ch: ch.exchange_declare("amq.topic", passive=True), timeout=3.0)
        except Exception:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            consumers, self._consumers = self._consumers, []
        for consumer in consumers:
            consumer.stop(timeout=5.0)
        self._publisher.close()
        self._admin.close()
