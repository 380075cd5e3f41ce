"""One process at a time for work that must not run twice at once across workers.

- The outbox relay: two relays publishing disjoint batches side by side would interleave them on the
  broker, and one bill's messages could overtake each other on their way to its partition queue.
- The clearance sweep: two sweeps reading the same overdue declaration would both notify it.

A transaction-scoped advisory lock taken with `try`: the process that does not get it skips this
round (the other is doing the work) instead of queueing behind it. SQLite: one process, no lock."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session

from hub.db.session import on_postgresql


def turn_key(work: str) -> int:
    """The advisory lock key of `work`'s turn."""
    return zlib.crc32(f"swhub.turn:{work}".encode())


def my_turn(session: Session, work: str) -> bool:
    """True when this transaction holds `work`'s lock until it ends; False when another one does."""
    if not on_postgresql(session):
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": turn_key(work)}))
