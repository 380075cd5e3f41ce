"""The clearance workflow through the HTTP API on the in-process bus, on SQLite and PostgreSQL. The
tests play customs themselves (posting DEC_DATA / inspection results with the customs key), so each
step is deterministic; the separate-process simulator is exercised in test_clear_e2e.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.clock import SHANGHAI, ManualClock, set_clock
from hub.runtime import Hub
from messages.models.notices import InspectionOutcome
from messages.xml import decode
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import (
    BROKER,
    KEYS,
    YARD,
    Inbox,
    dec_data,
    import_response,
    inspection_result,
    settings_for,
    wait_for,
)

START = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    clock = ManualClock(START)
    previous = set_clock(clock)
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("HUB_CLEARANCE_SWEEP_SECONDS", "3600")
    hub = Hub(settings_for(db_url, tmp_path))
    with TestClient(create_app(hub)) as client:
        hub.clearance.declare_party_queues()  # type: ignore[attr-defined]
        yield {
            "hub": hub,
            "client": client,
            "clock": clock,
            "customs": Inbox(hub, "t.customs", "customs.#"),
            "broker": Inbox(hub, "t.broker", f"{BROKER}.#"),
            "yard": Inbox(hub, "t.yard", f"{YARD}.#"),
        }
    set_clock(previous)


def post(client: TestClient, who: str, body: bytes, expect: int = 202) -> dict[str, Any]:
    response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]})
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def get(client: TestClient, who: str, path: str, expect: int = 200) -> Any:
    response = client.get(path, headers={"X-API-Key": KEYS[who]})
    assert response.status_code == expect, response.text
    return response.json()


def declaration(client: TestClient, decl_id: str) -> dict[str, Any]:
    return get(client, "admin", f"/api/v1/declarations/{decl_id}")  # type: ignore[no-any-return]


def state_is(client: TestClient, decl_id: str, state: str) -> Any:
    return lambda: declaration(client, decl_id)["state"] == state


def register(
    env: dict[str, Any], decl: dict[str, Any], seq: str, entry: str, bill: str, channel: str = "SpL"
) -> None:
    client = env["client"]
    post(client, "customs", import_response(decl["client_seq_no"], seq))
    wait_for(lambda: declaration(client, decl["id"])["seq_no"] == seq, "seq no")
    post(client, "customs", dec_data(seq, entry, bill, channel))


def test_full_flow_manifest_to_cleared_with_timeline(env: dict[str, Any]) -> None:
    client, customs = env["client"], env["customs"]
    s = Shipment.make(1, containers=3)
    receipt = post(client, "broker", manifest_xml(s))
    assert receipt["message_type"] == "MT1101" and receipt["bills"] == [s.bill_no]
    wait_for(lambda: customs.of("MT1101"), "manifest forwarded to customs")

    filed = post(client, "broker", declaration_xml("summary", s, "A26110000000000001"))
    assert filed["state"] == "received" and "<ResponseCode>0</ResponseCode>" in filed["import_response"]
    decl_id = filed["declaration_id"]
    wait_for(state_is(client, decl_id, "submitted"), "summary screened and submitted")
    view = declaration(client, decl_id)
    assert view["screening"]["outcome"] == "release_on_arrival" and view["screening"]["stage"] == 1
    assert view["deadlines"]["complete_declaration_due"] == "2026-12-04T23:59:59+08:00"  # 20 Nov + 14 d
    wait_for(lambda: customs.of("DecMessage"), "summary forwarded to customs")

    register(env, view, "000000000000000001", "422720261000000001", s.bill_no)
    wait_for(state_is(client, decl_id, "registered"), "registered")
    for box in s.containers[:2]:
        post(client, "yard", arrival_xml(s.bill_no, box))
        post(client, "yard", tally_xml(s.bill_no, box))
    wait_for(
        lambda: (
            len(
                [
                    c
                    for c in get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")["containers"]
                    if c["tallied_at"]
                ]
            )
            == 2
        ),
        "two tallies applied",
    )
    assert declaration(client, decl_id)["state"] == "registered"  # third container not arrived yet
    env["clock"].set(datetime(2026, 11, 22, 3, 0, tzinfo=SHANGHAI))  # Sunday, 3 a.m.: gates run 24x7
    post(client, "yard", arrival_xml(s.bill_no, s.containers[2]))
    post(client, "yard", tally_xml(s.bill_no, s.containers[2]))
    wait_for(state_is(client, decl_id, "released"), "released once every container arrived")
    release = decode(wait_for(lambda: env["broker"].of("ReleaseNotice"), "release to broker")[0])
    assert sorted(release.container_ids) == sorted(s.containers)
    assert release.released_at == datetime(2026, 11, 22, 3, 0, tzinfo=SHANGHAI)
    wait_for(lambda: env["yard"].of("ReleaseNotice"), "release to the terminal")

    complete = post(
        client,
        "broker",
        declaration_xml("complete", s, "A26110000000000002", summary_entry_id="422720261000000001"),
    )
    wait_for(state_is(client, complete["declaration_id"], "submitted"), "complete submitted")
    full = declaration(client, complete["declaration_id"])
    assert full["screening"]["stage"] == 2 and full["summary_id"] == decl_id and not full["deadlines"]["late"]
    register(env, full, "000000000000000002", "422720261000000002", s.bill_no, channel="L")
    wait_for(state_is(client, complete["declaration_id"], "registered"), "complete registered")
    post(client, "customs", dec_data("000000000000000002", "422720261000000002", s.bill_no, "R"))
    wait_for(state_is(client, complete["declaration_id"], "cleared"), "cleared")
    assert declaration(client, decl_id)["state"] == "cleared"

    timeline = get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")
    kinds = [(e["direction"], e["message_type"]) for e in timeline["events"]]
    for step in [
        ("in", "MT1101"),
        ("in", "DecMessage"),
        ("out", "DecImportResponse"),
        ("in", "DEC_DATA"),
        ("in", "MT3101"),
        ("in", "MT5101"),
        ("out", "ReleaseNotice"),
    ]:
        assert step in kinds, step
    assert kinds.index(("in", "MT1101")) < kinds.index(("out", "ReleaseNotice"))
    raw = client.get(timeline["events"][0]["raw_url"], headers={"X-API-Key": KEYS["admin"]})
    assert raw.status_code == 200 and raw.content.startswith(b"<?xml")
    # brokers see their own declarations only; another terminal sees nothing of this bill
    get(client, "other_broker", f"/api/v1/declarations/{decl_id}", expect=404)
    assert get(client, "other_broker", "/api/v1/declarations") == []
    get(client, "other_yard", f"/api/v1/consignments/{s.bill_no}/timeline", expect=404)
    assert (
        get(client, "yard", f"/api/v1/consignments/{s.bill_no}/timeline")["consignment"]["status"]
        == "released"
    )


def test_summary_before_manifest_is_held_visibly_then_forwarded(env: dict[str, Any]) -> None:
    client, customs = env["client"], env["customs"]
    s = Shipment.make(2)
    filed = post(client, "broker", declaration_xml("summary", s, "B26110000000000001"))
    wait_for(state_is(client, filed["declaration_id"], "held"), "held")
    view = declaration(client, filed["declaration_id"])
    assert any("waiting for the manifest" in r for r in view["reasons"])
    parked = get(client, "broker", "/api/v1/clearance/parked")
    assert [p["message_type"] for p in parked] == ["DecMessage"]
    assert not customs.of("DecMessage")
    post(client, "broker", manifest_xml(s))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "forwarded by itself")
    wait_for(lambda: customs.of("DecMessage"), "declaration reached customs")
    assert get(client, "broker", "/api/v1/clearance/parked") == []


def test_inspection_notice_reaches_broker_and_yard_then_release_after_inspection(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(3)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "C26110000000000001", dangerous=True))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    view = declaration(client, filed["declaration_id"])
    assert view["screening"]["outcome"] == "port_inspection"
    assert view["screening"]["hits"][0]["reason"]
    to_broker = wait_for(lambda: env["broker"].of("InspectionNotice"), "notice to broker")
    to_yard = wait_for(lambda: env["yard"].of("InspectionNotice"), "notice to yard")
    instruction = wait_for(lambda: env["customs"].of("InspectionNotice"), "instruction to customs")[0]
    assert to_broker[0] == to_yard[0] == instruction
    notice = decode(to_yard[0])
    assert sorted(notice.container_ids) == sorted(s.containers) and notice.checks

    register(env, view, "000000000000000003", "422720261000000003", s.bill_no)
    for box in s.containers:
        post(client, "yard", arrival_xml(s.bill_no, box))
    wait_for(
        lambda: all(
            c["arrived_at"]
            for c in get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")["containers"]
        ),
        "arrived",
    )
    assert declaration(client, filed["declaration_id"])["state"] == "registered"  # inspection pending
    post(client, "customs", inspection_result(instruction, InspectionOutcome.PASSED))
    wait_for(state_is(client, filed["declaration_id"], "released"), "released after the inspection")


def test_weight_discrepancy_notice_and_risk_escalation(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(4, containers=2)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "D26110000000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    post(client, "yard", tally_xml(s.bill_no, s.containers[0]))
    post(client, "yard", tally_xml(s.bill_no, s.containers[1], packages=600, gross_kg=Decimal("9000")))
    notices = wait_for(lambda: env["broker"].of("DiscrepancyNotice"), "discrepancy to the manifest sender")
    assert b'"kind": "weight"' in notices[0]
    view = wait_for(
        lambda: (
            (v := declaration(client, filed["declaration_id"]))["screening"]["outcome"] == "port_inspection"
            and v
        ),
        "re-screened on the discrepancy",
    )
    assert any(h["rule_id"] == "S1-WEIGHT-001" for h in view["screening"]["hits"])
    wait_for(lambda: env["yard"].of("InspectionNotice"), "inspection ordered on the discrepancy")
    timeline = get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")
    assert {d["kind"] for d in timeline["discrepancies"]} == {"weight"}


def test_overdue_complete_declaration_with_the_injectable_clock(env: dict[str, Any]) -> None:
    client, clock = env["client"], env["clock"]
    s = Shipment.make(5, containers=1)
    # conveyance entry Thu 2026-09-17: +14 d = Thu 2026-10-01, National Day: rolled to Thu 2026-10-08
    post(client, "broker", manifest_xml(s, arrival="20260917080000"))
    filed = post(client, "broker", declaration_xml("summary", s, "E26110000000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    due = declaration(client, filed["declaration_id"])["deadlines"]
    assert due["complete_declaration_due"] == "2026-10-08T23:59:59+08:00", due
    assert "rolled" in due["rule"]
    clock.set(datetime(2026, 10, 6, 12, 0, tzinfo=SHANGHAI))  # < 3 days before (a holiday: gates never stop)
    swept = client.post("/api/v1/clearance/sweep", headers={"X-API-Key": KEYS["admin"]}).json()
    assert {k: swept[k] for k in ("reminded", "late")} == {"reminded": 1, "late": 0}
    wait_for(lambda: env["broker"].of("CompleteDeclarationReminder"), "reminder")
    clock.set(datetime(2026, 10, 9, 0, 0, 1, tzinfo=SHANGHAI))
    swept = client.post("/api/v1/clearance/sweep", headers={"X-API-Key": KEYS["admin"]}).json()
    assert {k: swept[k] for k in ("reminded", "late")} == {"reminded": 0, "late": 1}
    view = declaration(client, filed["declaration_id"])
    assert view["deadlines"]["late"] is True
    wait_for(lambda: env["broker"].of("CompleteDeclarationOverdue"), "overdue notice")
    view_id = filed["declaration_id"]
    register(env, declaration(client, view_id), "000000000000000005", "422720261000000005", s.bill_no)
    wait_for(state_is(client, view_id, "registered"), "registered")
    late = post(
        client,
        "broker",
        declaration_xml("complete", s, "E26110000000000002", summary_entry_id="422720261000000005"),
    )
    wait_for(state_is(client, late["declaration_id"], "submitted"), "complete submitted")
    assert declaration(client, late["declaration_id"])["deadlines"]["late"] is True


def test_duplicates_out_of_order_and_rejections(env: dict[str, Any]) -> None:
    client, customs = env["client"], env["customs"]
    s = Shipment.make(6, containers=1)
    box = s.containers[0]
    # tally and arrival before the manifest: parked, not lost, applied once the manifest arrives
    tally = tally_xml(s.bill_no, box)
    post(client, "yard", tally)
    post(client, "yard", arrival_xml(s.bill_no, box))
    wait_for(lambda: len(get(client, "admin", "/api/v1/clearance/parked")) == 2, "parked")
    assert post(client, "yard", tally, expect=200)["duplicate"] is True  # duplicate of a parked message
    manifest = manifest_xml(s)
    first = post(client, "broker", manifest)
    again = post(client, "broker", manifest, expect=200)  # same MessageID, same bytes: duplicate
    assert again["duplicate"] is True and again["receipt_id"] == first["receipt_id"]
    dup_tally = post(client, "yard", tally, expect=200)
    assert dup_tally["duplicate"] is True
    wait_for(lambda: get(client, "admin", "/api/v1/clearance/parked") == [], "unparked")
    timeline = get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")
    assert timeline["containers"][0]["arrived_at"] and timeline["containers"][0]["tallied_at"]
    wait_for(lambda: len(customs.of("MT1101")) == 1, "manifest forwarded once")
    assert len(customs.of("MT5101")) == 1
    # same reference, different content: a conflict, not a silent overwrite
    changed = manifest.replace(b"LAPTOP COMPUTERS", b"LAPTOP COMPUTERX")
    conflict = client.post("/api/v1/messages", content=changed, headers={"X-API-Key": KEYS["broker"]})
    assert conflict.status_code == 409
    # every problem at once, and the rejected message is archived with them
    bad = (
        declaration_xml("summary", s, "F26110000000000001")
        .replace(b"<BillNo>", b"<BillNo>  ")
        .replace(b"<IEFlag>I</IEFlag>", b"<IEFlag>Q</IEFlag>")
        .replace(b"<GrossWet>", b"<GrossWet>x")
    )
    rejected = client.post("/api/v1/messages", content=bad, headers={"X-API-Key": KEYS["broker"]})
    assert rejected.status_code == 400 and len(rejected.json()["error"]["details"]) >= 2, rejected.text
    archived = get(client, "broker", "/api/v1/messages?message_type=")
    assert any(m["status"] == "rejected" and m["error"] for m in archived)
    # wrong sender role, unknown type, complete without summary
    assert (
        client.post("/api/v1/messages", content=tally, headers={"X-API-Key": KEYS["broker"]}).status_code
        == 403
    )
    assert (
        client.post("/api/v1/messages", content=b"hello", headers={"X-API-Key": KEYS["broker"]}).status_code
        == 415
    )
    orphan = client.post(
        "/api/v1/messages",
        content=declaration_xml("complete", Shipment.make(7), "G1"),
        headers={"X-API-Key": KEYS["broker"]},
    )
    assert orphan.status_code == 422 and "no open summary" in orphan.text


def test_inspection_anomaly_holds_the_goods(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(8, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "H26110000000000001", dangerous=True))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    instruction = wait_for(lambda: env["customs"].of("InspectionNotice"), "instruction to customs")[0]
    register(
        env,
        declaration(client, filed["declaration_id"]),
        "000000000000000008",
        "422720261000000008",
        s.bill_no,
    )
    wait_for(state_is(client, filed["declaration_id"], "registered"), "registered")
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    post(client, "customs", inspection_result(instruction, InspectionOutcome.ANOMALY))
    wait_for(state_is(client, filed["declaration_id"], "held"), "held on the anomaly")
    view = declaration(client, filed["declaration_id"])
    assert view["inspection"]["result"] == "ANOMALY" and any("anomaly" in r for r in view["reasons"])
    results = wait_for(
        lambda: [b for b in env["yard"].of("InspectionNotice") if b"ANOMALY" in b], "result to yard"
    )
    assert results and not env["yard"].of("ReleaseNotice")
