"""Gap 4: an EDIFACT interchange with several messages (UNB, n x UNH..UNT, UNZ) is split at intake;
each message is archived on its own (linked to the interchange's raw row) and processed; a problem
in one message refuses that one only, located by its index and UNH reference; the same interchange
again is a duplicate (UNB + UNH reference). Over HTTP and AMQP, in-process bus, SQLite + PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.bus.base import Envelope
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from messages import edifact
from messages.mapping import model_to_interchange
from messages.xml import decode
from simulators.customs.traffic import Shipment, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import KEYS, YARD, wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import get, post


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def interchange(*xml_messages: bytes) -> bytes:
    models = [decode(x) for x in xml_messages]
    return edifact.write(model_to_interchange(models), una=True, newline=True)


def in_message_2(raw: bytes, old: bytes, new: bytes) -> bytes:
    """Break the second message only."""
    at = raw.index(b"UNH+2+")
    return raw[:at] + raw[at:].replace(old, new, 1)


def timeline(client: TestClient, bill: str) -> Any:
    return get(client, "admin", f"/api/v1/consignments/{bill}/timeline")


def test_three_coarri_in_one_interchange_are_each_applied_once(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(81, containers=3)
    post(client, "broker", manifest_xml(s))
    raw = interchange(*(tally_xml(s.bill_no, box) for box in s.containers))
    receipt = post(client, "yard", raw)
    assert receipt["status"] == "accepted" and receipt["format"] == "edifact"
    assert receipt["message_type"] == "MT5101" and receipt["problems"] == []
    parts = receipt["messages"]
    assert [(p["index"], p["unh_ref"], p["edifact_type"], p["status"]) for p in parts] == [
        (1, "1", "COARRI", "accepted"),
        (2, "2", "COARRI", "accepted"),
        (3, "3", "COARRI", "accepted"),
    ]
    wait_for(lambda: all(c["tallied_at"] for c in timeline(client, s.bill_no)["containers"]), "3 tallies")
    # the interchange is archived as received; each message on its own, linked to it
    whole = client.get(f"/api/v1/messages/{receipt['receipt_id']}/raw", headers={"X-API-Key": KEYS["admin"]})
    assert whole.content == raw
    assert get(client, "admin", f"/api/v1/messages/{receipt['receipt_id']}")["status"] == "split"
    for part in parts:
        row = get(client, "admin", f"/api/v1/messages/{part['receipt_id']}")
        assert row["correlation_id"] == receipt["receipt_id"] and row["format"] == "edifact"
        alone = client.get(row["raw_url"], headers={"X-API-Key": KEYS["admin"]}).content
        assert alone.count(b"UNH+") == 1 and f"UNH+{part['unh_ref']}+COARRI".encode() in alone
        assert b"UNZ+1+" in alone
    wait_for(lambda: len(env["customs"].of("MT5101")) == 3, "three tallies forwarded to customs")
    assert timeline(client, s.bill_no)["consignment"]["reconciled_at"]  # all tallied: reconciled

    again = client.post("/api/v1/messages", content=raw, headers={"X-API-Key": KEYS["yard"]})
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True and again.json()["receipt_id"] == receipt["receipt_id"]
    assert {p["status"] for p in again.json()["messages"]} == {"duplicate"}
    assert len(env["customs"].of("MT5101")) == 3  # no second effect


def test_a_bad_message_is_refused_with_its_location_the_others_go_through(env: dict[str, Any]) -> None:
    client = env["client"]
    good, bad = Shipment.make(82, 1), Shipment.make(83, 1)
    raw = interchange(manifest_xml(good), manifest_xml(bad))
    broken = in_message_2(raw, b"CNT+7:12425.25:KGM", b"CNT+7:12X425.25:KGM")
    assert broken.count(b"12X425.25") == 1 and broken.index(b"12X425.25") > broken.index(b"UNH+2+")
    response = client.post("/api/v1/messages", content=broken, headers={"X-API-Key": KEYS["broker"]})
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["status"] == "partially_accepted"
    first, second = receipt["messages"]
    assert first["status"] == "accepted" and first["bills"] == [good.bill_no]
    assert second["status"] == "rejected" and second["http_status"] == 400
    (problem,) = receipt["problems"]
    assert problem["location"].startswith("interchange message 2 (UNH 2, CUSCAR)")
    assert "12X425.25" in problem["message"]
    wait_for(lambda: timeline(client, good.bill_no)["consignment"], "the good manifest applied")
    assert get(client, "admin", f"/api/v1/consignments/{bad.bill_no}/timeline")["consignment"] is None
    refused = get(client, "admin", f"/api/v1/messages/{second['receipt_id']}")
    assert refused["status"] == "rejected" and "12X425.25" in refused["error"]


def test_every_message_refused_refuses_the_interchange_with_every_problem(env: dict[str, Any]) -> None:
    client = env["client"]
    a, b = Shipment.make(84, 1), Shipment.make(85, 1)
    raw = interchange(manifest_xml(a), manifest_xml(b))
    response = client.post("/api/v1/messages", content=raw, headers={"X-API-Key": KEYS["yard"]})
    assert response.status_code == 403, response.text  # manifests are the carrier's agent's to send
    locations = [d["location"] for d in response.json()["error"]["details"]]
    assert locations == [
        "interchange message 1 (UNH 1, CUSCAR): sender",
        "interchange message 2 (UNH 2, CUSCAR): sender",
    ]


def test_an_interchange_over_amqp_tells_the_sender_which_message_was_refused(env: dict[str, Any]) -> None:
    hub, client = env["hub"], env["client"]
    s = Shipment.make(86, containers=2)
    post(client, "broker", manifest_xml(s))
    raw = interchange(tally_xml(s.bill_no, s.containers[0]), tally_xml(s.bill_no, s.containers[1]))
    broken = in_message_2(raw, b"KGM:12425.25", b"KGM:1X")
    assert broken != raw
    hub.bus.publish(INGRESS_EXCHANGE, Envelope(broken, "COARRI", str(uuid.uuid4()), {SENDER_HEADER: YARD}))
    rejection = json.loads(wait_for(lambda: env["yard"].of("Rejection"), "rejection to the sender")[0])
    assert rejection["status"] == 400 and rejection["interchange_id"]
    assert rejection["problems"][0]["location"].startswith("interchange message 2 (UNH 2, COARRI)")
    containers = wait_for(
        lambda: [c for c in timeline(client, s.bill_no)["containers"] if c["tallied_at"]], "first tally"
    )
    assert [c["container_no"] for c in containers] == [s.containers[0]]
