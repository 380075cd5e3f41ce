"""`swhub serve` on the embedded default: health is ok and the tax/bank simulators it starts take a
refund filing past acceptance over real SOAP and HTTP callbacks; customs is started too, the banner
says what each counterpart is wired to, and `swhub sim status` reports the started simulators."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulators.common.runner import free_port
from tests.hub_refunds.refundfixtures import EXPORTER_USCC, auth, filing_xml, write_parties

ROOT = Path(__file__).parents[2]
OWN_VARS = ("HUB_", "TAX_SIM", "BANK_SIM", "CUSTOMS_SIM", "SWHUB_SIM")


def test_serve_runs_embedded_with_simulators(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_VARS)}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
        HUB_API_KEYS_FILE=str(write_parties(tmp_path / "parties.yaml")),
        HUB_REFUND_SWEEP_SECONDS="1",
        SWHUB_SIM_DIR=str(tmp_path / "sim"),
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert health is not None, (tmp_path / "serve.log").read_text()
        assert health["status"] == "ok" and health["bus_kind"] == "in-process"
        assert health["database_kind"] == "sqlite"

        number = "9EMBED" + str(port)
        filed = httpx.post(f"{base}/api/v1/refunds", content=filing_xml(number), headers=auth("exporter"))
        assert filed.status_code == 202, filed.text
        stage = None
        while time.monotonic() < deadline + 30:
            stage = httpx.get(f"{base}/api/v1/public/refunds/{number}", params={"uscc": EXPORTER_USCC}).json()
            if stage.get("status") == "accepted":
                break
            time.sleep(1.0)  # the public query is rate-limited per address (60 a minute by default)
        status = subprocess.run(
            [sys.executable, "-m", "hub.cli.main", "sim", "status", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        rows = {r["name"]: r for r in json.loads(status.stdout)["simulators"]}
        for name in ("tax", "bank", "customs"):
            assert rows[name]["recorded"] and rows[name]["up"], (name, rows[name], status.stderr)
        assert stage is not None and stage.get("status") == "accepted" and stage["stage"] == "受理", (
            stage,
            (tmp_path / "serve.log").read_text()[-3000:],
        )
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "simulator tax:" in text and "simulator bank:" in text and "simulator customs:" in text
    assert re.search(r"counterpart customs: simulator at http://", text), text
    assert re.search(r"simulator control key: sim_", text), text
    assert not list((tmp_path / "sim").glob("*.json")), "records of the embedded simulators outlive the hub"
    # SIGTERM (docker stop, systemd) takes the child simulators down with the hub, not orphaned.
    urls = re.findall(r"simulator (?:tax|bank|customs): (http://[0-9.:]+)", text)
    assert len(urls) == 3, text
    for url in urls:
        assert not _answers(f"{url}/health"), f"{url} still answers after the hub stopped"


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True
