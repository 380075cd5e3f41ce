"""Issue 11: EDIFACT intake uses the authenticated party's partner profile (match.party) to fill what
a terminal's SMDG CODECO leaves out, and shows what it tolerated as warnings on the receipt."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.runtime import Hub
from tests.hub_clearance.clrfixtures import KEYS, YARD, settings_for

CODECO = (
    Path(__file__).parents[1] / "partners_corpus" / "edifact" / "codeco_smdg_d95b_gate_in.edi"
).read_bytes()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    profiles = tmp_path / "partners.yaml"
    profiles.write_text(
        f"partners:\n  yard:\n    match: {{party: '{YARD}'}}\n"
        "    defaults: {customs_office: '4227', unloading_location: 'CNTAO/4227'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SWHUB_PARTNERS_FILE", str(profiles))
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path))
    with TestClient(create_app(hub)) as c:
        yield c


def test_smdg_codeco_enriched_from_party_profile_with_check_digit_warning(client: TestClient) -> None:
    body = CODECO.replace(b"MSCU1234566", b"MSCU1234567")  # wrong ISO 6346 check digit
    response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS["yard"]})
    assert response.status_code in (200, 202), response.text
    receipt: dict[str, Any] = response.json()
    assert receipt["message_type"] == "MT3101"
    assert any(
        "(EQD+CN)" in w["location"] and "ISO 6346" in w["message"] for w in receipt.get("warnings", [])
    ), receipt


def test_smdg_codeco_enriched_from_the_terminals_registered_site_without_a_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enrichment step 2: no profile names the yard, but the hub knows its terminal (CNTAO/4227), so
    the unloading location and customs office come from there instead of a refusal."""
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    empty = tmp_path / "partners.yaml"
    empty.write_text("partners: {}\n", encoding="utf-8")
    monkeypatch.setenv("SWHUB_PARTNERS_FILE", str(empty))
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path))
    with TestClient(create_app(hub)) as c:
        response = c.post("/api/v1/messages", content=CODECO, headers={"X-API-Key": KEYS["yard"]})
        assert response.status_code in (200, 202), response.text
        raw = c.get(f"/api/v1/messages/{response.json()['receipt_id']}", headers={"X-API-Key": KEYS["admin"]})
        assert raw.status_code == 200
