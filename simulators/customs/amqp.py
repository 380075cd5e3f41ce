"""AMQP transport of the customs simulator: consume what the hub routes to customs (NOTICE_EXCHANGE
`customs.#`) from a durable queue, and publish answers to `swhub.ingress` with routing key = message
type and header x-swhub-sender = the customs USCC (publisher confirms, persistent). pika connections
are not thread-safe, so the consumer and the publisher each own one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pika

from simulators.customs.engine import Answer

log = logging.getLogger(__name__)
NOTICE_EXCHANGE = "swhub.notices"
INGRESS_EXCHANGE = "swhub.ingress"


class AmqpConsumer(threading.Thread):
    def __init__(self, url: str, queue: str, handle: Callable[[str, bytes, str], None]) -> None:
        super().__init__(name="customs-amqp-consumer", daemon=True)
        self.url, self.queue, self.handle = url, queue, handle
        self.ready = threading.Event()
        self._stop = threading.Event()

    def declare(self, channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.exchange_declare(NOTICE_EXCHANGE, exchange_type="topic", durable=True)
        channel.exchange_declare(INGRESS_EXCHANGE, exchange_type="topic", durable=True)
        channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(self.queue, NOTICE_EXCHANGE, routing_key="customs.#")

    def run(self) -> None:
        while not self._stop.is_set():  # reconnect after a broker restart
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.url))
                channel = connection.channel()
                self.declare(channel)
                channel.basic_qos(prefetch_count=50)
                self.ready.set()
                for method, props, body in channel.consume(self.queue, inactivity_timeout=0.5):
                    if self._stop.is_set():
                        break
                    if method is None:
                        continue
                    message_type = method.routing_key.split(".", 1)[1]
                    self.handle(message_type, body, props.message_id or "")
                    channel.basic_ack(method.delivery_tag)
                connection.close()
            except pika.exceptions.AMQPError as exc:
                log.warning("customs AMQP consumer: %s; reconnecting", exc)
                time.sleep(1)

    def stop(self) -> None:
        self._stop.set()


class AmqpPublisher:
    def __init__(self, url: str, sender_uscc: str) -> None:
        self.url, self.sender = url, sender_uscc
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None

    def publish(self, answer: Answer) -> None:
        for attempt in range(60):
            try:
                if self._channel is None or self._channel.is_closed:
                    self._connection = pika.BlockingConnection(pika.URLParameters(self.url))
                    self._channel = self._connection.channel()
                    self._channel.confirm_delivery()
                props = pika.BasicProperties(
                    delivery_mode=2,
                    content_type="application/xml",
                    headers={"x-swhub-sender": self.sender},
                    correlation_id=answer.in_reply_to or None,  # the hub message answered
                )
                self._channel.basic_publish(
                    INGRESS_EXCHANGE, answer.message_type, answer.body, props, mandatory=True
                )
                return
            except pika.exceptions.AMQPError as exc:
                log.warning("customs AMQP publish failed (%s), attempt %d", exc, attempt + 1)
                self._channel = None
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise RuntimeError("could not publish to swhub.ingress")
