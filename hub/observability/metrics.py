"""The hub's Prometheus metrics, one registry per process.

Timings are observed where the work happens (intake, workflow, relay) with a decorator or a context
manager, so instrumenting a stage is a one-line change. The end-to-end figure follows a message
across processes in its headers: intake stamps the time it received the message, the workflow hands
that stamp (through a context variable) to every notice it sends, and the relay observes "received
-> notice on the bus" when it publishes the notice. Gauges that describe shared state (outbox lag,
parked messages, dead letters) are read from the database at scrape time (hub.observability.state)."""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

P = ParamSpec("P")
R = TypeVar("R")
D = TypeVar("D")

REGISTRY = CollectorRegistry()

# Header stamped by intake on the copy routed to the workflow: when the hub accepted the message,
# in integer milliseconds since the epoch (AMQP headers have no float type: RabbitMQ via pika
# refuses a float, so an int is the one form both buses carry).
RECEIVED_AT_HEADER = "x-swhub-received-at-ms"
# Headers carried by a notice: when the message that caused it was accepted, and its type.
TRIGGER_AT_HEADER = "x-swhub-trigger-received-at-ms"
TRIGGER_TYPE_HEADER = "x-swhub-trigger-type"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_E2E_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

STAGE_SECONDS = Histogram(
    "swhub_stage_seconds",
    "Time spent in one pipeline stage per call (intake: one submission; workflow: one inbound "
    "message; relay: one outbox batch)",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
END_TO_END_SECONDS = Histogram(
    "swhub_end_to_end_seconds",
    "From the hub accepting a message to a notice it caused being on the bus",
    ["trigger", "notice"],
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "swhub_batch_size",
    "Messages handled together (intake: messages per interchange; relay: rows per publish batch)",
    ["stage"],
    buckets=_BATCH_BUCKETS,
    registry=REGISTRY,
)
MESSAGES = Counter(
    "swhub_messages",
    "Messages by stage and outcome",
    ["stage", "outcome"],
    registry=REGISTRY,
)
DB_STATEMENTS = Counter(
    "swhub_db_statements",
    "SQL statements sent to the database by this process (with the messages counters: statements "
    "per message, the cost bench/clearance.py reports)",
    registry=REGISTRY,
)
CLEARANCE_ROUTED = Counter(
    "swhub_clearance_routed",
    "Accepted clearance messages by where they were applied: `applied_at_intake` in intake's own "
    "transaction (nothing of their partition was on its way), `queued` through their partition queue "
    "(hub/services/clearance/straight.py)",
    ["path"],
    registry=REGISTRY,
)
BATCH_FALLBACKS = Counter(
    "swhub_batch_fallbacks",
    "Batches not committed as one (hub/db/batch.py): `split` around a message that failed (it goes "
    "on its own, with its reason); `whole` when the batch's own work failed (its commit, a "
    "concurrent duplicate, a prefetch), after which each message is applied in its own transaction. "
    "A rising `whole` rate is a throughput cliff: see the worker's log for the cause",
    ["how"],
    registry=REGISTRY,
)
CONSUMED_QUEUES = Gauge(
    "swhub_consumer_active",
    "1 for each queue this process consumes from (on RabbitMQ a single-active-consumer partition "
    "is owned by one process at a time: see swhub_partition_last_delivery_timestamp)",
    ["queue"],
    registry=REGISTRY,
)
LAST_DELIVERY = Gauge(
    "swhub_partition_last_delivery_timestamp",
    "Unix time this process last received a delivery from the queue: the process delivering a "
    "partition's messages owns it",
    ["queue"],
    registry=REGISTRY,
)

_trigger: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "swhub_trigger", default=None
)


def timed(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: observe the call's duration under `stage` (failures included)."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with stage_timer(stage):
                return fn(*args, **kwargs)

        return run

    return wrap


@contextmanager
def stage_timer(stage: str, already: float = 0.0) -> Iterator[None]:
    """Observe the block's duration under `stage`, plus `already` seconds spent on the same message
    earlier (intake's decode, done before its batch is applied)."""
    start = time.perf_counter() - already
    outcome = "ok"
    try:
        yield
    except BaseException as exc:  # e.g. IntakeRejected: a refusal, counted by its kind
        outcome = type(exc).__name__
        raise
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - start)
        MESSAGES.labels(stage, outcome).inc()


def received_stamp() -> dict[str, int]:
    """Headers for a message the hub has just accepted."""
    return {RECEIVED_AT_HEADER: _now_ms()}


@contextmanager
def triggered_by(headers: Mapping[str, Any], message_type: str) -> Iterator[None]:
    """While the workflow applies a message, notices it sends carry the message's acceptance time."""
    stamp = _as_ms(headers.get(RECEIVED_AT_HEADER))
    token = _trigger.set((stamp, message_type) if stamp is not None else None)
    try:
        yield
    finally:
        _trigger.reset(token)


def trigger_headers() -> dict[str, Any]:
    """Headers for an outgoing notice: which accepted message caused it, and when."""
    current = _trigger.get()
    if current is None:
        return {}
    return {TRIGGER_AT_HEADER: current[0], TRIGGER_TYPE_HEADER: current[1]}


def observe_published(headers: Mapping[str, Any], notice_type: str) -> None:
    """Called by the relay once the bus has a message: records end-to-end latency for notices."""
    stamp = _as_ms(headers.get(TRIGGER_AT_HEADER))
    if stamp is None:
        return
    trigger = str(headers.get(TRIGGER_TYPE_HEADER, "unknown"))
    END_TO_END_SECONDS.labels(trigger, notice_type).observe(max(0.0, (_now_ms() - stamp) / 1000))


def watch_queue(queue: str, handler: Callable[[D], None]) -> Callable[[D], None]:
    """Wrap a bus handler so this process reports the queue it consumes and when it last got work."""
    CONSUMED_QUEUES.labels(queue).set(1)

    @functools.wraps(handler)
    def run(delivery: D) -> None:
        LAST_DELIVERY.labels(queue).set(time.time())
        handler(delivery)

    return run


def watch_batches(queue: str, handler: Callable[[Sequence[D]], R]) -> Callable[[Sequence[D]], R]:
    """watch_queue for a batch handler; also records each batch's size under the queue's stage."""
    CONSUMED_QUEUES.labels(queue).set(1)
    stage = re.sub(r"\.p\d+$", "", queue).rsplit(".", 1)[-1]  # "ingress", "workflow" (any partition)

    @functools.wraps(handler)
    def run(deliveries: Sequence[D]) -> R:
        LAST_DELIVERY.labels(queue).set(time.time())
        BATCH_SIZE.labels(stage).observe(len(deliveries))
        return handler(deliveries)

    return run


def forget_queues(queues: Iterable[str]) -> None:
    for queue in queues:
        CONSUMED_QUEUES.labels(queue).set(0)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _as_ms(value: Any) -> int | None:
    """A millisecond stamp from a header; None when absent or not a whole number (an old float
    stamp or a partner's junk must not break the workflow)."""
    if isinstance(value, bool) or not isinstance(value, (int, str, bytes)):
        return None
    try:
        return int(value)
    except ValueError:
        return None
