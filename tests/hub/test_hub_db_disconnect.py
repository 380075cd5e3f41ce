"""No pool pre-ping on the hot path (issue 13), and still no message lost when PostgreSQL drops the
hub's connections: on RabbitMQ + PostgreSQL (a private vhost and database), every pooled connection
is killed server-side (pg_terminate_backend) between messages; the messages published after it are
all applied (the failed attempt rolls back, the pool is discarded, the bus redelivers)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.bus.base import Envelope
from hub.runtime import Hub
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from simulators.customs.traffic import Shipment, manifest_xml
from tests.conftest import PG_ADMIN_URL
from tests.hub_clearance.clrfixtures import BROKER, KEYS, Inbox, fresh_postgres, settings_for, wait_for
from tests.simulators.portsim_support import private_vhost

pytestmark = pytest.mark.timeout(120)


def _kill_connections(database: str) -> int:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).all()
        return len(killed)
    finally:
        admin.dispose()


def test_connections_killed_server_side_lose_no_message(
    tmp_path: Path, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    with fresh_postgres() as database, private_vhost(amqp_url) as vhost:
        hub = Hub(settings_for(database, tmp_path, vhost))
        pings: list[Any] = []
        real_ping = hub.db.engine.dialect.do_ping

        def counted(conn: Any) -> bool:
            pings.append(conn)
            return bool(real_ping(conn))

        monkeypatch.setattr(hub.db.engine.dialect, "do_ping", counted)
        with TestClient(create_app(hub)) as client:
            customs = Inbox(hub, f"t.customs.{uuid.uuid4().hex[:6]}", "customs.#")

            def applied(bill: str) -> Any:
                try:
                    response = client.get(
                        f"/api/v1/consignments/{bill}/timeline", headers={"X-API-Key": KEYS["admin"]}
                    )
                except sa.exc.OperationalError:
                    # whichever transaction meets a killed connection first fails once (no pre-ping),
                    # sometimes this poll rather than a consumer; the pool is then discarded
                    return False
                return response.status_code == 200 and response.json()["consignment"]

            def forwarded(bill: str) -> bool:
                return any(bill.encode() in body for body in customs.of("MT1101"))

            first = Shipment.make(41, 1)
            hub.bus.publish(
                INGRESS_EXCHANGE,
                Envelope(manifest_xml(first), "MT1101", str(uuid.uuid4()), {SENDER_HEADER: BROKER}),
            )
            wait_for(lambda: applied(first.bill_no) and forwarded(first.bill_no), "first manifest applied")
            assert _kill_connections(database.rsplit("/", 1)[1]) > 0  # the pool's connections, idle

            later = [Shipment.make(42 + i, 1) for i in range(3)]
            for s in later:
                envelope = Envelope(manifest_xml(s), "MT1101", str(uuid.uuid4()), {SENDER_HEADER: BROKER})
                hub.bus.publish(INGRESS_EXCHANGE, envelope)
            for s in later:
                wait_for(lambda s=s: applied(s.bill_no), f"{s.bill_no} applied after the kill", 40)
                wait_for(lambda s=s: forwarded(s.bill_no), f"{s.bill_no} forwarded after the kill", 40)
    assert pings == []  # no round trip before every checkout


def test_a_connection_idle_for_a_while_is_checked_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off the hot path (idle longer than IDLE_PING_SECONDS), a dropped connection is replaced at
    checkout instead of failing the first transaction after a quiet spell."""
    from hub.db import session as db_session

    with fresh_postgres() as database:
        db = db_session.Database(database)
        try:
            with db.unit_of_work() as s:
                s.execute(sa.text("SELECT 1"))
            assert _kill_connections(database.rsplit("/", 1)[1]) == 1
            monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 0.0)  # everything counts as idle
            with db.unit_of_work() as s:
                assert s.execute(sa.text("SELECT 2")).scalar() == 2
            monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 3600.0)  # nothing counts as idle
            assert _kill_connections(database.rsplit("/", 1)[1]) == 1
            with pytest.raises(sa.exc.OperationalError), db.unit_of_work() as s:
                s.execute(sa.text("SELECT 3"))  # the hot path: no ping, the caller's retry recovers
            with db.unit_of_work() as s:
                assert s.execute(sa.text("SELECT 4")).scalar() == 4
        finally:
            db.dispose()
