"""Inbound clearance traffic partitioned by bill of lading, so workers scale out without reordering.

Intake routes each accepted message to one of N partition queues by a stable hash of its bill
(`clearance.<type>.<sender>.p<k>`). Each partition queue is a quorum queue with a single active
consumer: any number of `swhub worker` processes consume all partitions, the broker feeds each
partition to one of them at a time, so one bill's messages are applied in the order they were
accepted; when a worker dies the broker hands its partitions to the others.

A message without a bill of its own (a customs DecImportResponse names only the ClientSeqNo) goes to
its declaration's bill's partition; one whose declaration is not known yet goes by its own reference
and, if it must wait, waits through the hand-off locks of `handoff.py`.

Changing N moves bills between partitions: drain the workflow queues first (`swhub bus` shows them)."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bus.base import INBOUND_EXCHANGE, QueueSpec
from hub.db.clearance_tables import ClrDeclaration

LEGACY_KEY = "clearance.*.*"


def partition_of(key: str, partitions: int) -> int:
    """crc32 is stable across processes and Python versions (hash() is salted per process)."""
    return zlib.crc32(key.encode("utf-8")) % max(1, partitions)


def routing_key(message_type: str, sender: str, partition: int) -> str:
    return f"clearance.{message_type}.{sender}.p{partition}"


def partition_in(routing_key: str) -> int | None:
    """The partition routing_key() put in a key, `clearance.<type>.<sender>.p<k>` -> k; None for a
    key without one (LEGACY_KEY's, queued by a hub before partitions)."""
    last = routing_key.rsplit(".", 1)[-1]
    return int(last[1:]) if last[:1] == "p" and last[1:].isdigit() else None


def queue_name(prefix: str, partition: int) -> str:
    return f"{prefix}.workflow.p{partition}"


def partition_of_queue(prefix: str, queue: str) -> int | None:
    """`<prefix>.workflow.p<k>` -> k; None for any other queue."""
    head, _, last = queue.rpartition(".p")
    return int(last) if head == f"{prefix}.workflow" and last.isdigit() else None


def queue_names(prefix: str, partitions: int) -> list[str]:
    """Every queue a clearance service with this prefix declares for itself (to delete a test's)."""
    names = [f"{prefix}.ingress", f"{prefix}.customs-gateway"]
    return names + [queue_name(prefix, k) for k in range(max(1, partitions))]


def queue_specs(prefix: str, partitions: int, delivery_limit: int) -> list[QueueSpec]:
    return [
        QueueSpec(
            queue_name(prefix, k),
            # partition 0 also takes the unpartitioned key an older hub's outbox rows carry
            # (`clearance.<type>.<sender>`), in their order, as its single queue did
            ((INBOUND_EXCHANGE, f"clearance.*.*.p{k}"),)
            + (((INBOUND_EXCHANGE, LEGACY_KEY),) if k == 0 else ()),
            delivery_limit,
            single_active_consumer=True,
        )
        for k in range(max(1, partitions))
    ]


def partition_key(session: Session, keys: dict[str, Any], fallback: str) -> str:
    """The bill a message is about: its own first bill, else its declaration's bill (looked up by
    ClientSeqNo, SeqNo or EntryId), else `fallback` (the message's own reference)."""
    if keys.get("bills"):
        return str(keys["bills"][0])
    for column, key in (
        (ClrDeclaration.client_seq_no, "client_seq_no"),
        (ClrDeclaration.seq_no, "seq_no"),
        (ClrDeclaration.entry_id, "entry_id"),
    ):
        value = keys.get(key)
        if value:
            bill = session.scalar(
                select(ClrDeclaration.bill_no)
                .where(column == value)
                .order_by(ClrDeclaration.created_at.desc())
                .limit(1)
            )
            if bill:
                return bill
    return fallback
