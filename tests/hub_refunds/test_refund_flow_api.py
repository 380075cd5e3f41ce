"""Refund API on a real database (SQLite and PostgreSQL) with the in-process bus: auth, filing
validation, duplicates, the tax/bank callbacks driving the state machine, board HTML, public query."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.clock import SHANGHAI, ManualClock, set_clock
from hub.db.models import Message
from hub.db.refund_tables import RefundAlert, RefundCase, RefundTransition
from hub.runtime import Hub
from tests.hub_refunds.refundfixtures import (
    EXPORTER_USCC,
    OTHER_EXPORTER_USCC,
    app_no,
    auth,
    filing_xml,
    settings_for,
)

START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(START)
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


@pytest.fixture
def client(db_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def hub_of(client: TestClient) -> Hub:
    return client.app.state.hub  # type: ignore[attr-defined]


def tax_event(client: TestClient, number: str, event_type: str, at: datetime, **extra: object) -> dict:
    body = {
        "type": "tax.stage_event",
        "seq": 1,
        "eventId": str(uuid.uuid4()),
        "applicationNo": number,
        "taxCaseNo": "TX20250303000001",
        "eventType": event_type,
        "stage": {
            "ACCEPTED": "ACCEPTANCE",
            "REVIEWED": "REVIEW",
            "APPROVED": "APPROVAL",
            "TREASURY_PAID": "TREASURY",
            "RETURNED": "REVIEW",
            "REJECTED": "REVIEW",
        }[event_type],
        "occurredAt": at.isoformat(),
        "reasons": [],
        "refundAmountCny": None,
        "paymentOrderNo": None,
        **extra,
    }
    response = client.post(
        "/api/v1/refunds/events/tax", json=body, headers={"X-API-Key": "refund-tax-sim-key"}
    )
    assert response.status_code == 200, response.text
    return body


def test_filing_needs_a_key_and_the_exporter_role(client: TestClient) -> None:
    body = filing_xml()
    assert client.post("/api/v1/refunds", content=body).status_code == 401
    assert client.post("/api/v1/refunds", content=body, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.post("/api/v1/refunds", content=body, headers=auth("broker")).status_code == 403
    assert client.post("/api/v1/refunds", content=body, headers=auth("officer")).status_code == 403
    assert client.post("/api/v1/refunds/events/tax", json={}).status_code == 401
    assert client.post("/api/v1/refunds/events/tax", json={}, headers=auth("exporter")).status_code == 403
    assert client.post("/api/v1/refunds/events/bank", json={}, headers=auth("exporter")).status_code == 403
    assert client.get("/api/v1/refunds/board").status_code == 401
    assert client.get("/api/v1/refunds/board", headers=auth("exporter")).status_code == 403
    assert client.get("/ui/refunds", headers=auth("exporter")).status_code == 403


def test_filing_returns_a_receipt_with_the_deadline_and_archives_first(client: TestClient) -> None:
    number = app_no()
    body = filing_xml(number)
    response = client.post("/api/v1/refunds", content=body, headers=auth("exporter"))
    assert response.status_code == 202, response.text
    receipt = response.json()
    # class 2 (from the party row), filed Mon 2025-03-03: 10 working days -> Mon 2025-03-17
    assert receipt == {
        "application_no": number,
        "status": "filed",
        "deadline": "2025-03-17T23:59:59+08:00",
        "provisional": False,
        "duplicate": False,
    }
    with hub_of(client).db.sessions() as session:
        case = session.get(RefundCase, number)
        assert case is not None and case.enterprise_class == 2 and case.tax_office_level == "city"
        archived = session.get(Message, case.message_id)
        assert archived is not None and archived.raw == body
        assert archived.status == "processed" and len(archived.sha256) == 64


def test_malformed_filing_lists_every_error(client: TestClient) -> None:
    bad = b"""<RefundApplication xmlns="urn:swhub:refund:v1">
      <ApplicationNo>x</ApplicationNo><AccountNo>12</AccountNo>
      <Declarations><Declaration><EntryId>123</EntryId><FobAmountCny>-1</FobAmountCny>
      <RefundAmountCny>1.001</RefundAmountCny></Declaration></Declarations>
    </RefundApplication>"""
    response = client.post("/api/v1/refunds", content=bad, headers=auth("exporter"))
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert len(details) >= 5, details
    text = json.dumps(details)
    for fragment in ("ApplicationNo", "AccountNo", "EntryId", "FobAmountCny", "Invoices"):
        assert fragment in text, fragment
    assert all(d["line"] for d in details)
    # not well-formed and DOCTYPE are refused too, with a location
    assert client.post("/api/v1/refunds", content=b"<a>", headers=auth("exporter")).status_code == 422
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    assert client.post("/api/v1/refunds", content=xxe, headers=auth("exporter")).status_code == 422


def test_business_rules_are_listed_together(client: TestClient) -> None:
    body = filing_xml(refund="20000.00", uscc=OTHER_EXPORTER_USCC)
    response = client.post("/api/v1/refunds", content=body, headers=auth("exporter"))
    assert response.status_code == 422
    messages = [d["message"] for d in response.json()["error"]["details"]]
    assert any("exceeds FOB" in m for m in messages) and any("input VAT" in m for m in messages)


def test_duplicate_filing_creates_no_second_case(client: TestClient) -> None:
    number = app_no()
    body = filing_xml(number)
    assert client.post("/api/v1/refunds", content=body, headers=auth("exporter")).status_code == 202
    again = client.post("/api/v1/refunds", content=body, headers=auth("exporter"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other = client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    assert other.status_code == 409  # same number, other content, case not returned
    # another exporter's filing with the same number is its own case (issue 12 item 9, see
    # test_refund_number_scope.py): it neither squats the number nor learns that it exists
    with hub_of(client).db.sessions() as session:
        assert session.scalar(select(func.count()).where(RefundCase.application_no == number)) == 1
        filed = session.scalar(
            select(func.count()).where(
                RefundTransition.application_no == number, RefundTransition.to_status == "filed"
            )
        )
        assert filed == 1


def test_callbacks_drive_the_state_machine_with_pause_and_alerts(
    client: TestClient, clock: ManualClock
) -> None:
    number = app_no()
    client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    accepted = tax_event(client, number, "ACCEPTED", START)
    # the same eventId again is ignored (inbox)
    dup = client.post(
        "/api/v1/refunds/events/tax", json=accepted, headers={"X-API-Key": "refund-tax-sim-key"}
    )
    assert dup.json() == {"applied": False}
    service = hub_of(client).refunds  # type: ignore[attr-defined]
    assert service.sweep_once() == []  # green on day 0: no alert
    clock.set(START + timedelta(days=2))  # Wed: 2 of 10 used
    tax_event(client, number, "RETURNED", clock.now(), reasons=[{"code": "X", "message": "fix"}])
    clock.set(START + timedelta(days=14))  # returned for two weeks: paused, so still not breached
    board = client.get("/api/v1/refunds/board", headers=auth("officer")).json()
    row = next(c for c in board["cases"] if c["application_no"] == number)
    assert row["paused"] and row["light"] == "green" and row["used_working_days"] == 2
    refiled = client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    assert refiled.status_code == 202 and refiled.json()["status"] == "filed"
    tax_event(client, number, "ACCEPTED", clock.now())
    clock.set(START + timedelta(days=18))  # Fri 03-21: 2 + 4 used of 10 -> amber
    alerts = service.sweep_once()
    assert [(a.application_no, a.light) for a in alerts] == [(number, "amber")]
    assert service.sweep_once() == []  # not re-sent
    clock.set(START + timedelta(days=30))
    assert [(a.light, a.previous) for a in service.sweep_once()] == [("red", "amber")]
    with hub_of(client).db.sessions() as session:
        assert session.scalar(select(func.count()).where(RefundAlert.application_no == number)) == 2
        statuses = [
            t.to_status
            for t in session.scalars(
                select(RefundTransition)
                .where(RefundTransition.application_no == number)
                .order_by(RefundTransition.id)
            )
        ]
    assert statuses == ["filed", "accepted", "returned", "filed", "accepted"]


def test_board_page_renders_the_cases(client: TestClient) -> None:
    numbers = [app_no() for _ in range(2)]
    client.post("/api/v1/refunds", content=filing_xml(numbers[0]), headers=auth("exporter"))
    client.post("/api/v1/refunds", content=filing_xml(numbers[1]), headers=auth("other_exporter"))
    page = client.get("/ui/refunds", headers=auth("officer"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert all(n in html for n in numbers) and "山东鲁货进出口有限公司" in html and "申报" in html
    assert "No data yet" in html and "http://" not in html.replace("http://www.w3.org", "")  # no CDN
    shell = client.get("/ui/refunds")  # no key: the login form, no case data
    assert shell.status_code == 200 and "sessionStorage" in shell.text and numbers[0] not in shell.text
    by_class = client.get("/api/v1/refunds/board?class=3", headers=auth("officer")).json()["cases"]
    assert [c["application_no"] for c in by_class] == [numbers[1]]
    by_level = client.get("/api/v1/refunds/board?level=city", headers=auth("officer")).json()["cases"]
    assert numbers[0] in [c["application_no"] for c in by_level] and numbers[1] not in str(by_level)
    bad = client.get("/api/v1/refunds/board?level=town&sort=x", headers=auth("officer"))
    assert bad.status_code == 422 and len(bad.json()["error"]["details"]) == 2


def test_public_query_needs_number_and_uscc_and_hides_other_data(
    client: TestClient, clock: ManualClock
) -> None:
    number = app_no()
    client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    client.post("/api/v1/refunds", content=filing_xml(), headers=auth("other_exporter"))
    clock.set(START + timedelta(days=3))
    found = client.get(f"/api/v1/public/refunds/{number}", params={"uscc": EXPORTER_USCC})
    assert found.status_code == 200
    assert found.json() == {
        "application_no": number,
        "status": "filed",
        "stage": "申报",
        "filed_on": "2025-03-03",
        "elapsed_working_days": 3,
        "closed": False,
    }
    assert (
        client.get(f"/api/v1/public/refunds/{number}", params={"uscc": OTHER_EXPORTER_USCC}).status_code
        == 404
    )
    assert client.get(f"/api/v1/public/refunds/{number}").status_code == 422
    stats = client.get("/api/v1/public/refunds/stats")
    assert stats.status_code == 200
    text = stats.text
    assert EXPORTER_USCC not in text and OTHER_EXPORTER_USCC not in text and number not in text
    assert "山东" not in text and "account" not in text
    month = stats.json()["months"][0]
    assert month["month"] == "2025-03" and month["filed"] == 2


def test_cli_report_reads_the_database_by_default(
    client: TestClient, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hub.cli.main import app as cli
    from hub.config import get_settings

    number = app_no()
    client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    for event, day in (("ACCEPTED", 0), ("REVIEWED", 2), ("APPROVED", 4)):
        tax_event(client, number, event, START + timedelta(days=day))
    monkeypatch.setenv("HUB_DATABASE_URL", hub_of(client).settings.database_url)
    monkeypatch.delenv("HUB_REFUND_APPLICATIONS", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["refunds", "report", "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["portfolio"]["completed"] == 1 and report["portfolio"]["mean_wd"] == 4


def test_callbacks_archive_rows_say_what_became_of_them(client: TestClient) -> None:
    """A tax/bank callback's archived row moves on from `received` (issue 12 item 12): `applied`,
    `ignored` for the same eventId again, `rejected` with the reason for one naming no case."""
    number = app_no()
    client.post("/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
    accepted = tax_event(client, number, "ACCEPTED", START)
    client.post("/api/v1/refunds/events/tax", json=accepted, headers={"X-API-Key": "refund-tax-sim-key"})
    unknown = {**accepted, "eventId": str(uuid.uuid4()), "applicationNo": app_no()}
    refused = client.post(
        "/api/v1/refunds/events/tax", json=unknown, headers={"X-API-Key": "refund-tax-sim-key"}
    )
    assert refused.status_code >= 400
    with hub_of(client).db.sessions() as session:
        rows = list(
            session.scalars(
                select(Message).where(Message.message_type == "TaxStageEvent").order_by(Message.received_at)
            )
        )
    assert [r.status for r in rows][-3:] == ["applied", "ignored", "rejected"], [r.status for r in rows]
    assert "UnknownCase" in (rows[-1].error or "")
