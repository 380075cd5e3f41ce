"""Issue 12 item 15: refused payloads are archived in full only up to a size and a per-party daily quota;
beyond either, the archive keeps hash, size and head, so a client sending junk cannot fill it."""

from __future__ import annotations

import hashlib

import pytest

from hub.config import Settings
from hub.db.migrate import upgrade
from hub.db.models import Message
from hub.db.session import Database
from hub.services.intake import Intake, IntakeRejected, RejectBounds


def refuse(intake: Intake, raw: bytes, sender: str) -> Message:
    with pytest.raises(IntakeRejected) as caught:
        intake.receive(raw, sender, frozenset({"broker"}), "http")
    with intake.db.sessions() as session:
        row = session.get(Message, caught.value.message_id)
        assert row is not None and row.status == "rejected"
        session.expunge(row)
        return row


def test_refused_payloads_are_bounded_by_size_and_daily_quota(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    intake = Intake(
        db,
        None,
        max_bytes=1 << 20,
        rejects=RejectBounds(
            full_bytes=500,
            head_bytes=16,  # type: ignore[arg-type]
            daily_quota_bytes=1000,
        ),
    )
    try:
        small = b"not a message " + b"x" * 286  # 300 bytes: kept whole
        row = refuse(intake, small, "A")
        assert row.raw == small and row.size == 300

        big = b"junk " * 2000  # 10,000 bytes: hash + head only
        row = refuse(intake, big, "A")
        assert row.raw == big[:16] and row.size == len(big) and row.sha256 == hashlib.sha256(big).hexdigest()

        kept = [refuse(intake, small, "A") for _ in range(3)]  # quota 1000: 300+300+300 spent, then no more
        assert [len(r.raw) for r in kept] == [300, 300, 16]
        assert len(refuse(intake, small, "B").raw) == 300  # another party has its own quota
    finally:
        db.dispose()


def test_the_bounds_are_settings() -> None:
    s = Settings(reject_archive_bytes=10, reject_head_bytes=2, reject_daily_quota_bytes=99, _env_file=None)  # type: ignore[call-arg]
    assert RejectBounds.of(s) == RejectBounds(10, 2, 99)
