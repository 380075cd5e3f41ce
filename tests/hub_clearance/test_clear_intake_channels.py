"""Intake over AMQP (`swhub.ingress`, sender in x-swhub-sender) and in EDIFACT (CUSCAR, CODECO, COARRI,
CUSDEC converted to single-window XML first), on the in-process bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bus.base import Envelope
from hub.db.models import DeadLetter
from hub.runtime import Hub
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from messages.convert import convert
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import BROKER, KEYS, Inbox, settings_for, wait_for


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path))
    with TestClient(create_app(hub)) as client:
        yield {
            "hub": hub,
            "client": client,
            "broker": Inbox(hub, "t.broker", f"{BROKER}.#"),
            "customs": Inbox(hub, "t.customs", "customs.#"),
        }


def timeline(client: TestClient, bill: str) -> Any:
    response = client.get(f"/api/v1/consignments/{bill}/timeline", headers={"X-API-Key": KEYS["admin"]})
    return response.json() if response.status_code == 200 else None


def edifact(xml: bytes) -> bytes:
    return convert(xml, to="edifact")[0].content


def test_amqp_ingress_archives_validates_and_routes(env: dict[str, Any]) -> None:
    hub, client = env["hub"], env["client"]
    s = Shipment.make(21, 1)

    def publish(body: bytes, message_type: str, sender: str | None) -> None:
        headers = {SENDER_HEADER: sender} if sender else {}
        hub.bus.publish(INGRESS_EXCHANGE, Envelope(body, message_type, str(uuid.uuid4()), headers))

    publish(manifest_xml(s), "MT1101", BROKER)
    wait_for(lambda: (t := timeline(client, s.bill_no)) and t["consignment"], "manifest applied over AMQP")
    wait_for(lambda: env["customs"].of("MT1101"), "forwarded to customs")
    # invalid content from a known party: archived as rejected, every problem sent back to the sender
    publish(
        declaration_xml("summary", s, "A26112100000000001").replace(b"<IEFlag>I", b"<IEFlag>QQ"),
        "DecMessage",
        BROKER,
    )
    rejection = json.loads(wait_for(lambda: env["broker"].of("Rejection"), "rejection notice")[0])
    assert rejection["status"] == 400 and rejection["problems"]
    # no (or an unknown) sender: dead-lettered, never applied
    publish(tally_xml(s.bill_no, s.containers[0]), "MT5101", None)

    def dead() -> list[DeadLetter]:
        with hub.db.sessions() as session:
            return list(
                session.scalars(select(DeadLetter).where(DeadLetter.original_queue.like("%.ingress")))
            )

    letters = wait_for(dead, "dead-lettered with the reason")
    assert "x-swhub-sender" in letters[0].reason
    assert not timeline(client, s.bill_no)["containers"][0]["tallied_at"]


def test_edifact_intake_and_duplicate_interchange(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(22, 1)
    box = s.containers[0]

    def post(who: str, body: bytes, expect: int = 202) -> dict[str, Any]:
        response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]})
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    cuscar = edifact(manifest_xml(s))
    first = post("broker", cuscar)
    assert first["format"] == "edifact" and first["message_type"] == "MT1101"
    assert post("broker", cuscar, expect=200)["duplicate"] is True  # same UNB/UNH reference again
    filed = post("broker", edifact(declaration_xml("summary", s, "A26112200000000001")))
    assert filed["declaration_id"]
    post("yard", edifact(arrival_xml(s.bill_no, box)))
    post("yard", edifact(tally_xml(s.bill_no, box)))
    wait_for(
        lambda: (
            (t := timeline(client, s.bill_no))
            and all(c["arrived_at"] and c["tallied_at"] for c in t["containers"])
        ),
        "CODECO and COARRI applied",
    )
    events = timeline(client, s.bill_no)["events"]
    assert {e["format"] for e in events if e["direction"] == "in"} == {"edifact"}
    raw = client.get(events[0]["raw_url"], headers={"X-API-Key": KEYS["admin"]})
    assert raw.content.startswith((b"UNA", b"UNB"))  # the raw interchange, as received
    bad = client.post(
        "/api/v1/messages",
        content=cuscar.replace(b"UNH+", b"UNH+X+", 1),
        headers={"X-API-Key": KEYS["broker"]},
    )
    assert bad.status_code in (400, 415) and bad.json()["error"]["details"]
