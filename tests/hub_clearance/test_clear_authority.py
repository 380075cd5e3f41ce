"""Issue 12 items 1, 2, 5: who may send what. A bill belongs to its first manifest's sender; site
reports come from the site's operator or assigned tally company; a broker declares as itself, for a
consignee that entrusted it, the one the manifest names. SQLite and PostgreSQL, in-process bus."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from messages.xml import encode, samples
from simulators.customs.traffic import (
    Shipment,
    arrival_xml,
    declaration,
    distribution_xml,
    manifest_xml,
    tally_xml,
)
from tests.hub_clearance.clrfixtures import BROKER, KEYS, OTHER_BROKER, TALLY, TERMINAL, Inbox, wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import get, post

STRANGER = "91370200M3C0TRD07B"  # a consignee that entrusted nobody


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def refused(client: TestClient, who: str, body: bytes, status: int) -> dict[str, Any]:
    response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]})
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


def timeline(client: TestClient, bill: str) -> dict[str, Any]:
    return get(client, "admin", f"/api/v1/consignments/{bill}/timeline")  # type: ignore[no-any-return]


def test_a_bill_belongs_to_the_sender_of_its_first_manifest(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(121)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: env["customs"].of("MT1101"), "A's manifest forwarded")
    before = timeline(client, s.bill_no)["consignment"]

    hijack = manifest_xml(s).replace(b"CNTAO/4227", b"CNRZH/4228")
    error = refused(client, "other_broker", hijack, 409)
    assert error["details"][0]["location"].endswith("TransportContractDocument/ID")
    assert s.bill_no in error["details"][0]["message"]
    refused(client, "other_broker", distribution_xml(s, "CNTAO/4258"), 409)

    after = timeline(client, s.bill_no)["consignment"]
    assert after == before  # owner, terminal, vessel unchanged
    assert after["terminal_code"] == TERMINAL
    assert len(env["customs"].of("MT1101")) == 1 and not env["customs"].of("MT6102")
    hijack_id = error["message"].split()[1]  # "message <id> rejected: ..."
    assert get(client, "other_broker", f"/api/v1/messages/{hijack_id}")["status"] == "rejected"
    # the owner may still amend its own bill
    post(client, "broker", manifest_xml(s))


def test_site_reports_come_from_the_site_they_describe(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(122, containers=1)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: timeline(client, s.bill_no), "manifest applied")

    error = refused(client, "other_yard", arrival_xml(s.bill_no, s.containers[0]), 403)
    assert error["details"][0]["location"] == "/Manifest/Declaration/UnloadingLocation/ID"
    assert error["details"][0]["line"] and error["details"][0]["code"] == "site_not_registered"
    error = refused(client, "other_tally", tally_xml(s.bill_no, s.containers[0]), 403)
    assert "registered" in error["details"][0]["message"]
    boxes = timeline(client, s.bill_no)["containers"]
    assert boxes[0]["arrived_at"] is None and boxes[0]["tallied_at"] is None

    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    post(client, "tally", tally_xml(s.bill_no, s.containers[0]))
    wait_for(lambda: timeline(client, s.bill_no)["containers"][0]["tallied_at"], "tally applied")
    assert timeline(client, s.bill_no)["containers"][0]["arrived_at"]


def test_a_broker_declares_as_itself_for_a_consignee_that_entrusted_it(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(123, containers=1)

    as_other = declaration("summary", s, "A26112300000000001", declarant=OTHER_BROKER)
    error = refused(client, "broker", encode(as_other), 422)
    assert "/DecMessage/DecHead/AgentCodeScc" in [d["location"] for d in error["details"]]

    unentrusted = declaration("summary", s, "A26112300000000002")
    unentrusted.head.trade_co_scc = STRANGER
    error = refused(client, "broker", encode(unentrusted), 422)
    assert any(
        d["location"] == "/DecMessage/DecHead/TradeCoScc" and "entrust" in d["message"]
        for d in error["details"]
    )

    # the consignee (here through the administrator) entrusts the broker over the API
    created = client.post(
        "/api/v1/entrustments",
        json={"consignee": STRANGER, "broker": BROKER},
        headers={"X-API-Key": KEYS["admin"]},
    )
    assert created.status_code == 201, created.text
    mine = {e["consignee"] for e in get(client, "broker", "/api/v1/entrustments")}
    assert mine == {STRANGER, samples.TRADE_CO_SCC}
    assert STRANGER not in {e["consignee"] for e in get(client, "other_broker", "/api/v1/entrustments")}
    forbidden = client.post(
        "/api/v1/entrustments",
        json={"consignee": STRANGER, "broker": OTHER_BROKER},
        headers={"X-API-Key": KEYS["broker"]},
    )
    assert forbidden.status_code == 403

    # entrusted now, but before the manifest: parked; the manifest names another consignee: refused
    parked = post(client, "broker", encode(unentrusted))
    post(client, "broker", manifest_xml(s))
    wait_for(
        lambda: (
            get(client, "broker", f"/api/v1/declarations/{parked['declaration_id']}")["state"] == "rejected"
        ),
        "declaration refused once the manifest names another consignee",
    )
    assert not [m for m in env["customs"].of("DecMessage") if STRANGER.encode() in m]

    # with the manifest there the refusal is at once
    late = declaration("summary", s, "A26112300000000003")
    late.head.trade_co_scc = STRANGER
    error = refused(client, "broker", encode(late), 422)
    assert any("manifest names" in d["message"] for d in error["details"])

    # withdrawn: the broker may no longer declare for that consignee
    entrustment_id = created.json()["id"]
    gone = client.delete(f"/api/v1/entrustments/{entrustment_id}", headers={"X-API-Key": KEYS["broker"]})
    assert gone.status_code == 403
    gone = client.delete(f"/api/v1/entrustments/{entrustment_id}", headers={"X-API-Key": KEYS["admin"]})
    assert gone.status_code == 204
    again = declaration("summary", Shipment.make(124, containers=1), "A26112300000000004")
    again.head.trade_co_scc = STRANGER
    refused(client, "broker", encode(again), 422)


def test_a_broker_sees_its_own_part_of_a_bill_never_the_owner(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(125, containers=1)
    for consignee in (STRANGER, samples.TRADE_CO_SCC):
        created = client.post(
            "/api/v1/entrustments",
            json={"consignee": consignee, "broker": OTHER_BROKER},
            headers={"X-API-Key": KEYS["admin"]},
        )
        assert created.status_code == 201, created.text
    # broker B files for A's bill (before the manifest) naming a consignee the manifest will not name
    wrong = declaration("summary", s, "B26112500000000001", declarant=OTHER_BROKER)
    wrong.head.trade_co_scc = STRANGER
    filed = post(client, "other_broker", encode(wrong))
    post(client, "broker", manifest_xml(s))  # broker A is the carrier's agent: owner of the bill
    wait_for(
        lambda: (
            get(client, "other_broker", f"/api/v1/declarations/{filed['declaration_id']}")["state"]
            == "rejected"
        ),
        "B's declaration refused",
    )
    seen = timeline_as(client, "other_broker", s.bill_no)
    assert seen["consignment"] == {"status": "manifested"} and seen["containers"] == []
    assert {e["sender"] for e in seen["events"]} | {e["receiver"] for e in seen["events"]} <= {
        OTHER_BROKER,
        "hub",  # the hub's own DecImportResponse
        None,
        "",
    }
    assert BROKER.encode() not in repr(seen).encode()

    # linked by a declaration for the manifest's consignee: containers, still not the owner
    right = declaration("summary", s, "B26112500000000002", declarant=OTHER_BROKER)
    post(client, "other_broker", encode(right))
    seen = timeline_as(client, "other_broker", s.bill_no)
    assert seen["containers"] and "manifest_sender" not in seen["consignment"]
    assert timeline_as(client, "broker", s.bill_no)["consignment"]["manifest_sender"] == BROKER


def timeline_as(client: TestClient, who: str, bill: str) -> dict[str, Any]:
    return get(client, who, f"/api/v1/consignments/{bill}/timeline")  # type: ignore[no-any-return]


def test_customs_mt9999_to_an_arrival_report_goes_to_the_terminal_that_sent_it(env: dict[str, Any]) -> None:
    """Item 4: the MT9999 answering an MT3101 reaches the port operator, not the manifest owner."""
    client = env["client"]
    s = Shipment.make(126, containers=1)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: timeline(client, s.bill_no), "manifest applied")
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    wait_for(lambda: env["customs"].of("MT3101"), "arrival forwarded to customs")

    answer = samples.mt9999()
    answer.head.message_type, answer.head.receiver_id = "MT3101", "4227"
    answer.consignments = answer.consignments[:1]
    answer.consignments[0].bill_no = s.bill_no
    post(client, "customs", encode(answer))
    wait_for(lambda: env["yard"].of("MT9999"), "MT9999 to the terminal that reported the arrival")
    assert not env["broker"].of("MT9999")


def test_an_mt9999_naming_its_copy_goes_to_the_party_whose_report_that_copy_carried(
    env: dict[str, Any],
) -> None:
    """Two parties report arrivals for one bill (the terminal, then the tally company); customs
    answers the tally company's copy (correlation id): the answer goes to the tally company, whatever
    the search of the bill's reports would pick."""
    client = env["client"]
    tally_inbox = Inbox(env["hub"], f"t.tally.{uuid.uuid4().hex[:6]}", f"{TALLY}.#")
    s = Shipment.make(127, containers=2)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: timeline(client, s.bill_no), "manifest applied")
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    wait_for(lambda: len(env["customs"].ids_of("MT3101")) == 1, "the yard's arrival forwarded")
    post(client, "tally", arrival_xml(s.bill_no, s.containers[1]))
    wait_for(lambda: len(env["customs"].ids_of("MT3101")) == 2, "the tally company's arrival forwarded")
    tally_copy = env["customs"].ids_of("MT3101")[1]

    answer = samples.mt9999()
    answer.head.message_type, answer.head.receiver_id = "MT3101", "4227"
    answer.consignments = answer.consignments[:1]
    answer.consignments[0].bill_no = s.bill_no
    response = client.post(
        "/api/v1/messages",
        content=encode(answer),
        headers={"X-API-Key": KEYS["customs"], "X-Correlation-Id": tally_copy},
    )
    assert response.status_code == 202, response.text
    wait_for(lambda: tally_inbox.of("MT9999"), "MT9999 to the tally company, whose report it answers")
    assert not env["yard"].of("MT9999") and not env["broker"].of("MT9999")


def test_another_brokers_client_seq_no_cannot_capture_its_customs_answer(env: dict[str, Any]) -> None:
    """Item 3 (ClientSeqNo half): a ClientSeqNo belongs to one declarant, so customs' answer by
    ClientSeqNo reaches only that declarant's declaration."""
    client = env["client"]
    s = Shipment.make(127, containers=1)
    post(client, "broker", manifest_xml(s))
    mine = post(client, "broker", encode(declaration("summary", s, "A26112700000000001")))
    theirs = declaration("summary", s, "A26112700000000001", declarant=OTHER_BROKER)
    error = refused(client, "other_broker", encode(theirs), 422)
    assert error["details"][0]["location"] == "/DecMessage/DecSign/ClientSeqNo"
    assert mine["declaration_id"] not in error["message"] + repr(error["details"])
