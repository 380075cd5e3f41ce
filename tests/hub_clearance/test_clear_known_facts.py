"""Issue 11 enrichment step 2: what the hub already knows fills what a partner's EDIFACT leaves out -
the manifest of the same bill (or vessel call), the sender's registered site, the tally company.

A tally company's SMDG-style COARRI carries neither LOC+22 (customs office) nor NAD+TL (tally party)
nor LOC+11, and the tally company has no terminal of its own: before, it was refused for the
missing customs office although the hub holds the bill's manifest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from hub.db.clearance_tables import ClrConsignment
from hub.services.known_facts import KnownFacts
from messages.models.manifest import BorderTransportMeans, Manifest
from messages.xml import samples
from simulators.customs.traffic import TERMINAL, Shipment, manifest_xml
from tests.hub_clearance.clrfixtures import TALLY, YARD, wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import post

CORPUS = Path(__file__).parents[1] / "partners_corpus" / "edifact" / "coarri_smdg_d95b_discharge_loading.edi"


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    empty = tmp_path / "partners.yaml"
    empty.write_text("partners: {}\n", encoding="utf-8")  # no profile defaults to fall back on
    monkeypatch.setenv("SWHUB_PARTNERS_FILE", str(empty))
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def tally_coarri(bill: str, container: str) -> bytes:
    """The corpus' discharge report (first message only) for our bill and box, with its place of
    unloading removed too: only the hub can say where and for which customs office."""
    text = CORPUS.read_text(encoding="ascii")
    head, rest = text.split("UNH+", 1)
    first = "UNH+" + rest.split("UNH+", 1)[0]
    segments = [s for s in first.split("'\n") if s and not s.startswith("LOC+11")]
    body: list[str] = []
    skipping = False
    for seg in segments:  # keep the first EQD group only (the second box has no bill)
        if seg.startswith("EQD+") and body and any(b.startswith("EQD+") for b in body):
            skipping = True
        if seg.startswith(("CNT+", "UNT+")):
            skipping = False
        if not skipping:
            body.append(seg)
    body = [
        s.replace("MSCU1234566", container).replace("MEDUGE123456", bill).replace("CNT+16:2", "CNT+16:1")
        for s in body
    ]
    body[-1] = f"UNT+{len(body)}+1452515553811"
    return (head + "'\n".join(body) + "'\nUNZ+1+26112814120001'\n").encode("ascii")


def test_tally_coarri_takes_customs_office_and_place_from_the_manifest_and_itself_as_tally(
    env: dict[str, Any],
) -> None:
    client = env["client"]
    s = Shipment.make(73, containers=1)
    post(client, "broker", manifest_xml(s))  # names TERMINAL = CNTAO/4227
    # the workflow has recorded the consignment (the manifest came well before, in life): its forward
    # to customs is written in the same transaction (the timeline answers 200 as soon as the manifest
    # is archived, which raced the workflow)
    wait_for(lambda: env["customs"].of("MT1101"), "the manifest applied")
    receipt = post(client, "tally", tally_coarri(s.bill_no, s.containers[0]))
    assert receipt["message_type"] == "MT5101", receipt
    forwarded = wait_for(lambda: env["customs"].of("MT5101"), "MT5101 forwarded to customs")[0]
    assert b"<DeclarationOfficeID>4227</DeclarationOfficeID>" in forwarded
    assert f"<ID>{TERMINAL}</ID>".encode() in forwarded  # unloading location from the manifest
    assert TALLY.encode() in forwarded  # the tally company that sent it


def test_without_the_manifest_the_same_report_is_refused_naming_the_segment(env: dict[str, Any]) -> None:
    s = Shipment.make(74, containers=1)
    refused = env["client"].post(
        "/api/v1/messages",
        content=tally_coarri(s.bill_no, s.containers[0]),
        headers={"X-API-Key": "clr-tally-key"},
    )
    assert refused.status_code == 400, refused.text
    messages = [d["message"] for d in refused.json()["error"]["details"]]
    assert any("no customs office: add LOC+22" in m for m in messages), messages


def _coarri_model(bill: str = "", voyage: str = "") -> Manifest:
    model = samples.mt1101(consignments=1, containers_per_bill=1)
    model.declaration.consignments[0].bill_no = bill
    model.declaration.conveyance = BorderTransportMeans(journey_id=voyage)
    return model


def test_known_facts_order_manifest_of_bill_then_vessel_call_then_own_site(env: dict[str, Any]) -> None:
    hub = env["hub"]
    facts = KnownFacts(hub.db)
    stamp = datetime(2026, 11, 20, tzinfo=UTC)
    with hub.db.unit_of_work() as session:
        session.execute(delete(ClrConsignment).where(ClrConsignment.bill_no.in_(["KF-BILL-1", "KF-BILL-2"])))
        session.add_all(
            [
                ClrConsignment(
                    bill_no="KF-BILL-1",
                    voyage_no="KF01",
                    terminal_code="CNRZH/4228",
                    created_at=stamp,
                    updated_at=stamp,
                ),
                ClrConsignment(
                    bill_no="KF-BILL-2",
                    voyage_no="KF02",
                    terminal_code="CNTAO/4258",
                    created_at=stamp,
                    updated_at=stamp,
                ),
            ]
        )
    # the bill's manifest wins over the sender's own site (the yard is registered at CNTAO/4227)
    by_bill = facts.facts(YARD, _coarri_model(bill="KF-BILL-1", voyage="KF02"))
    assert by_bill["unloading_location"] == "CNRZH/4228" and by_bill["customs_office"] == "4228"
    # an unknown bill: the vessel call's manifest
    by_call = facts.facts(YARD, _coarri_model(bill="UNKNOWN", voyage="KF02"))
    assert by_call["unloading_location"] == "CNTAO/4258" and by_call["customs_office"] == "4258"
    # nothing known of the bill or the call: the yard's registered site, and its one tally company
    own = facts.facts(YARD, _coarri_model(bill="UNKNOWN", voyage="NONE"))
    assert own == {"unloading_location": TERMINAL, "customs_office": "4227", "tally_party": TALLY}
