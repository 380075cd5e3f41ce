"""A RabbitMQ consumer: one BlockingConnection on an I/O thread, handlers on worker threads.

The I/O thread only moves frames (so heartbeats keep flowing while a handler runs for minutes);
workers run the handler and hand the ack/nack back through `add_callback_threadsafe`, because a pika
connection must only be touched by its own thread. Every (re)connection is a new *generation*:
deliveries of a dead connection are never acked on the new one (their delivery tags are meaningless
there) and are not started at all if still waiting, because the broker has already requeued them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    stop_when_event_set,
    wait_exponential,
)

from hub.bus.base import (
    BatchHandler,
    Batching,
    BusError,
    Consumer,
    Delivery,
    Envelope,
    Reject,
    batch_outcomes,
)
from hub.bus.deadletter import dead_letter_envelope, describe_error
from hub.bus.rabbit_params import (
    BACKOFF_INITIAL,
    connection_parameters,
    is_connection_failure,
    log_retry,
)

if TYPE_CHECKING:
    from hub.bus.rabbitmq import RabbitBus

log = logging.getLogger(__name__)

CONSUMER_BACKOFF_MAX = 10.0
POLL_SECONDS = 0.1
BROKER_HEADERS = ("x-delivery-count",)  # quorum-queue bookkeeping, exposed as Delivery.attempt


Settle = Callable[[BlockingChannel, int], None]  # what to do with a delivery tag, on the I/O thread


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    delivery_limit: int | None  # None: retry forever (the dead-letter queue)
    dead_letter: bool


@dataclass(frozen=True, slots=True)
class _Item:
    generation: int
    connection: pika.BlockingConnection
    delivery_tag: int
    delivery: Delivery


class RabbitConsumer(Consumer):
    def __init__(
        self,
        bus: RabbitBus,
        queue_name: str,
        handler: BatchHandler,
        batching: Batching,
        prefetch: int,
        workers: int,
        policy: QueuePolicy,
        reconnect_timeout: float | None,
        name: str,
    ) -> None:
        self._bus = bus
        self.queue = queue_name
        self._handler = handler
        self._batching = batching
        self._prefetch = prefetch
        self._policy = policy
        self._reconnect_timeout = reconnect_timeout
        self._name = name
        self._work: queue.Queue[_Item | None] = queue.Queue()
        self._state = threading.Condition()
        self._generation = 0
        self._in_flight = 0
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._connected = threading.Event()
        self._stop_timeout = 10.0
        self._aborting = False
        self.connection: pika.BlockingConnection | None = None  # the live one; tests close it
        self._channel: BlockingChannel | None = None
        self.failure: BaseException | None = None  # set if reconnecting gave up
        self._io = threading.Thread(target=self._run, name=f"{name}-io", daemon=True)
        self._workers = [
            threading.Thread(target=self._work_loop, name=f"{name}-w{i}", daemon=True) for i in range(workers)
        ]

    # -- public --
    def start(self, timeout: float) -> None:
        for worker in self._workers:
            worker.start()
        self._io.start()
        if not self._connected.wait(timeout) and self.failure is None:
            log.warning("consumer %s not connected after %.0fs; still trying", self._name, timeout)
        if self.failure is not None:
            raise self.failure

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the subscription, let running handlers finish and settle, requeue the rest, close."""
        self._stop_timeout = timeout
        self._stopping.set()
        self._io.join(timeout + 5)
        self._release_workers()

    def abort(self) -> None:
        """Crash: drop the connection with deliveries unacked (the broker requeues them as
        redelivered, counting an attempt); results of handlers still running are discarded."""
        self._aborting = True
        self._stopping.set()
        self._io.join(10)
        self._release_workers()

    def _release_workers(self) -> None:
        for _ in self._workers:
            self._work.put(None)
        for worker in self._workers:
            if worker is not threading.current_thread():
                worker.join(0.5)

    # -- I/O thread --
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                connection = self._connect()
                if connection is None:
                    return
                try:
                    self._serve(connection)
                except AMQPError as exc:
                    log.warning("consumer %s lost its connection: %s; reconnecting", self._name, exc)
                finally:
                    self._connected.clear()
                    with self._state:
                        self._generation += 1  # anything still waiting belongs to a dead channel
                    _close_quietly(connection)
        finally:
            self._stopped.set()

    def _connect(self) -> pika.BlockingConnection | None:
        stop = stop_when_event_set(self._stopping)
        stop = stop | (stop_after_delay(self._reconnect_timeout) if self._reconnect_timeout else stop_never)
        retrying = Retrying(
            stop=stop,
            wait=wait_exponential(multiplier=BACKOFF_INITIAL, max=CONSUMER_BACKOFF_MAX),
            retry=retry_if_exception(lambda e: is_connection_failure(e) or isinstance(e, AMQPError)),
            sleep=self._stopping.wait,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(self._open)
        except (AMQPError, OSError) as exc:
            if not self._stopping.is_set():
                self.failure = BusError(f"consumer {self._name} gave up reconnecting: {exc}")
                log.error("%s", self.failure)
            return None

    def _open(self) -> pika.BlockingConnection | None:
        if self._stopping.is_set():
            return None
        connection = pika.BlockingConnection(connection_parameters(self._bus.url, self._name))
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=self._prefetch)
            with self._state:
                generation = self._generation
            channel.basic_consume(
                self.queue,
                on_message_callback=lambda ch, method, props, body: self._on_message(
                    generation, connection, method, props, body
                ),
                auto_ack=False,
            )
        except BaseException:
            _close_quietly(connection)
            raise
        self._channel = channel
        return connection

    def _serve(self, connection: pika.BlockingConnection) -> None:
        channel = self._channel
        assert channel is not None
        self.connection = connection
        self._connected.set()
        while not self._stopping.is_set():
            connection.process_data_events(time_limit=POLL_SECONDS)
        if self._aborting:
            with self._state:
                self._generation += 1  # late results of running handlers must not be acked
            connection.close()
            return
        self._shutdown(connection, channel)

    def _on_message(
        self,
        generation: int,
        connection: pika.BlockingConnection,
        method: pika.spec.Basic.Deliver,
        props: pika.BasicProperties,
        body: bytes,
    ) -> None:
        headers = dict(props.headers or {})
        returns = int(headers.get("x-delivery-count", 0) or 0)
        for name in BROKER_HEADERS:
            headers.pop(name, None)
        envelope = Envelope(
            body=body,
            routing_key=method.routing_key,
            message_id=props.message_id or "",
            headers=headers,
            content_type=props.content_type or "application/octet-stream",
            correlation_id=props.correlation_id,
        )
        delivery = Delivery(
            envelope=envelope,
            exchange=method.exchange,
            queue=self.queue,
            redelivered=bool(method.redelivered),
            attempt=returns + 1,
        )
        self._work.put(_Item(generation, connection, method.delivery_tag, delivery))

    def _shutdown(self, connection: pika.BlockingConnection, channel: BlockingChannel) -> None:
        """Graceful stop, on the I/O thread: no new deliveries, running handlers settle, the rest requeue."""
        channel.basic_cancel(self._consumer_tag(channel))
        while True:  # deliveries not yet started go back to the queue now
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                break
            if item is not None and item.generation == self._generation:
                channel.basic_nack(item.delivery_tag, requeue=True)
        deadline = time.monotonic() + self._stop_timeout
        while True:
            with self._state:
                idle = self._in_flight == 0
            connection.process_data_events(time_limit=0.05)  # runs the workers' ack callbacks
            if idle:
                break
            if time.monotonic() > deadline:
                log.warning("consumer %s: handlers still running at stop; broker will requeue", self._name)
                break
        channel.close()
        connection.close()

    @staticmethod
    def _consumer_tag(channel: BlockingChannel) -> str:
        tags = list(channel.consumer_tags)
        return tags[0] if tags else ""

    # -- workers --
    def _work_loop(self) -> None:
        while True:
            items = self._take()
            if items is None:
                return
            with self._state:
                # deliveries of a dead connection: the broker already requeued them
                live = [item for item in items if item.generation == self._generation]
                if self._stopping.is_set():
                    self._settle_later(live, [_requeue] * len(live))
                    continue
                self._in_flight += len(live)
            if not live:
                continue
            try:
                self._settle_later(live, self._handle([item.delivery for item in live]))
            finally:
                with self._state:
                    self._in_flight -= len(live)

    def _take(self) -> list[_Item] | None:
        """The next batch in delivery order: what is waiting, up to the batch size, lingering a little
        for more once the first is there. None when the consumer stops."""
        first = self._work.get()
        if first is None:
            return None
        items = [first]
        deadline = time.monotonic() + self._batching.linger
        while len(items) < self._batching.size:
            remaining = deadline - time.monotonic()
            try:
                item = self._work.get(timeout=remaining) if remaining > 0 else self._work.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._work.put(None)  # the stop signal is this worker's next turn
                break
            items.append(item)
        return items

    def _handle(self, deliveries: list[Delivery]) -> list[Settle]:
        """Run the handler; return how to settle each delivery (executed on the I/O thread)."""
        outcomes = batch_outcomes(self._handler, deliveries)
        return [
            _ack if error is None else self._on_failure(delivery, error)
            for delivery, error in zip(deliveries, outcomes, strict=True)
        ]

    def _on_failure(self, delivery: Delivery, exc: Exception) -> Settle:
        limit = self._policy.delivery_limit
        final = isinstance(exc, Reject) or (limit is not None and delivery.attempt >= limit)
        error = describe_error(exc)
        if not final:
            log.warning(
                "handler failed on %s attempt %d: %s", delivery.envelope.message_id, delivery.attempt, error
            )
            return _requeue
        if not self._policy.dead_letter:
            log.warning("dropping %s from %s: %s", delivery.envelope.message_id, self.queue, error)
            return _ack
        try:
            # Confirmed copy first, ack after: a crash in between yields a duplicate, never a loss.
            self._bus.publish_dead_letter(dead_letter_envelope(delivery, error))
        except BusError as dl_exc:
            log.error("could not dead-letter %s (%s); requeueing", delivery.envelope.message_id, dl_exc)
            return _requeue
        log.warning("dead-lettered %s from %s: %s", delivery.envelope.message_id, self.queue, error)
        return _ack

    def _settle_later(self, items: list[_Item], actions: list[Settle]) -> None:
        """Settle a batch on the I/O thread, in one callback (one wake-up of it, not one per message).
        A batch that is all acks on a one-worker consumer is ONE `basic_ack(multiple=True)`: that
        worker took every earlier delivery in an earlier batch, settled by an earlier callback, so
        `multiple` covers exactly this batch (with more workers another batch may be running)."""
        if not items:
            return
        whole = len(self._workers) == 1 and all(action is _ack for action in actions)

        def settle() -> None:
            with self._state:
                if items[0].generation != self._generation:
                    return  # a dead connection's deliveries: the broker requeued them
            channel = self._channel
            if channel is None or not channel.is_open:
                return
            if whole:
                channel.basic_ack(items[-1].delivery_tag, multiple=True)
                return
            for item, action in zip(items, actions, strict=True):
                action(channel, item.delivery_tag)

        try:
            items[0].connection.add_callback_threadsafe(settle)
        except Exception:  # connection gone: the broker requeues the messages, a redelivery follows
            log.debug("settle dropped for %d deliveries: connection closed", len(items))


def _ack(channel: BlockingChannel, tag: int) -> None:
    channel.basic_ack(tag)


def _requeue(channel: BlockingChannel, tag: int) -> None:
    channel.basic_nack(tag, requeue=True)


def _close_quietly(connection: pika.BlockingConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:
        log.debug("closing consumer connection", exc_info=True)
