"""Dead letters: every message the bus gave up on is copied into the database with its reason, so
operators can list them and replay one (re-injected into the queue it died in, audited) or discard
it (audited, with a reason)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bus.base import (
    ATTEMPTS_HEADER,
    DEAD_LETTER_QUEUE,
    ERROR_HEADER,
    FIRST_ROUTING_KEY_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    Delivery,
    QueueSpec,
)
from hub.clock import now
from hub.db import audit
from hub.db.inbox import claim
from hub.db.models import DeadLetter
from hub.db.outbox import BUS_MESSAGE_ID_HEADER, enqueue
from hub.db.session import Database
from hub.runtime import ConsumerSpec, DeadLetterHook, Hub

CONSUMER = "hub.dead-letters"
REPLAY_HEADER = "x-swhub-replay"
# Headers describing the death; stripped before a replay so the message looks as it did originally.
DEATH_HEADERS = (
    ERROR_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ATTEMPTS_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-delivery-count",
)
DEFAULT_EXCHANGE = ""  # AMQP default exchange: the routing key names the queue


class ReplayRefused(Exception):
    pass


class DiscardRefused(Exception):
    pass


def _broker_death(headers: dict[str, Any]) -> tuple[str, str, str, str]:
    """(reason, exchange, routing key, queue) from RabbitMQ's own x-death (broker-side delivery limit)."""
    deaths = headers.get("x-death") or [{}]
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    keys = first.get("routing-keys") or [""]
    return (
        f"broker dead-lettered: {first.get('reason', 'unknown')}",
        str(first.get("exchange", "")),
        str(keys[0]),
        str(first.get("queue", "")),
    )


def store(session: Session, delivery: Delivery) -> DeadLetter:
    envelope = delivery.envelope
    headers = dict(envelope.headers)
    if ERROR_HEADER in headers:
        reason = str(headers[ERROR_HEADER])
        exchange = str(headers.get(ORIGINAL_EXCHANGE_HEADER, ""))
        routing_key = str(headers.get(ORIGINAL_ROUTING_KEY_HEADER, envelope.routing_key))
        queue = str(headers.get(ORIGINAL_QUEUE_HEADER, ""))
    else:
        reason, exchange, routing_key, queue = _broker_death(headers)
    row = DeadLetter(
        id=str(uuid.uuid4()),
        original_exchange=exchange,
        original_routing_key=routing_key,
        original_queue=queue,
        reason=reason,
        attempts=int(headers.get(ATTEMPTS_HEADER, 0) or 0),
        body=envelope.body,
        headers={
            **{k: v for k, v in headers.items() if isinstance(v, str | int | float | bool)},
            "message_id": envelope.message_id,
        },
        content_type=envelope.content_type,
        correlation_id=envelope.correlation_id,
        dead_at=now(),
    )
    session.add(row)
    audit.record(
        session,
        "bus",
        "message.dead",
        "dead_letter",
        row.id,
        {"message_id": envelope.message_id, "queue": queue, "reason": reason[:500]},
        envelope.correlation_id,
    )
    return row


def first_routing_key(row: DeadLetter) -> str:
    """The routing key the message was first published with (a replayed copy that died again was
    delivered under its queue's name; its replay header says the first one)."""
    return str(row.headers.get(FIRST_ROUTING_KEY_HEADER) or row.original_routing_key)


def consumer_spec(db: Database, hooks: Sequence[DeadLetterHook] = ()) -> ConsumerSpec:
    """`hooks` (a hub's dead_letter_hooks, read at each delivery) are told of each dead letter stored,
    in its transaction."""

    def handle(delivery: Delivery) -> None:
        headers = delivery.envelope.headers
        # The same message may die again after a replay, or in two queues of a fan-out: key on all three.
        queue, replays = headers.get(ORIGINAL_QUEUE_HEADER, ""), headers.get(REPLAY_HEADER, 0)
        key = f"{delivery.envelope.message_id}|{queue}|{replays}"
        with db.unit_of_work() as session:
            if claim(session, CONSUMER, key[:128]):
                row = store(session, delivery)
                for hook in hooks:
                    hook(session, "dead", row.original_queue, first_routing_key(row))

    # The dead-letter queue is declared by the bus itself; its own consumer never dead-letters again.
    return ConsumerSpec(
        queue=QueueSpec(name=DEAD_LETTER_QUEUE, bindings=(), dead_letter=False), handler=handle, declare=False
    )


@dataclass(frozen=True, slots=True)
class Replayed:
    dead_letter_id: str
    queue: str
    outbox_message_id: str


def replay(session: Session, dead_letter_id: str, actor: str, hooks: Sequence[DeadLetterHook]) -> Replayed:
    """Re-inject a dead message into the queue it died in (via the outbox), once per request; `hooks`
    (the hub's dead_letter_hooks) are told in this transaction. No default: a replay the clearance
    counts do not see would leave a later message of its partition looking caught up (straight.py)."""
    row = session.scalar(select(DeadLetter).where(DeadLetter.id == dead_letter_id).with_for_update())
    if row is None:
        raise LookupError(dead_letter_id)
    if row.status != "dead":
        raise ReplayRefused(f"dead letter {dead_letter_id} is {row.status}, not dead")
    if not row.original_queue:
        raise ReplayRefused("the queue the message died in is unknown; it cannot be replayed")
    headers = {k: v for k, v in row.headers.items() if k not in DEATH_HEADERS and k != "message_id"}
    headers[REPLAY_HEADER] = int(headers.get(REPLAY_HEADER, 0)) + 1
    # its consumer reads the routing key it was first sent with, not the queue name the replay uses
    if first := first_routing_key(row):
        headers[FIRST_ROUTING_KEY_HEADER] = first
    message_id = str(row.headers.get("message_id") or row.id)
    # The bus message id stays the original one (consumers' inboxes key on it); the outbox row needs
    # its own unique id, since the original publish may already sit in the outbox table.
    headers[BUS_MESSAGE_ID_HEADER] = message_id
    enqueue(
        session,
        DEFAULT_EXCHANGE,
        row.original_queue,
        row.body,
        message_id=f"replay-{row.id}",
        headers=headers,
        content_type=row.content_type,
        correlation_id=row.correlation_id,
    )
    for hook in hooks:
        hook(session, "replayed", row.original_queue, first_routing_key(row))
    row.status = "replayed"
    row.replayed_at = now()
    row.replayed_by = actor
    row.replay_count += 1
    audit.record(
        session,
        actor,
        "dead_letter.replay",
        "dead_letter",
        row.id,
        {"queue": row.original_queue, "message_id": message_id, "replay": headers[REPLAY_HEADER]},
        row.correlation_id,
    )
    return Replayed(row.id, row.original_queue, message_id)


def discard(session: Session, dead_letter_id: str, actor: str, reason: str) -> DeadLetter:
    """Drop a dead message for good (audited with who and why): it is neither replayed nor counted
    among the dead letters waiting any more. Nothing else changes: a workflow partition's counts
    already took it off its way when it was stored (the "dead" hook)."""
    row = session.scalar(select(DeadLetter).where(DeadLetter.id == dead_letter_id).with_for_update())
    if row is None:
        raise LookupError(dead_letter_id)
    if row.status != "dead":
        raise DiscardRefused(f"dead letter {dead_letter_id} is {row.status}, not dead")
    row.status = "discarded"
    audit.record(
        session,
        actor,
        "dead_letter.discard",
        "dead_letter",
        row.id,
        {
            "queue": row.original_queue,
            "message_id": str(row.headers.get("message_id") or row.id),
            "reason": reason[:500],
        },
        row.correlation_id,
    )
    return row


def install(hub: Hub) -> None:
    hub.add_consumer(consumer_spec(hub.db, hub.dead_letter_hooks))
