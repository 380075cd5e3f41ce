"""The refund board (/ui/refunds) in a real browser against a live hub: signed in from #key=, the
sign-in form is really hidden (the CSS used to override `hidden`), filters, cases, stage warnings,
"No data yet" instead of an empty chart frame, and a table that scrolls on a narrow screen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import html as lhtml

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.cli.simstack import ServerThread
from hub.clock import SHANGHAI, ManualClock, set_clock
from hub.runtime import Hub
from simulators.common.runner import free_port
from tests.hub_refunds.refundfixtures import KEYS, app_no, auth, filing_xml, settings_for
from tests.ui.browser import dump_dom, screenshot

START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    previous = set_clock(ManualClock(START))
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    server = ServerThread(create_app(hub), free_port())
    server.start()
    try:
        yield {"url": server.url, "hub": hub}
    finally:
        server.stop()
        set_clock(previous)


def tax_event(url: str, number: str, event_type: str, stage: str, at: datetime) -> None:
    body = {
        "type": "tax.stage_event",
        "seq": 1,
        "eventId": str(uuid.uuid4()),
        "applicationNo": number,
        "taxCaseNo": "TX20250303000001",
        "eventType": event_type,
        "stage": stage,
        "occurredAt": at.isoformat(),
        "reasons": [],
        "refundAmountCny": None,
        "paymentOrderNo": None,
    }
    response = httpx.post(
        url + "/api/v1/refunds/events/tax", json=body, headers={"X-API-Key": "refund-tax-sim-key"}
    )
    assert response.status_code == 200, response.text


def seed(url: str) -> list[str]:
    numbers = [app_no() for _ in range(2)]
    for number, who in zip(numbers, ("exporter", "other_exporter"), strict=True):
        r = httpx.post(url + "/api/v1/refunds", content=filing_xml(number), headers=auth(who))
        assert r.status_code == 202, r.text
    tax_event(url, numbers[0], "ACCEPTED", "ACCEPTANCE", START)
    return numbers


def test_refund_board_in_a_real_browser(live: dict[str, Any]) -> None:
    url = live["url"]
    numbers = seed(url)
    set_clock(ManualClock(START + timedelta(days=7)))  # a week on: the review stage's own clock warns
    board = httpx.get(url + "/api/v1/refunds/board", headers={"X-API-Key": KEYS["officer"]}).json()
    warned = [c for c in board["cases"] if c["stage_light"] in ("amber", "red")]
    assert warned, board["cases"]  # the data carries a stage warning for the page to show
    # deadlines in Shanghai time on every database (PostgreSQL gave the filed case's in UTC: 15:59)
    assert all(c["deadline"].endswith("T23:59:59+08:00") for c in board["cases"]), board["cases"]

    page = f"{url}/ui/refunds#key={KEYS['officer']}"
    dom = lhtml.fromstring(dump_dom(page))
    visible = dom.get("data-visible", "").split()
    assert "login" not in visible and "filters" in visible, visible  # computed by the browser's layout
    assert dom.get_element_by_id("login").get("hidden") is not None
    rows = dom.xpath('//table[@id="cases"]/tbody/tr')
    assert {n for n in numbers} <= {r.xpath("string(td[8])") for r in rows}
    assert dom.xpath('//div[@class="table-wrap"]/table[@id="cases"]')
    shown = [r.xpath("string(td[3])") for r in rows]  # the Deadline column
    assert {d[-5:] for d in shown} == {"23:59"}, shown
    warnings = dom.xpath('//span[contains(@class, "warn")]')
    assert len(warnings) == len(warned) and all("stage" in w.text_content() for w in warnings)
    assert any("working days" in w.text_content() for w in warnings)
    empty = dom.xpath('//*[@id="chart-empty"]')  # no case completed yet: said in words, no empty frame
    assert len(empty) == 1 and "No data yet" in empty[0].text_content() and not dom.xpath("//*[@id='chart']")
    assert dom.get_element_by_id("error").text_content().strip() == ""

    screenshot(page, "refund-board.png")
    narrow = screenshot(page, "refund-board-narrow.png", size="420,900")
    assert narrow.stat().st_size > 1000


def test_without_a_key_only_the_sign_in_shows(live: dict[str, Any]) -> None:
    dom = lhtml.fromstring(dump_dom(live["url"] + "/ui/refunds"))
    visible = dom.get("data-visible", "").split()
    assert "login" in visible and "filters" not in visible, visible
    assert not dom.xpath('//table[@id="cases"]')
