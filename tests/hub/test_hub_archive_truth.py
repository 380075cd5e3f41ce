"""Archive statuses tell the truth (issue 12 item 12), on SQLite and PostgreSQL: an inbound row a
crash left `received` is marked at start; an outgoing copy is `sent` only once the bus took it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hub.bus.base import NOTICE_EXCHANGE, QueueSpec, Topology
from hub.bus.memory import InProcessBus
from hub.clock import now
from hub.db.models import Message
from hub.db.outbox import OutboxRelay
from hub.db.recovery import INTERRUPTED
from hub.runtime import Hub
from hub.services.clearance import outbound
from hub.services.intake import archive
from tests.hub.hubfixtures import settings_for


def test_a_row_left_received_by_a_crash_is_marked_at_start(db_url: str, tmp_path: Path) -> None:
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    hub.migrate()
    with hub.db.unit_of_work() as session:
        row = archive(session, b"<cut-off/>", direction="in", channel="http", sender="91370200M3C0BRK01N")
        row.updated_at = now() - timedelta(seconds=5)
        cut_off = row.id
    hub.start()
    try:
        with hub.db.unit_of_work() as session:
            row = session.get(Message, cut_off)
            assert row is not None and row.status == INTERRUPTED and "send it again" in (row.error or "")
    finally:
        hub.stop()


def test_an_outgoing_copy_is_sent_only_once_the_bus_has_it(db_url: str, tmp_path: Path) -> None:
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    hub.migrate()
    bus = hub.bus
    bus.declare(Topology(queues=(QueueSpec("truth-a", ((NOTICE_EXCHANGE, "PARTYA.#"),)),)))
    relay = OutboxRelay(hub.db, bus)
    try:
        with hub.db.unit_of_work() as session:
            delivered = outbound.send(session, "PARTYA", "MT9999", b"<a/>", bills=["B1"])
            nowhere = outbound.send(session, "NOBODY", "MT9999", b"<b/>", bills=["B2"])
        with hub.db.unit_of_work() as session:
            assert session.get(Message, delivered).status == "queued"  # type: ignore[union-attr]
        relay.relay_once()
        with hub.db.unit_of_work() as session:
            assert session.get(Message, delivered).status == "sent"  # type: ignore[union-attr]
            assert session.get(Message, nowhere).status == "queued"  # type: ignore[union-attr]
    finally:
        bus.close()
        hub.db.dispose()
