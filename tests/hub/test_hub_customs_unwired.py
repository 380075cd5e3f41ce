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
        answer = httpx.post(
            f"{url}/api/v1/messages",
            content=(ROOT / "examples" / name).read_bytes(),
            headers=auth,
            timeout=30,
        )
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
        assert f"nothing takes customs.{event['message_type']} on swhub.notices" in event["error"], event


def test_serve_without_simulators_says_customs_is_not_wired(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "SWHUB_SIM"))}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
        HUB_API_KEYS_FILE=str(tmp_path / "p.yaml"),
        SWHUB_SIM_DIR=str(tmp_path / "sim"),
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port), "--no-simulators"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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


def _customs_copies(url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    timeline = httpx.get(f"{url}/api/v1/consignments/QDLH26112001/timeline", headers=auth).json()
    return [e for e in timeline["events"] if e["direction"] == "out" and e["receiver"] == "customs"]


def test_a_copy_customs_did_not_take_over_http_is_not_sent_until_it_does(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14 item 1 with customs wired over HTTP: the bus taking the copy for the hub's customs
    gateway is not customs taking it. While customs' /inbox does not answer, the copy stays `queued`
    with why, and the declaration says it is not delivered; once customs takes it, `sent`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    port = free_port()
    monkeypatch.setenv("HUB_CLEARANCE_CUSTOMS_URL", f"http://127.0.0.1:{port}")  # nothing listens yet
    monkeypatch.delenv("HUB_AMQP_URL", raising=False)
    settings = Settings(database_url=db_url, api_keys_file=tmp_path / "parties.yaml", _env_file=None)  # type: ignore[call-arg]
    hub = Hub(settings)
    server = ServerThread(create_app(hub), free_port())
    server.start()
    taken: list[str] = []

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            taken.append(self.headers.get("X-Message-Type", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    customs: ThreadingHTTPServer | None = None
    try:
        url = server.url
        auth = {"X-API-Key": next(k for who, k in hub.first_run_keys.items() if "(broker)" in who)}
        for name in ("01-manifest-mt1101.xml", "02-summary-declaration.xml"):
            answer = httpx.post(
                f"{url}/api/v1/messages",
                content=(ROOT / "examples" / name).read_bytes(),
                headers=auth,
                timeout=30,
            )
            assert answer.status_code == 202, answer.text
        declaration_id = answer.json()["declaration_id"]
        deadline = time.monotonic() + 20
        copies = _customs_copies(url, auth)
        while time.monotonic() < deadline and not (  # each copy relayed, the first one tried
            len(copies) >= 2 and all(e["error"] for e in copies) and "did not take" in copies[0]["error"]
        ):
            time.sleep(0.3)
            copies = _customs_copies(url, auth)
        assert {e["message_type"] for e in copies} >= {"MT1101", "DecMessage"}, copies
        # the first is being retried; the gateway pushes in order, so the others wait behind it
        assert "did not take it" in copies[0]["error"] and "ConnectError" in copies[0]["error"], copies
        for event in copies:
            assert event["status"] == "queued", event
            assert event["error"].startswith("not delivered yet"), event
            assert f"127.0.0.1:{port}" in event["error"], event
        view = httpx.get(f"{url}/api/v1/declarations/{declaration_id}", headers=auth).json()
        assert view["state"] == "submitted" and "not delivered" in view["waiting"], view

        customs = ThreadingHTTPServer(("127.0.0.1", port), Inbox)  # customs comes up
        threading.Thread(target=customs.serve_forever, daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(e["status"] == "sent" for e in copies):
            time.sleep(0.3)
            copies = _customs_copies(url, auth)
        assert all(e["status"] == "sent" and not e["error"] for e in copies), copies
        assert {"MT1101", "DecMessage"} <= set(taken), taken
    finally:
        server.stop()
        if customs is not None:
            customs.shutdown()
            customs.server_close()
