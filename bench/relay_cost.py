"""CPU of one outbox relay pass on PostgreSQL, against the relay it replaced.

The relay reads a batch of pending rows as plain rows and marks them (and their archive rows) sent
with unsynchronised UPDATE ... WHERE id IN (...). The relay before loaded ORM entities and ran those
UPDATEs through the ORM's default (`synchronize_session="auto"`: each WHERE evaluated against every
entity the session holds). Both ways in the same run, alternated: 200 rows enqueued, one
`relay_once()` onto the in-process bus, the relay thread's CPU time. Prints per-round figures,
medians and the ratio.
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
from hub.db import outbox  # noqa: E402
from hub.db.models import Base, OutboxMessage  # noqa: E402
from hub.db.outbox import OutboxRelay, enqueue  # noqa: E402
from hub.db.session import Database  # noqa: E402


class EntityRelay(OutboxRelay):
    """The relay before: pending rows loaded as ORM entities (the same columns)."""

    @staticmethod
    def _pending(session: Session, query: Select[Any]) -> list[Any]:
        rows = list(session.scalars(sa.select(OutboxMessage).from_statement(query)))
        for row in rows:
            row.failed = False  # type: ignore[attr-defined]  # what _Pending carries
        return rows


MODES = {"ORM entities, synchronised (before)": "auto", "plain rows, unsynchronised (now)": False}


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
        relays = {
            label: (EntityRelay if mode else OutboxRelay)(db, bus, batch=args.rows)
            for label, mode in MODES.items()
        }
        cpu: dict[str, list[float]] = {label: [] for label in MODES}
        for _ in range(args.rounds + 1):  # the first round warms up (compiled statements, pool)
            for label, mode in MODES.items():
                outbox._UNSYNCHRONISED = {"synchronize_session": mode}
                with db.unit_of_work() as session:
                    for i in range(args.rows):
                        enqueue(session, "bench", f"k.{i}", b"x" * 500)
                started = time.thread_time()
                assert relays[label].relay_once() == args.rows
                cpu[label].append((time.thread_time() - started) * 1000)
        outbox._UNSYNCHRONISED = {"synchronize_session": False}
        medians = {label: statistics.median(values[1:]) for label, values in cpu.items()}
        for label, values in cpu.items():
            rounds = " ".join(f"{v:.1f}" for v in values[1:])
            print(f"{label:36} median {medians[label]:5.1f} ms per {args.rows} rows  ({rounds})")
        before, now = medians.values()
        print(f"ratio now / before: {now / before:.2f}")
    finally:
        bus.close()
        db.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
