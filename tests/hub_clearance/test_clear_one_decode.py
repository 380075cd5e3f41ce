"""One decode per message (issue 13): intake hands the workflow the canonical model it decoded
(messages.models.wire), so the workflow never parses the XML again and EDIFACT is not converted to XML
and parsed back; messages queued in the old form (an XML body) are still applied."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bus.base import INBOUND_EXCHANGE
from hub.db.models import DeadLetter
from hub.db.outbox import enqueue
from hub.runtime import Hub
from hub.services import intake
from hub.services.intake import ARCHIVE_HEADER, SENDER_HEADER, archive
from messages.convert import convert
from messages.models import wire
from messages.xml import layers
from simulators.customs.traffic import Shipment, arrival_xml, manifest_xml
from tests.hub_clearance.clrfixtures import BROKER, KEYS, Inbox, settings_for, wait_for


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path))
    with TestClient(create_app(hub)) as client:
        yield {"hub": hub, "client": client, "customs": Inbox(hub, "t.customs", "customs.#")}


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every full XML parse into a model (intake's layers and messages.xml.decode both go here)."""
    seen: list[bytes] = []
    real = layers.check_layers

    def counting(data: bytes, **kw: Any) -> Any:
        seen.append(data)
        return real(data, **kw)

    monkeypatch.setattr(layers, "check_layers", counting)
    return seen


def consignment(client: TestClient, bill: str) -> Any:
    response = client.get(f"/api/v1/consignments/{bill}/timeline", headers={"X-API-Key": KEYS["admin"]})
    return response.status_code == 200 and response.json()["consignment"]


def post(client: TestClient, body: bytes) -> None:
    response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS["broker"]})
    assert response.status_code == 202, response.text


def test_an_xml_message_is_parsed_once_from_intake_to_the_workflow(
    env: dict[str, Any], parses: list[bytes]
) -> None:
    s = Shipment.make(31, 2)
    body = manifest_xml(s)
    post(env["client"], body)
    wait_for(lambda: consignment(env["client"], s.bill_no), "manifest applied")
    wait_for(lambda: env["customs"].of("MT1101"), "forwarded to customs")
    assert parses == [body]  # intake's layered check only; the workflow got the model


def test_edifact_is_mapped_to_the_model_and_never_parsed_back(
    env: dict[str, Any], parses: list[bytes]
) -> None:
    s = Shipment.make(32, 1)
    cuscar = convert(manifest_xml(s), to="edifact")[0].content
    parses.clear()  # making the CUSCAR parsed its XML
    post(env["client"], cuscar)
    wait_for(lambda: consignment(env["client"], s.bill_no), "CUSCAR applied")
    forwarded = wait_for(lambda: env["customs"].of("MT1101"), "forwarded to customs")
    assert parses == []
    assert s.bill_no.encode() in forwarded[0]


def test_a_message_queued_in_the_old_form_is_still_applied(env: dict[str, Any]) -> None:
    """A worker upgraded mid-flight finds XML bodies that an older intake queued."""
    hub, s = env["hub"], Shipment.make(33, 1)
    body = manifest_xml(s)
    with hub.db.unit_of_work() as session:
        row = archive(session, body, direction="in", channel="http", sender=BROKER, bills=[s.bill_no])
        row.format, row.message_type, row.status = "xml", "MT1101", "accepted"
        enqueue(
            session,
            INBOUND_EXCHANGE,
            f"clearance.MT1101.{BROKER}",
            body,
            message_id=row.id,
            content_type="application/xml",
            headers={ARCHIVE_HEADER: row.id, SENDER_HEADER: BROKER},
            correlation_id=row.id,
        )
    wait_for(lambda: consignment(env["client"], s.bill_no), "old-form manifest applied")
    wait_for(lambda: env["customs"].of("MT1101"), "forwarded to customs")


def test_a_model_body_that_intake_did_not_write_is_dead_lettered(env: dict[str, Any]) -> None:
    hub = env["hub"]
    with hub.db.unit_of_work() as session:
        enqueue(
            session,
            INBOUND_EXCHANGE,
            f"clearance.MT1101.{BROKER}",
            b'{"v": 1, "model": {"$t": "Popen", "args": ["sh"]}}',
            message_id="forged-1",
            content_type=wire.CONTENT_TYPE,
            headers={ARCHIVE_HEADER: "forged-1", SENDER_HEADER: BROKER},
        )

    def dead() -> list[DeadLetter]:
        with hub.db.sessions() as session:
            query = select(DeadLetter).where(DeadLetter.original_queue.like("%.workflow.p%"))
            return list(session.scalars(query))

    letters = wait_for(dead, "dead-lettered with the reason")
    assert "not a canonical model class" in letters[0].reason and letters[0].attempts == 1


def test_intake_queues_the_model_it_accepted(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    bodies: list[tuple[bytes, str]] = []
    real = intake.enqueue

    def spy(session: Any, exchange: str, key: str, body: bytes, **kw: Any) -> Any:
        bodies.append((body, kw["content_type"]))
        return real(session, exchange, key, body, **kw)

    monkeypatch.setattr(intake, "enqueue", spy)
    s = Shipment.make(34, 1)
    post(env["client"], manifest_xml(s))
    body, content_type = bodies[0]
    assert content_type == wire.CONTENT_TYPE
    model, _ = wire.loads(body)
    assert model.declaration.consignments[0].bill_no == s.bill_no


def test_edifact_is_encoded_to_xml_once_and_forwarded_as_encoded(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The XML intake encodes while mapping a CODECO (and checks against its XSD) is the one that
    reaches customs: the workflow does not encode the same arrival report again."""
    from messages import xml as xmlcodec

    s = Shipment.make(35, 1)
    post(env["client"], manifest_xml(s))
    wait_for(lambda: consignment(env["client"], s.bill_no), "manifest applied")
    codeco = convert(arrival_xml(s.bill_no, s.containers[0]), to="edifact")[0].content
    encoded: list[Any] = []
    real = xmlcodec.encode

    def counting(model: Any) -> bytes:
        body = real(model)
        if getattr(getattr(model, "head", None), "message_type", "") == "MT3101":
            encoded.append(body)
        return body

    monkeypatch.setattr(xmlcodec, "encode", counting)
    response = env["client"].post("/api/v1/messages", content=codeco, headers={"X-API-Key": KEYS["yard"]})
    assert response.status_code == 202, response.text
    forwarded = wait_for(lambda: env["customs"].of("MT3101"), "arrival forwarded to customs")
    assert len(encoded) == 1 and forwarded == encoded
