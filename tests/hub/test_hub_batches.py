"""Batched transactions (hub/db/batch.py, idempotent_batch): one commit for many messages, and still
per-message failure isolation and exactly-once effects, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.bus.base import Delivery, Envelope
from hub.clock import now
from hub.db import audit
from hub.db.batch import BatchFailed, isolating
from hub.db.inbox import idempotent_batch
from hub.db.models import AuditEntry, InboxMessage
from hub.db.session import Database
from hub.observability.metrics import REGISTRY


def fallbacks(how: str) -> float:
    return REGISTRY.get_sample_value("swhub_batch_fallbacks_total", {"how": how}) or 0.0


def delivery(message_id: str) -> Delivery:
    return Delivery(Envelope(message_id.encode(), "k", message_id), "x", "q", False, 1)


def ids(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.envelope.message_id for d in deliveries]


def test_a_failing_delivery_splits_the_batch_around_it_in_order() -> None:
    calls: list[tuple[str, list[str]]] = []

    def apply_all(batch: Sequence[Delivery]) -> None:
        calls.append(("batch", ids(batch)))
        if "c" in ids(batch):
            raise BatchFailed(ids(batch).index("c"), ValueError("c is poison"))

    def single(batch: Sequence[Delivery]) -> list[Exception | None]:
        calls.append(("single", ids(batch)))
        return [ValueError("c is poison")] if ids(batch) == ["c"] else [None]

    split_before, whole_before = fallbacks("split"), fallbacks("whole")
    outcomes = isolating(apply_all, single)([delivery(m) for m in "abcde"])

    assert [type(o).__name__ if o else None for o in outcomes] == [None, None, "ValueError", None, None]
    assert calls == [
        ("batch", ["a", "b", "c", "d", "e"]),
        ("batch", ["a", "b"]),  # applied again without the failing one, before it
        ("single", ["c"]),
        ("batch", ["d", "e"]),
    ]
    assert (fallbacks("split") - split_before, fallbacks("whole") - whole_before) == (1, 0)


def test_a_batch_failing_as_a_whole_is_applied_one_by_one() -> None:
    singles: list[list[str]] = []

    def apply_all(batch: Sequence[Delivery]) -> None:
        raise sa.exc.IntegrityError("INSERT INTO inbox", {}, Exception("duplicate key"))

    def single(batch: Sequence[Delivery]) -> list[Exception | None]:  # each in its own transaction
        singles.append(ids(batch))
        return [None] * len(batch)

    whole_before = fallbacks("whole")
    assert isolating(apply_all, single)([delivery(m) for m in "abc"]) == [None, None, None]
    assert singles == [["a", "b", "c"]]
    assert fallbacks("whole") - whole_before == 1  # operators see the batch path failing


def test_a_defect_in_the_batch_path_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Each message still gets through on its own, so a bug in a batch's own work (e.g. a prefetch
    reading an attribute that is not there) would otherwise only show as a slower hub."""

    def apply_all(batch: Sequence[Delivery]) -> None:
        raise AttributeError("type object 'ClrContainer' has no attribute 'container_id'")

    with caplog.at_level(logging.WARNING, logger="hub.db.batch"):
        assert isolating(apply_all, lambda b: [None] * len(b))([delivery("a")]) == [None]
    (entry,) = caplog.records
    assert entry.levelno == logging.WARNING and "AttributeError" in entry.getMessage()
    assert entry.exc_info is not None


def effects(db: Database, action: str) -> list[str]:
    with db.sessions() as session:
        return sorted(session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == action)))


def test_idempotent_batch_applies_each_new_message_once_and_isolates_a_failure(db: Database) -> None:
    action = f"batch.effect.{uuid.uuid4().hex[:8]}"
    consumer = f"test.batch.{uuid.uuid4().hex[:8]}"

    def handler(session: Session, d: Delivery) -> None:
        if d.envelope.message_id.endswith("poison"):
            audit.record(session, "test", action, "message", d.envelope.message_id, {})  # rolled back
            raise ValueError("cannot apply")
        audit.record(session, "test", action, "message", d.envelope.message_id, {})

    apply = idempotent_batch(db, consumer, handler)
    tag = uuid.uuid4().hex[:6]
    first = [delivery(f"{tag}-{i}") for i in range(4)]
    assert apply(first) == [None] * 4

    again = [delivery(f"{tag}-1"), delivery(f"{tag}-4"), delivery(f"{tag}-poison"), delivery(f"{tag}-5")]
    outcomes = apply(again + [delivery(f"{tag}-4")])  # a redelivery of 4 inside the same batch

    assert [type(o).__name__ if o else None for o in outcomes] == [None, None, "ValueError", None, None]
    assert effects(db, action) == sorted(f"{tag}-{i}" for i in range(6))  # each once; poison never
    with db.sessions() as session:
        query = sa.select(InboxMessage.message_id).where(InboxMessage.consumer == consumer)
        recorded = set(session.scalars(query))
    assert recorded == {f"{tag}-{i}" for i in range(6)}


def test_idempotent_batch_commits_once_with_one_dedupe_query_and_one_inbox_insert(db: Database) -> None:
    consumer = f"test.batch.{uuid.uuid4().hex[:8]}"
    seen: list[str] = []
    apply = idempotent_batch(db, consumer, lambda session, d: seen.append(d.envelope.message_id))
    statements: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        words = statement.split()
        statements.append(" ".join(words[:3:2]) if words[0] == "INSERT" else words[0])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert apply([delivery(f"m{i}-{consumer}") for i in range(20)]) == [None] * 20
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 20
    # BEGIN/COMMIT are not cursor statements: one dedupe query, one multi-row insert, for 20 messages
    assert statements == ["SELECT", "INSERT inbox"], statements


def test_an_id_another_worker_recorded_meanwhile_fails_the_commit_and_is_not_applied_twice(
    db: Database,
) -> None:
    """The plain multi-row inbox insert is what stops a double effect when another worker applied
    one of the batch's messages between this batch's dedupe query and its commit."""
    action = f"batch.effect.{uuid.uuid4().hex[:8]}"
    consumer = f"test.batch.{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    other = Database(db.url)  # the other worker's own connection

    def handler(session: Session, d: Delivery) -> None:
        audit.record(session, "test", action, "message", d.envelope.message_id, {})
        if d.envelope.message_id == f"{tag}-0" and not effects(db, action):
            with other.unit_of_work() as theirs:  # committed while this batch is still open
                theirs.add(InboxMessage(consumer=consumer, message_id=f"{tag}-2", processed_at=now()))
                audit.record(theirs, "other", action, "message", f"{tag}-2", {})

    try:
        outcomes = idempotent_batch(db, consumer, handler)([delivery(f"{tag}-{i}") for i in range(4)])
    finally:
        other.dispose()

    assert outcomes == [None] * 4
    assert effects(db, action) == sorted(f"{tag}-{i}" for i in range(4))  # -2 once: the other's
