"""Issue 12 items 6-8: USCCs checked to GB 32100-2015, key lifecycle over API and CLI, revocation at once
(the party's roles are the ceiling of every key), and the bootstrap file seeding but never overwriting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import uscc as gb32100
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.config import get_settings
from hub.runtime import Hub
from tests.hub.hubfixtures import BROKER_USCC, KEYS, settings_for

ADMIN = {"X-API-Key": KEYS["admin"]}
BROKER = {"X-API-Key": KEYS["broker"]}


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    from hub.bus.memory import InProcessBus

    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def put_party(client: TestClient, uscc: str, roles: list[str]) -> int:
    body = {"uscc": uscc, "name": "新企业", "roles": roles}
    return client.put(f"/api/v1/parties/{uscc}", json=body, headers=ADMIN).status_code


VALID = "91370200M3C0NEW01F"
ARABIC_INDIC = "91" + "".join(chr(0x0660 + int(d)) for d in "370200") + "M3C0NEW01F"  # ٣٧٠٢٠٠
FULL_WIDTH = "91" + "".join(chr(0xFF10 + int(d)) for d in "370200") + "M3C0NEW01F"  # ３７０２００
WRONG_CHECK = VALID[:17] + ("A" if VALID[17] != "A" else "B")


@pytest.mark.parametrize("bad", [ARABIC_INDIC, FULL_WIDTH, WRONG_CHECK, VALID.lower()])
def test_look_alike_or_miscoded_usccs_cannot_create_a_party(client: TestClient, bad: str) -> None:
    assert put_party(client, bad, ["exporter"]) == 422
    assert bad not in [p["uscc"] for p in client.get("/api/v1/parties", headers=ADMIN).json()]
    assert put_party(client, VALID, ["exporter"]) == 200


def test_every_fixture_and_first_run_uscc_is_valid() -> None:
    from hub.services.parties import DEMO_PARTIES
    from tests.hub import hubfixtures

    codes = [p["uscc"] for p in DEMO_PARTIES] + [
        v for k, v in vars(hubfixtures).items() if k.endswith("_USCC") and isinstance(v, str)
    ]
    assert codes and all(gb32100.is_valid(c) for c in codes), [c for c in codes if not gb32100.is_valid(c)]


def test_key_lifecycle_over_the_api(client: TestClient) -> None:
    issued = client.post(f"/api/v1/parties/{BROKER_USCC}/keys", json={"label": "ci"}, headers=ADMIN)
    assert issued.status_code == 201, issued.text
    key, prefix = issued.json()["key"], issued.json()["prefix"]
    assert client.get("/api/v1/parties/me", headers={"X-API-Key": key}).json()["uscc"] == BROKER_USCC

    listed = client.get(f"/api/v1/parties/{BROKER_USCC}/keys", headers=ADMIN).json()
    assert prefix in [k["prefix"] for k in listed]
    assert all("key" not in k and len(k["prefix"]) == 12 for k in listed)  # prefix only
    assert key not in str(listed)

    rotated = client.post(f"/api/v1/parties/{BROKER_USCC}/keys/{prefix}/rotate", headers=ADMIN)
    assert rotated.status_code == 201
    new_key = rotated.json()["key"]
    assert client.get("/api/v1/parties/me", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/api/v1/parties/me", headers={"X-API-Key": new_key}).status_code == 200

    revoked = client.delete(f"/api/v1/parties/{BROKER_USCC}/keys/{rotated.json()['prefix']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert client.get("/api/v1/parties/me", headers={"X-API-Key": new_key}).status_code == 401

    # only admins, only real parties, a key may not exceed its party's roles
    assert client.post(f"/api/v1/parties/{BROKER_USCC}/keys", json={}, headers=BROKER).status_code == 403
    assert client.post(f"/api/v1/parties/{VALID}/keys", json={}, headers=ADMIN).status_code == 404
    wider = client.post(f"/api/v1/parties/{BROKER_USCC}/keys", json={"roles": ["customs"]}, headers=ADMIN)
    assert wider.status_code == 422


def test_keys_from_the_cli(client: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.cli.main import build_app

    monkeypatch.setenv("HUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        app, runner = build_app(("hub.cli.parties",)), CliRunner()
        issued = runner.invoke(app, ["parties", "keys", "issue", BROKER_USCC, "--label", "cli"])
        assert issued.exit_code == 0, issued.output
        key = issued.output.split("key:")[1].split()[0]
        prefix = issued.output.split("prefix:")[1].split()[0]
        assert client.get("/api/v1/parties/me", headers={"X-API-Key": key}).status_code == 200
        listed = runner.invoke(app, ["parties", "keys", "list", BROKER_USCC])
        assert prefix in listed.output and key not in listed.output
        rotated = runner.invoke(app, ["parties", "keys", "rotate", BROKER_USCC, prefix])
        assert rotated.exit_code == 0, rotated.output
        new_prefix = rotated.output.split("prefix:")[1].split()[0]
        assert client.get("/api/v1/parties/me", headers={"X-API-Key": key}).status_code == 401
        assert runner.invoke(app, ["parties", "keys", "revoke", BROKER_USCC, new_prefix]).exit_code == 0
        assert "revoked" in runner.invoke(app, ["parties", "keys", "list", BROKER_USCC]).output
        assert runner.invoke(app, ["parties", "keys", "list", ARABIC_INDIC]).exit_code == 2
    finally:
        get_settings.cache_clear()


def test_removing_a_partys_role_revokes_it_for_every_key_at_once(client: TestClient) -> None:
    assert client.get("/api/v1/messages", headers=BROKER).status_code == 200
    assert put_party(client, BROKER_USCC, []) == 200  # the broker loses its role
    assert client.get("/api/v1/parties/me", headers=BROKER).json()["roles"] == []
    assert client.post("/api/v1/parties/" + BROKER_USCC + "/keys", json={}, headers=BROKER).status_code == 403
    roles_in_principal = client.app.state.hub  # type: ignore[attr-defined]
    from hub.services.parties import authenticate

    with roles_in_principal.db.sessions() as session:
        principal = authenticate(session, KEYS["broker"])
    assert principal is not None and principal.roles == frozenset()


def test_the_bootstrap_file_seeds_but_never_overwrites_api_changes(client: TestClient) -> None:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    assert put_party(client, BROKER_USCC, ["exporter"]) == 200
    prefix = client.get(f"/api/v1/parties/{BROKER_USCC}/keys", headers=ADMIN).json()[0]["prefix"]
    assert client.delete(f"/api/v1/parties/{BROKER_USCC}/keys/{prefix}", headers=ADMIN).status_code == 200
    hub.bootstrap_parties()  # a restart reads var/parties.yaml again
    assert client.get("/api/v1/parties/me", headers=BROKER).status_code == 401  # still revoked
    broker = [p for p in client.get("/api/v1/parties", headers=ADMIN).json() if p["uscc"] == BROKER_USCC]
    assert broker[0]["roles"] == ["exporter"]
