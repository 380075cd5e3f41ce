"""A 202 is a promise, on the embedded default (SQLite + in-process bus) and on PostgreSQL + RabbitMQ
(a private vhost and database): a real `swhub serve` is SIGKILLed in the middle of a burst of
manifests and restarted; every manifest that got 202 ends processed, with its effect applied exactly
once (one `manifest.received` audit entry each)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from simulators.common.runner import free_port
from simulators.customs.traffic import Shipment, manifest_xml
from tests.hub_clearance.clrfixtures import KEYS, fresh_postgres, write_parties
from tests.simulators.portsim_support import private_vhost

ROOT = Path(__file__).parents[2]
BURST = 100

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["embedded", "rabbitmq"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The hub's environment: SQLite + in-process bus, or a private PostgreSQL database + vhost."""
    if request.param == "embedded":
        yield {"HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
        return
    amqp = request.getfixturevalue("amqp_url")
    with fresh_postgres() as database, private_vhost(amqp) as vhost:
        yield {"HUB_DATABASE_URL": database, "HUB_AMQP_URL": vhost}


def _start(tmp_path: Path, port: int, run: int, stack: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "TAX_SIM", "BANK_SIM"))}
    env.update(stack, HUB_API_KEYS_FILE=str(tmp_path / "parties.yaml"))
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


def _query(db_url: str, sql: str, **params: object) -> dict[str, object]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            query = sa.text(sql)
            if "ids" in params:
                query = query.bindparams(sa.bindparam("ids", expanding=True))
            return {str(k): v for k, v in conn.execute(query, params).all()}
    finally:
        engine.dispose()


def _statuses(db_url: str, ids: list[str]) -> dict[str, object]:
    return _query(db_url, "SELECT id, status FROM message WHERE id IN :ids", ids=ids)


def test_every_accepted_message_survives_a_sigkill_mid_burst(tmp_path: Path, stack: dict[str, str]) -> None:
    write_parties(tmp_path / "parties.yaml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db_url = stack["HUB_DATABASE_URL"]
    proc = _start(tmp_path, port, 1, stack)
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

    proc = _start(tmp_path, port, 2, stack)
    try:
        deadline = time.monotonic() + 45
        statuses: dict[str, object] = {}
        while time.monotonic() < deadline:
            statuses = _statuses(db_url, accepted)
            if all(statuses.get(i) == "processed" for i in accepted):
                break
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(20)
    lost = sorted(i for i in accepted if statuses.get(i) != "processed")
    assert not lost, f"{len(lost)} of {len(accepted)} accepted manifests never processed: {lost[:5]}"
    effects = _query(
        db_url,
        "SELECT subject_id, count(*) FROM audit_log WHERE action = 'manifest.received' GROUP BY subject_id",
    )
    assert all(effects.get(i) == 1 for i in accepted), {
        i: effects.get(i) for i in accepted if effects.get(i) != 1
    }
