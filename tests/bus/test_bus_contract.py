"""One contract, two buses: every test runs on InProcessBus and on RabbitBus (real broker).

The in-process bus claims RabbitMQ quorum-queue semantics; running the same assertions against the
real broker is what keeps that claim honest."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from bus_helpers import Names, Recorder, broker_cleanup, drain, envelope, wait_until

from hub.bus.base import (
    ATTEMPTS_HEADER,
    DEAD_LETTER_EXCHANGE,
    ERROR_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    Batching,
    Bus,
    Delivery,
    QueueSpec,
    Reject,
    TopologyError,
    UnroutableError,
    UnsupportedHeader,
)
from hub.bus.memory import InProcessBus
from hub.bus.queue_store import DatabaseStore
from hub.db.migrate import upgrade
from hub.db.session import Database

pytestmark = pytest.mark.timeout(60)


def _durable_store(request: pytest.FixtureRequest) -> DatabaseStore:
    url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'bus.db'}"
    upgrade(url)
    db = Database(url)
    request.addfinalizer(db.dispose)
    return DatabaseStore(db)


@dataclass
class Ctx:
    bus: Bus
    names: Names
    _declared_queues: list[str] = field(default_factory=list)

    def declare(self, *queues: QueueSpec) -> None:
        self._declared_queues.extend(q.name for q in queues)
        self.bus.declare(self.names.topology(*queues))


@pytest.fixture(params=["memory", "durable", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def ctx(request: pytest.FixtureRequest) -> Iterator[Ctx]:
    names = Names()
    if request.param in ("memory", "durable"):
        # "durable": the embedded hub's bus, its queues kept in a (migrated) SQLite database.
        bus = InProcessBus(_durable_store(request) if request.param == "durable" else None)
        try:
            yield Ctx(bus, names)
        finally:
            bus.close()
        return
    from hub.bus.rabbitmq import RabbitBus

    amqp_url = request.getfixturevalue("amqp_url")
    with broker_cleanup(amqp_url, names) as queues:
        bus = RabbitBus(amqp_url, name=names.prefix)
        context = Ctx(bus, names, queues)
        try:
            yield context
        finally:
            bus.close()


def test_published_messages_are_confirmed_and_consumed_in_order(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("declarations")
    ctx.declare(QueueSpec(queue, ((n.exchange, n.key("decl.#")),)))
    ctx.bus.publish_many(
        n.exchange, [envelope(f"m{i}", n.key(f"decl.cusdec.s{i}"), source="test") for i in range(3)]
    )
    ctx.bus.publish(n.exchange, envelope("m3", n.key("decl.cusdec.s3")))
    assert ctx.bus.queue_depth(queue) == 4

    recorder = drain(ctx.bus, queue, expected=4)

    assert recorder.ids() == ["m0", "m1", "m2", "m3"]
    first = recorder.deliveries[0]
    assert first.envelope.body == b"body of m0"
    assert first.envelope.routing_key == n.key("decl.cusdec.s0")
    assert first.envelope.headers == {"source": "test"}
    assert first.envelope.content_type == "application/xml"
    assert first.envelope.correlation_id == "corr-m0"
    assert (first.exchange, first.queue, first.attempt, first.redelivered) == (n.exchange, queue, 1, False)
    assert ctx.bus.queue_depth(queue) == 0


def test_unroutable_message_raises_and_routable_ones_still_arrive(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("only-decl")
    ctx.declare(QueueSpec(queue, ((n.exchange, n.key("decl.*")),)))

    with pytest.raises(UnroutableError, match="lost-1"):
        ctx.bus.publish(n.exchange, envelope("lost-1", n.key("manifest.x")))
    with pytest.raises(UnroutableError, match="lost-2") as raised:
        ctx.bus.publish_many(
            n.exchange,
            [
                envelope("ok-1", n.key("decl.a")),
                envelope("lost-2", n.key("x")),
                envelope("ok-2", n.key("decl.b")),
            ],
        )
    assert raised.value.message_ids == ("lost-2",)  # the others were delivered: do not republish them

    assert drain(ctx.bus, queue, expected=2).ids() == ["ok-1", "ok-2"]


def test_header_values_are_what_amqp_carries_on_both_buses(ctx: Ctx) -> None:
    """pika refuses a float header; the in-process bus must refuse it too, or code that works on
    the embedded default silently never publishes on RabbitMQ (what happened to the first metrics
    stamp)."""
    n = ctx.names
    queue = n.queue("headers")
    ctx.declare(QueueSpec(queue, ((n.exchange, n.key("decl.*")),)))

    with pytest.raises(UnsupportedHeader, match=r"x-stamp.*float"):
        ctx.bus.publish(n.exchange, envelope("float-1", n.key("decl.a"), **{"x-stamp": 1.5}))
    with pytest.raises(UnsupportedHeader, match="float-2"):  # a whole batch is checked before sending
        ctx.bus.publish_many(
            n.exchange,
            [envelope("ok-0", n.key("decl.a")), envelope("float-2", n.key("decl.a"), x=[1, 2.5])],
        )
    ctx.bus.publish(
        n.exchange,
        envelope("ok-1", n.key("decl.a"), **{"x-ms": 1764725000123, "x-s": "text", "x-b": True}),
    )

    got = drain(ctx.bus, queue, expected=1)
    assert got.ids() == ["ok-1"]  # neither refused publish left a message behind
    headers = got.deliveries[0].envelope.headers
    assert (headers["x-ms"], headers["x-s"], headers["x-b"]) == (1764725000123, "text", True)


def test_missing_exchange_or_queue_is_a_topology_error(ctx: Ctx) -> None:
    n = ctx.names
    ctx.declare()
    with pytest.raises(TopologyError):
        ctx.bus.publish(n.prefix + ".no-such-exchange", envelope("m", n.key("a")))
    with pytest.raises(TopologyError):
        ctx.bus.queue_depth(n.queue("no-such-queue"))
    with pytest.raises(TopologyError):
        ctx.bus.consume(n.queue("no-such-queue"), Recorder())
    # The bus still works after those errors.
    queue = n.queue("after")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))
    ctx.bus.publish(n.exchange, envelope("m", n.key("a")))
    assert ctx.bus.queue_depth(queue) == 1


def test_topic_routing_fans_a_notice_out_to_broker_and_yard(ctx: Ctx) -> None:
    n = ctx.names
    broker, yard = n.queue("broker"), n.queue("yard")
    # Notices are routed "<party>.<notice type>": the customs broker gets all its own notices,
    # the yard every release notice whoever it concerns.
    ctx.declare(
        QueueSpec(broker, ((n.notices, n.key("broker-91370200.#")),)),
        QueueSpec(yard, ((n.notices, n.key("*.release")), (n.notices, n.key("yard.#")))),
    )
    ctx.bus.publish_many(
        n.notices,
        [
            envelope("release-1", n.key("broker-91370200.release")),  # both
            envelope("inspect-1", n.key("broker-91370200.inspection")),  # broker only
            envelope("release-2", n.key("other-party.release")),  # yard only
            envelope("gate-1", n.key("yard")),  # yard only: '#' matches zero words
        ],
    )
    with pytest.raises(UnroutableError):
        ctx.bus.publish(n.notices, envelope("nobody", n.key("other-party.release.extra")))

    assert drain(ctx.bus, broker, expected=2).ids() == ["release-1", "inspect-1"]
    assert drain(ctx.bus, yard, expected=3).ids() == ["release-1", "release-2", "gate-1"]


def _dead_letters(ctx: Ctx, expected: int) -> list[Delivery]:
    return drain(ctx.bus, ctx.names.dead_tap, expected=expected).deliveries


def test_failing_handler_is_retried_up_to_the_limit_then_dead_lettered(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("risk")
    ctx.declare(QueueSpec(queue, ((n.exchange, n.key("decl.#")),), delivery_limit=3))

    def fail(delivery: Delivery) -> None:
        raise ValueError(f"gross weight 12 kg below net weight (attempt {delivery.attempt})")

    recorder = Recorder(fail)
    ctx.bus.publish(n.exchange, envelope("poison-1", n.key("decl.cusdec"), lrn="LRN-1"))
    consumer = ctx.bus.consume(queue, recorder)
    try:
        assert wait_until(lambda: ctx.bus.queue_depth(n.dead_tap) >= 1)
        time.sleep(0.3)  # no further delivery may follow the dead-lettering
    finally:
        consumer.stop()

    assert [(d.attempt, d.redelivered) for d in recorder.deliveries] == [(1, False), (2, True), (3, True)]
    assert ctx.bus.queue_depth(queue) == 0
    [dead] = _dead_letters(ctx, 1)
    assert dead.exchange == DEAD_LETTER_EXCHANGE
    assert dead.envelope.message_id == "poison-1"
    assert dead.envelope.body == b"body of poison-1"
    assert dead.envelope.routing_key == n.key("decl.cusdec")
    headers = dead.envelope.headers
    assert headers[ERROR_HEADER] == "ValueError: gross weight 12 kg below net weight (attempt 3)"
    assert headers[ORIGINAL_EXCHANGE_HEADER] == n.exchange
    assert headers[ORIGINAL_ROUTING_KEY_HEADER] == n.key("decl.cusdec")
    assert headers[ORIGINAL_QUEUE_HEADER] == queue
    assert headers[ATTEMPTS_HEADER] == 3
    assert headers["lrn"] == "LRN-1"


def test_message_is_not_acked_before_the_handler_returns(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("slow")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))
    release = threading.Event()
    first = Recorder(lambda d: release.wait(10))
    ctx.bus.publish(n.exchange, envelope("slow-1", n.key("a")))

    consumer = ctx.bus.consume(queue, first)
    assert wait_until(lambda: first.count() == 1)
    consumer.abort()  # the worker dies while the handler runs: nothing was acked yet
    release.set()

    second = drain(ctx.bus, queue, expected=1)
    assert [(d.envelope.message_id, d.attempt, d.redelivered) for d in second.deliveries] == [
        ("slow-1", 2, True)
    ]
    assert ctx.bus.queue_depth(queue) == 0


def test_reject_dead_letters_at_once(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("codec")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), delivery_limit=5))

    def reject(delivery: Delivery) -> None:
        raise Reject("UNH segment missing: not an EDIFACT interchange")

    recorder = Recorder(reject)
    ctx.bus.publish(n.exchange, envelope("garbage-1", n.key("edi.cusdec")))
    consumer = ctx.bus.consume(queue, recorder)
    try:
        assert wait_until(lambda: ctx.bus.queue_depth(n.dead_tap) >= 1)
        time.sleep(0.3)
    finally:
        consumer.stop()

    assert recorder.count() == 1
    [dead] = _dead_letters(ctx, 1)
    assert dead.envelope.headers[ERROR_HEADER] == "Reject: UNH segment missing: not an EDIFACT interchange"
    assert dead.envelope.headers[ORIGINAL_QUEUE_HEADER] == queue
    assert dead.envelope.headers[ATTEMPTS_HEADER] == 1


def test_prefetch_bounds_the_unacked_window(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("prefetch")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))
    ctx.bus.publish_many(n.exchange, [envelope(f"p{i}", n.key("x")) for i in range(10)])
    release = threading.Event()
    running, peak = [0], [0]
    lock = threading.Lock()

    def hold(delivery: Delivery) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    recorder = Recorder(hold)
    consumer = ctx.bus.consume(queue, recorder, prefetch=3, workers=6)  # more workers than the window
    try:
        assert wait_until(lambda: recorder.count() == 3)
        time.sleep(0.3)
        assert recorder.count() == 3
        assert ctx.bus.queue_depth(queue) == 7
        release.set()
        assert wait_until(lambda: recorder.count() == 10)
    finally:
        release.set()
        consumer.stop()
    assert peak[0] == 3
    assert sorted(recorder.ids()) == sorted(f"p{i}" for i in range(10))
    assert ctx.bus.queue_depth(queue) == 0


def test_stop_lets_running_handlers_finish_and_requeues_the_rest(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("stop")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))
    ctx.bus.publish_many(n.exchange, [envelope(f"s{i}", n.key("x")) for i in range(3)])
    release = threading.Event()
    finished: list[str] = []

    def slow(delivery: Delivery) -> None:
        release.wait(10)
        finished.append(delivery.envelope.message_id)

    recorder = Recorder(slow)
    consumer = ctx.bus.consume(queue, recorder, prefetch=3, workers=1)
    assert wait_until(lambda: recorder.count() == 1)
    stopper = threading.Thread(target=consumer.stop)
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive()  # stop waits for the running handler
    release.set()
    stopper.join(15)
    assert not stopper.is_alive()

    assert finished == ["s0"]
    rest = drain(ctx.bus, queue, expected=2)
    assert rest.ids() == ["s1", "s2"]  # s0 was acked; the two waiting in the window were requeued
    assert ctx.bus.queue_depth(queue) == 0


def test_single_active_consumer_queue_feeds_one_consumer_and_hands_over_in_order(ctx: Ctx) -> None:
    """A partition queue: two processes consume it, one receives everything, in order; when it
    dies (abort = lost connection), the other takes over from the first unacked message."""
    n = ctx.names
    queue = n.queue("partition")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), single_active_consumer=True))
    first_may_go = threading.Event()
    first = Recorder(lambda d: first_may_go.wait(10) if d.envelope.message_id == "a3" else None)
    second = Recorder()
    active = ctx.bus.consume(queue, first, prefetch=10)
    standby = ctx.bus.consume(queue, second, prefetch=10)
    try:
        ctx.bus.publish_many(n.exchange, [envelope(f"a{i}", n.key("x")) for i in range(6)])
        assert wait_until(lambda: first.count() == 4)  # a0..a2 done, a3 running
        time.sleep(0.3)
        assert second.count() == 0  # the standby consumer receives nothing while the first is active
        active.abort()  # the active process dies with a3..a5 unacked
        assert wait_until(lambda: second.count() == 3)
        assert second.ids() == ["a3", "a4", "a5"]  # taken over in queue order
        assert second.deliveries[0].redelivered
    finally:
        first_may_go.set()
        standby.stop()
    assert first.ids()[:3] == ["a0", "a1", "a2"]


def test_single_active_consumer_is_part_of_the_queue_declaration(ctx: Ctx) -> None:
    n = ctx.names
    queue = n.queue("sac")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), single_active_consumer=True))
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), single_active_consumer=True))  # idempotent
    with pytest.raises(TopologyError):
        ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))


def test_batch_consumer_gets_waiting_messages_together_in_order_each_settled_by_its_outcome(
    ctx: Ctx,
) -> None:
    n = ctx.names
    queue = n.queue("batched")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), delivery_limit=2))
    ctx.bus.publish_many(n.exchange, [envelope(f"b{i}", n.key("a")) for i in range(7)])
    batches: list[list[tuple[str, int]]] = []

    def handle(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        batches.append([(d.envelope.message_id, d.attempt) for d in deliveries])
        # b2 fails its first attempt (retried), b4 is a poison message (dead-lettered at once)
        return [
            ValueError("not yet")
            if (d.envelope.message_id, d.attempt) == ("b2", 1)
            else Reject("poison")
            if d.envelope.message_id == "b4"
            else None
            for d in deliveries
        ]

    consumer = ctx.bus.consume_batch(queue, handle, Batching(size=5, linger=0.5))
    try:
        assert wait_until(lambda: sum(len(b) for b in batches) >= 8)
        assert wait_until(lambda: ctx.bus.queue_depth(n.dead_tap) >= 1)
        time.sleep(0.3)
    finally:
        consumer.stop()

    assert batches[0] == [(f"b{i}", 1) for i in range(5)]  # up to the size, in queue order
    seen = [m for batch in batches for m, _ in batch]
    assert seen.count("b2") == 2 and seen.count("b4") == 1
    assert sorted(set(seen)) == [f"b{i}" for i in range(7)]
    assert ("b2", 2) in [m for batch in batches for m in batch]
    assert ctx.bus.queue_depth(queue) == 0
    [dead] = _dead_letters(ctx, 1)
    assert dead.envelope.message_id == "b4" and dead.envelope.headers[ERROR_HEADER] == "Reject: poison"


def test_batches_acked_whole_after_a_requeued_delivery_ack_nothing_twice_and_lose_nothing(ctx: Ctx) -> None:
    """RabbitMQ acks an all-ok batch of a one-worker consumer with one basic_ack(multiple=True): it
    must cover exactly that batch, not a delivery requeued earlier nor one still waiting."""
    n = ctx.names
    queue = n.queue("batch-multi-ack")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),), delivery_limit=3))
    ctx.bus.publish_many(n.exchange, [envelope(f"m{i}", n.key("a")) for i in range(9)])
    handled: list[tuple[str, int]] = []

    def handle(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        handled.extend((d.envelope.message_id, d.attempt) for d in deliveries)
        fails = {("m4", 1)}
        keys = [(d.envelope.message_id, d.attempt) for d in deliveries]
        return [ValueError("once") if key in fails else None for key in keys]

    consumer = ctx.bus.consume_batch(queue, handle, Batching(size=3, linger=0.3))
    try:
        assert wait_until(lambda: len(handled) >= 10)
        assert wait_until(lambda: ctx.bus.queue_depth(queue) == 0)
        time.sleep(0.5)  # anything acked wrongly or left unacked would come back meanwhile
    finally:
        consumer.stop()
    assert sorted(handled) == sorted([(f"m{i}", 1) for i in range(9)] + [("m4", 2)])
    assert ctx.bus.queue_depth(queue) == 0


def test_batch_is_not_acked_before_its_handler_returns_and_a_raising_handler_fails_it_whole(
    ctx: Ctx,
) -> None:
    n = ctx.names
    queue = n.queue("batch-crash")
    ctx.declare(QueueSpec(queue, ((n.exchange, "#"),)))
    ctx.bus.publish_many(n.exchange, [envelope(f"c{i}", n.key("a")) for i in range(3)])
    entered, release = threading.Event(), threading.Event()

    def hang(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        entered.set()
        release.wait(10)
        return [None] * len(deliveries)

    consumer = ctx.bus.consume_batch(queue, hang, Batching(size=3, linger=0.5))
    assert entered.wait(10)
    consumer.abort()  # the worker dies while its batch runs: none of the three was acked
    release.set()

    calls: list[list[tuple[str, int]]] = []

    def explode(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        calls.append([(d.envelope.message_id, d.attempt) for d in deliveries])
        if len(calls) == 1:
            raise ConnectionError("database went away")  # every delivery of the batch fails
        return [None] * len(deliveries)

    consumer = ctx.bus.consume_batch(queue, explode, Batching(size=3, linger=0.5))
    try:
        assert wait_until(lambda: sum(len(c) for c in calls) >= 6)
        assert wait_until(lambda: ctx.bus.queue_depth(queue) == 0)
    finally:
        consumer.stop()
    assert calls[0] == [("c0", 2), ("c1", 2), ("c2", 2)]
    assert sorted(m for c in calls[1:] for m in c) == [("c0", 3), ("c1", 3), ("c2", 3)]
