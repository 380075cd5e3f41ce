"""CPU of one outbox relay pass on PostgreSQL, against the relays it replaced.

The relay reads a batch of pending rows as plain rows and marks them (and their archive rows) sent
with plain Core UPDATEs, `WHERE id = ANY(:ids)` (one array parameter). Before (5777581) those
UPDATEs were ORM-enabled and unsynchronised, with `WHERE id IN (...)` expanded into a placeholder per
id; before that (8501af9) the relay loaded ORM entities and ran them through the ORM's default
(`synchronize_session="auto"`: each WHERE evaluated against every entity the session holds). All three
in the same run, alternated: N rows enqueued, one `relay_once()` onto the in-process bus, the relay
thread's CPU time. Prints per-round figures, medians and the ratios. In the clearance flow a pass
moves ~16 rows (swhub_batch_size{stage="relay"}): `--rows 16` is that case.
Usage: python bench/relay_cost.py [--rounds 8] [--rows 200] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.bus.base import QueueSpec, Topology  # noqa: E402
from hub.bus.memory import InProcessBus  # noqa: E402
from hub.clock import now  # noqa: E402
from hub.db.models import Base, Message, OutboxMessage  # noqa: E402
from hub.db.outbox import QUEUED, OutboxRelay, enqueue  # noqa: E402
from hub.db.session import Database  # noqa: E402


class InListRelay(OutboxRelay):
    """The relay of 5777581: plain rows, but marked sent with ORM-enabled UPDATEs whose ids expand
    into one placeholder each (`WHERE id IN (...)`), unsynchronised."""

    def _mark_sent(self, session: Session, rows: list[Any], done: set[int]) -> None:
        unsynchronised = {"synchronize_session": False}
        stamp = now()
        session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(done)).values(sent_at=stamp),
            execution_options=unsynchronised,
        )
        ids = [r.message_id for r in rows if r.id in done]
        statement = sa.update(Message).where(
            Message.id.in_(ids), Message.direction == "out", Message.status == QUEUED
        )
        session.execute(
            statement.values(status="sent", error=None, updated_at=stamp), execution_options=unsynchronised
        )


class EntityRelay(InListRelay):
    """The relay before 8501af9/fb632ab: pending rows loaded as ORM entities (the same columns), the
    UPDATEs through the ORM's default (`synchronize_session="auto"`)."""

    @staticmethod
    def _pending(session: Session, query: Select[Any]) -> list[Any]:
        rows = list(session.scalars(sa.select(OutboxMessage).from_statement(query)))
        for row in rows:
            row.failed = False  # type: ignore[attr-defined]  # what _Pending carries
        return rows

    def _mark_sent(self, session: Session, rows: list[Any], done: set[int]) -> None:
        stamp = now()
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(done)).values(sent_at=stamp))
        ids = [r.message_id for r in rows if r.id in done]
        statement = sa.update(Message).where(
            Message.id.in_(ids), Message.direction == "out", Message.status == QUEUED
        )
        session.execute(statement.values(status="sent", error=None, updated_at=stamp))


MODES: dict[str, type[OutboxRelay]] = {
    "ORM entities, synchronised": EntityRelay,
    "plain rows, IN-list ORM UPDATEs (5777581)": InListRelay,
    "plain rows, Core UPDATEs, ANY(array) (now)": OutboxRelay,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    name = f"swhub_bench_relay_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = Database(args.pg.rsplit("/", 1)[0] + f"/{name}")
    bus = InProcessBus()
    try:
        Base.metadata.create_all(db.engine)
        bus.declare(Topology(exchanges=("bench",), queues=(QueueSpec("bench.q", (("bench", "#"),)),)))
        relays = {label: relay(db, bus, batch=args.rows) for label, relay in MODES.items()}
        cpu: dict[str, list[float]] = {label: [] for label in MODES}
        for _ in range(args.rounds + 1):  # the first round warms up (compiled statements, pool)
            for label in MODES:
                with db.unit_of_work() as session:
                    for i in range(args.rows):
                        enqueue(session, "bench", f"k.{i}", b"x" * 500)
                started = time.thread_time()
                assert relays[label].relay_once() == args.rows
                cpu[label].append((time.thread_time() - started) * 1000)
        medians = {label: statistics.median(values[1:]) for label, values in cpu.items()}
        for label, values in cpu.items():
            rounds = " ".join(f"{v:.1f}" for v in values[1:])
            print(f"{label:44} median {medians[label]:5.1f} ms per {args.rows} rows  ({rounds})")
        entities, in_list, current = medians.values()
        print(f"ratio now / 5777581: {current / in_list:.2f}; now / ORM entities: {current / entities:.2f}")
    finally:
        bus.close()
        db.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
