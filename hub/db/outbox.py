"""Transactional outbox: enqueue() inside the business transaction; OutboxRelay publishes later.

At-least-once: a row is marked sent only after the broker confirmed it, so a crash between the
confirm and the mark re-publishes it; consumers deduplicate by message_id (see hub.db.inbox)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from hub.bus.base import Bus, BusError, BusUnavailable, Envelope, PublishNacked, UnroutableError
from hub.clock import now
from hub.db.among import among, update_rows
from hub.db.models import Message, OutboxMessage
from hub.db.session import Database, at_commit, in_batch
from hub.db.turns import my_turn
from hub.observability import metrics

log = logging.getLogger(__name__)

QUEUED = "queued"  # an outgoing copy archived, not yet handed to the bus (then `sent`)

# Set on an outbox row whose bus message id must differ from the row's own unique id (a replay
# re-publishes a message whose original publish is already in the outbox table).
BUS_MESSAGE_ID_HEADER = "x-swhub-bus-message-id"


def enqueue(
    session: Session,
    exchange: str,
    routing_key: str,
    body: bytes,
    *,
    message_id: str | None = None,
    headers: dict[str, Any] | None = None,
    content_type: str = "application/octet-stream",
    correlation_id: str | None = None,
) -> OutboxMessage | None:
    """Add an outgoing message to the current transaction. Commit publishes it (via the relay).

    In a batch (Database.unit_of_work(batch=True)) the row is written with the batch's others in one
    multi-row INSERT just before commit, not as an ORM object the flush handles one by one: nothing
    reads an outbox row back in the transaction that wrote it. Returns the row outside a batch."""
    values = {
        "message_id": message_id or str(uuid.uuid4()),
        "exchange": exchange,
        "routing_key": routing_key,
        "body": body,
        "headers": headers or {},
        "content_type": content_type,
        "correlation_id": correlation_id,
        "created_at": now(),
    }
    if in_batch(session):
        # in call order: the ids the INSERT assigns keep it (the relay publishes in id order)
        at_commit(session, _PENDING, _insert_pending).append(values)
        return None
    row = OutboxMessage(**values)
    session.add(row)
    return row


_PENDING = "swhub.outbox.pending"  # session.info, in a batch: the rows enqueue() was given, in order


def _insert_pending(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(OutboxMessage.__table__), rows)  # Core: no ORM bulk machinery


def _envelope(row: _Pending) -> Envelope:
    headers = dict(row.headers or {})
    return Envelope(
        body=row.body,
        routing_key=row.routing_key,
        message_id=str(headers.pop(BUS_MESSAGE_ID_HEADER, row.message_id)),
        headers=headers,
        content_type=row.content_type,
        correlation_id=row.correlation_id,
    )


_UNSYNCHRONISED = {"synchronize_session": False}


@dataclass(slots=True)
class _Pending:
    """An outbox row as the relay reads it (columns in _PENDING_COLUMNS' order); `failed` once a
    publish of it failed in this pass, with attempts, last_error and next_attempt_at updated."""

    id: int
    message_id: str
    exchange: str
    routing_key: str
    body: bytes
    headers: dict[str, Any]
    content_type: str
    correlation_id: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    failed: bool = False


_PENDING_COLUMNS = tuple(
    getattr(OutboxMessage, f.name) for f in dataclasses.fields(_Pending) if f.name != "failed"
)


# How soon a relay refused the turn tries again: the holder is publishing one batch (200 rows in
# ~8 ms, bench/relay_cost.py), so a few of its batches, not a whole poll.
TURN_RETRY_SECONDS = 0.05


class OutboxRelay:
    """Publishes pending outbox rows with confirms, in id order, and marks them sent.

    Several relays may run (API process and workers): on PostgreSQL rows are claimed with
    FOR UPDATE SKIP LOCKED; SQLite serialises writers anyway."""

    def __init__(self, db: Database, bus: Bus, batch: int = 200, poll_seconds: float = 0.5) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.turns_refused = 0  # rounds another process's relay held the turn
        # (exchange, routing-key prefix) -> note: copies a forwarder of the hub's own takes from the
        # bus and hands on (customs over HTTP). The bus having one is not the counterpart having it,
        # so the relay leaves its archive row `queued` with the note; the forwarder marks it sent.
        self._forwarded: dict[tuple[str, str], str] = {}
        db.on_commit(self._wake.set)

    def forwarded(self, exchange: str, prefix: str, note: str) -> None:
        """Copies to `exchange` with a routing key starting with `prefix` are `sent` only once their
        forwarder says the counterpart took them (mark_sent); until then `queued`, with `note`."""
        self._forwarded[(exchange, prefix)] = note

    def _forward_note(self, row: _Pending) -> str | None:
        for (exchange, prefix), note in self._forwarded.items():
            if row.exchange == exchange and row.routing_key.startswith(prefix):
                return note
        return None

    def wake(self) -> None:
        self._wake.set()

    def relay_once(self) -> int:
        """Publish one batch; returns how many rows were marked sent."""
        start = time.perf_counter()
        sent = self._relay_batch()
        if sent:  # idle polls are not relay work: they would drown the histogram
            metrics.STAGE_SECONDS.labels("relay").observe(time.perf_counter() - start)
            metrics.BATCH_SIZE.labels("relay").observe(sent)
        return sent

    def _relay_batch(self) -> int:
        with self.db.unit_of_work(notify=False) as session:
            if not my_turn(session, "outbox-relay"):
                self.turns_refused += 1
                return 0  # another worker's relay is publishing; batches side by side would reorder
            query = (
                select(*_PENDING_COLUMNS)
                .where(OutboxMessage.sent_at.is_(None))
                .where((OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now()))
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = self._pending(session, query)
            if not rows:
                return 0
            by_exchange: dict[str, list[_Pending]] = {}
            for row in rows:
                by_exchange.setdefault(row.exchange, []).append(row)
            sent: list[int] = []
            for exchange, group in by_exchange.items():
                try:
                    self.bus.publish_many(exchange, [_envelope(r) for r in group])
                    sent.extend(r.id for r in group)
                except BusUnavailable:
                    raise  # nothing is marked sent; the whole batch is retried once the broker is back
                except (UnroutableError, PublishNacked) as exc:
                    if not exc.message_ids:  # which ones failed is unknown: find out one by one
                        sent.extend(self._publish_one_by_one(exchange, group))
                        continue
                    # The broker took the rest of the batch; only the named messages failed.
                    failed = set(exc.message_ids)
                    sent.extend(r.id for r in group if r.message_id not in failed)
                    for row in group:
                        if row.message_id in failed:
                            self._record_failure(row, exc)
                except BusError:
                    sent.extend(self._publish_one_by_one(exchange, group))
            done_ids = set(sent)
            self._write_failures(session, [r for r in rows if r.failed])
            self._explain_undelivered(session, [r for r in rows if r.id not in done_ids and r.last_error])
            if sent:
                self._mark_sent(session, rows, set(sent))
                for row in rows:
                    if row.id in done_ids and metrics.TRIGGER_AT_HEADER in row.headers:
                        metrics.observe_published(row.headers, row.routing_key.rsplit(".", 1)[-1])
            return len(sent)

    def _mark_sent(self, session: Session, rows: list[_Pending], done: set[int]) -> None:
        """The published rows sent, and their archive rows `sent` (archived `queued` under the same
        id: an undeliverable copy stays `queued`). Plain Core UPDATEs with the ids as one array
        (hub/db/among.py): the ORM's default would evaluate each WHERE against every row the session
        holds (half the relay's CPU once), and this session ends with the batch anyway."""
        stamp = now()
        outbox, archive = OutboxMessage.__table__.c, Message.__table__.c
        session.execute(
            update_rows(OutboxMessage).where(among(session, outbox.id, done)).values(sent_at=stamp)
        )
        by_note: dict[str | None, list[str]] = {}  # None: sent; a note: with a forwarder
        for r in rows:
            if r.id in done:
                by_note.setdefault(self._forward_note(r), []).append(r.message_id)
        for note, ids in by_note.items():
            queued = (among(session, archive.id, ids), archive.direction == "out", archive.status == QUEUED)
            if note is None:
                values: dict[str, object] = {"status": "sent", "error": None, "updated_at": stamp}
                session.execute(update_rows(Message).where(*queued).values(values))
            else:  # not yet the counterpart's: say where it is
                statement = update_rows(Message).where(*queued, archive.error.is_(None))
                session.execute(statement.values(error=note, updated_at=stamp))

    @staticmethod
    def _pending(session: Session, query: Select[Any]) -> list[_Pending]:
        # plain rows, not ORM objects: the relay only reads them, and loading ~200 entities per pass
        # was its largest cost after the UPDATEs (bench/relay_cost.py)
        return [_Pending(*r) for r in session.execute(query)]

    def _publish_one_by_one(self, exchange: str, rows: list[_Pending]) -> list[int]:
        sent: list[int] = []
        for row in rows:
            try:
                self.bus.publish(exchange, _envelope(row))
                sent.append(row.id)
            except BusUnavailable:
                raise
            except BusError as exc:
                self._record_failure(row, exc)
        return sent

    @staticmethod
    def _record_failure(row: _Pending, exc: BusError) -> None:
        row.failed = True
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"
        # Back off: unroutable means configuration is missing (may take a while to fix).
        delay = min(300, 2 ** min(row.attempts, 8)) if isinstance(exc, UnroutableError) else 1
        row.next_attempt_at = now() + timedelta(seconds=delay)
        log.warning("outbox %s not published: %s", row.message_id, row.last_error)

    @staticmethod
    def _write_failures(session: Session, rows: list[_Pending]) -> None:
        """Each failed row's attempts and back-off, after the batch's publishing (see below)."""
        for row in rows:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    attempts=row.attempts, last_error=row.last_error, next_attempt_at=row.next_attempt_at
                ),
                execution_options=_UNSYNCHRONISED,
            )

    @staticmethod
    def _explain_undelivered(session: Session, rows: list[_Pending]) -> None:
        """The archived copy of each failed row stays `queued` (never `sent`: no one has it) and says
        why, for the timeline. Written only after the batch's publishing: an UPDATE in the middle would
        take SQLite's write lock that the embedded bus's own store (another connection) then waits for
        while publishing the next group - the relay deadlocked itself until the busy timeout."""
        for row in rows:
            session.execute(
                update(Message)
                .where(Message.id == row.message_id, Message.direction == "out", Message.status == QUEUED)
                .values(error=_undelivered(row)[:2000], updated_at=now())
            )

    def drain(self, timeout: float = 30.0) -> int:
        """Relay until nothing is pending (tests, CLI)."""

        total, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.relay_once()
            total += n
            if n == 0:
                return total
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Clear before looking: a commit that lands while this batch is read sets it again.
            self._wake.clear()
            refused_before = self.turns_refused
            try:
                n = self.relay_once()
            except Exception:  # keep relaying after a DB/broker hiccup; rows stay pending
                log.exception("outbox relay iteration failed")
                n = 0
            if n == 0:
                # Refused the turn: the relay holding it read its batch before this process's commit
                # may have landed, and only its own process's commits wake it, so this one tries again
                # once that batch is likely through rather than after a whole poll.
                refused = self.turns_refused != refused_before
                self._wake.wait(TURN_RETRY_SECONDS if refused else self.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)


def _undelivered(row: _Pending) -> str:
    """Why an outgoing copy waits, in the reader's words first: an unroutable one means nothing takes
    that routing key yet (for customs.*: no customs system is wired), the bus's error follows."""
    if row.last_error and row.last_error.startswith(UnroutableError.__name__):
        return f"not delivered yet: nothing takes {row.routing_key} on {row.exchange} ({row.last_error})"
    return f"not delivered yet: {row.last_error}"


def mark_delivered(session: Session, message_id: str, error: str | None = None) -> None:
    """A forwarder's word on an archived outgoing copy: `sent` once the counterpart took it (error
    None), else still `queued` with why it was not taken (see OutboxRelay.forwarded)."""
    query = update(Message).where(Message.id == message_id, Message.direction == "out")
    if error is None:
        session.execute(query.values(status="sent", error=None, updated_at=now()))
    else:
        session.execute(query.where(Message.status == QUEUED).values(error=error[:2000], updated_at=now()))
