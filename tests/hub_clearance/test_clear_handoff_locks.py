"""Hand-off locks (hub/services/clearance/handoff.py) in a batch: a key the transaction already holds
(the same bill in an earlier message of the batch) is not asked for again; the next transaction asks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.db.session import Database
from hub.services.clearance import handoff


@pytest.mark.postgres
def test_a_key_is_locked_once_per_transaction() -> None:
    from tests.conftest import PG_ADMIN_URL, require_service

    require_service("PostgreSQL", PG_ADMIN_URL)
    db = Database(PG_ADMIN_URL)
    locks: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.unit_of_work(notify=False, batch=True) as session:
            handoff.take(session, ["bill:TESTLOCK1"])
            handoff.take(session, ["bill:TESTLOCK1", "seq:TESTLOCK2"])  # only the new key
            handoff.take(session, ["seq:TESTLOCK2"])
        assert len(locks) == 2
        with db.unit_of_work(notify=False) as session:  # released at commit: asked for again
            handoff.take(session, ["bill:TESTLOCK1"])
        assert len(locks) == 3
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        db.dispose()
