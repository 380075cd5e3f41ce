"""GET /api/v1/refunds/{no}: one case with its SLA clock, open and after the clock stopped; exporters see
only their own cases, officers all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.clock import ManualClock, set_clock
from hub.runtime import Hub
from tests.hub_refunds.refundfixtures import app_no, auth, filing_xml, settings_for
from tests.hub_refunds.test_refund_flow_api import START, tax_event


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, ManualClock]]:
    clock = ManualClock(START)
    previous = set_clock(clock)
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client, clock
    set_clock(previous)


def test_case_view_shows_the_clock_and_on_time_once_stopped(client: tuple[TestClient, ManualClock]) -> None:
    http, clock = client
    number = app_no()
    http.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    tax_event(http, number, "ACCEPTED", START)
    clock.set(START + timedelta(days=1))
    open_case = http.get(f"/api/v1/refunds/{number}", headers=auth("exporter")).json()
    assert open_case["status"] == "accepted" and open_case["clock"] == "running"
    assert open_case["on_time"] is None and open_case["used_working_days"] == 1
    assert open_case["deadline"].startswith("2025-03-17")  # class 2: 10 working days after Mon 03-03
    tax_event(http, number, "REVIEWED", START + timedelta(days=2))
    tax_event(http, number, "APPROVED", START + timedelta(days=3))
    done = http.get(f"/api/v1/refunds/{number}", headers=auth("officer")).json()
    assert done["clock"] == "stopped" and done["on_time"] is True and done["used_working_days"] == 3


def test_late_case_is_not_on_time(client: tuple[TestClient, ManualClock]) -> None:
    http, clock = client
    number = app_no()
    http.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    tax_event(http, number, "ACCEPTED", START)
    tax_event(http, number, "REVIEWED", START + timedelta(days=10))
    tax_event(http, number, "APPROVED", START + timedelta(days=20))  # 15 working days > 10
    clock.set(START + timedelta(days=21))
    done = http.get(f"/api/v1/refunds/{number}", headers=auth("exporter")).json()
    assert done["on_time"] is False and done["light"] == "red"


def test_exporters_see_only_their_own_case(client: tuple[TestClient, ManualClock]) -> None:
    http, _ = client
    number = app_no()
    http.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    assert http.get(f"/api/v1/refunds/{number}", headers=auth("other_exporter")).status_code == 404
    assert http.get(f"/api/v1/refunds/{number}", headers=auth("broker")).status_code == 403
    assert http.get(f"/api/v1/refunds/{number}").status_code == 401
    assert http.get("/api/v1/refunds/000000000", headers=auth("officer")).status_code == 404
