"""Gap 5: arrivals after a distribution application (分拨, MT6102) count from its destination site, an
arrival from an unrelated site does not (parked, visibly, until an MT6102 names that site); and a
machine scan (先期机检) that finds an anomaly escalates to a port inspection that must pass before the
release. SQLite and PostgreSQL, in-process bus, the tests playing customs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from messages.models.notices import InspectionOutcome
from messages.xml import decode, encode
from simulators.customs.traffic import (
    Shipment,
    arrival_xml,
    declaration,
    distribution_xml,
    manifest_xml,
)
from tests.hub_clearance.clrfixtures import inspection_result, wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import declaration as view_of
from tests.hub_clearance.test_clear_flow_api import get, post, register, state_is

DESTINATION = "CNTAO/4258"  # a supervised site (保税港区冷链监管仓) where the MT6102 sends the goods
ELSEWHERE = "CNTAO/4299"  # a supervised site no distribution application names


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def boxes(client: TestClient, bill: str) -> dict[str, dict[str, Any]]:
    containers = get(client, "admin", f"/api/v1/consignments/{bill}/timeline")["containers"]
    return {c["container_no"]: c for c in containers}


def registered(env: dict[str, Any], s: Shipment, client_seq_no: str, n: int, **kw: Any) -> str:
    client = env["client"]
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", encode(declaration("summary", s, client_seq_no, **kw)))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    view = view_of(client, filed["declaration_id"])
    assert view["screening"]["outcome"] == "release_on_arrival"  # (not randomly sampled)
    register(env, view, f"{n:018d}", f"42272026{n:010d}", s.bill_no)
    wait_for(state_is(client, filed["declaration_id"], "registered"), "registered")
    return filed["declaration_id"]  # type: ignore[no-any-return]


def test_arrival_counts_from_the_distribution_destination_not_from_an_unrelated_site(
    env: dict[str, Any],
) -> None:
    client = env["client"]
    s = Shipment.make(91, containers=2)
    decl_id = registered(env, s, "A26119100000000001", 91)
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))  # gate-in at the terminal
    wait_for(lambda: boxes(client, s.bill_no)[s.containers[0]]["arrived_at"], "arrival at the terminal")
    stray = post(client, "elsewhere", arrival_xml(s.bill_no, s.containers[1], site=ELSEWHERE))
    parked = wait_for(lambda: get(client, "admin", "/api/v1/clearance/parked"), "unrelated arrival parked")
    assert [(p["message_id"], p["waiting_for"]) for p in parked] == [
        (stray["receipt_id"], f"dist:{s.bill_no}")
    ]
    assert ELSEWHERE in parked[0]["reason"] and "does not count" in parked[0]["reason"]
    assert boxes(client, s.bill_no)[s.containers[1]]["arrived_at"] is None
    assert view_of(client, decl_id)["state"] == "registered"

    post(client, "broker", distribution_xml(s, DESTINATION))  # 分拨申请 to the cold-chain site
    wait_for(
        lambda: (
            get(client, "admin", f"/api/v1/consignments/{s.bill_no}/timeline")["consignment"][
                "destination_site"
            ]
            == DESTINATION
        ),
        "distribution recorded",
    )
    wait_for(lambda: env["customs"].of("MT6102"), "MT6102 forwarded to customs")
    # the MT6102 names another site: the stray arrival still does not count
    still = get(client, "admin", "/api/v1/clearance/parked")
    assert [p["message_id"] for p in still] == [stray["receipt_id"]]
    assert boxes(client, s.bill_no)[s.containers[1]]["arrived_at"] is None
    assert view_of(client, decl_id)["state"] == "registered"

    post(client, "depot", arrival_xml(s.bill_no, s.containers[1], site=DESTINATION))
    wait_for(state_is(client, decl_id, "released"), "released once the box arrived at the destination")
    assert boxes(client, s.bill_no)[s.containers[1]]["arrival_site"] == DESTINATION
    assert [p["message_id"] for p in get(client, "admin", "/api/v1/clearance/parked")] == [
        stray["receipt_id"]
    ]


def test_a_destination_arrival_before_the_mt6102_counts_once_it_comes(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(92, containers=1)
    decl_id = registered(env, s, "B26119200000000001", 92)
    post(client, "depot", arrival_xml(s.bill_no, s.containers[0], site=DESTINATION))
    wait_for(lambda: get(client, "admin", "/api/v1/clearance/parked"), "parked until the MT6102")
    assert view_of(client, decl_id)["state"] == "registered"
    post(client, "broker", distribution_xml(s, DESTINATION))
    wait_for(state_is(client, decl_id, "released"), "released after the MT6102")
    assert boxes(client, s.bill_no)[s.containers[0]]["arrival_site"] == DESTINATION
    assert get(client, "admin", "/api/v1/clearance/parked") == []
    (done,) = get(client, "admin", "/api/v1/clearance/parked?include_resolved=true")
    assert done["resolution"] == "applied"


def tobacco(s: Shipment, client_seq_no: str) -> bytes:
    decl = declaration("summary", s, client_seq_no)
    for item in decl.items:
        item.code_ts, item.g_name = "240220", "卷烟"  # S1-SCAN-001: machine scan first
    return encode(decl)


def test_machine_scan_anomaly_escalates_to_a_port_inspection_before_release(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(93, containers=2)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", tobacco(s, "A26119300000000001"))
    decl_id = filed["declaration_id"]
    wait_for(state_is(client, decl_id, "submitted"), "submitted")
    assert view_of(client, decl_id)["screening"]["outcome"] == "machine_scan_first"
    scan = wait_for(lambda: env["customs"].of("InspectionNotice"), "scan instruction to customs")[0]
    assert decode(scan).instruction.value == "MACHINE"
    register(env, view_of(client, decl_id), "000000000000009301", "422720261000009301", s.bill_no)
    for box in s.containers:
        post(client, "yard", arrival_xml(s.bill_no, box))
    wait_for(lambda: all(c["arrived_at"] for c in boxes(client, s.bill_no).values()), "arrived")
    assert view_of(client, decl_id)["state"] == "registered"  # the scan result is pending

    post(client, "customs", inspection_result(scan, InspectionOutcome.ANOMALY))
    view = wait_for(
        lambda: (v := view_of(client, decl_id))["screening"]["outcome"] == "port_inspection" and v,
        "escalated",
    )
    assert view["screening"]["follow_up"]["kind"] == "escalate"
    assert view["inspection"]["instruction"] == "MANUAL" and view["inspection"]["result"] == "PENDING"
    manual = wait_for(
        lambda: [b for b in env["customs"].of("InspectionNotice") if b"<Instruction>MANUAL" in b],
        "port inspection ordered from customs",
    )[0]
    wait_for(lambda: [b for b in env["yard"].of("InspectionNotice") if b"MANUAL" in b], "to the yard")
    wait_for(lambda: [b for b in env["broker"].of("InspectionNotice") if b"MANUAL" in b], "to the broker")
    assert view_of(client, decl_id)["state"] == "registered" and not env["yard"].of("ReleaseNotice")

    post(client, "customs", inspection_result(manual, InspectionOutcome.PASSED))
    wait_for(state_is(client, decl_id, "released"), "released after the port inspection")
    wait_for(lambda: env["yard"].of("ReleaseNotice"), "release to the terminal")


def test_a_clear_machine_scan_releases_directly(env: dict[str, Any]) -> None:
    """Control for the escalation: the same declaration with a clear scan is released at once."""
    client = env["client"]
    s = Shipment.make(94, containers=1)
    post(client, "broker", manifest_xml(s))
    decl_id = post(client, "broker", tobacco(s, "A26119400000000001"))["declaration_id"]
    wait_for(state_is(client, decl_id, "submitted"), "submitted")
    scan = wait_for(lambda: env["customs"].of("InspectionNotice"), "scan instruction")[0]
    register(env, view_of(client, decl_id), "000000000000009401", "422720261000009401", s.bill_no)
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    post(client, "customs", inspection_result(scan, InspectionOutcome.PASSED))
    wait_for(state_is(client, decl_id, "released"), "released after a clear scan")
    assert view_of(client, decl_id)["screening"]["outcome"] == "machine_scan_first"
    assert not [b for b in env["customs"].of("InspectionNotice") if b"MANUAL" in b]
