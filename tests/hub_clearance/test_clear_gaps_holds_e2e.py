"""Gap 2 end to end: the customs simulator (separate process) honours the hub's stage-2 hold
instructions: it answers the lab test (InspectionNotice PASSED) or the documents request (DEC_DATA G)
after the steered delay and only then clears (DEC_DATA R); with the `F` prefix the lab test fails and
the declaration stays held, never cleared. On the in-process bus + SQLite (customs over HTTP) and on
RabbitMQ + PostgreSQL (customs over HTTP, and customs consuming and answering over AMQP)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from messages.xml import encode
from simulators.customs.traffic import Shipment, declaration, declaration_xml, manifest_xml
from tests.hub_clearance.clrfixtures import wait_for
from tests.hub_clearance.test_clear_e2e import get, post, state_is, system  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
WINE = "2204210000"


def complete(s: Shipment, client_seq_no: str, entry: str, *, wine: bool = False, **kw: Any) -> bytes:
    decl = declaration("complete", s, client_seq_no, summary_entry_id=entry, **kw)
    if wine:
        for item in decl.items:
            item.code_ts, item.g_name = WINE, "红葡萄酒"
    return encode(decl)


def simulated(running: dict[str, Any], client_seq_no: str) -> dict[str, Any] | None:
    snapshot = httpx.get(f"{running['customs'].base_url}/declarations", timeout=10).json()
    return next((d for d in snapshot["declarations"] if d["client_seq_no"] == client_seq_no), None)


@pytest.mark.parametrize("system", ["memory", "rabbitmq", "rabbitmq-amqp-customs"], indirect=True)
def test_customs_simulator_clears_only_after_the_stage2_hold_result(system: dict[str, Any]) -> None:  # noqa: F811
    url = system["url"]
    lab, failing, docs = Shipment.make(61, 1), Shipment.make(62, 1), Shipment.make(63, 1)
    post(url, "broker", manifest_xml(lab, failing, docs))
    summaries = {
        s.bill_no: post(url, "broker", declaration_xml("summary", s, f"A2611{n}00000000001"))[
            "declaration_id"
        ]
        for n, s in ((61, lab), (62, failing), (63, docs))
    }
    for summary in summaries.values():
        wait_for(state_is(url, summary, "registered"), "summary registered by customs", 30)
    entry = {bill: get(url, f"/api/v1/declarations/{d}")["entry_id"] for bill, d in summaries.items()}

    lab_id = post(url, "broker", complete(lab, "D1A116100000000002", entry[lab.bill_no], wine=True))[
        "declaration_id"
    ]
    failing_id = post(
        url, "broker", complete(failing, "F26116200000000002", entry[failing.bill_no], wine=True)
    )["declaration_id"]
    heavier = docs.gross_kg * Decimal("1.1")
    docs_id = post(
        url, "broker", complete(docs, "A26116300000000002", entry[docs.bill_no], gross_kg=heavier)
    )["declaration_id"]

    for decl_id, hold in ((lab_id, "lab_test_hold"), (docs_id, "documents_required")):
        wait_for(state_is(url, decl_id, "cleared"), f"{hold}: cleared after the result", 45)
        view = get(url, f"/api/v1/declarations/{decl_id}")
        assert view["hold"]["kind"] == hold and view["hold"]["open"] is False
        assert any(r.startswith("stage-2 hold lifted") for r in view["reasons"])
        # customs never sent 已结关 before the result: no clearance had to be withheld
        assert not any("while the stage-2 hold" in r for r in view["reasons"]), view["reasons"]
    assert get(url, f"/api/v1/declarations/{summaries[lab.bill_no]}")["state"] == "cleared"
    history = simulated(system, "D1A116100000000002")["history"]  # type: ignore[index]
    assert history.index("inspection SAMPLING -> PASSED") < history.index("R")
    assert simulated(system, "A26116300000000002")["history"][-2:] == ["G", "R"]  # type: ignore[index]

    wait_for(state_is(url, failing_id, "held"), "failed lab test: held", 30)
    view = get(url, f"/api/v1/declarations/{failing_id}")
    assert view["hold"]["result"] == "ANOMALY" and view["cleared_at"] is None
    sim = wait_for(lambda: simulated(system, "F26116200000000002"), "simulator state")
    assert sim["status"] == "held" and "R" not in sim["history"]
    assert get(url, f"/api/v1/declarations/{summaries[failing.bill_no]}")["state"] != "cleared"
