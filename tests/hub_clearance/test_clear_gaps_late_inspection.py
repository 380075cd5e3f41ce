"""Customs registers a summary declaration (DEC_DATA SpL) and selects it for inspection (SpC) in two
receipts. When every container has already arrived the hub releases on the first; the inspection
order that follows must still reach the broker and the yard, and its result decides again: PASSED
releases the boxes once more, ANOMALY holds them. Before, the late SpC was ignored and customs'
result matched no inspection. Here the test plays customs (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messages.models.notices import InspectionOutcome
from messages.xml import decode
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import import_response, inspection_result, wait_for
from tests.hub_clearance.clrgaps import audit_actions, dec_data, hub_env
from tests.hub_clearance.test_clear_flow_api import declaration as view_of
from tests.hub_clearance.test_clear_flow_api import post, state_is


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def released_on_registration(env: dict[str, Any], n: int) -> tuple[Shipment, str, str, str]:
    """Manifest, summary, every box arrived and tallied, then SpL: released. (shipment, id, seq, entry)"""
    client = env["client"]
    s = Shipment.make(n, containers=2)
    post(client, "broker", manifest_xml(s))
    client_seq_no = f"A2611{n:02d}00000000001"
    filed = post(client, "broker", declaration_xml("summary", s, client_seq_no))
    decl_id = filed["declaration_id"]
    wait_for(state_is(client, decl_id, "submitted"), "summary submitted")
    assert view_of(client, decl_id)["screening"]["outcome"] == "release_on_arrival"
    seq, entry = f"{n:018d}", f"42272026{n:010d}"
    post(client, "customs", import_response(client_seq_no, seq))
    wait_for(lambda: view_of(client, decl_id)["seq_no"] == seq, "summary seq no")
    for box in s.containers:
        post(client, "yard", arrival_xml(s.bill_no, box))
        post(client, "yard", tally_xml(s.bill_no, box))
    post(client, "customs", dec_data(seq, entry, s.bill_no, "SpL", 1))
    wait_for(state_is(client, decl_id, "released"), "released on the registration")
    wait_for(lambda: env["yard"].of("ReleaseNotice"), "first release at the yard")
    return s, decl_id, seq, entry


@pytest.mark.parametrize("outcome", [InspectionOutcome.PASSED, InspectionOutcome.ANOMALY])
def test_an_inspection_ordered_after_the_release_still_reaches_both_and_decides(
    env: dict[str, Any], outcome: InspectionOutcome
) -> None:
    client = env["client"]
    n = 61 if outcome == InspectionOutcome.PASSED else 62
    s, decl_id, seq, entry = released_on_registration(env, n)

    post(client, "customs", dec_data(seq, entry, s.bill_no, "SpC", 2))
    wait_for(state_is(client, decl_id, "inspection"), "inspection after the release")
    to_broker = wait_for(lambda: env["broker"].of("InspectionNotice"), "inspection notice to the broker")
    to_yard = wait_for(lambda: env["yard"].of("InspectionNotice"), "inspection notice to the yard")
    order = decode(to_yard[0])
    assert decode(to_broker[0]).notice_id == order.notice_id
    assert order.outcome == InspectionOutcome.PENDING and sorted(order.container_ids) == sorted(s.containers)
    assert "declaration.inspection" in audit_actions(env["hub"], decl_id)

    post(client, "customs", inspection_result(to_yard[0], outcome))
    if outcome == InspectionOutcome.PASSED:
        wait_for(state_is(client, decl_id, "released"), "released again after the inspection passed")
        wait_for(lambda: len(env["yard"].of("ReleaseNotice")) == 2, "second release at the yard")
        assert len(env["broker"].of("ReleaseNotice")) == 2
    else:
        wait_for(state_is(client, decl_id, "held"), "held after the anomaly")
        assert len(env["yard"].of("ReleaseNotice")) == 1
    assert view_of(client, decl_id)["inspection"]["result"] == outcome.value
