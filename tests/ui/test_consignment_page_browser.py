"""The consignment timeline page (/ui/consignments/{bill}) in a real browser against a live hub: a broker
signs in from #key=, sees the declaration's state, each container's steps, every message with a button
for its raw bytes, and the weight discrepancy highlighted; the page itself holds no data without a key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import html as lhtml

from hub.api.app import create_app
from hub.cli.simstack import ServerThread
from hub.clock import SHANGHAI
from hub.runtime import Hub
from messages.convert import convert
from messages.models.gate import GateOut, GateOutReport
from messages.xml import encode
from simulators.common.runner import free_port
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import KEYS, YARD, settings_for, wait_for
from tests.ui.browser import dump_dom, screenshot


@pytest.fixture
def live(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    hub = Hub(settings_for(db_url, tmp_path))
    server = ServerThread(create_app(hub), free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def post(url: str, who: str, body: bytes) -> dict[str, Any]:
    response = httpx.post(url + "/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def timeline(url: str, bill: str) -> dict[str, Any]:
    got = httpx.get(f"{url}/api/v1/consignments/{bill}/timeline", headers={"X-API-Key": KEYS["admin"]})
    return got.json()  # type: ignore[no-any-return]


def test_consignment_page_in_a_real_browser(live: str) -> None:
    s = Shipment.make(7, containers=2)
    post(live, "broker", manifest_xml(s))
    filed = post(live, "broker", declaration_xml("summary", s, "U26110000000000001"))
    for box in s.containers:
        post(live, "yard", arrival_xml(s.bill_no, box))
    post(live, "yard", tally_xml(s.bill_no, s.containers[0]))
    post(live, "yard", tally_xml(s.bill_no, s.containers[1], packages=600, gross_kg=Decimal("9000")))
    data = wait_for(
        lambda: (
            (t := timeline(live, s.bill_no))["discrepancies"]
            and all(c["tallied_at"] for c in t["containers"])
            and t
        ),
        "tallies and the weight discrepancy applied",
    )

    page = f"{live}/ui/consignments/{s.bill_no}#key={KEYS['broker']}"
    dom = lhtml.fromstring(dump_dom(page))
    visible = dom.get("data-visible", "").split()
    assert "login" not in visible and "view" in visible, (
        visible,
        dom.get_element_by_id("error").text_content(),
    )
    cards = dom.xpath('//div[contains(@class, "declaration")]')
    assert [c.get("data-state") for c in cards] and filed["declaration_id"] in cards[0].text_content()
    rows = {r.get("data-container"): r for r in dom.xpath('//table[@id="containers"]/tbody/tr')}
    assert set(rows) == set(s.containers)
    for box in s.containers:  # arrived and tallied, with the time, in the right columns
        cells = rows[box].xpath("td")
        assert "✓" in cells[1].text_content() and "✓" in cells[2].text_content(), box
        assert "✓" not in cells[4].text_content()  # not released yet
    # the weight check is on the bill's totals: flagged above everything, not on one box
    named = [b for b in s.containers if b in str(data["discrepancies"])]
    assert [b for b in s.containers if "discrepant" in rows[b].get("class", "")] == named
    alerts = dom.xpath('//div[contains(@class, "discrepancy")]')
    assert alerts and "weight" in alerts[0].text_content()
    events = dom.xpath('//table[@id="events"]/tbody/tr[contains(@class, "event")]')
    broker_sees = {
        e["message_id"] for e in data["events"] if KEYS and e["message_type"] in ("MT1101", "DecMessage")
    }
    shown = {e.get("data-message-id") for e in events}
    assert broker_sees <= shown and len(events) >= 2
    raw = [b.get("data-raw") for b in dom.xpath("//button[@data-raw]")]
    assert len(raw) == len(events) and all(
        r.startswith("/api/v1/messages/") and r.endswith("/raw") for r in raw
    )
    assert dom.get_element_by_id("error").text_content().strip() == ""
    screenshot(page, "consignment-timeline.png")

    # the terminal's operator files no declaration, yet sees the bill's declaration states
    yard_dom = lhtml.fromstring(dump_dom(f"{live}/ui/consignments/{s.bill_no}#key={KEYS['yard']}"))
    yard_cards = yard_dom.xpath('//div[contains(@class, "declaration")]')
    assert [c.get("data-state") for c in yard_cards] == [c.get("data-state") for c in cards]
    assert filed["declaration_id"] in yard_cards[0].text_content()

    # one click shows the raw message (fetched with the key); #raw= is that click as a link
    manifest = next(e for e in data["events"] if e["message_type"] == "MT1101" and e["direction"] == "in")
    dom = lhtml.fromstring(dump_dom(f"{page}&raw={manifest['message_id']}"))
    shown_raw = dom.xpath('//tr[contains(@class, "raw-row")]//pre[@class="raw"]')
    assert len(shown_raw) == 1 and shown_raw[0].text_content().startswith("<?xml"), shown_raw
    assert s.bill_no in shown_raw[0].text_content()


def test_the_page_without_a_key_shows_only_the_sign_in(live: str) -> None:
    bill = 'COSU<b>"x'
    shell = httpx.get(f"{live}/ui/consignments/{bill}")
    assert shell.status_code == 200 and "<b>" not in shell.text  # the bill cannot break out
    dom = lhtml.fromstring(dump_dom(f"{live}/ui/consignments/NOSUCHBILL"))
    assert dom.get("data-visible", "").split() == ["login"]
    assert not dom.xpath('//table[@id="containers"]/tbody/tr')


def test_a_box_gated_out_before_its_release_is_flagged_on_the_page(live: str) -> None:
    """Issue 14 item 10: the Gated out column reads the terminal's gate-out report (CODECO 36); a box
    that left unreleased is marked in that column and its row is flagged as a discrepancy."""
    s = Shipment.make(8, containers=2)
    post(live, "broker", manifest_xml(s))
    for box in s.containers:
        post(live, "yard", arrival_xml(s.bill_no, box))
    wait_for(lambda: all(c["arrived_at"] for c in timeline(live, s.bill_no)["containers"]), "arrived")
    left = s.containers[0]
    moment = datetime(2026, 11, 22, 4, 10, tzinfo=SHANGHAI)
    report = GateOutReport("GO8A", YARD, "COSU", [GateOut(left, s.bill_no, moment, "CNTAO/4227")])
    post(live, "yard", convert(encode(report), to="edifact")[0].content)
    wait_for(lambda: timeline(live, s.bill_no)["discrepancies"], "gate-out before release recorded")

    dom = lhtml.fromstring(dump_dom(f"{live}/ui/consignments/{s.bill_no}#key={KEYS['yard']}"))
    rows = {r.get("data-container"): r for r in dom.xpath('//table[@id="containers"]/tbody/tr')}
    gated = rows[left].xpath("td")[5]
    assert "✓" in gated.text_content() and "NOT RELEASED" in gated.text_content()
    assert "bad" in gated.get("class", "") and "discrepant" in rows[left].get("class", "")
    other = rows[s.containers[1]].xpath("td")[5]
    assert "✓" not in other.text_content() and "discrepant" not in rows[s.containers[1]].get("class", "")
    alerts = dom.xpath('//div[contains(@class, "discrepancy")]')
    assert alerts and "gated_out_unreleased" in alerts[0].text_content()
