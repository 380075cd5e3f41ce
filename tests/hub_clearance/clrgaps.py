"""A hub on the in-process bus behind the HTTP API (SQLite or PostgreSQL), with extra HUB_CLEARANCE_*
settings per test, for the tests of the closed clearance gaps (test_clear_gaps_*.py). The tests play
customs themselves unless they say otherwise."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.clock import SHANGHAI, ManualClock, set_clock
from hub.db.models import AuditEntry
from hub.runtime import Hub
from messages.models.receipts import DecResultReceipt
from messages.xml import encode, samples
from tests.hub_clearance.clrfixtures import BROKER, KEYS, YARD, Inbox, settings_for

START = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


@contextmanager
def hub_env(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> Iterator[dict[str, Any]]:
    clock = ManualClock(START)
    previous = set_clock(clock)
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{tag}")
    monkeypatch.setenv("HUB_CLEARANCE_SWEEP_SECONDS", "3600")
    for name, value in settings.items():
        monkeypatch.setenv(f"HUB_CLEARANCE_{name.upper()}", value)
    hub = Hub(settings_for(db_url, tmp_path))
    try:
        with TestClient(create_app(hub)) as client:
            hub.clearance.declare_party_queues()  # type: ignore[attr-defined]
            yield {
                "hub": hub,
                "client": client,
                "clock": clock,
                "customs": Inbox(hub, f"t{tag}.customs", "customs.#"),
                "broker": Inbox(hub, f"t{tag}.broker", f"{BROKER}.#"),
                "yard": Inbox(hub, f"t{tag}.yard", f"{YARD}.#"),
            }
    finally:
        set_clock(previous)


def sweep(client: TestClient) -> dict[str, int]:
    response = client.post("/api/v1/clearance/sweep", headers={"X-API-Key": KEYS["admin"]})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def jsons(bodies: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(b) for b in bodies]


def audit_actions(hub: Hub, entity_id: str) -> list[str]:
    with hub.db.sessions() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == entity_id).order_by(AuditEntry.id)
        )
        return [r.action for r in rows]


def dec_data(seq: str, entry: str, bill: str, channel: str, second: int) -> bytes:
    """A DEC_DATA receipt with its own NOTICE_DATE (the hub deduplicates on SeqNo+CHANNEL+date)."""
    receipt: DecResultReceipt = samples.dec_data(channel)
    result = receipt.result
    result.seq_no, result.entry_id, result.bill_no = seq, entry, bill
    result.notice_date, result.note = f"2026-11-21T10:00:{second:02d}", f"test {channel} {second}"
    return encode(receipt)
