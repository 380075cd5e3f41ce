"""Gap 1: containers listed on the manifest but never discharged (tallied) are reported. The sweep
reconciles a consignment once the discharge grace period (HUB_CLEARANCE_DISCHARGE_GRACE_HOURS) is
over, once per trigger: a discrepancy per missing container, a DiscrepancyNotice to the manifest
sender and a risk signal; nothing twice on later sweeps. SQLite and PostgreSQL, in-process bus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from simulators.customs.traffic import Shipment, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import wait_for
from tests.hub_clearance.clrgaps import START, audit_actions, hub_env, jsons, sweep
from tests.hub_clearance.test_clear_flow_api import declaration, get, post, state_is


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def timeline(client: Any, bill: str) -> Any:
    return get(client, "admin", f"/api/v1/consignments/{bill}/timeline")


def not_discharged(env: dict[str, Any]) -> list[dict[str, Any]]:
    notices = jsons(env["broker"].of("DiscrepancyNotice"))
    return [n for n in notices if n["kind"] == "container_not_discharged"]


def test_listed_container_never_discharged_is_reported_once_after_the_grace_period(
    env: dict[str, Any],
) -> None:
    client, clock = env["client"], env["clock"]
    s = Shipment.make(41, containers=3)
    post(client, "broker", manifest_xml(s))  # arrival 2026-11-20 08:30
    filed = post(client, "broker", declaration_xml("summary", s, "A26114100000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "summary submitted")
    assert declaration(client, filed["declaration_id"])["screening"]["outcome"] == "release_on_arrival"
    clock.set(START + timedelta(hours=1))  # discharge starts: first tally of the voyage at 10:00
    for box in s.containers[:2]:
        post(client, "yard", tally_xml(s.bill_no, box))
    wait_for(
        lambda: sum(1 for c in timeline(client, s.bill_no)["containers"] if c["tallied_at"]) == 2, "tallies"
    )

    clock.set(START + timedelta(hours=24, minutes=59))  # 23 h 59 min after the first tally
    assert sweep(client)["reconciled"] == 0
    assert timeline(client, s.bill_no)["discrepancies"] == []

    clock.set(START + timedelta(hours=25, minutes=1))
    swept = sweep(client)
    assert (swept["reconciled"], swept["not_discharged"]) == (1, 1)
    found = timeline(client, s.bill_no)["discrepancies"]
    assert [d["kind"] for d in found] == ["container_not_discharged"]
    assert found[0]["detail"]["container"] == s.containers[2]
    assert found[0]["detail"]["trigger"] == "discharge_grace"
    assert timeline(client, s.bill_no)["consignment"]["discharge_reconciled_at"]
    notice = wait_for(lambda: not_discharged(env), "notice to the manifest sender")[0]
    assert notice["bill_no"] == s.bill_no and notice["container"] == s.containers[2]
    # the risk signal: re-screened with the tally weight (two boxes of three): inspection before release
    view = wait_for(
        lambda: (
            (v := declaration(client, filed["declaration_id"]))["screening"]["outcome"] == "port_inspection"
            and v
        ),
        "re-screened on the missing container",
    )
    assert any(h["rule_id"] == "S1-WEIGHT-001" for h in view["screening"]["hits"])
    wait_for(lambda: env["yard"].of("InspectionNotice"), "inspection ordered on the signal")

    clock.set(START + timedelta(hours=30))  # the next sweeps: nothing twice
    assert sweep(client)["reconciled"] == 0
    assert sweep(client)["not_discharged"] == 0
    assert len(timeline(client, s.bill_no)["discrepancies"]) == 1
    assert len(not_discharged(env)) == 1

    # the box turns up after all: the other trigger (every listed container tallied) runs once
    post(client, "yard", tally_xml(s.bill_no, s.containers[2]))
    wait_for(
        lambda: timeline(client, s.bill_no)["consignment"]["reconciled_at"], "tally-complete reconciliation"
    )
    post(client, "yard", tally_xml(s.bill_no, s.containers[2]))  # a second tally of the same box
    wait_for(
        lambda: all(
            e["status"] == "processed"
            for e in timeline(client, s.bill_no)["events"]
            if e["direction"] == "in" and e["message_type"] == "MT5101"
        ),
        "tallies applied",
    )
    assert audit_actions(env["hub"], s.bill_no).count("consignment.reconciled") == 2  # once per trigger
    assert [d["kind"] for d in timeline(client, s.bill_no)["discrepancies"]] == ["container_not_discharged"]


def test_no_tally_on_the_voyage_is_no_evidence_of_discharge(env: dict[str, Any]) -> None:
    client, clock = env["client"], env["clock"]
    s = Shipment.make(42, containers=2)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: timeline(client, s.bill_no)["consignment"], "manifest applied")
    clock.set(START + timedelta(days=3))
    assert sweep(client)["reconciled"] == 0  # the vessel may not have berthed: nothing reported
    assert timeline(client, s.bill_no)["discrepancies"] == []


@pytest.fixture
def entry_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(
        db_url, tmp_path, monkeypatch, discharge_grace_hours="6", discharge_grace_start="conveyance_entry"
    ) as environment:
        yield environment


def test_grace_from_the_conveyance_entry_reports_a_bill_with_no_tally_at_all(
    entry_env: dict[str, Any],
) -> None:
    env = entry_env
    client, clock = env["client"], env["clock"]
    s = Shipment.make(43, containers=2)
    post(client, "broker", manifest_xml(s, arrival="20261120083000"))
    wait_for(lambda: timeline(client, s.bill_no)["consignment"], "manifest applied")
    clock.set(START + timedelta(hours=5, minutes=29))  # 14:29: 5 h 59 min after the arrival
    assert sweep(client)["reconciled"] == 0
    clock.set(START + timedelta(hours=5, minutes=31))
    assert sweep(client)["not_discharged"] == 2
    found = timeline(client, s.bill_no)["discrepancies"]
    assert sorted(d["detail"]["container"] for d in found) == sorted(s.containers)
    assert {d["detail"]["grace_hours"] for d in found} == {6.0}
    wait_for(lambda: len(not_discharged(env)) == 2, "a notice per missing container")
    assert sweep(client)["not_discharged"] == 0
