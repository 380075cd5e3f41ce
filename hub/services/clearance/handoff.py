"""Hand-off locks: a message parked by one worker and the message that unparks it, applied at the same
time by another worker, must not miss each other.

The race (seen with two workers): worker A applies a DEC_DATA, finds no declaration with its SeqNo
and parks it; at the same moment worker B applies the DecImportResponse that sets that SeqNo and
looks for what waits on it. Neither has committed, so B does not see A's parked row and A did not
see B's SeqNo: the receipt waits for ever.

Both take a lock on every hand-off key the message could park on or release, before they read
anything. Whoever comes second waits for the first to commit and then sees its effect (PostgreSQL's
READ COMMITTED gives each statement a fresh snapshot). The keys are the `wait_key`s of ClrParked
(`client:`, `seq:`, `entry:`) plus `bill:` for waits on a bill's manifest or distribution.

These are transaction-scoped advisory locks rather than row locks: the row that would be locked (the
declaration with that SeqNo, the parked message) often does not exist yet, and a lock on nothing
serialises nothing. They are taken in sorted order, so two messages cannot deadlock on them.
SQLite needs none: the inbox claim (an INSERT, the first statement of every workflow transaction)
already takes the database's single write lock until commit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from hub.db.session import on_postgresql


def keys_for(message_type: str, keys: dict[str, Any]) -> list[str]:
    """Every hand-off key a message of this type with these business keys may park on or release."""
    found = [f"bill:{bill}" for bill in keys.get("bills") or []]
    if message_type in ("DecMessage", "DecImportResponse") and keys.get("client_seq_no"):
        found.append(f"client:{keys['client_seq_no']}")
    if message_type in ("DecImportResponse", "DEC_DATA") and keys.get("seq_no"):
        found.append(f"seq:{keys['seq_no']}")
    if message_type == "DEC_DATA" and keys.get("entry_id"):
        found.append(f"entry:{keys['entry_id']}")
    return sorted(set(found))


def lock_key(key: str) -> int:
    """A signed 64-bit number for pg_advisory_xact_lock, the same in every process."""
    digest = hashlib.blake2b(f"swhub.handoff:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def take(session: Session, keys: Iterable[str]) -> None:
    """Lock `keys` until the session's transaction ends (PostgreSQL; a no-op on SQLite). A key this
    transaction already holds (an earlier message of the same batch, e.g. the same bill) is not
    locked again: it stays held until the transaction ends anyway, and asking costs a round trip."""
    if not on_postgresql(session):
        return
    held: set[str] = session.info.setdefault(_HELD, set())
    for key in sorted(set(keys) - held):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(key)})
        held.add(key)


# session.info key: the hand-off keys the session's transaction holds (cleared when it ends)
_HELD = "clearance.handoff.held"


@event.listens_for(Session, "after_transaction_end")
def _released(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: its advisory locks are released
        session.info.pop(_HELD, None)
