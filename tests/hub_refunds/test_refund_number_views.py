"""Issue 12 item 9 (views): two exporters filing the same application number get two cases, kept
under an internal key; officers and the tax service see each exporter's own number with the exporter
alongside, never the key, and the tax service's answers reach the right one of the two cases."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.tax.models import RefundApplication, SubmissionOutcome, SubmissionResult
from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.runtime import Hub
from hub.services.refunds.workflow import SCOPE_MARK
from tests.hub_refunds.refundfixtures import (
    EXPORTER_USCC,
    KEYS,
    OTHER_EXPORTER_USCC,
    app_no,
    auth,
    filing_xml,
    settings_for,
)

CST = timezone(timedelta(hours=8))


class RecordingTax:
    """Stands in for the tax service's SOAP client: records what the hub submits."""

    def __init__(self) -> None:
        self.applications: list[RefundApplication] = []
        self._lock = threading.Lock()

    def submit_refund_application(self, application: RefundApplication) -> SubmissionResult:
        with self._lock:
            self.applications.append(application)
            case_no = f"TX20261203{len(self.applications):06d}"
        return SubmissionResult(
            application.application_no, case_no, SubmissionOutcome.ACCEPTED, datetime.now(CST), False
        )


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as client:
        tax = RecordingTax()
        hub.refunds._tax = tax  # type: ignore[attr-defined]
        yield {"client": client, "tax": tax}


def wait_for(predicate: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_officers_and_the_tax_service_see_the_exporters_own_number(env: dict[str, Any]) -> None:
    client, tax = env["client"], env["tax"]
    number = app_no()
    for who, refund in (("exporter", "1300.00"), ("other_exporter", "7.00")):
        response = client.post(
            "/api/v1/refunds", content=filing_xml(number, refund=refund), headers=auth(who)
        )
        assert response.status_code == 202, response.text

    # the tax service: each exporter's own number, with the exporter
    wait_for(lambda: len(tax.applications) == 2, "both applications submitted to the tax service")
    assert {(a.application_no, a.exporter_uscc) for a in tax.applications} == {
        (number, EXPORTER_USCC),
        (number, OTHER_EXPORTER_USCC),
    }

    # the officers' board and case view: the number and its exporter, never the internal key
    board = client.get("/api/v1/refunds/board", headers=auth("officer")).json()
    rows = [r for r in json.loads(json.dumps(board))["cases"] if r["application_no"].startswith(number)]
    assert sorted((r["application_no"], r["uscc"]) for r in rows) == sorted(
        [(number, EXPORTER_USCC), (number, OTHER_EXPORTER_USCC)]
    )
    assert SCOPE_MARK not in json.dumps(board)
    ambiguous = client.get(f"/api/v1/refunds/{number}", headers=auth("officer"))
    assert ambiguous.status_code == 409
    assert {d["exporter_uscc"] for d in ambiguous.json()["error"]["details"]} == {
        EXPORTER_USCC,
        OTHER_EXPORTER_USCC,
    }
    theirs = client.get(
        f"/api/v1/refunds/{number}", params={"exporter": OTHER_EXPORTER_USCC}, headers=auth("officer")
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["application_no"] == number and theirs.json()["exporter_uscc"] == OTHER_EXPORTER_USCC

    # the tax service answers by the exporter's number and its own case number: the right case moves
    other_case_no = next(
        f"TX20261203{i + 1:06d}"
        for i, a in enumerate(tax.applications)
        if a.exporter_uscc == OTHER_EXPORTER_USCC
    )
    wait_for(
        lambda: (
            client.get(
                f"/api/v1/refunds/{number}", params={"exporter": OTHER_EXPORTER_USCC}, headers=auth("officer")
            ).json()["status"]
            == "accepted"
        ),
        "submission recorded",
    )
    event = {
        "seq": 1,
        "eventId": f"ev-{number}",
        "applicationNo": number,
        "taxCaseNo": other_case_no,
        "eventType": "REJECTED",
        "stage": "REVIEW",
        "occurredAt": datetime.now(CST).isoformat(),
        "reasons": [{"code": "TEST", "message": "rejected in review"}],
    }
    pushed = client.post("/api/v1/refunds/events/tax", json=event, headers={"X-API-Key": KEYS["tax_sim"]})
    assert pushed.status_code < 300, pushed.text

    def status_of(uscc: str) -> str:
        return client.get(  # type: ignore[no-any-return]
            f"/api/v1/refunds/{number}", params={"exporter": uscc}, headers=auth("officer")
        ).json()["status"]

    assert status_of(OTHER_EXPORTER_USCC) == "rejected"
    assert status_of(EXPORTER_USCC) == "accepted"
