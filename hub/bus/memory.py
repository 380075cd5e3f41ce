"""In-process bus with the semantics of RabbitMQ topic exchanges and quorum queues.

Used when the hub runs embedded (no HUB_AMQP_URL) and by tests. Behaviour mirrors what RabbitMQ
3.10 does with the same topology (checked by the shared contract suite):
- mandatory publishing: no bound queue -> UnroutableError (routable copies are still delivered);
- per-queue FIFO; a requeued message goes back to its original place (the head), as quorum queues do;
- each return to the queue (handler failure, consumer stop or crash) counts as a delivery attempt,
  like the quorum queue's `x-delivery-count`;
- handler failure on the queue's last allowed attempt, or Reject, dead-letters a copy carrying the
  reason to DEAD_LETTER_EXCHANGE.
One lock guards all state; handlers run outside it on per-consumer worker threads.

With a durable QueueStore (hub/bus/queue_store.py, the embedded hub's default) every queued copy is
also written to the database before publish returns, its return count kept there, and deleted on
ack, dead-lettering or drop; declaring a queue loads what a crash left in it. So a publish confirmed
by this bus survives a SIGKILL exactly as one confirmed by RabbitMQ does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.bus.base import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    BatchHandler,
    Batching,
    Bus,
    Consumer,
    Delivery,
    Envelope,
    Reject,
    Topology,
    TopologyError,
    UnroutableError,
    batch_outcomes,
    check_headers,
)
from hub.bus.deadletter import dead_letter_envelope, describe_error
from hub.bus.queue_store import QueueStore
from hub.bus.topics import topic_matches

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = ""  # like AMQP's default exchange: routing key = queue name


@dataclass(eq=False, slots=True)
class _Message:
    seq: int  # position in the queue; a requeued message keeps it and so returns to the head
    envelope: Envelope
    exchange: str
    returns: int = 0  # times handed back to the queue unacked (RabbitMQ's x-delivery-count)
    row_id: int | None = None  # its row in the durable store, if any

    @property
    def redelivered(self) -> bool:
        return self.returns > 0


@dataclass(eq=False, slots=True)
class _Queue:
    name: str
    delivery_limit: int | None  # None: unlimited (the dead-letter queue itself)
    dead_letter: bool
    single_active: bool = False  # only consumers[0] receives; the next one takes over when it goes
    ready: list[tuple[int, _Message]] = field(default_factory=list)  # heap ordered by seq
    consumers: list[InProcessConsumer] = field(default_factory=list)
    next_consumer: int = 0


class InProcessBus(Bus):
    def __init__(self, store: QueueStore | None = None) -> None:
        self._lock = threading.RLock()
        self._store = store or QueueStore()
        self._reset_state()

    @property
    def durable(self) -> bool:
        return self._store.durable

    def attach_store(self, store: QueueStore) -> None:
        """Keep queued deliveries in `store` from now on, and resume what it holds for every queue
        (those declared already at once, later ones when declared). Attach before the first publish
        (the hub does so at start, once its database is migrated)."""
        with self._lock:
            if store is self._store:
                return
            self._store = store
            for queue in self._queues.values():
                self._load(queue)
                self._dispatch(queue)

    def _load(self, queue: _Queue) -> None:
        """What a crash left queued is resumed, in its order, its return count kept. Caller holds lock."""
        for copy in self._store.load(queue.name):
            message = _Message(next(self._seq), copy.envelope, copy.exchange, copy.returns, copy.row_id)
            heapq.heappush(queue.ready, (message.seq, message))

    def _reset_state(self) -> None:
        self._exchanges: set[str] = {DEFAULT_EXCHANGE}
        self._bindings: dict[str, list[tuple[str, str]]] = {}  # exchange -> [(binding key, queue)]
        self._queues: dict[str, _Queue] = {}
        self._seq = itertools.count()
        self._consumers: list[InProcessConsumer] = []
        self._closed = False

    # -- topology -----------------------------------------------------------------------------
    def declare(self, topology: Topology) -> None:
        with self._lock:
            self._declare_exchange(DEAD_LETTER_EXCHANGE)
            self._declare_queue(DEAD_LETTER_QUEUE, None, dead_letter=False)
            self._bind(DEAD_LETTER_EXCHANGE, "#", DEAD_LETTER_QUEUE)
            for exchange in topology.exchanges:
                self._declare_exchange(exchange)
            for spec in topology.queues:
                if spec.delivery_limit < 1:
                    raise TopologyError(f"queue {spec.name!r}: delivery_limit must be >= 1")
                self._declare_queue(
                    spec.name, spec.delivery_limit, spec.dead_letter, spec.single_active_consumer
                )
                for exchange, key in spec.bindings:
                    if exchange not in self._exchanges:
                        raise TopologyError(f"queue {spec.name!r} binds to undeclared exchange {exchange!r}")
                    self._bind(exchange, key, spec.name)

    def _declare_exchange(self, name: str) -> None:
        self._exchanges.add(name)
        self._bindings.setdefault(name, [])

    def _declare_queue(
        self, name: str, delivery_limit: int | None, dead_letter: bool, single_active: bool = False
    ) -> None:
        existing = self._queues.get(name)
        wanted = (delivery_limit, dead_letter, single_active)
        if existing is None:
            self._queues[name] = _Queue(name, delivery_limit, dead_letter, single_active)
            self._load(self._queues[name])
        elif (existing.delivery_limit, existing.dead_letter, existing.single_active) != wanted:
            # RabbitMQ answers PRECONDITION_FAILED when arguments differ; so do we.
            raise TopologyError(
                f"queue {name!r} exists with delivery_limit={existing.delivery_limit}, "
                f"dead_letter={existing.dead_letter}, single_active_consumer={existing.single_active}; "
                f"cannot redeclare with delivery_limit={delivery_limit}, dead_letter={dead_letter}, "
                f"single_active_consumer={single_active}"
            )

    def _bind(self, exchange: str, key: str, queue: str) -> None:
        bindings = self._bindings[exchange]
        if (key, queue) not in bindings:
            bindings.append((key, queue))

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, exchange: str, envelope: Envelope, timeout: float = 30.0) -> None:
        self.publish_many(exchange, (envelope,), timeout)

    def publish_many(self, exchange: str, envelopes: Iterable[Envelope], timeout: float = 30.0) -> None:
        envelopes = list(envelopes)
        for envelope in envelopes:
            check_headers(envelope.headers, f"message {envelope.message_id}")
        unroutable: list[str] = []
        with self._lock:
            self._check_open()
            if exchange not in self._exchanges:
                raise TopologyError(f"exchange {exchange!r} is not declared")
            copies: list[tuple[_Queue, _Message]] = []
            for envelope in envelopes:
                routed = self._route(exchange, envelope)
                if not routed:
                    unroutable.append(envelope.message_id)
                copies.extend(routed)
            self._enqueue(copies)  # one store transaction for the whole batch
        if unroutable:
            raise UnroutableError(
                f"no queue bound on exchange {exchange!r} for message(s) {', '.join(unroutable)}",
                tuple(unroutable),
            )

    def _route(self, exchange: str, envelope: Envelope) -> list[tuple[_Queue, _Message]]:
        """A copy for every matching queue (empty when none matched), not yet enqueued. Caller holds
        the lock."""
        if exchange == DEFAULT_EXCHANGE:
            targets = [envelope.routing_key] if envelope.routing_key in self._queues else []
        else:
            targets = list(
                dict.fromkeys(
                    queue
                    for key, queue in self._bindings[exchange]
                    if topic_matches(key, envelope.routing_key)
                )
            )
        return [(self._queues[name], _Message(next(self._seq), envelope, exchange)) for name in targets]

    def _enqueue(self, copies: list[tuple[_Queue, _Message]]) -> None:
        """Store, then queue and dispatch the copies. Caller holds the lock."""
        row_ids = self._store.add([(q.name, m.exchange, m.envelope) for q, m in copies])
        for (queue, message), row_id in zip(copies, row_ids, strict=True):
            message.row_id = row_id
            heapq.heappush(queue.ready, (message.seq, message))
        for queue in dict.fromkeys(q for q, _ in copies):
            self._dispatch(queue)

    # -- consuming ----------------------------------------------------------------------------
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
        with self._lock:
            self._check_open()
            target = self._queue(queue)
            consumer = InProcessConsumer(
                self, target, handler, batching, max(prefetch, batching.size), workers
            )
            target.consumers.append(consumer)
            self._consumers.append(consumer)
            consumer.start()
            self._dispatch(target)
        return consumer

    def _dispatch(self, queue: _Queue) -> None:
        """Hand ready messages to consumers with room in their prefetch window, round robin."""
        while queue.ready:
            eligible = queue.consumers[:1] if queue.single_active else queue.consumers
            open_consumers = [c for c in eligible if c.has_room()]
            if not open_consumers:
                return
            consumer = open_consumers[queue.next_consumer % len(open_consumers)]
            queue.next_consumer += 1
            _, message = heapq.heappop(queue.ready)
            consumer.take(message)

    def _settle_failure(self, queue: _Queue, message: _Message, error: BaseException) -> None:
        """A handler raised: requeue, or dead-letter on the last attempt or a Reject. Caller holds lock."""
        attempt = message.returns + 1
        exhausted = queue.delivery_limit is not None and attempt >= queue.delivery_limit
        if isinstance(error, Reject) or exhausted:
            self._dead_letter(queue, message, describe_error(error))
        else:
            self._requeue(queue, message)

    def _requeue(self, queue: _Queue, message: _Message) -> None:
        """Give an unacked message back to its queue (handler failure, stop or crash). Caller holds lock."""
        message.returns += 1
        self._store.returned(message.row_id, message.returns)
        if queue.delivery_limit is not None and message.returns > queue.delivery_limit:
            # Returned without ever being settled more often than allowed: the broker drops it too.
            self._dead_letter(
                queue, message, f"DeliveryLimitExceeded: returned {message.returns} times without an ack"
            )
            return
        heapq.heappush(queue.ready, (message.seq, message))
        self._dispatch(queue)

    def _dead_letter(self, queue: _Queue, message: _Message, error: str) -> None:
        if not queue.dead_letter:
            log.warning("dropping message %s from %s: %s", message.envelope.message_id, queue.name, error)
            self._store.remove(message.row_id)
            return
        delivery = _delivery(queue, message)
        copy = dead_letter_envelope(delivery, error)
        routed = self._route(DEAD_LETTER_EXCHANGE, copy) if DEAD_LETTER_EXCHANGE in self._exchanges else []
        if not routed:
            log.error("dead-letter exchange unroutable; message %s lost: %s", copy.message_id, error)
        # The copy is stored before the original goes: a crash in between duplicates, never loses.
        self._enqueue(routed)
        self._store.remove(message.row_id)

    def _ack_many(self, messages: list[_Message]) -> None:
        self._store.remove_many([m.row_id for m in messages])  # a batch's acks: one store write

    # -- inspection and lifecycle -------------------------------------------------------------
    def queue_depth(self, queue: str) -> int:
        with self._lock:
            return len(self._queue(queue).ready)

    def ping(self) -> bool:
        return not self._closed

    def close(self) -> None:
        with self._lock:
            consumers = list(self._consumers)
        for consumer in consumers:
            consumer.stop(timeout=5.0)
        with self._lock:
            self._closed = True

    def reset(self) -> None:
        """Forget all topology and messages (tests sharing the process-wide bus)."""
        self.close()
        with self._lock:
            self._reset_state()

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise TopologyError(f"queue {name!r} is not declared") from None

    def _check_open(self) -> None:
        if self._closed:
            raise TopologyError("bus is closed")

    def _forget(self, consumer: InProcessConsumer) -> None:
        with self._lock:
            if consumer in consumer.queue.consumers:
                consumer.queue.consumers.remove(consumer)
            if consumer in self._consumers:
                self._consumers.remove(consumer)
            self._dispatch(consumer.queue)  # single active consumer: the next one takes over


def _delivery(queue: _Queue, message: _Message) -> Delivery:
    return Delivery(
        envelope=message.envelope,
        exchange=message.exchange,
        queue=queue.name,
        redelivered=message.redelivered,
        attempt=message.returns + 1,
    )


class InProcessConsumer(Consumer):
    """Worker threads taking messages from this consumer's prefetch window.

    `unacked` holds every message delivered and not yet settled (waiting in `buffer` or running);
    a settle for a message no longer in it (after abort) is ignored, as a broker ignores acks on a
    closed channel."""

    def __init__(
        self,
        bus: InProcessBus,
        queue: _Queue,
        handler: BatchHandler,
        batching: Batching,
        prefetch: int,
        workers: int,
    ) -> None:
        self.bus = bus
        self.queue = queue
        self.handler = handler
        self.batching = batching
        self.prefetch = prefetch
        self.buffer: deque[_Message] = deque()
        self.unacked: set[_Message] = set()
        self._wakeup = threading.Condition(bus._lock)
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"bus-{queue.name}-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def has_room(self) -> bool:
        return not self._stopping and len(self.unacked) < self.prefetch

    def take(self, message: _Message) -> None:
        self.unacked.add(message)
        self.buffer.append(message)
        self._wakeup.notify()

    def _take_batch(self) -> list[_Message] | None:
        """The next batch in queue order (caller holds the lock): what is waiting, up to the batch
        size, lingering a little for more once the first is there. None when stopping."""
        while not self.buffer and not self._stopping:
            self._wakeup.wait()
        deadline = time.monotonic() + self.batching.linger
        while not self._stopping and len(self.buffer) < self.batching.size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wakeup.wait(remaining)
        if self._stopping or not self.buffer:
            return None if self._stopping else []
        return [self.buffer.popleft() for _ in range(min(self.batching.size, len(self.buffer)))]

    def _work(self) -> None:
        while True:
            with self._wakeup:
                messages = self._take_batch()
                if messages is None:
                    return
                deliveries = [_delivery(self.queue, m) for m in messages]
            if not messages:
                continue
            outcomes = batch_outcomes(self.handler, deliveries)
            for delivery, error in zip(deliveries, outcomes, strict=True):
                if error is not None and not isinstance(error, Reject):
                    log.warning(
                        "handler failed on %s attempt %d: %s",
                        delivery.envelope.message_id,
                        delivery.attempt,
                        describe_error(error),
                    )
            with self._wakeup:
                acked: list[_Message] = []
                for message, error in zip(messages, outcomes, strict=True):
                    if message not in self.unacked:
                        continue  # aborted meanwhile: the message was already handed back
                    self.unacked.discard(message)
                    if error is not None:
                        self.bus._settle_failure(self.queue, message, error)
                    else:
                        acked.append(message)
                self.bus._ack_many(acked)
                self.bus._dispatch(self.queue)
                self._wakeup.notify_all()  # stop() may be waiting for unacked to drain

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages; running handlers finish and are settled; waiting ones are requeued."""
        with self._wakeup:
            self._stopping = True
            self._return_all(self.buffer)
            self.buffer.clear()
            self._wakeup.notify_all()
            deadline = time.monotonic() + timeout
            while self.unacked and (remaining := deadline - time.monotonic()) > 0:
                self._wakeup.wait(remaining)
            if self.unacked:
                log.warning(
                    "consumer on %s: %d handler(s) still running after stop",
                    self.queue.name,
                    len(self.unacked),
                )
                self._return_all(self.unacked)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self.bus._forget(self)

    def abort(self) -> None:
        """Simulate a crash or a lost connection: every unacked message goes back to the queue as
        redelivered (its attempt counts), and results of handlers still running are discarded."""
        with self._wakeup:
            self._stopping = True
            self.buffer.clear()
            self._return_all(self.unacked)
            self._wakeup.notify_all()
        self.bus._forget(self)

    def _return_all(self, messages: Iterable[_Message]) -> None:
        for message in sorted(messages, key=lambda m: m.seq):
            self.unacked.discard(message)
            self.bus._requeue(self.queue, message)
