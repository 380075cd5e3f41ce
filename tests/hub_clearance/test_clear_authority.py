"""Issue 12 item 1: the first manifest's sender owns the bill; another party's manifest for it is refused
(409, archived as rejected, nothing changed, nothing forwarded). SQLite and PostgreSQL, in-process bus."""

from __future__ import annotations

from typing import Any

from simulators.customs.traffic import Shipment, manifest_xml
from tests.hub_clearance.clrfixtures import KEYS, wait_for
from tests.hub_clearance.test_clear_flow_api import env, get, post  # noqa: F401


def test_manifest_for_another_partys_bill_is_refused(env: dict[str, Any]) -> None:  # noqa: F811
    client, customs = env["client"], env["customs"]
    s = Shipment.make(7, containers=2)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: len(customs.of("MT1101")) == 1, "owner's manifest forwarded")
    before = get(client, "broker", f"/api/v1/consignments/{s.bill_no}/timeline")["consignment"]

    hijack = manifest_xml(s).replace(b"<MessageID>", b"<MessageID>X")
    refused = client.post("/api/v1/messages", content=hijack, headers={"X-API-Key": KEYS["other_broker"]})
    assert refused.status_code == 409, refused.text
    assert s.bill_no in refused.text
    archived = get(client, "other_broker", "/api/v1/messages?message_type=")
    assert any(m["status"] == "rejected" and m["error"] for m in archived)
    # nothing changed for the owner, nothing forwarded
    after = get(client, "broker", f"/api/v1/consignments/{s.bill_no}/timeline")["consignment"]
    assert after == before
    assert len(customs.of("MT1101")) == 1
