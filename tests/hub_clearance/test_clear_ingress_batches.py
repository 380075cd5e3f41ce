"""AMQP ingress in batches (HUB_BATCH_SIZE / HUB_BATCH_LINGER_MS): a burst is accepted in one
transaction and applied in order; a refused message, one from an unknown sender and a duplicate
inside the burst are each handled as on their own, and the rest of the burst still commits.
On SQLite and PostgreSQL, on the in-process bus (the batch consumer itself is in the bus contract)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from hub.bus.base import Delivery, Envelope
from hub.db.clearance_tables import ClrContainer
from hub.db.models import DeadLetter, Message
from hub.observability.metrics import REGISTRY
from hub.runtime import Hub
from hub.services.clearance import answers
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER
from hub.services.intake import ARCHIVE_HEADER
from messages.xml import decode, encode, samples
from simulators.customs.traffic import Shipment, arrival_xml, declaration_xml, manifest_xml, tally_xml
from tests.hub.hubfixtures import recorded
from tests.hub_clearance.clrfixtures import (
    BROKER,
    CUSTOMS,
    YARD,
    Inbox,
    burst_hub,
    wait_for,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    # these count what intake and the partition consumers each do: every message through its queue
    # (the straight-through path, both in one transaction: test_clear_straight_through.py)
    monkeypatch.setenv("HUB_STRAIGHT_THROUGH", "0")
    yield from burst_hub(request, tmp_path, monkeypatch)


def ingress_batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("swhub_batch_size_count", {"stage": "ingress"}) or 0.0
    total = REGISTRY.get_sample_value("swhub_batch_size_sum", {"stage": "ingress"}) or 0.0
    return count, total


def test_a_burst_is_accepted_together_and_its_bad_messages_alone(hub: Hub) -> None:
    broker = Inbox(hub, f"t.broker.{uuid.uuid4().hex[:6]}", f"{BROKER}.#")
    s = Shipment.make(31, 3)
    bad = declaration_xml("summary", s, "A26120300000000001").replace(b"<IEFlag>I", b"<IEFlag>QQ")
    arrival = arrival_xml(s.bill_no, s.containers[1])
    burst = [
        (manifest_xml(s), BROKER),
        (arrival_xml(s.bill_no, s.containers[0]), YARD),
        (bad, BROKER),  # refused: schema problem
        (tally_xml(s.bill_no, s.containers[0]), None),  # no sender: dead-lettered
        (arrival, YARD),
        (arrival, YARD),  # the same message twice: one effect
        (tally_xml(s.bill_no, s.containers[1]), YARD),
    ]
    before = ingress_batches()
    hub.bus.publish_many(
        INGRESS_EXCHANGE,
        [
            Envelope(body, "x", str(uuid.uuid4()), {SENDER_HEADER: sender} if sender else {})
            for body, sender in burst
        ],
    )

    def boxes() -> dict[str, tuple[bool, bool]]:
        with hub.db.sessions() as session:
            rows = session.scalars(select(ClrContainer).where(ClrContainer.bill_no == s.bill_no))
            return {c.container_no: (c.arrived_at is not None, c.tallied_at is not None) for c in rows}

    wait_for(lambda: boxes().get(s.containers[1]) == (True, True), "the burst applied")
    rejection = json.loads(wait_for(lambda: broker.of("Rejection"), "the refusal sent back")[0])
    assert rejection["status"] == 400 and rejection["problems"]

    def dead() -> list[DeadLetter]:
        with hub.db.sessions() as session:
            query = select(DeadLetter).where(DeadLetter.original_queue.like("%.ingress"))
            return list(session.scalars(query))

    assert SENDER_HEADER in wait_for(dead, "the sender-less message dead-lettered")[0].reason
    first, second, third = s.containers
    assert boxes() == {first: (True, False), second: (True, True), third: (False, False)}
    with hub.db.sessions() as session:
        statuses = dict(
            session.execute(
                select(Message.status, func.count()).where(Message.direction == "in").group_by(Message.status)
            ).all()
        )
    assert statuses == {"processed": 4, "rejected": 1, "duplicate": 1}, statuses
    count, total = ingress_batches()
    # 7 deliveries in fewer batches than deliveries: they were taken together
    assert total - before[1] == 7 and count - before[0] < 7


def test_references_accepted_in_an_earlier_batch_are_checked_in_one_query_per_batch(hub: Hub) -> None:
    broker = Inbox(hub, f"t.broker.{uuid.uuid4().hex[:6]}", f"{BROKER}.#")
    s = Shipment.make(32, 2)
    first, second = s.containers

    def publish(*bodies: tuple[bytes, str]) -> None:
        hub.bus.publish_many(
            INGRESS_EXCHANGE,
            [Envelope(body, "x", str(uuid.uuid4()), {SENDER_HEADER: sender}) for body, sender in bodies],
        )

    def statuses() -> dict[str, int]:
        with hub.db.sessions() as session:
            query = select(Message.status, func.count()).where(Message.direction == "in")
            return dict(session.execute(query.group_by(Message.status)).all())  # type: ignore[arg-type]

    arrived = arrival_xml(s.bill_no, first)  # (each call numbers a new MessageID)
    publish((manifest_xml(s), BROKER), (arrived, YARD))
    wait_for(lambda: statuses().get("processed") == 2, "the first batch applied")
    later = arrival_xml(s.bill_no, second)
    reused = later.replace(_reference(later), _reference(arrived))  # the first one's reference
    publish((arrived, YARD), (reused, YARD), (later, YARD))
    wait_for(lambda: statuses().get("processed") == 3, "the later batch applied")
    assert wait_for(lambda: statuses().get("rejected") == 1, "the reused reference refused")
    assert statuses() == {"processed": 3, "duplicate": 1, "rejected": 1}
    assert not broker.of("Rejection")  # the refusal goes to its sender, the yard
    with hub.db.sessions() as session:
        refused = session.scalar(select(Message).where(Message.status == "rejected"))
        assert refused is not None and "reference_used" in (refused.error or "")


def _reference(body: bytes) -> bytes:
    start = body.index(b"<MessageID>") + len(b"<MessageID>")
    return body[start : body.index(b"</MessageID>")]


def test_a_batch_of_answers_and_reports_reads_each_kind_of_row_in_one_query(hub: Hub) -> None:
    """Issue 13: what a batch's authority and answer checks read (the consignments, the forwarded
    copies customs answers, their bill refs) is one query per kind for the whole batch, not one per
    message; the answers still reach the parties whose messages they answer."""
    customs = Inbox(hub, f"t.customs.{uuid.uuid4().hex[:6]}", "customs.#")
    broker = Inbox(hub, f"t.broker.{uuid.uuid4().hex[:6]}", f"{BROKER}.#")
    yard = Inbox(hub, f"t.yard.{uuid.uuid4().hex[:6]}", f"{YARD}.#")
    a, b = Shipment.make(33, 2), Shipment.make(34, 2)

    def publish(*bodies: tuple[bytes, str, str | None]) -> None:
        hub.bus.publish_many(
            INGRESS_EXCHANGE,
            [
                Envelope(body, "x", str(uuid.uuid4()), {SENDER_HEADER: sender}, correlation_id=answers or "")
                for body, sender, answers in bodies
            ],
        )

    publish((manifest_xml(a), BROKER, None), (manifest_xml(b), BROKER, None))
    publish(*[(arrival_xml(s.bill_no, s.containers[0]), YARD, None) for s in (a, b)])
    wait_for(lambda: len(customs.ids_of("MT3101")) == 2, "the arrivals forwarded to customs")
    forwarded = {
        kind: {
            decode(body).declaration.consignments[0].bill_no: i
            for body, i in zip(customs.of(kind), customs.ids_of(kind), strict=True)
        }
        for kind in ("MT1101", "MT3101")
    }

    def receipt(kind: str, bill: str) -> bytes:
        answer = samples.mt9999()
        answer.head.message_type = kind
        answer.head.message_id = f"CN_MT9999_1p0_4227_{kind}{bill}"[:64]  # a reference of its own
        answer.consignments = answer.consignments[:1]
        answer.consignments[0].bill_no = bill
        return encode(answer)

    statements: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        if ".ingress-" in threading.current_thread().name:  # the intake thread, not the workflow's
            statements.append(" ".join(statement.split()))

    before = ingress_batches()
    sa.event.listen(hub.db.engine, "before_cursor_execute", record)
    try:
        publish(
            *[
                (receipt(kind, bill), CUSTOMS, forwarded[kind][bill])
                for kind in forwarded
                for bill in forwarded[kind]
            ],
            *[(tally_xml(s.bill_no, s.containers[0]), YARD, None) for s in (a, b)],
            *[(arrival_xml(s.bill_no, s.containers[1]), YARD, None) for s in (a, b)],
        )
        wait_for(lambda: len(yard.of("MT9999")) == 2 and len(broker.of("MT9999")) == 2, "the answers applied")
    finally:
        sa.event.remove(hub.db.engine, "before_cursor_execute", record)
    count, total = ingress_batches()
    assert (count - before[0], total - before[1]) == (1, 8)  # one batch of 8 messages

    def reads(table: str) -> list[str]:
        return [s for s in statements if s.startswith("SELECT") and f" FROM {table} " in s]

    assert len(reads("clr_consignment")) == 1, reads("clr_consignment")  # the authority checks' bills
    assert len(reads("message_ref")) == 1, reads("message_ref")  # the bills the copies named
    # the reference check and the forwarded copies: one each
    assert len(reads("message")) == 2, reads("message")
    assert not [s for s in statements if s.startswith("UPDATE")], statements  # inserted complete


def test_a_workflow_batch_reads_what_its_customs_answers_look_up_once(hub: Hub) -> None:
    """Issue 13: the workflow's side of a batch of MT9999s: the forwarded ids they carried, the
    copies they answer, those copies' bills and the senders of what the copies carried are one query
    each (the prefetch), and applying the answers' checks and finding whom to answer afterwards reads
    none of them again."""
    customs = Inbox(hub, f"t.customs.{uuid.uuid4().hex[:6]}", "customs.#")
    broker = Inbox(hub, f"t.broker.{uuid.uuid4().hex[:6]}", f"{BROKER}.#")
    shipments = [Shipment.make(35 + i, 1) for i in range(3)]
    hub.bus.publish_many(
        INGRESS_EXCHANGE,
        [Envelope(manifest_xml(s), "x", str(uuid.uuid4()), {SENDER_HEADER: BROKER}) for s in shipments],
    )
    wait_for(lambda: len(customs.ids_of("MT1101")) == 3, "the manifests forwarded to customs")
    answers_out = []
    for body, forwarded_id in zip(customs.of("MT1101"), customs.ids_of("MT1101"), strict=True):
        answer = samples.mt9999()
        bill = decode(body).declaration.consignments[0].bill_no
        answer.head.message_type, answer.head.message_id = "MT1101", f"CN_MT9999_W_{bill}"[:64]
        answer.consignments = answer.consignments[:1]
        answer.consignments[0].bill_no = bill
        answers_out.append(
            Envelope(
                encode(answer), "x", str(uuid.uuid4()), {SENDER_HEADER: CUSTOMS}, correlation_id=forwarded_id
            )
        )
    hub.bus.publish_many(INGRESS_EXCHANGE, answers_out)
    wait_for(lambda: len(broker.of("MT9999")) == 3, "the answers forwarded to the manifest's sender")

    service = hub.clearance  # type: ignore[attr-defined]
    with hub.db.unit_of_work(batch=True) as session:
        archived = session.scalars(
            select(Message.id).where(Message.direction == "in", Message.message_type == "MT9999")
        ).all()
        assert len(archived) == 3
        deliveries = [
            Delivery(
                Envelope(b"", f"clearance.MT9999.{CUSTOMS}.p0", i, {ARCHIVE_HEADER: i}), "x", "q", False, 1
            )
            for i in archived
        ]
        statements: list[str] = []
        me = threading.current_thread()

        def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
            if threading.current_thread() is me:  # not the hub's own threads (relay, consumers)
                statements.append(" ".join(statement.split()))

        sa.event.listen(hub.db.engine, "before_cursor_execute", record)
        try:
            service._prefetch_inbound(session, deliveries)
            prefetched = len(statements)
            for message_id in archived:
                forwarded_id = answers.reply_to(session, message_id)
                assert forwarded_id is not None
                message = session.get(Message, message_id)
                answers.manifest_receipt_check(session, forwarded_id, decode(message.raw))
                assert answers.origin(session, forwarded_id) == BROKER  # the manifests' sender
        finally:
            sa.event.remove(hub.db.engine, "before_cursor_execute", record)
    # message_ref (reply ids), message (the copies), message_ref (their bills), message (the senders)
    assert prefetched == 4, statements
    # afterwards only the archived answers themselves are read (the test's own session.get)
    assert all(" FROM message " in s for s in statements[prefetched:]), statements[prefetched:]
    assert len(statements) - prefetched == 3, statements[prefetched:]


def test_a_workflow_batch_marks_its_messages_processed_in_one_update_at_commit(hub: Hub) -> None:
    """An UPDATE per message would flush each handler's inserts on their own; a batch marks all its
    messages in one statement just before it commits (a parked one stays parked)."""
    customs = Inbox(hub, f"t.customs.{uuid.uuid4().hex[:6]}", "customs.#")
    shipments = [Shipment.make(45 + i, 1) for i in range(3)]
    hub.bus.publish_many(
        INGRESS_EXCHANGE,
        [Envelope(manifest_xml(s), "x", str(uuid.uuid4()), {SENDER_HEADER: BROKER}) for s in shipments],
    )
    wait_for(lambda: len(customs.ids_of("MT1101")) == 3, "the manifests applied")
    with hub.db.unit_of_work() as session:
        archived = session.scalars(
            select(Message.id).where(Message.direction == "in", Message.message_type == "MT1101")
        ).all()
        session.execute(sa.update(Message).where(Message.id.in_(archived)).values(status="accepted"))
    workflow = hub.clearance.workflow  # type: ignore[attr-defined]
    with recorded(hub.db.engine) as statements, hub.db.unit_of_work(batch=True) as session:
        for message_id in archived:
            message = session.get(Message, message_id)
            workflow.apply(session, "MT1101", BROKER, decode(message.raw), message_id)
        marks_before_commit = [s for s in statements if s.startswith("UPDATE message SET status")]
    assert marks_before_commit == []
    assert len([s for s in statements if s.startswith("UPDATE message SET status")]) == 1, statements
    with hub.db.unit_of_work() as session:
        states = session.scalars(select(Message.status).where(Message.id.in_(archived))).all()
    assert sorted(states) == ["processed"] * 3


def test_a_batch_reads_a_bills_summary_declarations_once(hub: Hub) -> None:
    from hub.services.clearance.workflow import rows

    statements: list[str] = []
    me = threading.current_thread()

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        if "FROM clr_declaration" in statement and threading.current_thread() is me:  # not the sweep's
            statements.append(statement)

    sa.event.listen(hub.db.engine, "before_cursor_execute", record)
    try:
        with hub.db.unit_of_work(batch=True) as session:
            first = rows.summaries(session, "NOSUCHBILL0001")
            first.append(None)  # type: ignore[arg-type]  # a caller's list is its own
            assert rows.summaries(session, "NOSUCHBILL0001") == []
        in_batch = len(statements)
        with hub.db.unit_of_work() as session:
            rows.summaries(session, "NOSUCHBILL0001")
            rows.summaries(session, "NOSUCHBILL0001")
    finally:
        sa.event.remove(hub.db.engine, "before_cursor_execute", record)
    assert (in_batch, len(statements) - in_batch) == (1, 2)


def test_a_batch_keeps_a_bills_containers_and_flushes_none_of_them_before_commit(hub: Hub) -> None:
    """Issue 13: a workflow batch reads a bill's containers once; a box a report adds (not on the
    manifest) is found again by later messages of the batch, and nothing is written until commit, when
    the batch's rows go out together (a container query or a primary-key miss would flush them)."""
    from hub.clock import now
    from hub.db.clearance_tables import ClrConsignment
    from hub.services.clearance.workflow import rows

    bill = f"KEPT{uuid.uuid4().hex[:10].upper()}"
    with hub.db.unit_of_work() as session:
        session.add(ClrConsignment(bill_no=bill, created_at=now(), updated_at=now()))
        session.add_all(
            [
                ClrContainer(bill_no=bill, container_no=box, listed=True)
                for box in ("BBBU2000002", "AAAU1000001")
            ]
        )
    with recorded(hub.db.engine) as statements, hub.db.unit_of_work(batch=True) as session:
        listed = rows.container(session, bill, "AAAU1000001")
        assert rows.container(session, bill, "AAAU1000001") is listed
        added = rows.container(session, bill, "CCCU3000003")  # an arrival names an unlisted box
        added.arrived_at = now()
        listed.tallied_at = now()
        assert rows.container(session, bill, "CCCU3000003") is added  # the next message finds it
        assert [c.container_no for c in rows.containers(session, bill)] == [
            "AAAU1000001",
            "BBBU2000002",
            "CCCU3000003",
        ]
        assert rows.listed(session, bill) == ["AAAU1000001", "BBBU2000002"]
        before_commit = list(statements)
    reads = [s for s in before_commit if "FROM clr_container" in s]
    writes = [s for s in before_commit if s.startswith(("INSERT", "UPDATE"))]
    assert len(reads) == 1 and writes == [], before_commit
    assert any(s.startswith("INSERT INTO clr_container") for s in statements[len(before_commit) :])
    with hub.db.unit_of_work() as session:
        stored = {c.container_no: c for c in rows.containers(session, bill)}
    assert sorted(stored) == ["AAAU1000001", "BBBU2000002", "CCCU3000003"]
    assert not stored["CCCU3000003"].listed and stored["CCCU3000003"].arrived_at is not None
    assert stored["AAAU1000001"].tallied_at is not None
