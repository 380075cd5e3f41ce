"""Pipelined, confirmed publishing to RabbitMQ.

pika's BlockingChannel waits for each publisher confirm before returning from basic_publish, one
round trip (and one quorum-queue commit) per message. This publisher instead runs a SelectConnection
on its own I/O thread: a batch is written in one go and the caller waits until every delivery tag
has been acked, nacked or returned. Nothing is reported as published until the broker confirmed it;
if the connection drops first, every unconfirmed message of the batch raises BusUnavailable (the
caller retries; a duplicate is harmless to idempotent consumers, a loss is not).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import pika
from pika.adapters.select_connection import SelectConnection
from pika.spec import Basic
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.bus.base import BusUnavailable, Envelope, PublishNacked, UnroutableError
from hub.bus.rabbit_params import BACKOFF_INITIAL, BACKOFF_MAX, connection_parameters, log_retry

log = logging.getLogger(__name__)

# Unconfirmed messages allowed on the wire per batch chunk: bounds memory and the work lost to a
# dropped connection, while still letting the quorum queue commit many messages per fsync.
MAX_IN_FLIGHT = 2000

_ACKED, _NACKED, _RETURNED, _LOST = "acked", "nacked", "returned", "lost"


def properties(envelope: Envelope) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=2,  # persistent
        message_id=envelope.message_id,
        correlation_id=envelope.correlation_id,
        content_type=envelope.content_type,
        headers=dict(envelope.headers) or None,
    )


@dataclass(eq=False, slots=True)
class _Batch:
    exchange: str
    envelopes: Sequence[Envelope]
    outcomes: list[str | None] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    remaining: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def settle(self, index: int, outcome: str) -> None:
        if self.outcomes[index] in (None, _RETURNED):
            if self.outcomes[index] is None or outcome == _LOST:
                self.outcomes[index] = outcome
            self.remaining -= 1
            if self.remaining == 0:
                self.done.set()

    def mark_returned(self, index: int, reason: str) -> None:
        if self.outcomes[index] is None:
            self.outcomes[index] = _RETURNED
            self.details.append(reason)

    def fail_all(self) -> None:
        for index, outcome in enumerate(self.outcomes):
            if outcome in (None, _RETURNED):
                self.outcomes[index] = _LOST
        self.remaining = 0
        self.done.set()


class _Session:
    """One SelectConnection with a confirm-mode channel, on its own I/O thread; dies with the connection."""

    def __init__(self, url: str, name: str) -> None:
        self._params = connection_parameters(url, name)
        self._lock = threading.Lock()
        self._dead = False
        self._ready = threading.Event()
        self._open_error: str | None = None
        self._connection: SelectConnection | None = None
        self._channel: pika.channel.Channel | None = None
        self._closing = False
        # I/O-thread state: delivery tag -> (batch, index); message id -> tags awaiting confirm.
        self._pending: dict[int, tuple[_Batch, int]] = {}
        self._by_message_id: dict[str, deque[int]] = {}
        self._next_tag = 1
        self._scheduled: set[_Batch] = set()  # handed to the I/O thread, not yet written
        self._thread = threading.Thread(target=self._run, name=f"{name}-io", daemon=True)

    # -- lifecycle (caller threads) --
    def open(self, timeout: float) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            self.close()
            raise BusUnavailable(f"publisher connection not ready within {timeout:.0f}s")
        if self._open_error is not None:
            raise BusUnavailable(f"publisher connection failed: {self._open_error}")
        if self._dead:
            raise BusUnavailable("publisher connection closed while opening")

    @property
    def alive(self) -> bool:
        return self._ready.is_set() and not self._dead and self._open_error is None

    def close(self) -> None:
        with self._lock:
            if self._dead or self._connection is None:
                return
            self._closing = True
            try:
                self._connection.ioloop.add_callback_threadsafe(self._close_on_loop)
            except Exception:  # the loop is already gone
                return
        self._thread.join(10)

    def submit(self, batch: _Batch) -> None:
        with self._lock:
            if self._dead or self._connection is None:
                raise BusUnavailable("publisher connection closed")
            self._scheduled.add(batch)
            try:
                self._connection.ioloop.add_callback_threadsafe(lambda: self._write(batch))
            except Exception as exc:
                self._scheduled.discard(batch)
                raise BusUnavailable(f"publisher connection closed: {exc}") from exc

    # -- I/O thread --
    def _run(self) -> None:
        try:
            self._connection = SelectConnection(
                self._params,
                on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_closed,
            )
            self._connection.ioloop.start()
        except Exception as exc:  # never let the I/O thread die with batches waiting
            log.exception("publisher I/O loop failed")
            self._open_error = self._open_error or repr(exc)
        finally:
            with self._lock:
                self._dead = True
                batches = {batch for batch, _ in self._pending.values()} | self._scheduled
                self._pending.clear()
                self._scheduled.clear()
            for batch in batches:
                batch.fail_all()
            self._ready.set()
            if self._connection is not None:
                try:
                    self._connection.ioloop.close()
                except Exception:
                    log.debug("closing publisher ioloop", exc_info=True)

    def _on_open(self, connection: SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_open_error(self, connection: SelectConnection, error: BaseException | str) -> None:
        self._open_error = str(error) or type(error).__name__
        connection.ioloop.stop()

    def _on_closed(self, connection: SelectConnection, reason: BaseException) -> None:
        if not self._closing:
            log.warning("publisher connection lost: %s", reason)
        connection.ioloop.stop()

    def _on_channel_open(self, channel: pika.channel.Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(
            ack_nack_callback=self._on_confirm, callback=lambda _frame: self._ready.set()
        )

    def _on_channel_closed(self, channel: pika.channel.Channel, reason: BaseException) -> None:
        # A channel error ends this session; unconfirmed messages fail and the next publish reconnects.
        if not self._closing:
            log.warning("publisher channel closed: %s", reason)
        if self._connection is not None and self._connection.is_open:
            self._closing = True
            self._connection.close()

    def _close_on_loop(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        elif self._connection is not None:
            self._connection.ioloop.stop()

    def _write(self, batch: _Batch) -> None:
        with self._lock:
            self._scheduled.discard(batch)
        channel = self._channel
        if channel is None or not channel.is_open:
            batch.fail_all()
            return
        for index, envelope in enumerate(batch.envelopes):
            tag = self._next_tag
            self._next_tag += 1
            self._pending[tag] = (batch, index)
            self._by_message_id.setdefault(envelope.message_id, deque()).append(tag)
            channel.basic_publish(
                batch.exchange, envelope.routing_key, envelope.body, properties(envelope), mandatory=True
            )

    def _on_return(
        self, channel: object, method: Basic.Return, props: pika.BasicProperties, body: bytes
    ) -> None:
        # A return precedes the confirm of the same message; match it to the oldest unconfirmed
        # publish with this message id (ids may repeat, their order on the channel does not change).
        for tag in self._by_message_id.get(props.message_id or "", ()):
            batch, index = self._pending[tag]
            if batch.outcomes[index] is None:
                batch.mark_returned(index, f"{props.message_id} ({method.reply_code} {method.reply_text})")
                return
        log.warning("return for unknown message %s", props.message_id)

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        outcome = _ACKED if isinstance(method, Basic.Ack) else _NACKED
        if method.multiple:
            # Tags were inserted in increasing order, so the confirmed ones are a prefix.
            tags = list(itertools.takewhile(lambda t: t <= method.delivery_tag, self._pending))
        else:
            tags = [method.delivery_tag] if method.delivery_tag in self._pending else []
        for tag in tags:
            batch, index = self._pending.pop(tag)
            message_id = batch.envelopes[index].message_id
            waiting = self._by_message_id.get(message_id)
            if waiting is not None:
                waiting.remove(tag)
                if not waiting:
                    del self._by_message_id[message_id]
            batch.settle(index, outcome)


class ConfirmedPublisher:
    """Thread-safe; reconnects on demand with bounded exponential backoff."""

    def __init__(self, url: str, name: str = "swhub-publisher") -> None:
        self._url = url
        self._name = name
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._closed = False

    def publish(self, exchange: str, envelopes: Sequence[Envelope], timeout: float) -> None:
        """Return once every message is confirmed. Unroutable or nacked messages are reported after
        the whole batch went out (the rest of it is delivered, as one broker round would do)."""
        deadline = time.monotonic() + timeout
        returned: list[str] = []
        details: list[str] = []
        nacked: list[str] = []
        for start in range(0, len(envelopes), MAX_IN_FLIGHT):
            batch = self._publish_chunk(exchange, envelopes[start : start + MAX_IN_FLIGHT], deadline)
            for envelope, outcome in zip(batch.envelopes, batch.outcomes, strict=True):
                if outcome == _RETURNED:
                    returned.append(envelope.message_id)
                elif outcome == _NACKED:
                    nacked.append(envelope.message_id)
            details.extend(batch.details)
        if returned:
            raise UnroutableError(
                f"no queue bound on exchange {exchange!r} for message(s) {', '.join(details)}",
                tuple(returned),
            )
        if nacked:
            raise PublishNacked(f"broker nacked message(s) {', '.join(nacked)}", tuple(nacked))

    def _publish_chunk(self, exchange: str, envelopes: Sequence[Envelope], deadline: float) -> _Batch:
        batch = _Batch(exchange, envelopes, [None] * len(envelopes), remaining=len(envelopes))
        if not envelopes:
            return batch
        self._current_session(deadline).submit(batch)
        if not batch.done.wait(max(0.0, deadline - time.monotonic())):
            raise BusUnavailable(
                f"{batch.remaining} of {len(envelopes)} message(s) not confirmed before the timeout"
            )
        lost = sum(1 for outcome in batch.outcomes if outcome == _LOST)
        if lost:
            raise BusUnavailable(f"connection lost before the broker confirmed {lost} message(s)")
        return batch

    def _current_session(self, deadline: float) -> _Session:
        with self._lock:
            if self._closed:
                raise BusUnavailable("bus is closed")
            if self._session is not None and self._session.alive:
                return self._session
            retrying = Retrying(
                stop=stop_after_delay(max(0.0, deadline - time.monotonic())),
                wait=wait_exponential(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX),
                retry=retry_if_exception_type(BusUnavailable),
                before_sleep=log_retry,
                reraise=True,
            )
            self._session = retrying(self._open_session, deadline)
            return self._session

    def _open_session(self, deadline: float) -> _Session:
        session = _Session(self._url, self._name)
        session.open(timeout=max(1.0, min(15.0, deadline - time.monotonic())))
        return session

    def close(self) -> None:
        with self._lock:
            self._closed = True
            session, self._session = self._session, None
        if session is not None:
            session.close()
