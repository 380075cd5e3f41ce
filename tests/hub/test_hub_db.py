"""Schema, audit immutability, parties and inbox idempotency on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.db import audit
from hub.db.migrate import downgrade, upgrade
from hub.db.models import AuditEntry, InboxMessage, OutboxMessage, Party
from hub.db.outbox import enqueue
from hub.db.session import Database
from hub.services.parties import BootstrapError, authenticate, load_bootstrap, upsert_parties
from tests.hub.hubfixtures import BROKER_USCC, KEYS, write_parties


def test_migrations_go_down_and_up_again(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    engine = sa.create_engine(db_url)
    assert "message" not in sa.inspect(engine).get_table_names()
    upgrade(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    expected = {"party", "api_key", "message", "message_ref", "outbox", "inbox", "audit_log", "calendar_year"}
    assert expected <= tables


def test_audit_log_refuses_update_and_delete(db: Database) -> None:
    with db.unit_of_work() as session:
        audit.record(session, "tester", "probe", "thing", "1", {"k": "v"})
    with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as session:
        session.execute(sa.update(AuditEntry).values(action="tampered"))
    with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as session:
        session.execute(sa.delete(AuditEntry))
    with db.sessions() as session:
        assert session.scalar(sa.select(AuditEntry.action)) == "probe"


def test_outbox_row_is_part_of_the_business_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        audit.record(session, "tester", "change", "thing", "1")
        enqueue(session, "swhub.notices", "x.y", b"body")
        raise RuntimeError("business rule failed after the message was queued")
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_inbox_primary_key_rejects_a_second_record(db: Database) -> None:
    from hub.clock import now

    with db.unit_of_work() as session:
        session.add(InboxMessage(consumer="c", message_id="m1", processed_at=now()))
    with pytest.raises(IntegrityError), db.unit_of_work() as session:
        session.add(InboxMessage(consumer="c", message_id="m1", processed_at=now()))


def test_parties_bootstrap_and_key_lookup(db: Database, tmp_path: Path) -> None:
    parties = load_bootstrap(write_parties(tmp_path / "p.yaml"))
    with db.unit_of_work() as session:
        upsert_parties(session, parties)
        upsert_parties(session, parties)  # idempotent
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Party)) == len(parties)
        principal = authenticate(session, KEYS["broker"])
        assert principal is not None and principal.uscc == BROKER_USCC and principal.roles == {"broker"}
        assert authenticate(session, "not-a-key") is None


def test_bootstrap_file_errors_are_all_listed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "parties:\n"
        "  - {uscc: '123', name: '', roles: [pilot]}\n"
        "  - {uscc: 91370200M3C0BRK01N, name: x, credit_class: excellent, keys: [{}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(BootstrapError) as info:
        load_bootstrap(bad)
    text = "\n".join(info.value.problems)
    assert "parties[0].uscc" in text and "parties[0].name" in text and "unknown role 'pilot'" in text
    assert "parties[1].credit_class" in text and "parties[1].keys[0]" in text


def test_inbox_claim_is_true_once_then_false(db: Database) -> None:
    from hub.db.inbox import claim

    with db.unit_of_work() as session:
        assert claim(session, "consumer-a", "m-1") is True
    with db.unit_of_work() as session:
        assert claim(session, "consumer-a", "m-1") is False  # a redelivery
        assert claim(session, "consumer-b", "m-1") is True  # another consumer has its own record
