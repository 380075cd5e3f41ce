"""Issue 14 item 10: a port operator sees the clearance state of the declarations of a bill at its
terminal (it files none of its own), never who declared them; another terminal sees nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.customs.traffic import Shipment, declaration_xml, manifest_xml
from tests.hub_clearance.clrfixtures import BROKER, KEYS, wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import get, post


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def test_the_terminal_sees_declaration_states_without_the_declarant(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(75, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "U26110000000000075"))
    path = f"/api/v1/consignments/{s.bill_no}/timeline"

    def declarations() -> list[dict[str, Any]] | None:
        answer = client.get(path, headers={"X-API-Key": KEYS["yard"]})  # 404 until the manifest is in
        return answer.json()["declarations"] if answer.status_code == 200 else None

    seen = wait_for(declarations, "the declaration on the timeline")
    assert [(d["id"], d["kind"]) for d in seen] == [(filed["declaration_id"], "summary")]
    assert seen[0]["state"] and BROKER not in str(seen)  # the state, not who declared
    get(client, "other_yard", path, expect=404)  # another terminal's operator
