"""Issue 12 item 3: customs answers reach the declaration they answer. An answer carries back the id of
the hub message it answers (HTTP X-Correlation-Id, AMQP correlation_id); one whose own references
(ClientSeqNo, SeqNo/EntryId, bills) belong to another declaration or bill than that message's is
refused (409, archived as rejected) and reaches nobody. SQLite and PostgreSQL, in-process bus."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.bus.base import Envelope
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from messages.xml import decode, encode, samples
from simulators.customs.traffic import Shipment, declaration, manifest_xml
from tests.hub_clearance.clrfixtures import (
    CUSTOMS,
    KEYS,
    OTHER_BROKER,
    Inbox,
    dec_data,
    import_response,
    wait_for,
)
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import get, post


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        environment["other"] = Inbox(environment["hub"], "tcorr.other", f"{OTHER_BROKER}.#")
        yield environment


def answer(client: TestClient, body: bytes, reply_to: str, expect: int = 202) -> dict[str, Any]:
    response = client.post(
        "/api/v1/messages",
        content=body,
        headers={"X-API-Key": KEYS["customs"], "X-Correlation-Id": reply_to},
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def declaration_of(client: TestClient, declaration_id: str) -> dict[str, Any]:
    return get(client, "admin", f"/api/v1/declarations/{declaration_id}")  # type: ignore[no-any-return]


def forwarded_declarations(env: dict[str, Any], count: int) -> dict[str, str]:
    """ClientSeqNo -> the id of the DecMessage the hub forwarded to customs."""
    wait_for(lambda: len(env["customs"].ids_of("DecMessage")) >= count, "declarations forwarded")
    bodies, ids = env["customs"].of("DecMessage"), env["customs"].ids_of("DecMessage")
    return {decode(b).client_seq_no: i for b, i in zip(bodies, ids, strict=True)}


def two_brokers(env: dict[str, Any], n: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    client = env["client"]
    a, b = Shipment.make(n, containers=1), Shipment.make(n + 1, containers=1)
    post(client, "broker", manifest_xml(a, b))
    mine = post(client, "broker", encode(declaration("summary", a, f"A{n:017d}")))
    theirs = post(
        client, "other_broker", encode(declaration("summary", b, f"B{n:017d}", declarant=OTHER_BROKER))
    )
    return mine, theirs, forwarded_declarations(env, 2)


def test_an_answer_with_another_declarations_client_seq_no_reaches_neither(env: dict[str, Any]) -> None:
    client = env["client"]
    n = 13100
    mine, theirs, sent = two_brokers(env, n)
    other_before = len(env["other"].of("DecImportResponse"))  # the hub's own acknowledgement

    # customs answers the broker's DecMessage, but the answer names the other broker's ClientSeqNo
    error = answer(client, import_response(f"B{n:017d}", "000000000000009999"), sent[f"A{n:017d}"], 409)
    assert "ClientSeqNo" in error["error"]["details"][0]["message"]
    refused_id = error["error"]["message"].split()[1]
    assert get(client, "admin", f"/api/v1/messages/{refused_id}")["status"] == "rejected"
    assert declaration_of(client, theirs["declaration_id"])["seq_no"] in (None, "")
    assert declaration_of(client, mine["declaration_id"])["seq_no"] in (None, "")
    assert len(env["other"].of("DecImportResponse")) == other_before

    # the right answer to the right message applies
    answer(client, import_response(f"A{n:017d}", "000000000000000001"), sent[f"A{n:017d}"])
    wait_for(lambda: declaration_of(client, mine["declaration_id"])["seq_no"], "seq no applied")
    assert declaration_of(client, mine["declaration_id"])["seq_no"] == "000000000000000001"


def test_a_dec_data_naming_another_brokers_declaration_is_refused(env: dict[str, Any]) -> None:
    client = env["client"]
    n = 13200
    mine, theirs, sent = two_brokers(env, n)
    answer(client, import_response(f"A{n:017d}", "000000000000000011"), sent[f"A{n:017d}"])
    answer(client, import_response(f"B{n:017d}", "000000000000000012"), sent[f"B{n:017d}"])
    wait_for(lambda: declaration_of(client, theirs["declaration_id"])["seq_no"], "their seq no")
    wait_for(lambda: declaration_of(client, mine["declaration_id"])["seq_no"], "my seq no")
    state = declaration_of(client, theirs["declaration_id"])["state"]
    other_before = len(env["other"].of("DEC_DATA"))

    # a rejection (channel E) carrying the other broker's SeqNo, in reply to the broker's DecMessage
    wrong = dec_data("000000000000000012", "", Shipment.make(n + 1).bill_no, "E", "wrong one")
    error = answer(client, wrong, sent[f"A{n:017d}"], 409)
    assert "another declaration" in error["error"]["details"][0]["message"]
    assert declaration_of(client, theirs["declaration_id"])["state"] == state
    assert len(env["other"].of("DEC_DATA")) == other_before

    # an id the hub never sent to customs (here: the broker's own incoming declaration)
    error = answer(client, dec_data("000000000000000011", "", "", "SpL"), mine["declaration_id"], 409)
    assert "did not send to customs" in error["error"]["details"][0]["message"]

    # the broker's own registration, in reply to its DecMessage, applies
    entry = "422720260000000042"
    answer(client, dec_data("000000000000000011", entry, Shipment.make(n).bill_no, "SpL"), sent[f"A{n:017d}"])
    wait_for(lambda: declaration_of(client, mine["declaration_id"])["entry_id"] == entry, "registered")


def test_an_mt9999_for_a_bill_the_forwarded_manifest_did_not_name_is_refused(env: dict[str, Any]) -> None:
    client = env["client"]
    mine, other = Shipment.make(13300, containers=1), Shipment.make(13301, containers=1)
    post(client, "broker", manifest_xml(mine))
    post(client, "other_broker", manifest_xml(other))
    wait_for(lambda: len(env["customs"].ids_of("MT1101")) >= 2, "manifests forwarded")
    by_bill = {
        decode(b).declaration.consignments[0].bill_no: i
        for b, i in zip(env["customs"].of("MT1101"), env["customs"].ids_of("MT1101"), strict=True)
    }
    receipt = samples.mt9999()
    receipt.head.message_type = "MT1101"
    receipt.consignments = receipt.consignments[:1]
    receipt.consignments[0].bill_no = other.bill_no
    error = answer(client, encode(receipt), by_bill[mine.bill_no], 409)
    assert other.bill_no in error["error"]["details"][0]["message"]
    assert not env["other"].of("MT9999")

    answer(client, encode(receipt), by_bill[other.bill_no])
    wait_for(lambda: env["other"].of("MT9999"), "MT9999 to the manifest's sender")
    assert not env["broker"].of("MT9999")


def test_over_amqp_the_correlation_id_is_what_the_answer_answers(env: dict[str, Any]) -> None:
    """The same check on swhub.ingress: the AMQP correlation_id names the forwarded message."""
    client, hub = env["client"], env["hub"]
    n = 13400
    mine, theirs, sent = two_brokers(env, n)
    rejections = Inbox(hub, "tcorr.customs", f"{CUSTOMS}.Rejection")
    body = import_response(f"B{n:017d}", "000000000000000021")
    hub.bus.publish(
        INGRESS_EXCHANGE,
        Envelope(
            body,
            "DecImportResponse",
            "amqp-answer-1",
            headers={SENDER_HEADER: CUSTOMS},
            content_type="application/xml",
            correlation_id=sent[f"A{n:017d}"],
        ),
    )
    wait_for(lambda: rejections.of("Rejection"), "customs told why its answer was refused")
    assert b"ClientSeqNo" in rejections.of("Rejection")[0]
    assert declaration_of(client, theirs["declaration_id"])["seq_no"] in (None, "")


def test_an_answer_without_the_forwarded_id_can_be_required(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HUB_CLEARANCE_REQUIRE_ANSWER_CORRELATION: no answer is correlated by its own references alone."""
    with hub_env(db_url, tmp_path, monkeypatch, require_answer_correlation="true") as env:
        env["other"] = Inbox(env["hub"], "tcorr.other2", f"{OTHER_BROKER}.#")
        client, n = env["client"], 13500
        mine, _, sent = two_brokers(env, n)
        bare = client.post(
            "/api/v1/messages",
            content=import_response(f"A{n:017d}", "000000000000000031"),
            headers={"X-API-Key": KEYS["customs"]},
        )
        assert bare.status_code == 422, bare.text
        assert bare.json()["error"]["details"][0]["location"] == "correlation id"
        answer(client, import_response(f"A{n:017d}", "000000000000000031"), sent[f"A{n:017d}"])
        wait_for(lambda: declaration_of(client, mine["declaration_id"])["seq_no"], "applied with the id")


def test_an_mt9999_for_every_bill_of_a_partly_applied_report_is_accepted(env: dict[str, Any]) -> None:
    """A report forwarded while one of its bills waits for a manifest still names both: customs'
    MT9999 for both bills answers what the hub forwarded."""
    from messages.models.manifest import TransportEquipment
    from simulators.customs.traffic import arrival_xml

    client = env["client"]
    known, waiting = Shipment.make(13600, containers=1), Shipment.make(13601, containers=1)
    post(client, "broker", manifest_xml(known))
    wait_for(lambda: env["customs"].ids_of("MT1101"), "manifest forwarded")
    report = decode(arrival_xml(known.bill_no, known.containers[0]))
    extra = copy.deepcopy(report.declaration.consignments[0])
    extra.bill_no = waiting.bill_no
    report.declaration.consignments.append(extra)
    report.declaration.transport_equipment.append(
        TransportEquipment(waiting.containers[0], "45R1", "2", "8", ["S1"], bill_no=waiting.bill_no)
    )
    post(client, "yard", encode(report))
    wait_for(lambda: env["customs"].ids_of("MT3101"), "the report forwarded for the bill it could apply")
    receipt = samples.mt9999()
    receipt.head.message_type, receipt.head.receiver_id = "MT3101", "4227"
    template = receipt.consignments[0]
    receipt.consignments = [template, type(template)(waiting.bill_no, "01")]
    template.bill_no = known.bill_no
    answer(client, encode(receipt), env["customs"].ids_of("MT3101")[0])
