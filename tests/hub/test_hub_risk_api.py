"""Officers' risk endpoints: the rule set, screening a declaration with the trader's credit class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.runtime import Hub
from tests.hub.hubfixtures import KEYS, settings_for

SAMPLES = Path(__file__).parents[1] / "messages_xml" / "samples"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def test_rules_are_listed_for_customs_only(client: TestClient) -> None:
    assert client.get("/api/v1/risk/rules", headers={"X-API-Key": KEYS["broker"]}).status_code == 403
    body = client.get("/api/v1/risk/rules", headers={"X-API-Key": KEYS["customs"]}).json()
    assert body["version"] and len(body["rules"]) >= 30
    assert all(rule["reason"] for rule in body["rules"])


def test_screen_returns_the_consolidated_decision_with_reasons(client: TestClient) -> None:
    xml = (SAMPLES / "DecMessage_summary.xml").read_bytes()
    customs = {"X-API-Key": KEYS["customs"], "Content-Type": "application/xml"}
    aeo = client.post("/api/v1/risk/screen?stage=1&credit=aeo", content=xml, headers=customs).json()
    assert set(aeo) == {
        "stage",
        "outcome",
        "lane",
        "checks",
        "location",
        "hits",
        "sampled",
        "ruleset_version",
    }
    assert aeo["hits"] and all(h["rule_id"] and h["reason"] for h in aeo["hits"])
    discredited = client.post("/api/v1/risk/screen?stage=1&credit=discredited", content=xml, headers=customs)
    assert discredited.json()["sampled"] is True  # 84.76% sampling draws this declaration id
    assert len(discredited.json()["hits"]) > len(aeo["hits"])


def test_screen_lists_every_problem_of_an_invalid_declaration(client: TestClient) -> None:
    xml = (SAMPLES / "DecMessage_summary.xml").read_bytes()
    broken = xml.replace(b"<IEFlag>I</IEFlag>", b"<IEFlag>Q</IEFlag>").replace(
        b"<GNo>1</GNo>", b"<GNo>x</GNo>"
    )
    response = client.post("/api/v1/risk/screen", content=broken, headers={"X-API-Key": KEYS["customs"]})
    assert response.status_code == 422
    assert len(response.json()["error"]["details"]) >= 2


def test_screen_accepts_edifact_cusdec_with_the_same_result(client: TestClient) -> None:
    from messages.convert import convert

    xml = (SAMPLES / "DecMessage_summary.xml").read_bytes()
    edi = convert(xml, to="edifact")[0].content
    customs = {"X-API-Key": KEYS["customs"]}
    from_xml = client.post("/api/v1/risk/screen?credit=general", content=xml, headers=customs).json()
    from_edi = client.post("/api/v1/risk/screen?credit=general", content=edi, headers=customs).json()
    assert from_edi == from_xml
    manifest = (SAMPLES / "MT1101.xml").read_bytes()
    assert client.post("/api/v1/risk/screen", content=manifest, headers=customs).status_code == 422
