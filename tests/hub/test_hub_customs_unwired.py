"""With no customs system wired (embedded bus, no HUB_CLEARANCE_CUSTOMS_URL, no customs simulator), a
summary declaration says why it waits, and the copy no one took is not shown as `sent` (issue 14 item 1)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.api.app import create_app
from hub.cli.simstack import ServerThread
from hub.config import Settings
from hub.runtime import Hub
from hub.services.clearance.queries import NOT_WIRED
from simulators.common.runner import free_port

ROOT = Path(__file__).parents[2]
BROKER = "91370200M3C0BRK01N"


@pytest.fixture
def live(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("HUB_CLEARANCE_CUSTOMS_URL", raising=False)
    monkeypatch.delenv("HUB_AMQP_URL", raising=False)
    settings = Settings(database_url=db_url, api_keys_file=tmp_path / "parties.yaml", _env_file=None)  # type: ignore[call-arg]
    hub = Hub(settings)
    server = ServerThread(create_app(hub), free_port())
    server.start()
    try:
        broker_key = next(k for who, k in hub.first_run_keys.items() if "(broker)" in who)
        yield server.url, {"X-API-Key": broker_key}
    finally:
        server.stop()


def test_declaration_says_no_customs_is_wired_and_nothing_shows_sent_to_customs(live: Any) -> None:
    url, auth = live
    for name in ("01-manifest-mt1101.xml", "02-summary-declaration.xml"):
        answer = httpx.post(f"{url}/api/v1/messages", content=(ROOT / "examples" / name).read_bytes(),
                            headers=auth, timeout=30)
        assert answer.status_code == 202, answer.text
    declaration_id = answer.json()["declaration_id"]
    view: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view = httpx.get(f"{url}/api/v1/declarations/{declaration_id}", headers=auth).json()
        if view.get("waiting") == NOT_WIRED:
            break
        time.sleep(0.3)
    assert view["state"] == "submitted", view
    assert view["waiting"] == NOT_WIRED and "HUB_CLEARANCE_CUSTOMS_URL" in view["waiting"], view
    listed = httpx.get(f"{url}/api/v1/declarations", headers=auth).json()
    assert listed[0]["waiting"] == NOT_WIRED, listed

    timeline = httpx.get(f"{url}/api/v1/consignments/QDLH26112001/timeline", headers=auth).json()
    to_customs = [e for e in timeline["events"] if e["direction"] == "out" and e["receiver"] == "customs"]
    assert {e["message_type"] for e in to_customs} >= {"MT1101", "DecMessage"}, to_customs
    for event in to_customs:
        assert event["status"] == "queued", event
        assert event["error"] and "UnroutableError" in event["error"], event


def test_serve_without_simulators_says_customs_is_not_wired(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "SWHUB_SIM"))}
    env.update(HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
               HUB_API_KEYS_FILE=str(tmp_path / "p.yaml"), SWHUB_SIM_DIR=str(tmp_path / "sim"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port),
                                 "--no-simulators"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "swhub on http" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text(errors="replace")
                time.sleep(0.3)
        finally:
            proc.terminate()
            proc.wait(20)
    text = log.read_text(errors="replace")
    assert "counterpart customs: none: declarations wait in `submitted`" in text, text
    assert "HUB_CLEARANCE_CUSTOMS_URL" in text and "counterpart bank: none" in text, text
