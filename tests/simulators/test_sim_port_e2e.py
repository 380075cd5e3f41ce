"""The port simulator as a separate process against a real hub (uvicorn, real database, real bus) with
the customs simulator as another process: a vessel call of 2 consignments x 3 containers scheduled on
the control API, the broker filing the summary declarations over HTTP, and the port simulator sending
manifest, tallies and gate-in arrival reports on its scaled clock. The hub's timeline must show every
container arrived, tallied and released; the port simulator must have gated every one out (on a
Saturday: outside office hours).

memory:   in-process bus + SQLite; customs over HTTP; the port simulator over HTTP (polls notices)
rabbitmq: RabbitMQ + a fresh PostgreSQL database; customs and the port simulator over AMQP, the port
          sending EDIFACT (CUSCAR / COARRI / CODECO); unique queues, deleted afterwards.
Plus the same call under duplicate + reorder + connection_drop faults on tally and arrival."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from portsim_support import CONTROL_KEY, call_body, private_vhost

from hub.api.app import create_app
from hub.config import Settings
from hub.runtime import Hub
from hub.services.clearance import partitions
from simulators.common.runner import SimulatorProcess, free_port
from simulators.customs.traffic import Shipment, declaration_xml
from tests.hub_clearance.clrfixtures import (
    BROKER,
    CUSTOMS,
    KEYS,
    YARD,
    fresh_postgres,
    settings_for,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
CLOCK_START = "2026-11-21T01:59:30+08:00"  # Saturday night: every gate-out is outside office hours
FACTOR = 600  # 10 simulated minutes per real second
pytestmark = pytest.mark.slow


def delete_queues(amqp_url: str, names: list[str]) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for name in names:
        channel.queue_delete(name)
    connection.close()


@pytest.fixture(params=["memory", "rabbitmq"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    with ExitStack() as stack:
        amqp_url: str | None = None
        if request.param == "rabbitmq":
            amqp_url = stack.enter_context(private_vhost(request.getfixturevalue("amqp_url")))
            db_url = stack.enter_context(fresh_postgres())
        else:
            db_url = f"sqlite:///{tmp_path / 'hub.db'}"
        yield from _world(amqp_url, db_url, tmp_path, monkeypatch)


def _world(
    amqp_url: str | None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    tag = uuid.uuid4().hex[:8]
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    if amqp_url:
        customs_env = {
            "CUSTOMS_SIM_AMQP_URL": amqp_url,
            "CUSTOMS_SIM_QUEUE": f"t{tag}.customs",
            "CUSTOMS_SIM_SENDER_USCC": CUSTOMS,
        }
    else:
        customs_env = {"CUSTOMS_SIM_HUB_URL": hub_url, "CUSTOMS_SIM_HUB_API_KEY": KEYS["customs"]}
    queues = [f"t{tag}.customs", f"t{tag}.port"]
    queues += partitions.queue_names(f"swhub.clearance.t{tag}", Settings().partitions)
    with ExitStack() as stack:
        customs = stack.enter_context(SimulatorProcess("simulators.customs", cwd=REPO, env=customs_env))
        monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{tag}")
        if not amqp_url:
            monkeypatch.setenv("HUB_CLEARANCE_CUSTOMS_URL", customs.base_url)
        monkeypatch.setenv("HUB_CLEARANCE_DECLARE_PARTY_QUEUES", "false")
        hub = Hub(settings_for(db_url, tmp_path, amqp_url))
        server = uvicorn.Server(
            uvicorn.Config(create_app(hub), host="127.0.0.1", port=hub_port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: server.started, "hub started", 30)
            port_env = {
                "PORT_SIM_API_KEY": CONTROL_KEY,
                "PORT_SIM_CLOCK": f"scaled:{FACTOR}:{CLOCK_START}",
                "PORT_SIM_TERMINAL_CODE": "CNTAO/4227",
                "PORT_SIM_TERMINAL_USCC": YARD,
                "PORT_SIM_CARRIER_USCC": BROKER,
            }
            if amqp_url:
                port_env |= {"PORT_SIM_AMQP_URL": amqp_url, "PORT_SIM_QUEUE": f"t{tag}.port"}
            else:
                port_env |= {
                    "PORT_SIM_HUB_URL": hub_url,
                    "PORT_SIM_TERMINAL_API_KEY": KEYS["yard"],
                    "PORT_SIM_CARRIER_API_KEY": KEYS["broker"],
                    "PORT_SIM_POLL_SECONDS": "0.25",
                }
            port = stack.enter_context(SimulatorProcess("simulators.port", cwd=REPO, env=port_env))
            yield {
                "hub": hub_url,
                "port": port,
                "amqp": amqp_url is not None,
                "isolated": amqp_url is None or "/swhub-test-" in amqp_url,  # no other run on our vhost
            }
        finally:
            stack.close()  # the port simulator and customs stop before the hub
            server.should_exit = True
            thread.join(15)
            if amqp_url:
                delete_queues(amqp_url, queues)


def control(world: dict, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method,
        f"{world['port'].base_url}/control{path}",
        json=body,
        headers={"X-API-Key": CONTROL_KEY},
        timeout=30,
    )
    assert response.status_code < 300, response.text
    return response.json()


def hub_get(world: dict, path: str, who: str = "admin") -> Any:
    response = httpx.get(f"{world['hub']}{path}", headers={"X-API-Key": KEYS[who]}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def port_get(world: dict, path: str) -> Any:
    response = httpx.get(f"{world['port'].base_url}{path}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def schedule(
    world: dict, call_id: str, containers: int = 3, destination: str | None = None, **formats: str
) -> dict[str, Any]:
    """A call whose manifest goes 30 s (sim) after the clock start and discharge 10 min later; the
    second consignment goes to `destination` (distribution) if given."""
    body = call_body(
        call_id,
        consignments=2,
        containers=containers,
        manifest_at="2026-11-21T02:00:00+08:00",
        arrival="2026-11-21T02:05:00+08:00",
        discharge_start="2026-11-21T02:10:00+08:00",
        interval=120,
        **formats,
    )
    body["consignments"][1]["destination_site"] = destination
    created = control(world, "POST", "/vessel-calls", body)
    assert created["call_id"] == call_id
    assert len(created["events"]) == 1 + 2 * 2 * containers + (1 if destination else 0)
    return body


def file_summaries(world: dict, body: dict[str, Any], prefixes: tuple[str, ...] = ("A", "A")) -> None:
    """The broker files each bill's summary declaration over HTTP once the manifest is at the hub
    (the ClientSeqNo prefix steers the customs simulator: A normal, I customs inspection)."""
    for prefix, cons in zip(prefixes, body["consignments"], strict=True):
        bill = cons["bill_no"]
        wait_for(
            lambda b=bill: (
                httpx.get(
                    f"{world['hub']}/api/v1/consignments/{b}/timeline",
                    headers={"X-API-Key": KEYS["admin"]},
                    timeout=30,
                ).status_code
                == 200
            ),
            f"manifest of {bill} at the hub",
            30,
        )
        shipment = Shipment(bill, tuple(c["number"] for c in cons["containers"]))
        seq = f"{prefix}2611{random.randrange(10**13):013d}"
        response = httpx.post(
            f"{world['hub']}/api/v1/messages",
            content=declaration_xml("summary", shipment, seq),
            headers={"X-API-Key": KEYS["broker"]},
            timeout=30,
        )
        assert response.status_code == 202, response.text


def all_gated_out(world: dict, call_id: str, n: int = 6) -> bool:
    rows = port_get(world, f"/containers?call_id={call_id}")
    return len(rows) == n and all(r["state"] == "gated_out" for r in rows)


def settled_timeline(world: dict, bill: str, timeout: float = 20.0) -> dict[str, Any]:
    """The bill's timeline once every box is gated out and every arrival, tally and gate-out report is
    through the workflow (processed, or answered as a duplicate): the port simulator may see a release
    before the hub's last status update of a report is visible, and a report still `accepted` after
    `timeout` fails below with the dump."""
    deadline = time.monotonic() + timeout
    while True:
        timeline = hub_get(world, f"/api/v1/consignments/{bill}/timeline")
        reports = [
            e
            for e in timeline["events"]
            if e["direction"] == "in" and e["message_type"] in ("MT3101", "MT5101", "GateOutReport")
        ]
        # the port sends each box's gate-out (CODECO 36) after it has gated it out itself
        gated = all(c["gated_out_at"] for c in timeline["containers"])
        settled = gated and all(e["status"] in ("processed", "duplicate") for e in reports)
        if settled or time.monotonic() > deadline:
            return timeline
        time.sleep(0.2)


def assert_hub_saw_every_container_once(world: dict, body: dict[str, Any]) -> list[dict[str, Any]]:
    arrivals: list[dict[str, Any]] = []
    for cons in body["consignments"]:
        timeline = settled_timeline(world, cons["bill_no"])
        boxes = sorted(c["number"] for c in cons["containers"])
        assert [c["container_no"] for c in timeline["containers"]] == boxes
        for c in timeline["containers"]:
            assert c["listed"] and c["arrived_at"] and c["tallied_at"] and c["released_at"], c
            assert c["arrival_site"] == (cons.get("destination_site") or "CNTAO/4227")
            # gated out where it gated in, after its release (no discrepancy below), at the time the
            # port's own clock reported
            assert (c["state"], c["gate_out_site"]) == ("gated_out", c["arrival_site"]), c
            assert c["tally_packages"] == 600
        assert timeline["discrepancies"] == []
        events = timeline["events"]
        applied = Counter(
            (e["message_type"], e["container_no"])
            for e in events
            if e["direction"] == "in" and e["status"] == "processed" and e["container_no"]
        )
        # each container: exactly one arrival, one tally and one gate-out applied (duplicates are
        # answered, not applied)
        reports = ("MT3101", "MT5101", "GateOutReport")
        assert applied == Counter({(t, b): 1 for b in boxes for t in reports}), "\n".join(
            f"{e['at']} {e['direction']} {e['message_type']} {e['status']} {e['container_no']} {e['error']}"
            for e in events
            if e["message_type"] in reports
        )
        releases = [e for e in events if e["message_type"] == "ReleaseNotice" and e["receiver"] == YARD]
        assert len(releases) == 1
        assert [e["status"] for e in events if e["direction"] == "in" and e["message_type"] == "MT1101"] == [
            "processed"
        ]
        arrivals += [e for e in events if e["direction"] == "in" and e["message_type"] == "MT3101"]
    return arrivals


def test_vessel_call_through_the_hub(world: dict) -> None:
    formats = (
        {"manifest_format": "CUSCAR", "tally_format": "COARRI", "gate_format": "CODECO"}
        if world["amqp"]
        else {}
    )
    body = schedule(world, "V1", **formats)
    file_summaries(world, body)
    wait_for(lambda: all_gated_out(world, "V1"), "every container gated out at the port simulator", 90)

    assert_hub_saw_every_container_once(world, body)
    # the terminal's and the carrier's copy of each release (the carrier is the broker party here), and
    # customs' MT9999 answers forwarded to the manifest sender
    expected = 4
    status = wait_for(
        lambda: (
            (s := port_get(world, "/status"))["notices"].get("ReleaseNotice", 0) >= expected
            and s["notices"].get("MT9999", 0) >= 1
            and s
        ),
        "release notices and MT9999 at the port simulator",
    )
    wire = (formats.get("manifest_format", "MT1101"), formats.get("tally_format", "MT5101"))
    sent = Counter({wire[0]: 1, wire[1]: 6, "CODECO": 6})  # CODECO 36: the six gate-outs
    sent[formats.get("gate_format", "MT3101")] += 6
    assert status["sent"] == dict(sent), status
    assert (status["failed"], status["dropped"], status["duplicated"], status["malformed"]) == (0, 0, 0, 0)
    assert status["transport"] == ("amqp" if world["amqp"] else "http")
    assert status["containers"] == {"gated_out": 6}
    assert (status["gated_out"], status["gated_out_outside_office_hours"]) == (6, 6)  # a Saturday
    if world["isolated"]:  # on a shared vhost other runs' notices to the same parties may add up
        assert status["notices"]["ReleaseNotice"] == expected
    assert "undecodable" not in status["notices"]
    rows = port_get(world, "/containers?call_id=V1")
    assert all(r["released_at"] and r["gated_in_at"] <= r["gated_out_at"] for r in rows)
    assert all(r["arrival_sent_epoch"] <= r["release_received_epoch"] for r in rows)
    (call,) = control(world, "GET", "/vessel-calls")
    assert call["complete"] and call["events_done"] == call["events"] == 13


def test_duplicate_reorder_and_connection_drops_on_tally_and_arrival(world: dict) -> None:
    rules = [
        {"flow": "tally", "kind": "duplicate", "count": None},
        {"flow": "arrival", "kind": "duplicate", "count": 2},
        {"flow": "arrival", "kind": "reorder", "count": None},
        {"flow": "tally", "kind": "reorder", "count": 1},
        {"flow": "arrival", "kind": "connection_drop", "count": 2},
        {"flow": "tally", "kind": "connection_drop", "count": 1},
    ]
    for rule in rules:
        control(world, "POST", "/faults", rule)
    assert [r["kind"] for r in control(world, "GET", "/faults")] == [r["kind"] for r in rules]
    body = schedule(world, "VF")
    file_summaries(world, body)
    wait_for(lambda: all_gated_out(world, "VF"), "every container gated out despite the faults", 90)

    arrivals = assert_hub_saw_every_container_once(world, body)
    status = port_get(world, "/status")
    assert status["sent"] == {"MT1101": 1, "MT5101": 6, "MT3101": 6, "CODECO": 6} and status["failed"] == 0
    assert status["duplicated"] == 6 + 2
    if not world["amqp"]:  # over HTTP the hub answers each copy at once: 200 with the first receipt
        assert status["hub_duplicates"] == 8
    assert status["reconnects"] >= 3
    assert status["containers"] == {"gated_out": 6}
    duplicates = [a for a in arrivals if a["status"] == "duplicate"]
    assert len(duplicates) == 2  # archived, answered with the first receipt, not applied
    planned = [b["number"] for c in body["consignments"] for b in c["containers"]]
    in_order = sorted(arrivals, key=lambda a: datetime.fromisoformat(a["at"]))
    received = [a["container_no"] for a in in_order if a["status"] == "processed"]
    assert sorted(received) == sorted(planned) and received != planned  # arrivals reached the hub swapped
    assert control(world, "DELETE", "/faults")["cleared"] == 2  # the count=None duplicate and reorder rules


@pytest.mark.parametrize("world", ["memory"], indirect=True)
def test_distributed_cargo_and_a_customs_inspection(world: dict) -> None:
    """Bill 1: customs orders its own inspection (ClientSeqNo I...): the yard gets the instruction and
    the result, the containers go to inspection and back. Bill 2: distributed to the supervised site
    CNTAO/4258 (MT6102 after its first tally); that site's arrival reports are what release it.
    The port's clock is held after the manifest until customs' inspection has reached the yard: customs
    registers (SpL) and orders the inspection (SpC) in two messages, and a bill whose containers have all
    arrived is released on the registration alone (see the report on this race)."""
    body = schedule(world, "VD", containers=2, destination="CNTAO/4258")
    control(world, "POST", "/clock", {"mode": "manual"})
    control(world, "POST", "/clock", {"set": "2026-11-21T02:00:00+08:00"})  # the manifest goes, nothing else
    file_summaries(world, body, prefixes=("I", "A"))
    inspected_boxes = [b["number"] for b in body["consignments"][0]["containers"]]

    def inspection_done() -> bool:
        rows = port_get(world, "/containers?call_id=VD")
        return all(r["inspection"] == "done" for r in rows if r["number"] in inspected_boxes)

    wait_for(inspection_done, "customs' inspection instruction and result at the yard", 60)
    control(world, "POST", "/clock", {"mode": "scaled", "factor": FACTOR})
    wait_for(lambda: all_gated_out(world, "VD", 4), "every container gated out", 90)

    assert_hub_saw_every_container_once(world, body)
    inspected, distributed = (c["bill_no"] for c in body["consignments"])
    timeline = hub_get(world, f"/api/v1/consignments/{distributed}/timeline")
    assert timeline["consignment"]["destination_site"] == "CNTAO/4258"
    assert [
        e["status"] for e in timeline["events"] if e["message_type"] == "MT6102" and e["direction"] == "in"
    ] == ["processed"]
    rows = {r["number"]: r for r in port_get(world, "/containers?call_id=VD")}
    for cons in body["consignments"]:
        for box in cons["containers"]:
            row = rows[box["number"]]
            if cons["bill_no"] == inspected:
                assert (row["inspection"], row["inspection_outcome"]) == ("done", "PASSED"), row["history"]
                events = [e for _, e in row["history"]]
                assert events[0] == "to inspection: MANUAL at PORT", events  # ordered while on board
                assert events[-2:] == [events[-2], "gated out outside office hours"]
                assert events[-2].startswith("released NORMAL")
            else:  # the hub's random sampling may inspect it too; it arrived at the site either way
                assert row["gated_in_site"] == "CNTAO/4258" and row["inspection"] in (None, "done")
    status = port_get(world, "/status")
    assert status["sent"] == {"MT1101": 1, "MT5101": 4, "MT3101": 4, "MT6102": 1, "CODECO": 4}
    assert status["failed"] == 0
    assert status["notices"]["InspectionNotice"] >= 2  # the instruction and the result, to the yard
