"""The full refund flow through real processes: the SOAP tax simulator (zeep client) and the bank
simulator as child processes, the hub on RabbitMQ and PostgreSQL served by uvicorn on a free port so
the simulators' callbacks reach it over real HTTP. Filed -> credited, and a breach (red alert on the
bus) for an application the simulator is told to process slowly (steering prefix S5: durations x5)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.api.app import create_app
from hub.cli.simstack import ServerThread
from hub.clock import SHANGHAI, ManualClock, set_clock
from hub.db.models import OutboxMessage
from hub.db.refund_tables import RefundAlert, RefundCase
from hub.runtime import Hub
from simulators.common.runner import SimulatorProcess, free_port
from tests.hub_refunds.refundfixtures import KEYS, app_no, filing_xml, settings_for

REPO = Path(__file__).resolve().parents[2]
START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # Monday
CONTROL = "refund-e2e-control-key"

pytestmark = pytest.mark.slow


def control(base: str, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{base}/control{path}", json=body, headers={"X-API-Key": CONTROL}, timeout=10)
    assert response.status_code < 300, response.text


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def system(pg_url: str, amqp_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    clock = ManualClock(START)
    previous = set_clock(clock)
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    common = {
        "CLOCK": f"manual:{START.isoformat()}",
        "API_KEY": CONTROL,
        "CALLBACK_BACKOFF_INITIAL": "0.1",
        "CALLBACK_BACKOFF_MAX": "1",
        "CALLBACK_MAX_ATTEMPTS": "30",
        "TICK_SECONDS": "0.05",
    }
    tax = SimulatorProcess(
        "simulators.tax",
        cwd=REPO,
        env={
            **{f"TAX_SIM_{k}": v for k, v in common.items()},
            "TAX_SIM_CALLBACK_URL": f"{hub_url}/api/v1/refunds/events/tax",
            "TAX_SIM_CALLBACK_API_KEY": KEYS["tax_sim"],
        },
    ).start()
    bank = SimulatorProcess(
        "simulators.bank",
        cwd=REPO,
        env={
            **{f"BANK_SIM_{k}": v for k, v in common.items()},
            "BANK_SIM_CALLBACK_URL": f"{hub_url}/api/v1/refunds/events/bank",
            "BANK_SIM_CALLBACK_API_KEY": KEYS["bank_sim"],
        },
    ).start()
    server: ServerThread | None = None
    try:  # the simulators are child processes: stopped whatever fails from here on
        monkeypatch.setenv("HUB_REFUND_TAX_WSDL_URL", f"{tax.base_url}/soap?wsdl")
        monkeypatch.setenv("HUB_REFUND_BANK_URL", bank.base_url)
        monkeypatch.setenv("HUB_REFUND_BANK_API_KEY", CONTROL)
        monkeypatch.setenv("HUB_REFUND_QUEUE_PREFIX", f"swhub.refunds.t{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("HUB_REFUND_SWEEP_SECONDS", "0.3")
        monkeypatch.setenv("HUB_REFUND_ADAPTER_TIMEOUT", "5")
        hub = Hub(settings_for(pg_url, tmp_path, amqp_url))
        server = ServerThread(create_app(hub), hub_port)
        server.start(timeout=30)
        yield {"hub": hub, "url": hub_url, "tax": tax, "bank": bank, "clock": clock}
    finally:
        if server is not None:
            server.stop()
        tax.stop()
        bank.stop()
        set_clock(previous)


def case_of(hub: Hub, number: str) -> RefundCase | None:
    with hub.db.sessions() as session:
        return session.get(RefundCase, number)


def status_is(hub: Hub, number: str, status: str) -> Callable[[], bool]:
    return lambda: (c := case_of(hub, number)) is not None and c.status == status


def test_filed_to_credited_and_breach_when_the_tax_office_is_slow(system: dict) -> None:
    hub, url, clock = system["hub"], system["url"], system["clock"]
    tax, bank = system["tax"].base_url, system["bank"].base_url
    normal, slow = app_no("9"), app_no("S5")
    for number in (normal, slow):
        response = httpx.post(
            f"{url}/api/v1/refunds",
            content=filing_xml(number),
            headers={"X-API-Key": KEYS["exporter"], "Content-Type": "application/xml"},
        )
        assert response.status_code == 202, response.text
        assert response.json()["deadline"] == "2025-03-17T23:59:59+08:00"
    # the worker submits over SOAP; ACCEPTED comes back (submission result and pushed event)
    for number in (normal, slow):
        wait_for(status_is(hub, number, "accepted"), f"{number} accepted")
    assert case_of(hub, normal).tax_case_no.startswith("TX")  # type: ignore[union-attr]

    # five days on: class 2 review 2 d, approval 2 d, treasury 1 d -> TREASURY_PAID -> payment order
    control(bank, "/clock", {"set": (START + timedelta(days=5)).isoformat()})
    clock.set(START + timedelta(days=5))
    control(tax, "/clock", {"set": (START + timedelta(days=5)).isoformat()})
    wait_for(status_is(hub, normal, "treasury_paid"), "treasury paid")
    wait_for(
        lambda: (
            httpx.get(f"{bank}/payment-orders/{case_of(hub, normal).payment_order_no}").status_code == 200
        ),
        "payment order at the bank",
    )
    control(bank, "/clock", {"advance_seconds": 120})  # the bank credits after its delay, then calls back
    wait_for(status_is(hub, normal, "credited"), "credited")
    done = case_of(hub, normal)
    assert done is not None and done.bank_reference and done.credited_at is not None
    assert [done.accepted_at, done.reviewed_at, done.approved_at, done.treasury_at] == sorted(
        [done.accepted_at, done.reviewed_at, done.approved_at, done.treasury_at]
    )  # type: ignore[type-var]

    # the slow case: review and approval take 10 days each; by day 20 the 10-working-day limit is blown
    clock.set(START + timedelta(days=20, hours=1))
    control(tax, "/clock", {"set": (START + timedelta(days=20, hours=1)).isoformat()})
    wait_for(status_is(hub, slow, "approved"), "slow case approved")

    def red_alert_published() -> bool:
        with hub.db.sessions() as session:
            alerts = list(session.scalars(select(RefundAlert).where(RefundAlert.application_no == slow)))
            sent = session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.routing_key == "refund.alert.red",
                    OutboxMessage.sent_at.is_not(None),
                    OutboxMessage.message_id.like(f"alert:{slow}:%"),
                )
            )
        return any(a.light == "red" for a in alerts) and sent is not None

    wait_for(red_alert_published, "red alert for the slow case confirmed by the broker")
    with hub.db.sessions() as session:
        normal_alerts = list(session.scalars(select(RefundAlert).where(RefundAlert.application_no == normal)))
    assert all(a.light != "red" for a in normal_alerts)
    public = httpx.get(f"{url}/api/v1/public/refunds/{normal}", params={"uscc": done.exporter_uscc}).json()
    assert public["status"] == "credited" and public["closed"] is True
