"""Gap 3: a customs answer (DEC_DATA, DecImportResponse) matching no known declaration is parked, visible
in GET /api/v1/clearance/parked with its reason, applied when the declaration appears, or expired
with the reason after HUB_CLEARANCE_PARKED_ANSWER_EXPIRY_HOURS. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from simulators.customs.traffic import Shipment, declaration_xml, manifest_xml
from tests.hub_clearance.clrfixtures import import_response, wait_for
from tests.hub_clearance.clrgaps import START, dec_data, hub_env, sweep
from tests.hub_clearance.test_clear_flow_api import declaration, get, post, state_is


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch, parked_answer_expiry_hours="2") as environment:
        yield environment


def parked(client: Any, resolved: bool = False) -> list[dict[str, Any]]:
    query = "?include_resolved=true" if resolved else ""
    return get(client, "customs", f"/api/v1/clearance/parked{query}")  # type: ignore[no-any-return]


def test_dec_data_before_its_declaration_is_known_is_parked_then_applied(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(71, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "A26117100000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    # the registration receipt overtakes the import response that carries the SeqNo
    early = post(client, "customs", dec_data("000000000000007101", "422720261000007101", s.bill_no, "SpL", 1))
    waiting = wait_for(lambda: parked(client), "DEC_DATA parked")
    assert [(p["message_type"], p["message_id"]) for p in waiting] == [("DEC_DATA", early["receipt_id"])]
    assert waiting[0]["waiting_for"] == "seq:000000000000007101"
    assert "matches no declaration" in waiting[0]["reason"] and "expired" in waiting[0]["reason"]
    assert get(client, "broker", "/api/v1/clearance/parked") == []  # the broker did not send it
    assert declaration(client, filed["declaration_id"])["state"] == "submitted"

    post(client, "customs", import_response("A26117100000000001", "000000000000007101"))
    wait_for(state_is(client, filed["declaration_id"], "registered"), "the parked DEC_DATA applied")
    assert declaration(client, filed["declaration_id"])["entry_id"] == "422720261000007101"
    assert parked(client) == []
    (done,) = parked(client, resolved=True)
    assert done["resolution"] == "applied" and done["resolved_at"]
    message = get(client, "admin", f"/api/v1/messages/{early['receipt_id']}")
    assert message["status"] == "processed"


def test_import_response_for_an_unknown_client_seq_no_applies_when_it_is_filed(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(72, containers=1)
    post(client, "broker", manifest_xml(s))
    post(client, "customs", import_response("A26117200000000001", "000000000000007201"))
    waiting = wait_for(lambda: parked(client), "DecImportResponse parked")
    assert waiting[0]["message_type"] == "DecImportResponse"
    assert waiting[0]["waiting_for"] == "client:A26117200000000001"
    filed = post(client, "broker", declaration_xml("summary", s, "A26117200000000001"))
    wait_for(
        lambda: declaration(client, filed["declaration_id"])["seq_no"] == "000000000000007201", "applied"
    )
    assert parked(client) == []


def test_an_answer_whose_declaration_never_appears_expires_with_the_reason(env: dict[str, Any]) -> None:
    client, clock = env["client"], env["clock"]
    stray = post(client, "customs", dec_data("000000000000007301", "422720261000007301", "SWHB7300", "R", 1))
    wait_for(lambda: parked(client), "parked")
    clock.set(START + timedelta(hours=1, minutes=59))
    assert sweep(client)["expired"] == 0
    clock.set(START + timedelta(hours=2, minutes=1))
    assert sweep(client)["expired"] == 1
    assert parked(client) == []
    (gone,) = parked(client, resolved=True)
    assert gone["resolution"] == "expired: no declaration with seq:000000000000007301 appeared within 2 h"
    message = get(client, "admin", f"/api/v1/messages/{stray['receipt_id']}")
    assert message["status"] == "expired" and "appeared within 2 h" in message["error"]
    assert sweep(client)["expired"] == 0  # once
