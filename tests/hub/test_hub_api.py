"""API: health, authentication (401), authorization (403), own-data scoping, error bodies."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.clock import now
from hub.db.models import Message
from hub.runtime import Hub
from tests.hub.hubfixtures import BROKER_USCC, CUSTOMS_USCC, KEYS, OTHER_BROKER_USCC, settings_for


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    from hub.bus.memory import InProcessBus

    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def auth(who: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[who]}


def archive(client: TestClient, sender: str, receiver: str, bill_no: str) -> str:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    raw = f"<Manifest>{bill_no}</Manifest>".encode()
    message_id = str(uuid.uuid4())
    with hub.db.unit_of_work() as session:
        session.add(
            Message(
                id=message_id,
                direction="in",
                channel="http",
                format="xml",
                message_type="MT1101",
                sender=sender,
                receiver=receiver,
                sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw),
                raw=raw,
                bill_no=bill_no,
                received_at=now(),
                updated_at=now(),
            )
        )
    return message_id


def test_health_is_public_and_reports_both_dependencies(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["bus"] == "ok"
    assert body["bus_kind"] == "in-process"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/api/v1/messages" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_missing_or_unknown_key_is_401_with_error_body(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/parties/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "ApiKey"


def test_wrong_role_is_403(client: TestClient) -> None:
    response = client.get("/api/v1/parties", headers=auth("broker"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/parties", headers=auth("admin")).status_code == 200


def test_me_returns_the_callers_own_party(client: TestClient) -> None:
    body = client.get("/api/v1/parties/me", headers=auth("broker")).json()
    assert body["uscc"] == BROKER_USCC and body["roles"] == ["broker"]


def test_a_party_sees_only_its_own_messages(client: TestClient) -> None:
    mine = archive(client, BROKER_USCC, CUSTOMS_USCC, "COSU6001")
    theirs = archive(client, OTHER_BROKER_USCC, CUSTOMS_USCC, "COSU6002")
    listed = {m["id"] for m in client.get("/api/v1/messages", headers=auth("broker")).json()}
    assert mine in listed and theirs not in listed
    assert client.get(f"/api/v1/messages/{mine}", headers=auth("broker")).status_code == 200
    other = client.get(f"/api/v1/messages/{theirs}", headers=auth("broker"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/messages/{theirs}/raw", headers=auth("broker")).status_code == 404
    raw = client.get(f"/api/v1/messages/{mine}/raw", headers=auth("broker"))
    assert raw.content == b"<Manifest>COSU6001</Manifest>"
    # Customs, the authority, sees both.
    seen_by_customs = {m["id"] for m in client.get("/api/v1/messages", headers=auth("customs")).json()}
    assert {mine, theirs} <= seen_by_customs


def test_unknown_route_and_malformed_json_give_machine_readable_errors(client: TestClient) -> None:
    missing = client.get("/api/v1/no-such-thing", headers=auth("broker"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.put(
        f"/api/v1/parties/{BROKER_USCC}",
        content=b'{"uscc": "91370200M3C0BRK01N", "name": ',
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request" and bad.json()["error"]["details"]


def test_admin_registers_a_party_with_validation_and_audit(client: TestClient) -> None:
    uscc = "91370200M3C0NEW01F"
    invalid = client.put(
        f"/api/v1/parties/{uscc}",
        json={"uscc": uscc, "name": "新企业", "roles": ["pilot"], "credit_class": "excellent"},
        headers=auth("admin"),
    )
    assert invalid.status_code == 422
    assert len(invalid.json()["error"]["details"]) == 2  # both problems listed at once
    ok = client.put(
        f"/api/v1/parties/{uscc}",
        json={"uscc": uscc, "name": "新企业", "roles": ["exporter"], "refund_class": 2},
        headers=auth("admin"),
    )
    assert ok.status_code == 200 and ok.json()["refund_class"] == 2
    assert (
        client.put(
            f"/api/v1/parties/{uscc}", json={"uscc": uscc, "name": "x"}, headers=auth("broker")
        ).status_code
        == 403
    )


def test_the_hub_stops_even_when_the_shutdown_hook_fails(db_url: str, tmp_path: Path) -> None:
    """`swhub serve` stops its simulators in `on_stopping`; if that fails, the relay and consumers
    must still stop (and the failure is not swallowed)."""
    from hub.bus.memory import InProcessBus

    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    stops: list[str] = []
    real_stop = hub.stop

    def stop() -> None:
        stops.append("hub")
        real_stop()

    def failing_hook(_: Hub) -> None:
        stops.append("hook")
        raise RuntimeError("simulator would not stop")

    hub.stop = stop  # type: ignore[method-assign]
    with (
        pytest.raises(RuntimeError, match="simulator would not stop"),
        TestClient(create_app(hub, on_stopping=failing_hook)) as client,
    ):
        assert client.get("/health").status_code == 200
    assert stops == ["hook", "hub"]


def test_admin_cannot_register_a_lookalike_uscc(client: TestClient) -> None:
    # Full-width digits render like BROKER_USCC but would be a second, distinct party.
    lookalike = BROKER_USCC[:2] + "".join(chr(ord(c) + 0xFEE0) for c in BROKER_USCC[2:8]) + BROKER_USCC[8:]
    response = client.put(
        f"/api/v1/parties/{lookalike}",
        json={"uscc": lookalike, "name": "look-alike", "roles": ["broker"]},
        headers=auth("admin"),
    )
    assert response.status_code == 422
    assert any("uscc" in d for d in response.json()["error"]["details"])
