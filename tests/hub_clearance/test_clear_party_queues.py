"""A party the hub learns about after its services started (bootstrap file loaded after start, or PUT
/api/v1/parties) gets its notice queue at once, not at the next sweep: its first notice is routable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.runtime import Hub
from tests.hub_clearance.clrfixtures import BROKER, KEYS, settings_for

NEW_PARTY = "91370200M3C0NEW01F"


def test_bootstrap_and_registration_declare_notice_queues(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_CLEARANCE_SWEEP_SECONDS", "3600")  # the sweep must not be what saves us
    bus = InProcessBus()
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), bus=bus)
    with TestClient(create_app(hub)) as client:
        assert bus.queue_depth(f"swhub.notices.{BROKER}") == 0  # from the bootstrap file, loaded after start
        response = client.put(
            f"/api/v1/parties/{NEW_PARTY}",
            json={"uscc": NEW_PARTY, "name": "新注册报关行", "roles": ["broker"]},
            headers={"X-API-Key": KEYS["admin"]},
        )
        assert response.status_code == 200, response.text
        assert bus.queue_depth(f"swhub.notices.{NEW_PARTY}") == 0
