"""Issue 12 item 13: full garbage collections no longer stop the hub for long while a large interchange
is read. The interchange's parse tree is built with the collector paused, and a served hub freezes its
start-up heap so full collections skip it (measured figures in hub/heap.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.services import intake
from messages import edifact
from simulators.customs.traffic import Shipment, tally_xml
from tests.hub_clearance.clrfixtures import write_parties
from tests.hub_clearance.test_clear_gaps_interchange import interchange

REPO = Path(__file__).parents[2]


def test_an_interchange_is_split_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = edifact.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(edifact, "parse", parse)
    a, b = Shipment.make(61, containers=1), Shipment.make(62, containers=1)
    raw = interchange(tally_xml(a.bill_no, a.containers[0]), tally_xml(b.bill_no, b.containers[0]))
    assert gc.isenabled()
    parts = intake.split_interchange(raw, 10 * 1024 * 1024)
    assert parts is not None and len(parts) == 2
    assert seen == [False] and gc.isenabled()  # paused while parsing, restored after


PROBE = """
import gc
from fastapi.testclient import TestClient
from hub.api.app import create_app
with TestClient(create_app()) as client:
    assert client.get("/health").status_code == 200
    print(gc.get_freeze_count())
"""


@pytest.mark.timeout(120)
def test_a_served_hub_freezes_its_startup_heap(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
        HUB_API_KEYS_FILE=str(write_parties(tmp_path / "parties.yaml")),
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=110
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.strip().splitlines()[-1]) > 50_000  # the start-up heap (~180,000 objects)
    assert gc.get_freeze_count() == 0  # this test process (many hubs) never freezes
