"""AMQP transport: publish raw messages to `swhub.ingress` (routing key = message type, header
x-swhub-sender = the sending party's USCC, persistent, mandatory, publisher confirms) and consume the
hub's notices from the simulator's own quorum queue bound to `swhub.notices` with `<terminal>.#` and
`<carrier>.#`. pika connections are not thread-safe: the publisher (used by the dispatcher thread
only) and the consumer (own thread) each own one, and both reconnect after broker failures."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import pika
import pika.exceptions

from simulators.port.transport import NoticeHandler, SendResult, content_type

log = logging.getLogger(__name__)
NOTICE_EXCHANGE = "swhub.notices"
INGRESS_EXCHANGE = "swhub.ingress"
SENDER_HEADER = "x-swhub-sender"


class AmqpPublisher:
    def __init__(self, url: str, attempts: int = 30, exchange: str = INGRESS_EXCHANGE) -> None:
        self.url = url
        self.attempts = attempts
        self.exchange = exchange
        self.reconnects = 0
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None
        self._connected_once = False

    def _ensure(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is None or self._channel.is_closed or self._connection is None:
            self._close_quietly()
            self._connection = pika.BlockingConnection(pika.URLParameters(self.url))
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
            if self._connected_once:
                self.reconnects += 1
            self._connected_once = True
        return self._channel

    def drop_connection(self) -> None:
        """Kill the TCP connection under pika without a protocol close (a cable pulled): the next
        publish finds it dead, reconnects and publishes again."""
        if self._connection is None:
            return
        try:
            sock = self._connection._impl._transport._sock  # pika internals: the connection's socket
            sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # internals moved: a plain close still forces a reconnect
            self._close_quietly()

    def publish(
        self, sender: str, routing_key: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult:
        props = pika.BasicProperties(
            delivery_mode=2, content_type=content_type(body), headers={SENDER_HEADER: sender}
        )
        error = ""
        for attempt in range(self.attempts):
            try:
                channel = self._ensure()
                if drop_connection and attempt == 0:
                    self.drop_connection()
                channel.basic_publish(self.exchange, routing_key, body, props, mandatory=True)
                return SendResult("sent")
            except pika.exceptions.UnroutableError:
                error = f"unroutable: no queue bound to {self.exchange} for {routing_key}"  # hub not up (yet)
            except (pika.exceptions.AMQPError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._channel = None  # reconnect (and re-publish: the confirm never came)
            log.warning("port AMQP publish of %s failed (%s), attempt %d", routing_key, error, attempt + 1)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        return SendResult("failed", error)

    def _close_quietly(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already dead: nothing to close
                connection.close()

    def close(self) -> None:
        self._close_quietly()


class AmqpNoticeConsumer(threading.Thread):
    def __init__(self, url: str, queue: str, bindings: list[str], handle: NoticeHandler) -> None:
        super().__init__(name="port-amqp-consumer", daemon=True)
        self.url, self.queue, self.bindings, self.handle = url, queue, bindings, handle
        self.ready = threading.Event()
        self.reconnects = 0
        self._stop = threading.Event()

    def run(self) -> None:
        first = True
        while not self._stop.is_set():  # reconnect after a broker restart or a dropped connection
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.url))
                if not first:
                    self.reconnects += 1
                first = False
                channel = connection.channel()
                channel.exchange_declare(NOTICE_EXCHANGE, exchange_type="topic", durable=True)
                channel.exchange_declare(INGRESS_EXCHANGE, exchange_type="topic", durable=True)
                channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
                for key in self.bindings:
                    channel.queue_bind(self.queue, NOTICE_EXCHANGE, routing_key=key)
                channel.basic_qos(prefetch_count=50)
                self.ready.set()
                for method, _props, body in channel.consume(self.queue, inactivity_timeout=0.5):
                    if self._stop.is_set():
                        break
                    if method is None:
                        continue
                    notice_type = method.routing_key.split(".", 1)[-1]
                    try:
                        self.handle(notice_type, body)
                    except Exception:  # a notice we cannot apply must not stop the terminal
                        log.exception("port notice %s could not be applied", notice_type)
                    channel.basic_ack(method.delivery_tag)  # after it was applied to the engine
                connection.close()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("port AMQP consumer: %s; reconnecting", exc)
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()


class AmqpTransport:
    kind = "amqp"

    def __init__(self, url: str, queue: str, bindings: list[str], attempts: int = 30) -> None:
        self.url, self.queue, self.bindings = url, queue, bindings
        self.publisher = AmqpPublisher(url, attempts)
        self.consumer: AmqpNoticeConsumer | None = None

    @property
    def reconnects(self) -> int:
        return self.publisher.reconnects + (self.consumer.reconnects if self.consumer else 0)

    def start(self, on_notice: NoticeHandler) -> None:
        self.consumer = AmqpNoticeConsumer(self.url, self.queue, self.bindings, on_notice)
        self.consumer.start()
        self.consumer.ready.wait(30)  # /health answers only once the notice queue exists

    def ready(self) -> bool:
        return self.consumer is not None and self.consumer.ready.is_set()

    def send(
        self, party: str, sender_uscc: str, message_type: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult:
        return self.publisher.publish(sender_uscc, message_type, body, drop_connection=drop_connection)

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer.join(5)
        self.publisher.close()
