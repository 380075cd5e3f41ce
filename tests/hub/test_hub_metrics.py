"""/metrics: who may read it, and that its figures follow what the hub really did (issue 13 item 5).

A release flow is driven through the API (manifest, summary, customs' answers, arrival and tally),
then the scrape must show intake, workflow and relay timings, the end-to-end latency of the release
notice, the parked declaration of a bill without manifest and a dead letter. A `swhub worker`
process serves the same exposition on HUB_METRICS_PORT behind the scrape token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.clock import SHANGHAI, ManualClock, now, set_clock
from hub.db.models import DeadLetter
from hub.runtime import Hub
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import (
    KEYS,
    dec_data,
    import_response,
    settings_for,
    wait_for,
    write_parties,
)

TOKEN = "scrape-token-for-tests"
START = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    previous = set_clock(ManualClock(START))
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.m{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("HUB_CLEARANCE_SWEEP_SECONDS", "3600")
    settings = settings_for(db_url, tmp_path).model_copy(update={"metrics_token": TOKEN})
    hub = Hub(settings)
    with TestClient(create_app(hub)) as test_client:
        hub.clearance.declare_party_queues()  # type: ignore[attr-defined]
        yield test_client
    set_clock(previous)


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers or {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples_of(response.text)


def samples_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def post(client: TestClient, who: str, body: bytes) -> dict[str, Any]:
    response = client.post("/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def view(client: TestClient, decl_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/declarations/{decl_id}", headers={"X-API-Key": KEYS["admin"]})
    return response.json()  # type: ignore[no-any-return]


def state(client: TestClient, decl_id: str) -> str:
    return str(view(client, decl_id).get("state"))


def test_metrics_need_the_scrape_token_or_an_admin_key(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": "no-such-key"}).status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": KEYS["broker"]}).status_code == 403
    assert scrape(client, **{"X-API-Key": KEYS["admin"]})
    assert scrape(client)


def test_figures_follow_a_release_flow(client: TestClient) -> None:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    before = scrape(client)
    s = Shipment.make(71, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "A26110000000000071"))
    decl_id = filed["declaration_id"]
    wait_for(lambda: state(client, decl_id) == "submitted", "summary submitted")
    post(client, "customs", import_response("A26110000000000071", "000000000000000071"))
    wait_for(lambda: view(client, decl_id).get("seq_no") == "000000000000000071", "seq no applied")
    post(client, "customs", dec_data("000000000000000071", "422720261000000071", s.bill_no, "SpL"))
    wait_for(lambda: state(client, decl_id) == "registered", "registered")
    post(client, "yard", arrival_xml(s.bill_no, s.containers[0]))
    post(client, "yard", tally_xml(s.bill_no, s.containers[0]))
    wait_for(lambda: state(client, decl_id) == "released", "released")

    orphan = Shipment.make(72, containers=1)  # no manifest: its declaration is parked
    post(client, "broker", declaration_xml("summary", orphan, "A26110000000000072"))
    with hub.db.unit_of_work() as session:
        session.add(
            DeadLetter(
                id=str(uuid.uuid4()),
                original_exchange="swhub.inbound",
                original_routing_key="clearance.MT3101.x",
                original_queue="metrics-test-queue",
                reason="Reject: for the gauge",
                body=b"<x/>",
                dead_at=now(),
            )
        )

    def released_notice_seen() -> dict[Any, float] | None:
        after = scrape(client)
        counts = [
            v - value(before, name, **dict(labels))
            for (name, labels), v in after.items()
            if name == "swhub_end_to_end_seconds_count" and ("notice", "ReleaseNotice") in labels
        ]
        parked = value(after, "swhub_parked", message_type="DecMessage")
        return after if counts and max(counts) >= 1 and parked >= 1 else None

    after = wait_for(released_notice_seen, "the release notice's latency and the parked declaration")
    posts = 6
    grew = value(after, "swhub_stage_seconds_count", stage="intake") - value(
        before, "swhub_stage_seconds_count", stage="intake"
    )
    assert grew >= posts
    assert value(after, "swhub_stage_seconds_count", stage="workflow") > value(
        before, "swhub_stage_seconds_count", stage="workflow"
    )
    assert value(after, "swhub_stage_seconds_count", stage="relay") > value(
        before, "swhub_stage_seconds_count", stage="relay"
    )
    assert value(after, "swhub_batch_size_count", stage="relay") > value(
        before, "swhub_batch_size_count", stage="relay"
    )
    triggers = {
        dict(labels)["trigger"]
        for (name, labels), _ in after.items()
        if name == "swhub_end_to_end_seconds_count" and ("notice", "ReleaseNotice") in labels
    }
    assert triggers & {"MT3101", "MT5101", "DEC_DATA"}, triggers
    assert value(after, "swhub_parked", message_type="DecMessage") >= 1
    assert value(after, "swhub_dead_letters", queue="metrics-test-queue") == 1
    assert ("swhub_outbox_pending", ()) in after and ("swhub_outbox_lag_seconds", ()) in after
    workflow_queue = [
        labels for (name, labels), v in after.items() if name == "swhub_consumer_active" and v == 1
    ]
    assert any("workflow" in dict(labels)["queue"] for labels in workflow_queue), workflow_queue


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_worker_process_serves_metrics_behind_the_token(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "HUB_API_KEYS_FILE": str(write_parties(tmp_path / "parties.yaml")),
        "HUB_METRICS_PORT": str(port),
        "HUB_METRICS_HOST": "127.0.0.1",
        "HUB_METRICS_TOKEN": TOKEN,
    }
    env.pop("HUB_AMQP_URL", None)
    swhub = str(Path(sys.executable).with_name("swhub"))
    worker = subprocess.Popen(
        [swhub, "worker"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                refused = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
                assert time.monotonic() < deadline, "worker metrics never came up"
                time.sleep(0.2)
        assert refused.status_code == 401
        answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200
        found = samples_of(answer.text)
        assert ("swhub_outbox_pending", ()) in found
        assert any(name == "swhub_consumer_active" and v == 1 for (name, _), v in found.items())
    finally:
        worker.terminate()
        worker.wait(15)
