"""Start-up truth for the archive: an inbound row left `received` by a crash is marked.

Intake archives a message (`received`) in one transaction and accepts it (`accepted` + outbox row)
in the next; the sender's 202 comes only after the second. A row still `received` after a crash
therefore never got a receipt and nothing will process it: it is marked `interrupted`, with an
error telling the sender to send it again (a resend is not a duplicate: duplicates are looked up
among accepted, processed and parked messages only)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update

from hub.clock import now
from hub.db.models import Message
from hub.db.session import Database

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
REASON = "the hub stopped before this message was validated; no receipt was given: send it again"


def mark_interrupted(db: Database, grace: timedelta) -> int:
    """Mark inbound rows `received` for longer than `grace` (0 when this process is the only one
    taking messages, e.g. the embedded bus; more when other processes may be mid-intake)."""
    cutoff = now() - grace
    with db.unit_of_work(notify=False) as session:
        result = session.execute(
            update(Message)
            .where(Message.direction == "in", Message.status == "received", Message.updated_at <= cutoff)
            .values(status=INTERRUPTED, error=REASON, updated_at=now())
        )
    count = result.rowcount or 0
    if count:
        log.warning("%d message(s) left `received` by an earlier crash marked %s", count, INTERRUPTED)
    return count
