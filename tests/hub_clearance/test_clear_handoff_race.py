"""Two workers, one hand-off (issue 13 item 4): a DEC_DATA receipt parked by one worker while another
applies the DecImportResponse that would release it. Before the hand-off locks, the second worker did
not see the first one's uncommitted parked row and the first did not see the SeqNo: the receipt waited
for ever and the declaration never cleared. The workflow handler is driven on two threads with two
transactions, the first held open after it parked, exactly as two `swhub worker` processes would
interleave. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bus.base import INBOUND_EXCHANGE, Delivery, Envelope, Reject
from hub.db.inbox import idempotent, idempotent_batch
from hub.db.models import Message, OutboxMessage
from hub.db.turns import my_turn
from hub.services.clearance.partitions import partition_of
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import fresh_postgres, import_response, wait_for
from tests.hub_clearance.clrgaps import dec_data, hub_env
from tests.hub_clearance.test_clear_flow_api import declaration, get, post, state_is

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def delivery_of(hub: Any, message_id: str) -> Delivery:
    """The delivery a workflow partition queue would hand a worker for this accepted message."""
    with hub.db.sessions() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id))
        assert row is not None and row.routing_key.startswith("clearance.")
        envelope = Envelope(
            row.body, row.routing_key, row.message_id, dict(row.headers), row.content_type, row.correlation_id
        )
    return Delivery(envelope, INBOUND_EXCHANGE, "workflow", False, 1)


def test_a_receipt_parked_by_one_worker_is_released_by_the_other(env: dict[str, Any]) -> None:
    hub, client = env["hub"], env["client"]
    s = Shipment.make(91, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "A26119100000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    for consumer in list(hub._consumers):  # from here on the test plays the two workers
        consumer.stop()

    receipt = post(
        client, "customs", dec_data("000000000000009101", "422720261000009101", s.bill_no, "SpL", 1)
    )
    answer = post(client, "customs", import_response("A26119100000000001", "000000000000009101"))
    service = hub.clearance
    parked_open, may_commit = threading.Event(), threading.Event()

    def park_then_hold(session: Session, delivery: Delivery) -> None:
        service._on_inbound(session, delivery)  # finds no declaration with that SeqNo: parks it
        parked_open.set()
        may_commit.wait(30)  # worker A is slow to commit

    consumer_name = f"{service.settings.queue_prefix}.workflow"
    worker_a = threading.Thread(
        target=idempotent(hub.db, consumer_name, park_then_hold),
        args=(delivery_of(hub, receipt["receipt_id"]),),
    )
    worker_b = threading.Thread(
        target=idempotent(hub.db, consumer_name, service._on_inbound),
        args=(delivery_of(hub, answer["receipt_id"]),),
    )
    worker_a.start()
    assert parked_open.wait(30)
    worker_b.start()
    worker_b.join(1.0)
    b_waited = worker_b.is_alive()  # B waits for A's hand-off instead of missing it
    may_commit.set()
    worker_a.join(30)
    worker_b.join(30)

    assert b_waited
    decl = declaration(client, filed["declaration_id"])
    assert decl["seq_no"] == "000000000000009101"
    assert decl["state"] == "registered" and decl["entry_id"] == "422720261000009101"
    assert get(client, "customs", "/api/v1/clearance/parked") == []
    assert get(client, "admin", f"/api/v1/messages/{receipt['receipt_id']}")["status"] == "processed"


def test_a_customs_answer_without_a_bill_goes_to_its_declarations_partition(env: dict[str, Any]) -> None:
    """A DecImportResponse names only the ClientSeqNo: intake routes it by its declaration's bill, so
    it is applied after that declaration by the same partition's worker."""
    hub, client = env["hub"], env["client"]
    s = Shipment.make(92, containers=1)
    post(client, "broker", manifest_xml(s))
    filed = post(client, "broker", declaration_xml("summary", s, "A26119200000000001"))
    wait_for(state_is(client, filed["declaration_id"], "submitted"), "submitted")
    answer = post(client, "customs", import_response("A26119200000000001", "000000000000009201"))
    expected = f".p{partition_of(s.bill_no, hub.settings.partitions)}"
    assert delivery_of(hub, filed["receipt_id"]).envelope.routing_key.endswith(expected)
    assert delivery_of(hub, answer["receipt_id"]).envelope.routing_key.endswith(expected)


def test_a_sweep_while_another_worker_sweeps_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' sweeps at once would notify an overdue declaration twice: the second skips."""
    with fresh_postgres() as url, hub_env(url, tmp_path, monkeypatch) as environment:
        service = environment["hub"].clearance
        with environment["hub"].db.unit_of_work() as other_worker:
            assert my_turn(other_worker, "clearance-sweep")
            assert service.sweep() == {"skipped": 1}
        assert "skipped" not in service.sweep()


def test_two_workers_batches_over_the_same_bills_in_opposite_order_do_not_deadlock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's batch spans partitions (hub/db/batch.Grouping), so two workers' batches can touch
    the same hand-off keys in opposite orders. Taken message by message, each held the key the other
    waited for and PostgreSQL aborted one with a deadlock (its messages then applied again one by
    one); the batch's prefetch now takes all its keys first, in one sorted order: the second waits."""
    with fresh_postgres() as url, hub_env(url, tmp_path, monkeypatch) as environment:
        hub = environment["hub"]
        reports = _site_reports_for_two_bills(hub, environment["client"], 93)
        service = hub.clearance
        first_applied = threading.Barrier(2, timeout=1.5)
        failures: list[BaseException] = []

        def worker(batch: list[Delivery]) -> None:
            try:
                with hub.db.unit_of_work(batch=True) as session:  # as idempotent_batch applies a batch
                    service._prefetch_inbound(session, batch)
                    for index, delivery in enumerate(batch):
                        service._on_inbound(session, delivery)
                        if index == 0:
                            # before: both hold their first message's bill here; now the other one
                            # waits for this one's locks, and the barrier breaks after 1.5 s
                            with contextlib.suppress(threading.BrokenBarrierError):
                                first_applied.wait()
            except BaseException as exc:  # a deadlock aborts one of the two
                failures.append(exc)

        one = threading.Thread(target=worker, args=([reports["arrival x"], reports["arrival y"]],))
        other = threading.Thread(target=worker, args=([reports["tally y"], reports["tally x"]],))
        one.start()
        other.start()
        one.join(30)
        other.join(30)
        assert failures == []
        assert _processed(hub, "MT3101") == 2 and _processed(hub, "MT5101") == 2


def test_an_unreadable_body_in_a_workflow_batch_is_refused_alone(env: dict[str, Any]) -> None:
    """The batch's prefetch decodes every model to take their hand-off keys; one that does not read
    is left to its own turn, which refuses it (dead letter) while the rest of the batch commits."""
    hub = env["hub"]
    reports = _site_reports_for_two_bills(hub, env["client"], 95)
    good = reports["arrival x"].envelope
    bad = Delivery(
        Envelope(b"{not a model", good.routing_key, "bad-1", dict(good.headers), good.content_type),
        INBOUND_EXCHANGE,
        "workflow",
        False,
        1,
    )
    service = hub.clearance
    apply = idempotent_batch(
        hub.db, f"{service.settings.queue_prefix}.workflow", service._on_inbound, service._prefetch_inbound
    )
    outcomes = apply([reports["arrival x"], bad, reports["arrival y"]])
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Reject) and "bad-1" in str(outcomes[1])
    assert _processed(hub, "MT3101") == 2


def _site_reports_for_two_bills(hub: Any, client: Any, n: int) -> dict[str, Delivery]:
    """Two bills' manifests applied, the hub's consumers stopped, and an arrival and a tally of each
    accepted: the deliveries a workflow partition would hand a worker for them."""
    x, y = Shipment.make(n, containers=1), Shipment.make(n + 1, containers=1)
    for s in (x, y):
        post(client, "broker", manifest_xml(s))
    wait_for(lambda: _processed(hub, "MT1101") == 2, "manifests applied")
    for consumer in list(hub._consumers):  # from here on the test plays the workers
        consumer.stop()
    return {
        name: delivery_of(hub, post(client, "yard", body)["receipt_id"])
        for name, body in (
            ("arrival x", arrival_xml(x.bill_no, x.containers[0])),
            ("arrival y", arrival_xml(y.bill_no, y.containers[0])),
            ("tally y", tally_xml(y.bill_no, y.containers[0])),
            ("tally x", tally_xml(x.bill_no, x.containers[0])),
        )
    }


def _processed(hub: Any, message_type: str) -> int:
    with hub.db.sessions() as session:
        rows = session.scalars(
            select(Message).where(
                Message.direction == "in", Message.message_type == message_type, Message.status == "processed"
            )
        )
        return len(list(rows))
