"""Issue 13: in a batch, archive() leaves its rows out of the ORM session and writes them (and their
refs) as they stand at commit, in one INSERT per table; a rolled-back batch writes none; outside a
batch the row is an ORM row as before."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from hub.db.models import Message, MessageRef
from hub.db.session import Database
from hub.services.intake import add_ref, archive
from tests.hub.hubfixtures import recorded


def test_a_batch_writes_its_archive_rows_as_they_stand_at_commit(db: Database) -> None:
    bill = f"BILL{uuid.uuid4().hex[:10].upper()}"
    with recorded(db.engine) as statements:
        with db.unit_of_work(batch=True) as session:
            rows = [
                archive(
                    session, f"<m{i}/>".encode(), direction="in", channel="amqp", sender="S", bills=[bill]
                )
                for i in range(3)
            ]
            assert all(r not in session for r in rows)  # nothing for the flush to write one by one
            rows[1].status = "accepted"  # what a batch sets after archiving is what gets written
            add_ref(session, rows[1], "container", "MSKU1234565")
            rows[2].refs.append(MessageRef(kind="container", value="MSKU7654321"))  # the ORM way too
            session.flush()
            flushed_early = [s for s in statements if "INTO message" in s]
        with pytest.raises(RuntimeError), db.unit_of_work(batch=True) as session:
            lost = archive(session, b"<lost/>", direction="in", channel="amqp", sender="S", bills=[bill])
            raise RuntimeError("the batch fails")
    assert flushed_early == []
    assert len([s for s in statements if s.startswith("INSERT INTO message ")]) == 1, statements
    assert len([s for s in statements if s.startswith("INSERT INTO message_ref ")]) == 1, statements
    with db.sessions() as session:
        stored = {m.id: m for m in session.scalars(sa.select(Message).where(Message.bill_no == bill))}
        assert set(stored) == {r.id for r in rows} and lost.id not in stored
        assert [stored[r.id].status for r in rows] == ["received", "accepted", "received"]
        assert stored[rows[0].id].raw == b"<m0/>" and stored[rows[0].id].sha256 == rows[0].sha256
        assert sorted((ref.kind, ref.value) for ref in stored[rows[1].id].refs) == [
            ("bill", bill),
            ("container", "MSKU1234565"),
        ]
        assert sorted((ref.kind, ref.value) for ref in stored[rows[2].id].refs) == [
            ("bill", bill),
            ("container", "MSKU7654321"),
        ]


def test_outside_a_batch_the_archive_row_is_in_the_session(db: Database) -> None:
    with db.unit_of_work() as session:
        row = archive(session, b"<one/>", direction="in", channel="http", sender="S", bills=["B1"])
        assert row in session
        row_id = row.id
    with db.sessions() as session:
        assert session.get(Message, row_id) is not None
