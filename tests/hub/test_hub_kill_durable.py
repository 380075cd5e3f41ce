"""A 202 is a promise on the embedded default (SQLite + in-process bus): a real `swhub serve` is
SIGKILLed in the middle of a burst of manifests and restarted; every manifest that got 202 ends
processed, with its effect applied exactly once (one `manifest.received` audit entry each)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from simulators.common.runner import free_port
from simulators.customs.traffic import Shipment, manifest_xml
from tests.hub_clearance.clrfixtures import KEYS, write_parties

ROOT = Path(__file__).parents[2]
BURST = 100

pytestmark = pytest.mark.timeout(120)


def _start(tmp_path: Path, port: int, run: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "TAX_SIM", "BANK_SIM"))}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
        HUB_API_KEYS_FILE=str(tmp_path / "parties.yaml"),
    )
    log = (tmp_path / f"serve{run}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port), "--no-simulators"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError((tmp_path / f"serve{run}.log").read_text()[-3000:])


def _statuses(db: Path, ids: list[str]) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f"SELECT id, status FROM message WHERE id IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
    return dict(rows)


def test_every_accepted_message_survives_a_sigkill_mid_burst(tmp_path: Path) -> None:
    write_parties(tmp_path / "parties.yaml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port, 1)
    accepted: list[str] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        body = manifest_xml(Shipment.make(7000 + i, containers=60))
        try:
            response = httpx.post(
                f"{base}/api/v1/messages", content=body, headers={"X-API-Key": KEYS["broker"]}, timeout=10
            )
        except httpx.HTTPError:
            return  # the hub died before answering: no promise was made
        if response.status_code == 202:
            with lock:
                accepted.append(response.json()["receipt_id"])

    try:
        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(send, i) for i in range(BURST)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with lock:
                    if len(accepted) >= BURST // 2:
                        break
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)  # mid-burst: some accepted, some queued, some in flight
            proc.wait(10)
            for future in futures:
                future.result()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert BURST // 3 <= len(accepted) < BURST, f"{len(accepted)} accepted: the kill was not mid-burst"

    proc = _start(tmp_path, port, 2)
    try:
        deadline = time.monotonic() + 45
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = _statuses(tmp_path / "hub.db", accepted)
            if all(statuses.get(i) == "processed" for i in accepted):
                break
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(20)
    lost = sorted(i for i in accepted if statuses.get(i) != "processed")
    assert not lost, f"{len(lost)} of {len(accepted)} accepted manifests never processed: {lost[:5]}"
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        effects = dict(
            conn.execute(
                "SELECT subject_id, count(*) FROM audit_log WHERE action = 'manifest.received' "
                "GROUP BY subject_id"
            ).fetchall()
        )
    assert all(effects.get(i) == 1 for i in accepted), {
        i: effects.get(i) for i in accepted if effects.get(i) != 1
    }
