"""Straight-through intake (hub/services/clearance/straight.py): AMQP intake applies a message in its
own transaction when nothing of its partition is on its way through the partition queue, and routes
it through the queue otherwise, behind what is there. On SQLite and PostgreSQL, on the in-process bus
(three workers on RabbitMQ, one killed: tests/hub/test_hub_workers_kill.py)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bus.base import Envelope
from hub.db.clearance_tables import ClrContainer, ClrPartitionFlow
from hub.db.inbox import processed_among
from hub.db.models import DeadLetter, Message
from hub.observability.metrics import REGISTRY
from hub.runtime import Hub
from hub.services.clearance import partitions, straight
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from hub.services.clearance.workflow import HANDLERS, rows
from simulators.customs.traffic import Shipment, arrival_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import (
    BROKER,
    KEYS,
    YARD,
    Inbox,
    burst_hub,
    wait_for,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    yield from burst_hub(request, tmp_path, monkeypatch)


def WORKFLOW_INBOX() -> str:
    return f"{os.environ['HUB_CLEARANCE_QUEUE_PREFIX']}.workflow"


def routed(path: str) -> float:
    return REGISTRY.get_sample_value("swhub_clearance_routed_total", {"path": path}) or 0.0


def workflow_deliveries() -> float:
    return REGISTRY.get_sample_value("swhub_batch_size_sum", {"stage": "workflow"}) or 0.0


def publish(hub: Hub, burst: list[tuple[bytes, str]]) -> None:
    hub.bus.publish_many(
        INGRESS_EXCHANGE, [Envelope(body, "x", str(uuid.uuid4()), {SENDER_HEADER: s}) for body, s in burst]
    )


def flow_of(hub: Hub) -> dict[tuple[int, str], int]:
    with hub.db.sessions() as session:
        rows = session.execute(
            select(ClrPartitionFlow.partition, ClrPartitionFlow.side, ClrPartitionFlow.count)
        )
        return {(p, side): n for p, side, n in rows}


def boxes(hub: Hub, bill: str) -> dict[str, tuple[bool, bool]]:
    with hub.db.sessions() as session:
        rows = session.scalars(select(ClrContainer).where(ClrContainer.bill_no == bill))
        return {c.container_no: (c.arrived_at is not None, c.tallied_at is not None) for c in rows}


def burst_for(s: Shipment, boxes: list[str] | None = None) -> list[tuple[bytes, str]]:
    boxes = s.containers if boxes is None else boxes
    reports = [(arrival_xml(s.bill_no, b), YARD) for b in boxes]
    return [(manifest_xml(s), BROKER), *reports, *[(tally_xml(s.bill_no, b), YARD) for b in boxes]]


def partition_of(hub: Hub, bill: str) -> int:
    return partitions.partition_of(bill, hub.settings.partitions)


def inbound_ids(hub: Hub, bill: str) -> list[str]:
    with hub.db.sessions() as session:
        query = select(Message.id).where(Message.direction == "in", Message.bill_no == bill)
        return list(session.scalars(query))


def test_a_burst_with_nothing_on_its_way_is_applied_by_intake_without_the_partition_queue(hub: Hub) -> None:
    customs = Inbox(hub, f"t.customs.{uuid.uuid4().hex[:6]}", "customs.#")
    s = Shipment.make(41, 3)
    at_intake, queued, deliveries = routed("applied_at_intake"), routed("queued"), workflow_deliveries()
    publish(hub, burst_for(s))
    wait_for(lambda: len(customs.ids_of("MT3101")) == 3, "the arrivals forwarded to customs")
    wait_for(lambda: boxes(hub, s.bill_no) == dict.fromkeys(s.containers, (True, True)), "all applied")
    assert routed("applied_at_intake") - at_intake == 7 and routed("queued") == queued
    assert workflow_deliveries() == deliveries  # no partition consumer saw any of them
    assert flow_of(hub) == {}  # nothing was ever routed through a queue
    with hub.db.sessions() as session:
        ids = inbound_ids(hub, s.bill_no)
        # the workflow's inbox records them as applied, as if delivered through the queue
        assert len(ids) == 7 and processed_among(session, WORKFLOW_INBOX(), ids) == set(ids)
        statuses = set(session.scalars(select(Message.status).where(Message.id.in_(ids))))
    assert statuses == {"processed"}


def test_a_partition_with_a_message_on_its_way_takes_the_later_ones_through_its_queue(hub: Hub) -> None:
    s = Shipment.make(42, 3)
    first, last = s.containers[:2], s.containers[2]
    p = partition_of(hub, s.bill_no)
    with hub.db.unit_of_work() as session:  # one of the partition's messages is on its way
        straight.routed(session, p)
    at_intake, queued, deliveries = routed("applied_at_intake"), routed("queued"), workflow_deliveries()
    publish(hub, burst_for(s, first))
    done = {b: (True, True) for b in first}
    wait_for(lambda: {b: v for b, v in boxes(hub, s.bill_no).items() if b in first} == done, "all applied")
    # every message of that partition went behind the one on its way, through the queue
    assert routed("applied_at_intake") == at_intake and routed("queued") - queued == 5
    assert workflow_deliveries() - deliveries == 5
    wait_for(lambda: flow_of(hub) == {(p, "routed"): 6, (p, "applied"): 5}, "the partition's counts")

    with hub.db.unit_of_work() as session:  # the one on its way is applied: the partition caught up
        straight.applied(session, partitions.routing_key("MT3101", YARD, p))
    publish(hub, [(arrival_xml(s.bill_no, last), YARD)])
    wait_for(lambda: boxes(hub, s.bill_no).get(last) == (True, False), "the last arrival applied")
    assert routed("applied_at_intake") - at_intake == 1 and routed("queued") - queued == 5


def test_a_message_that_fails_at_intake_goes_through_its_queue_and_the_rest_of_the_batch_commits(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Shipment.make(43, 3)
    victim = s.containers[1]
    tally = HANDLERS["MT5101"]
    failed: list[str] = []

    def flaky_tally(ctx, sender, model, message_id):  # type: ignore[no-untyped-def]
        if victim in str(rows.boxes(model)) and not failed:
            failed.append(message_id)
            raise RuntimeError("the database went away")  # once: a transient failure
        tally(ctx, sender, model, message_id)

    monkeypatch.setitem(HANDLERS, "MT5101", flaky_tally)
    at_intake, queued = routed("applied_at_intake"), routed("queued")
    publish(hub, burst_for(s))
    wait_for(lambda: boxes(hub, s.bill_no) == dict.fromkeys(s.containers, (True, True)), "all applied")
    assert failed  # it failed once at intake, was applied on its own through its queue, and the
    # last tally (after it, same bill) went through the queue behind it: the bill's order holds
    assert routed("queued") - queued == 2
    assert routed("applied_at_intake") - at_intake >= 5  # the others at intake (some twice: the split)
    p = partition_of(hub, s.bill_no)
    wait_for(lambda: flow_of(hub) == {(p, "routed"): 2, (p, "applied"): 2}, "the partition caught up")
    with hub.db.sessions() as session:
        statuses = list(
            session.scalars(select(Message.status).where(Message.id.in_(inbound_ids(hub, s.bill_no))))
        )
    assert sorted(statuses) == ["processed"] * 7  # each applied once


def test_counts_tell_a_partition_with_something_on_its_way(hub: Hub) -> None:
    key = partitions.routing_key("MT3101", YARD, 5)
    with hub.db.unit_of_work() as session:
        assert straight.may_apply_here(session, 5)
        straight.routed(session, 5)
        assert not straight.may_apply_here(session, 5)  # routed in this transaction: the rest follow it
        assert straight.may_apply_here(session, 4)
    with hub.db.unit_of_work() as session:
        straight.routed(session, 5)
    with hub.db.unit_of_work() as session:
        assert straight.behind(session) == {5}
        straight.applied(session, key)
        straight.applied(session, "clearance.MT3101.X")  # queued before partitions: never counted routed
    with hub.db.unit_of_work() as session:
        assert straight.behind(session) == {5}
        straight.applied(session, key)
    with hub.db.unit_of_work() as session:
        assert straight.behind(session) == set() and straight.may_apply_here(session, 5)
    assert flow_of(hub) == {(5, "routed"): 2, (5, "applied"): 2}
    assert straight.partition_in(key) == 5 and straight.partition_in("clearance.MT3101.X") is None


def test_a_dead_letter_settles_its_partition_and_its_replay_is_applied_before_what_follows(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error path of the doc's promise: a message that fails every time is dead-lettered from its
    partition queue and never counted applied. The transaction that stores the dead letter counts it
    dead, so the partition is caught up and the bill's later messages go straight through again
    (before, the partition took the queue path until a replay; for good if it could never be
    applied). Replayed through the API once the handler is mended, it is counted routed again: the
    partition is behind, and what the bill sends next goes through the queue behind the replayed copy."""
    s = Shipment.make(44, 4)
    victim, later, last = s.containers[1], s.containers[2], s.containers[3]
    tally = HANDLERS["MT5101"]

    def broken_tally(ctx, sender, model, message_id):  # type: ignore[no-untyped-def]
        if victim in str(rows.boxes(model)):
            raise RuntimeError("a bug in the tally handler")
        tally(ctx, sender, model, message_id)

    monkeypatch.setitem(HANDLERS, "MT5101", broken_tally)
    publish(hub, burst_for(s, s.containers[:2]))

    def dead() -> list[tuple[str, str]]:
        with hub.db.sessions() as session:
            query = select(DeadLetter.id, DeadLetter.reason).where(
                DeadLetter.original_queue.like("%.workflow.p%")
            )
            return [(i, reason) for i, reason in session.execute(query)]

    ((dead_id, reason),) = wait_for(dead, "the failing tally dead-lettered")
    assert "a bug in the tally handler" in reason
    p = partition_of(hub, s.bill_no)
    # routed, never applied, counted dead with its dead letter: nothing of the partition is on its way
    assert flow_of(hub) == {(p, "routed"): 1, (p, "dead"): 1}
    straight_before, queued_before = routed("applied_at_intake"), routed("queued")
    publish(hub, [(arrival_xml(s.bill_no, later), YARD), (tally_xml(s.bill_no, later), YARD)])
    wait_for(lambda: boxes(hub, s.bill_no).get(later) == (True, True), "the later reports applied")
    assert (routed("applied_at_intake") - straight_before, routed("queued") - queued_before) == (2, 0)
    assert boxes(hub, s.bill_no)[victim] == (True, False)

    replaying, release = threading.Event(), threading.Event()

    def mended_tally(ctx, sender, model, message_id):  # type: ignore[no-untyped-def]
        if victim in str(rows.boxes(model)):
            replaying.set()
            release.wait(20)  # held: the replayed copy is on its way while the bill sends more
        tally(ctx, sender, model, message_id)

    monkeypatch.setitem(HANDLERS, "MT5101", mended_tally)  # the handler mended, an operator replays
    with TestClient(create_app(hub, start=False)) as client:
        answer = client.post(f"/api/v1/dead-letters/{dead_id}/replay", headers={"X-API-Key": KEYS["admin"]})
    assert answer.status_code == 202, answer.text
    try:
        wait_for(replaying.is_set, "the replayed tally taken by its partition")
        with hub.db.sessions() as session:
            assert p in straight.behind(session)  # counted routed in the replay's transaction
        queued_before = routed("queued")
        publish(hub, [(arrival_xml(s.bill_no, last), YARD)])
        wait_for(lambda: routed("queued") - queued_before == 1, "the last arrival queued behind the replay")
    finally:
        release.set()
    wait_for(lambda: boxes(hub, s.bill_no).get(victim) == (True, True), "the replayed tally applied")
    wait_for(lambda: boxes(hub, s.bill_no).get(last) == (True, False), "the last arrival applied after it")
    settled = {(p, "routed"): 3, (p, "applied"): 2, (p, "dead"): 1}
    wait_for(lambda: flow_of(hub) == settled, "the partition caught up")
    with hub.db.sessions() as session:
        assert p not in straight.behind(session)


def test_a_dead_letter_counts_for_the_partition_of_its_first_routing_key_only(hub: Hub) -> None:
    """What the dead-letter hooks count is what the partition consumer's apply would: the partition
    its first routing key names, for this service's own workflow queues only. A message an older hub
    queued without a partition (the legacy key partition 0 also takes) was never counted routed, so
    its death counts nothing (else partition 0 would look caught up with a message on its way)."""
    service = hub.clearance  # type: ignore[attr-defined]
    prefix = service.settings.queue_prefix
    with hub.db.unit_of_work() as session:
        moved = service._dead_letter_moved
        moved(session, "dead", partitions.queue_name(prefix, 0), "clearance.MT3101.91370200M3C0YARD1N")
        moved(session, "dead", "swhub.refunds.events", "clearance.MT3101.91370200M3C0YARD1N.p1")
        moved(session, "dead", partitions.queue_name(prefix, 3), "clearance.MT5101.91370200M3C0YARD1N.p3")
        moved(session, "replayed", partitions.queue_name(prefix, 3), "clearance.MT5101.91370200M3C0YARD1N.p3")
    assert flow_of(hub) == {(3, "dead"): 1, (3, "routed"): 1}
