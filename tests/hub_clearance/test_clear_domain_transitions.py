"""The workflow on the domain model's transition tables (SQLite and PostgreSQL): an answer that
would make a transition the table does not allow is audited and not applied. Before, an inspection
anomaly reported after customs had cleared the declaration moved it from `cleared` back to `held`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messages.models.notices import InspectionOutcome
from tests.hub_clearance.clrfixtures import inspection_result, wait_for
from tests.hub_clearance.clrgaps import audit_actions, dec_data, hub_env
from tests.hub_clearance.test_clear_flow_api import declaration as view_of
from tests.hub_clearance.test_clear_flow_api import post, state_is
from tests.hub_clearance.test_clear_gaps_late_inspection import released_on_registration


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def test_an_anomaly_after_clearance_does_not_reopen_the_declaration(env: dict[str, Any]) -> None:
    client = env["client"]
    s, decl_id, seq, entry = released_on_registration(env, 71)
    post(client, "customs", dec_data(seq, entry, s.bill_no, "SpC", 2))
    wait_for(state_is(client, decl_id, "inspection"), "inspection after the release")
    order = wait_for(lambda: env["yard"].of("InspectionNotice"), "inspection notice to the yard")[0]
    post(client, "customs", dec_data(seq, entry, s.bill_no, "R", 3))
    wait_for(state_is(client, decl_id, "cleared"), "cleared by customs")

    post(client, "customs", inspection_result(order, InspectionOutcome.ANOMALY))
    wait_for(
        lambda: "declaration.transition.refused" in audit_actions(env["hub"], decl_id),
        "the refused transition audited",
    )
    view = view_of(client, decl_id)
    assert view["state"] == "cleared"
    assert view["inspection"]["result"] == "ANOMALY"  # the result itself is recorded
    actions = audit_actions(env["hub"], decl_id)
    assert "declaration.held" not in actions
    assert actions.count("inspection.ordered") == 1  # customs' SpC (the hub ordered none: release on arrival)
