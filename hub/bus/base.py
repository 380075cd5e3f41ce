"""The message bus contract. Two implementations honour it: RabbitMQ (pika) and in-process.

Semantics (identical in both, proven by tests/bus/test_bus_contract.py):
- publish() returns only once the broker has confirmed the message; an unroutable message
  raises UnroutableError (mandatory publishing), a broker nack raises PublishNacked.
- consume() delivers each message to the handler; the message is acked only after the handler
  returns (the handler commits its own transaction first). If the handler raises, the message is
  requeued and redelivered, up to the queue's delivery limit; on the last failed attempt it goes to
  the dead-letter exchange carrying the reason (exception type and text) in the `x-swhub-error`
  header. Raising Reject dead-letters at once (no retry: a poison message).
- Header values are limited to what AMQP field tables carry (check_headers); a float or another
  unsupported value raises UnsupportedHeader from publish(), on both buses.
- Handlers must be idempotent: redelivery after a crash or a connection loss is normal.
"""

from __future__ import annotations

import datetime
import decimal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

INBOUND_EXCHANGE = "swhub.inbound"  # messages from parties, routed by "<family>.<type>.<sender>"
NOTICE_EXCHANGE = "swhub.notices"  # notices to parties, routed by "<party_uscc_or_role>.<notice type>"
EVENT_EXCHANGE = "swhub.events"  # hub-internal domain events (alerts, state changes)
DEAD_LETTER_EXCHANGE = "swhub.dlx"
DEAD_LETTER_QUEUE = "swhub.dead-letters"

ERROR_HEADER = "x-swhub-error"
ORIGINAL_EXCHANGE_HEADER = "x-swhub-original-exchange"
ORIGINAL_ROUTING_KEY_HEADER = "x-swhub-original-routing-key"
ORIGINAL_QUEUE_HEADER = "x-swhub-original-queue"
ATTEMPTS_HEADER = "x-swhub-attempts"  # on dead-lettered copies: how many deliveries were tried
# On a replayed dead letter: the routing key it was first published with. A replay goes to the queue
# it died in through the default exchange, whose routing key is the queue's name; consumers that read
# the routing key (message type, sender, partition) get this one back (as_first_routed).
FIRST_ROUTING_KEY_HEADER = "x-swhub-first-routing-key"


class BusError(Exception):
    """Base class of bus failures."""


class UnroutableError(BusError):
    """The broker had no queue for a mandatory message.

    From publish_many: `message_ids` are the unroutable ones; the other messages of the batch were
    delivered and confirmed (as RabbitMQ does), so republishing them would create duplicates."""

    def __init__(self, message: str, message_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message_ids = message_ids


class PublishNacked(BusError):
    """The broker refused (nacked) a published message; `message_ids` lists the refused ones."""

    def __init__(self, message: str, message_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message_ids = message_ids


class BusUnavailable(BusError):
    """The broker could not be reached, or the connection dropped before a publish was confirmed.

    A publish that raises this may or may not have reached the broker: retry it (consumers are
    idempotent, so a duplicate is harmless, a loss is not)."""


class TopologyError(BusError):
    """An exchange or queue is missing, or a declaration conflicts with what the broker already has."""


class UnsupportedHeader(BusError, TypeError):
    """A header value AMQP cannot carry (e.g. a float: AMQP 0-9-1 tables as pika writes them have
    no float type). Raised by both buses before anything is sent, so the in-process bus cannot
    accept what RabbitMQ would refuse."""


_INT64 = (-(2**63), 2**63 - 1)


def check_headers(headers: Mapping[str, Any], where: str = "headers") -> None:
    """Raise UnsupportedHeader unless every value is one AMQP field tables carry: str, bytes, bool,
    int (signed 64-bit), Decimal, datetime, None, and lists or tables of those."""
    for key, value in headers.items():
        if not isinstance(key, str):
            raise UnsupportedHeader(f"{where}: header name {key!r} is not a string")
        _check_value(value, f"{where}[{key!r}]")


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bytes, bool, decimal.Decimal, datetime.datetime)):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise UnsupportedHeader(f"{where}: integer {value} does not fit a signed 64-bit field")
        return
    if isinstance(value, Mapping):
        check_headers(value, where)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    raise UnsupportedHeader(
        f"{where}: {type(value).__name__} {value!r} cannot be sent as an AMQP header "
        "(use int, str, Decimal or datetime)"
    )


class Reject(Exception):
    """Raised by a handler: dead-letter this message now with `reason`; retrying cannot help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Envelope:
    body: bytes
    routing_key: str
    message_id: str
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    envelope: Envelope
    exchange: str
    queue: str
    redelivered: bool
    attempt: int  # 1 on first delivery, 2 on the first redelivery, ...


def as_first_routed(delivery: Delivery) -> Delivery:
    """The delivery with the routing key it was first published with (a replayed dead letter's)."""
    first = delivery.envelope.headers.get(FIRST_ROUTING_KEY_HEADER)
    if not first or first == delivery.envelope.routing_key:
        return delivery
    return replace(delivery, envelope=replace(delivery.envelope, routing_key=str(first)))


Handler = Callable[[Delivery], None]
# A batch handler gets deliveries in queue order and returns one outcome per delivery, in the same
# order: None (done: acked) or the exception it failed with (retried or dead-lettered as a single
# handler's). Raising fails every delivery of the batch with that exception.
BatchHandler = Callable[[Sequence[Delivery]], Sequence["Exception | None"]]


@dataclass(frozen=True, slots=True)
class Batching:
    """How a batch consumer gathers deliveries: up to `size`, waiting at most `linger` seconds for
    more once the first is there (0: only what is already waiting). Size 1 is a plain consumer."""

    size: int = 50
    linger: float = 0.005

    def __post_init__(self) -> None:
        if self.size < 1 or self.linger < 0:
            raise ValueError("batch size must be >= 1 and linger >= 0")


ONE_AT_A_TIME = Batching(1, 0.0)


def one_by_one(handler: Handler) -> BatchHandler:
    """A single-delivery handler as a batch handler (how consume() is built on consume_batch())."""

    def run(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for delivery in deliveries:
            try:
                handler(delivery)
            except Exception as exc:  # settled by the consumer: retried or dead-lettered
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    return run


def batch_outcomes(handler: BatchHandler, deliveries: Sequence[Delivery]) -> list[Exception | None]:
    """Run a batch handler; its own failure (or a wrong number of outcomes) fails the whole batch."""
    try:
        outcomes = list(handler(deliveries))
    except Exception as exc:
        return [exc] * len(deliveries)
    if len(outcomes) != len(deliveries):
        error = BusError(f"batch handler returned {len(outcomes)} outcomes for {len(deliveries)} deliveries")
        return [error] * len(deliveries)
    return outcomes


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    bindings: tuple[tuple[str, str], ...]  # (exchange, binding key with topic wildcards)
    delivery_limit: int = 5
    dead_letter: bool = True  # route exhausted/rejected messages to DEAD_LETTER_EXCHANGE
    # Only one consumer at a time receives (RabbitMQ's x-single-active-consumer): the queue's order
    # is the order of processing across processes; when that consumer goes, the next one takes over.
    single_active_consumer: bool = False


@dataclass(frozen=True, slots=True)
class Topology:
    exchanges: tuple[str, ...] = (INBOUND_EXCHANGE, NOTICE_EXCHANGE, EVENT_EXCHANGE)
    queues: tuple[QueueSpec, ...] = ()

    def merged(self, other: Topology) -> Topology:
        return Topology(
            exchanges=tuple(dict.fromkeys(self.exchanges + other.exchanges)),
            queues=tuple({q.name: q for q in self.queues + other.queues}.values()),
        )


class Consumer(ABC):
    @abstractmethod
    def stop(self, timeout: float = 10.0) -> None:
        """Stop receiving; in-flight handlers finish and are acked first."""

    def abort(self) -> None:
        """Simulate a crash (tests): stop at once without acking; every unacked message goes back to
        the queue as redelivered and results of handlers still running are discarded."""
        raise NotImplementedError


class Bus(ABC):
    @abstractmethod
    def declare(self, topology: Topology) -> None:
        """Declare exchanges and queues idempotently (also the dead-letter exchange and queue)."""

    @abstractmethod
    def publish(self, exchange: str, envelope: Envelope, timeout: float = 30.0) -> None:
        """Publish persistently and wait for the broker's confirm."""

    def publish_many(self, exchange: str, envelopes: Iterable[Envelope], timeout: float = 30.0) -> None:
        """Publish several messages, returning once all are confirmed (implementations pipeline)."""
        for envelope in envelopes:
            self.publish(exchange, envelope, timeout)

    def consume(self, queue: str, handler: Handler, prefetch: int = 50, *, workers: int = 1) -> Consumer:
        """Start delivering messages from `queue` to `handler` on background thread(s).

        At most `prefetch` messages are unacked at once; `workers` handler threads run them (1 keeps
        the queue's order of processing; more trade order for throughput)."""
        return self.consume_batch(queue, one_by_one(handler), ONE_AT_A_TIME, prefetch, workers=workers)

    @abstractmethod
    def consume_batch(
        self,
        queue: str,
        handler: BatchHandler,
        batching: Batching | None = None,
        prefetch: int = 50,
        *,
        workers: int = 1,
    ) -> Consumer:
        """As consume(), but `handler` gets up to `batching.size` deliveries at once, in queue order
        (so it can commit them in one transaction); each is settled by its own outcome, and only
        after the handler returned. `prefetch` is raised to the batch size if lower; no `batching`
        means Batching()'s defaults."""

    @abstractmethod
    def queue_depth(self, queue: str) -> int:
        """Messages ready in `queue` (not counting unacked)."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the broker is reachable (for /health)."""

    @abstractmethod
    def close(self) -> None: ...
