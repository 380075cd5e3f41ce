"""Bus throughput: raw pika vs the hub's outbox -> relay -> bus -> consumer -> inbox path.

Both legs move the same number of persistent messages through a RabbitMQ quorum queue with
publisher confirms and manual acks, in the same run:
  (a) raw pika: BlockingConnection, confirm_delivery, basic_publish one by one, then consume/ack;
  (a') the hub's RabbitBus alone (pipelined confirms), no database, for scale;
  (b) the hub: N rows written to the outbox (PostgreSQL, in transactions of 100), relayed with
      confirms by OutboxRelay over RabbitBus, consumed by an idempotent handler that records each
      id in the inbox table in the same transaction as its effect: (b1) one transaction per message,
      (b2) GroupCommit: waiting deliveries share a transaction, each acked after that commit.
Rates are end to end (first publish -> last ack / commit). Usage:
  python bench/bus_throughput.py [--messages 10000] [--amqp URL] [--database URL]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid

import pika
import sqlalchemy as sa

from hub.bus.base import Delivery, Envelope, QueueSpec, Topology
from hub.bus.rabbitmq import RabbitBus
from hub.db.inbox import GroupCommit, idempotent
from hub.db.migrate import upgrade
from hub.db.outbox import OutboxRelay, enqueue
from hub.db.session import Database

BODY = b"<Manifest><Head><MessageID>bench</MessageID></Head></Manifest>" * 4  # ~250 bytes


def raw_pika(url: str, n: int) -> float:
    queue = f"bench.raw.{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 5})
    ch.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2, content_type="application/xml")
    consumer_conn = pika.BlockingConnection(pika.URLParameters(url))
    cch = consumer_conn.channel()
    cch.basic_qos(prefetch_count=200)
    received = 0
    done = threading.Event()

    def on_message(channel, method, _props, _body) -> None:  # type: ignore[no-untyped-def]
        nonlocal received
        channel.basic_ack(method.delivery_tag)
        received += 1
        if received == n:
            done.set()
            channel.stop_consuming()

    cch.basic_consume(queue, on_message)
    consumer = threading.Thread(target=cch.start_consuming, daemon=True)
    started = time.perf_counter()
    consumer.start()
    for i in range(n):
        ch.basic_publish("", queue, BODY, props, mandatory=True)  # returns after the broker confirm
        if i % 1000 == 0:
            conn.process_data_events(0)
    done.wait(600)
    elapsed = time.perf_counter() - started
    consumer.join(10)
    ch.queue_delete(queue)
    conn.close()
    consumer_conn.close()
    return n / elapsed


def bus_alone(amqp_url: str, n: int) -> float:
    """RabbitBus without the database: pipelined confirmed publish_many + acked consume."""
    bus = RabbitBus(amqp_url)
    exchange = f"bench.bus.{uuid.uuid4().hex[:8]}"
    queue = QueueSpec(name=f"{exchange}.q", bindings=((exchange, "#"),))
    bus.declare(Topology(exchanges=(exchange,), queues=(queue,)))
    count = 0
    done = threading.Event()

    def handle(_delivery: Delivery) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    consumer = bus.consume(queue.name, handle, prefetch=200)
    started = time.perf_counter()
    for start in range(0, n, 500):
        bus.publish_many(
            exchange,
            [Envelope(BODY, f"mt1101.{i % 10}", f"b{i}") for i in range(start, min(start + 500, n))],
        )
    done.wait(600)
    elapsed = time.perf_counter() - started
    consumer.stop()
    bus.close()
    return n / elapsed


def hub_path(amqp_url: str, database_url: str, n: int, group_commit: bool) -> float:
    upgrade(database_url)
    db = Database(database_url)
    bus = RabbitBus(amqp_url)
    exchange = f"bench.hub.{uuid.uuid4().hex[:8]}"
    queue = QueueSpec(name=f"{exchange}.q", bindings=((exchange, "#"),))
    bus.declare(Topology(exchanges=(exchange,), queues=(queue,)))
    consumer_name = f"bench-{uuid.uuid4().hex[:6]}"
    count = 0
    lock = threading.Lock()
    done = threading.Event()

    def handle(_session, _delivery: Delivery) -> None:  # type: ignore[no-untyped-def]
        pass  # the inbox row written by idempotent() is the effect being measured

    inner = (GroupCommit if group_commit else idempotent)(db, consumer_name, handle)

    def counted(delivery: Delivery) -> None:
        nonlocal count
        inner(delivery)
        with lock:
            count += 1
            if count >= n:
                done.set()

    relay = OutboxRelay(db, bus, batch=500, poll_seconds=0.05)
    # Group commit gathers what the handler threads hold: more threads, bigger shared transactions.
    consumer = bus.consume(queue.name, counted, prefetch=200, workers=64 if group_commit else 8)
    started = time.perf_counter()
    relay.start()
    for start in range(0, n, 100):
        with db.unit_of_work() as session:
            for i in range(start, min(start + 100, n)):
                enqueue(session, exchange, f"mt1101.{i % 10}", BODY, content_type="application/xml")
    done.wait(600)
    elapsed = time.perf_counter() - started
    relay.stop()
    consumer.stop()
    with db.sessions() as session:
        processed = session.scalar(
            sa.text("SELECT count(*) FROM inbox WHERE consumer = :c"), {"c": consumer_name}
        )
    assert processed == n, f"inbox has {processed} of {n}"
    bus.close()
    db.dispose()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    raw = raw_pika(args.amqp, args.messages)
    print(f"(a) raw pika, confirm each publish, quorum queue, ack: {raw:9.0f} msg/s")
    bus = bus_alone(args.amqp, args.messages)
    print(f"    hub bus alone (pipelined confirms, no database):   {bus:9.0f} msg/s")
    single = hub_path(args.amqp, args.database, args.messages, group_commit=False)
    print(f"(b1) hub path, one inbox transaction per message:      {single:9.0f} msg/s")
    hub = hub_path(args.amqp, args.database, args.messages, group_commit=True)
    print(f"(b2) hub path, group commit (GroupCommit):             {hub:9.0f} msg/s")
    print(
        f"ratio (b1)/(a): {single / raw:.2f}; (b2)/(a): {hub / raw:.2f} (goal >= 0.50); "
        f"(b2)/bus alone: {hub / bus:.2f}"
    )


if __name__ == "__main__":
    main()
