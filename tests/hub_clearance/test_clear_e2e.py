"""The whole import flow with the customs simulator as a separate process (HTTP both ways), the hub
served by uvicorn on the in-process bus (SQLite) and on RabbitMQ (PostgreSQL):
manifest -> early summary declaration -> stage 1 -> arrival and tally per container -> release ->
complete declaration -> stage 2 -> cleared; plus a steered customs inspection (ClientSeqNo "I...")
and a steered rejection ("R..."). The timeline shows every step."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hub.api.app import create_app
from hub.config import Settings
from hub.runtime import Hub
from hub.services.clearance import partitions
from simulators.common.runner import SimulatorProcess, free_port
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import (
    BROKER,
    CUSTOMS,
    KEYS,
    YARD,
    Inbox,
    fresh_postgres,
    settings_for,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def delete_queues(amqp_url: str, names: list[str]) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for name in names:
        channel.queue_delete(name)
    connection.close()


@pytest.fixture(params=["memory", "rabbitmq", "rabbitmq-amqp-customs"])
def system(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """memory: in-process bus + SQLite, customs over HTTP; rabbitmq: RabbitMQ + PostgreSQL, customs over
    HTTP; rabbitmq-amqp-customs: the simulator itself consumes `customs.#` and answers on swhub.ingress."""
    with ExitStack() as stack:
        if request.param.startswith("rabbitmq"):
            amqp_url: str | None = request.getfixturevalue("amqp_url")
            db_url = stack.enter_context(fresh_postgres())
        else:
            amqp_url, db_url = None, f"sqlite:///{tmp_path / 'hub.db'}"
        yield from _system(request.param, amqp_url, db_url, tmp_path, monkeypatch)


def _system(
    param: str, amqp_url: str | None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    tag = uuid.uuid4().hex[:8]
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    over_amqp = param == "rabbitmq-amqp-customs"
    sim_env = {"CUSTOMS_SIM_HUB_URL": hub_url, "CUSTOMS_SIM_HUB_API_KEY": KEYS["customs"]}
    if over_amqp:
        sim_env = {
            "CUSTOMS_SIM_AMQP_URL": str(amqp_url),
            "CUSTOMS_SIM_QUEUE": f"t{tag}.customs",
            "CUSTOMS_SIM_SENDER_USCC": CUSTOMS,
        }
    customs = SimulatorProcess("simulators.customs", cwd=REPO, env=sim_env).start()
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{tag}")
    if not over_amqp:
        monkeypatch.setenv("HUB_CLEARANCE_CUSTOMS_URL", customs.base_url)
    monkeypatch.setenv("HUB_CLEARANCE_DECLARE_PARTY_QUEUES", "false")  # the test's own queues instead
    hub = Hub(settings_for(db_url, tmp_path, amqp_url))
    server = uvicorn.Server(
        uvicorn.Config(create_app(hub), host="127.0.0.1", port=hub_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    queues = [f"t{tag}.broker", f"t{tag}.yard", f"t{tag}.customs"]
    try:
        wait_for(lambda: server.started, "hub started", 30)
        yield {
            "hub": hub,
            "url": hub_url,
            "customs": customs,
            "broker": Inbox(hub, queues[0], f"{BROKER}.#"),
            "yard": Inbox(hub, queues[1], f"{YARD}.#"),
        }
    finally:
        server.should_exit = True
        thread.join(15)
        customs.stop()
        if amqp_url:
            delete_queues(
                amqp_url,
                queues
                + partitions.queue_names(f"swhub.clearance.t{tag}", Settings(_env_file=None).partitions),  # type: ignore[call-arg]
            )


def post(url: str, who: str, body: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/api/v1/messages", content=body, headers={"X-API-Key": KEYS[who]}, timeout=10
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def get(url: str, path: str, who: str = "admin") -> Any:
    response = httpx.get(f"{url}{path}", headers={"X-API-Key": KEYS[who]}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def state_is(url: str, decl_id: str, state: str) -> Any:
    return lambda: get(url, f"/api/v1/declarations/{decl_id}")["state"] == state


def test_import_flow_end_to_end_with_the_customs_simulator(system: dict[str, Any]) -> None:
    url = system["url"]
    plain, inspected, refused = Shipment.make(11, 3), Shipment.make(12, 1), Shipment.make(13, 1)
    post(url, "broker", manifest_xml(plain, inspected, refused))
    wait_for(lambda: system["broker"].of("MT9999"), "customs MT9999 back to the manifest sender")

    summary = post(url, "broker", declaration_xml("summary", plain, "A26111100000000001"))["declaration_id"]
    steered = post(url, "broker", declaration_xml("summary", inspected, "I26111100000000001"))[
        "declaration_id"
    ]
    rejected = post(url, "broker", declaration_xml("summary", refused, "R26111100000000001"))[
        "declaration_id"
    ]
    wait_for(state_is(url, summary, "registered"), "summary registered by customs", 30)
    view = get(url, f"/api/v1/declarations/{summary}")
    assert len(view["entry_id"]) == 18 and view["screening"]["outcome"] == "release_on_arrival"
    assert view["deadlines"]["complete_declaration_due"]
    wait_for(state_is(url, rejected, "rejected"), "steered rejection")
    assert any("steered rejection" in r for r in get(url, f"/api/v1/declarations/{rejected}")["reasons"])

    for s in (plain, inspected):
        for box in s.containers:
            post(url, "yard", arrival_xml(s.bill_no, box))
            post(url, "yard", tally_xml(s.bill_no, box))
    wait_for(state_is(url, summary, "released"), "released after every container arrived", 30)
    wait_for(state_is(url, steered, "released"), "released after the customs inspection", 30)
    assert get(url, f"/api/v1/declarations/{steered}")["inspection"]["ordered_by"] == "customs"
    wait_for(lambda: len(system["yard"].of("ReleaseNotice")) == 2, "both releases reached the terminal")
    wait_for(lambda: system["yard"].of("InspectionNotice"), "customs inspection notice reached the yard")

    entry = get(url, f"/api/v1/declarations/{summary}")["entry_id"]
    complete = post(
        url, "broker", declaration_xml("complete", plain, "A26111100000000002", summary_entry_id=entry)
    )["declaration_id"]
    wait_for(state_is(url, complete, "cleared"), "cleared", 30)
    full = get(url, f"/api/v1/declarations/{complete}")
    assert (
        full["screening"]["stage"] == 2 and get(url, f"/api/v1/declarations/{summary}")["state"] == "cleared"
    )

    events = get(url, f"/api/v1/consignments/{plain.bill_no}/timeline")["events"]
    seen = [(e["direction"], e["message_type"], e["receiver"]) for e in events]
    expected = [
        ("in", "MT1101"),
        ("out", "MT1101"),
        ("in", "MT9999"),
        ("in", "DecMessage"),
        ("out", "DecImportResponse"),
        ("in", "DEC_DATA"),
        ("in", "MT3101"),
        ("in", "MT5101"),
        ("out", "ReleaseNotice"),
        ("out", "DEC_DATA"),
    ]
    kinds = [(d, t) for d, t, _ in seen]
    positions = [kinds.index(step) for step in expected]
    assert positions[:3] == sorted(positions[:3]), seen  # manifest, forwarded, receipt in order
    assert kinds.index(("in", "MT1101")) < kinds.index(("out", "ReleaseNotice"))
    assert ("out", "ReleaseNotice", YARD) in seen and ("out", "ReleaseNotice", BROKER) in seen
    assert all(e["status"] in ("processed", "sent") for e in events), [
        e for e in events if e["status"] not in ("processed", "sent")
    ]
    assert get(url, "/api/v1/clearance/parked") == []


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("system", ["rabbitmq"], indirect=True)
def test_broker_restart_in_the_middle_of_the_flow_loses_nothing(system: dict[str, Any]) -> None:
    url = system["url"]
    s = Shipment.make(31, 2)
    post(url, "broker", manifest_xml(s))
    summary = post(url, "broker", declaration_xml("summary", s, "A26113100000000001"))["declaration_id"]
    wait_for(state_is(url, summary, "registered"), "registered", 30)
    rabbitmqctl("stop_app")
    try:
        # the hub keeps accepting: archived and queued in the outbox, published once the broker is back
        for box in s.containers:
            post(url, "yard", arrival_xml(s.bill_no, box))
            post(url, "yard", tally_xml(s.bill_no, box))
    finally:
        rabbitmqctl("start_app")
    wait_for(state_is(url, summary, "released"), "released after the broker came back", 60)
    entry = get(url, f"/api/v1/declarations/{summary}")["entry_id"]
    complete = post(
        url, "broker", declaration_xml("complete", s, "A26113100000000002", summary_entry_id=entry)
    )["declaration_id"]
    wait_for(state_is(url, complete, "cleared"), "cleared", 60)
    timeline = get(url, f"/api/v1/consignments/{s.bill_no}/timeline")
    arrivals = [e for e in timeline["events"] if e["direction"] == "in" and e["message_type"] == "MT3101"]
    assert len(arrivals) == 2 and all(e["status"] == "processed" for e in arrivals)
    assert all(c["arrived_at"] and c["tallied_at"] and c["released_at"] for c in timeline["containers"])
    wait_for(lambda: len(system["yard"].of("ReleaseNotice")) == 1, "one release notice, not two")
