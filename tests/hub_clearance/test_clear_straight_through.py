"""Straight-through intake (hub/services/clearance/straight.py): AMQP intake applies a message in its
own transaction when nothing of its partition is on its way through the partition queue, and routes
it through the queue otherwise, behind what is there. On SQLite and PostgreSQL, on the in-process bus
(three workers on RabbitMQ, one killed: tests/hub/test_hub_workers_kill.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

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
    YARD,
    Inbox,
    fresh_postgres,
    running,
    settings_for,
    wait_for,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("HUB_BATCH_LINGER_MS", "400")  # the whole burst waits for one batch
    if request.param == "sqlite":
        yield from running(Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path)))
    else:
        with fresh_postgres() as url:
            yield from running(Hub(settings_for(url, tmp_path)))


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


def test_a_message_the_workflow_dead_letters_leaves_its_partition_on_the_queue_path(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error path of the doc's promise: a message that fails every time is dead-lettered from its
    partition queue, is never counted applied, and the bill's later messages still apply, in order,
    through the queue behind it (never straight through past it)."""
    s = Shipment.make(44, 3)
    victim, last = s.containers[1], s.containers[2]
    tally = HANDLERS["MT5101"]

    def broken_tally(ctx, sender, model, message_id):  # type: ignore[no-untyped-def]
        if victim in str(rows.boxes(model)):
            raise RuntimeError("a bug in the tally handler")
        tally(ctx, sender, model, message_id)

    monkeypatch.setitem(HANDLERS, "MT5101", broken_tally)
    publish(hub, burst_for(s, s.containers[:2]))

    def dead() -> list[str]:
        with hub.db.sessions() as session:
            query = select(DeadLetter.reason).where(DeadLetter.original_queue.like("%.workflow.p%"))
            return list(session.scalars(query))

    assert "a bug in the tally handler" in wait_for(dead, "the failing tally dead-lettered")[0]
    p = partition_of(hub, s.bill_no)
    assert flow_of(hub) == {(p, "routed"): 1}  # routed, never applied: its partition stays behind
    queued = routed("queued")
    publish(hub, [(arrival_xml(s.bill_no, last), YARD), (tally_xml(s.bill_no, last), YARD)])
    wait_for(lambda: boxes(hub, s.bill_no).get(last) == (True, True), "the later reports applied")
    assert routed("queued") - queued == 2  # through the queue, behind the dead letter
    assert boxes(hub, s.bill_no)[victim] == (True, False)
    wait_for(lambda: flow_of(hub) == {(p, "routed"): 3, (p, "applied"): 2}, "the partition's counts")
