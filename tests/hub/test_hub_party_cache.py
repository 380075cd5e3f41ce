"""Parties cached per process (issue 13): the per-message paths do not query `party` each time, a
change through the API is seen at once, and one made elsewhere (another process) within the TTL."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from hub.api.app import create_app
from hub.bus.base import Envelope
from hub.db.models import DeadLetter, Party
from hub.runtime import Hub
from hub.services import party_cache
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from messages.xml.samples import uscc
from simulators.customs.traffic import Shipment, manifest_xml
from tests.hub_clearance.clrfixtures import BROKER, KEYS, settings_for, wait_for


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path))
    with TestClient(create_app(hub)) as client:
        yield {"hub": hub, "client": client}


def applied(client: TestClient, bill: str) -> Any:
    response = client.get(f"/api/v1/consignments/{bill}/timeline", headers={"X-API-Key": KEYS["admin"]})
    return response.status_code == 200 and response.json()["consignment"]


def publish(hub: Hub, sender: str, body: bytes) -> None:
    hub.bus.publish(INGRESS_EXCHANGE, Envelope(body, "MT1101", str(uuid.uuid4()), {SENDER_HEADER: sender}))


def test_messages_do_not_query_the_party_register_each_time(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, client = env["hub"], env["client"]
    monkeypatch.setattr(party_cache, "TTL_SECONDS", 3600.0)
    queries: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM party\b", statement):
            queries.append(statement)

    event.listen(hub.db.engine, "before_cursor_execute", seen)
    shipments = [Shipment.make(51 + i, 1) for i in range(6)]
    for s in shipments:
        publish(hub, BROKER, manifest_xml(s))
    for s in shipments:
        wait_for(lambda s=s: applied(client, s.bill_no), f"{s.bill_no} applied")
    event.remove(hub.db.engine, "before_cursor_execute", seen)
    assert len(queries) <= 1, queries  # one load of the register, not one query per message


def test_a_party_registered_through_the_api_is_known_at_once(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, client = env["hub"], env["client"]
    monkeypatch.setattr(party_cache, "TTL_SECONDS", 3600.0)  # only the invalidation can explain it
    newcomer = uscc("91370200MA3T7Q8W2")
    publish(hub, newcomer, manifest_xml(Shipment.make(61, 1)))

    def dead() -> list[DeadLetter]:
        with hub.db.sessions() as session:
            return list(
                session.scalars(select(DeadLetter).where(DeadLetter.original_queue.like("%.ingress")))
            )

    wait_for(dead, "an unknown sender is dead-lettered")  # the register is now cached without it
    response = client.put(
        f"/api/v1/parties/{newcomer}",
        json={"uscc": newcomer, "name": "new broker", "roles": ["broker"]},
        headers={"X-API-Key": KEYS["admin"]},
    )
    assert response.status_code == 200, response.text
    s = Shipment.make(62, 1)
    publish(hub, newcomer, manifest_xml(s))
    wait_for(lambda: applied(client, s.bill_no), "the new party's manifest applied")


def test_a_change_made_by_another_process_is_seen_within_the_ttl(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = env["hub"]
    cache = party_cache.cache_for(hub.db.engine)
    monkeypatch.setattr(party_cache, "TTL_SECONDS", 0.3)
    with hub.db.sessions() as session:
        before = cache.get(session, BROKER)
    assert before is not None and "broker" in before.roles
    with hub.db.unit_of_work() as session:  # as another process would: no parties_changed here
        row = session.scalar(select(Party).where(Party.uscc == BROKER))
        assert row is not None
        row.name = "renamed elsewhere"
    with hub.db.sessions() as session:
        assert cache.get(session, BROKER).name == before.name  # cached
    time.sleep(0.35)
    with hub.db.sessions() as session:
        assert cache.get(session, BROKER).name == "renamed elsewhere"
    with hub.db.unit_of_work() as session:
        row = session.scalar(select(Party).where(Party.uscc == BROKER))
        row.name = "renamed here"
    hub.parties_changed()
    with hub.db.sessions() as session:
        assert cache.get(session, BROKER).name == "renamed here"
