"""A message that keeps failing is dead-lettered with its reason, listed by the API, and replayed
(audited) into the queue it died in, where the now-healthy consumer applies it once, under the
routing key it was first sent with. SQLite and PostgreSQL, in-process bus and RabbitMQ."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hub.api.app import create_app
from hub.bus.base import INBOUND_EXCHANGE, Bus, Delivery, QueueSpec
from hub.bus.memory import InProcessBus
from hub.db import audit
from hub.db.inbox import idempotent
from hub.db.models import AuditEntry
from hub.db.outbox import enqueue
from hub.runtime import ConsumerSpec, Hub
from tests.hub.hubfixtures import KEYS, settings_for


class FlakyConsumer:
    """Fails every delivery until healed; records an audit entry per applied message."""

    def __init__(self) -> None:
        self.healthy = False
        self.routing_keys: list[str] = []

    def __call__(self, session: Session, delivery: Delivery) -> None:
        self.routing_keys.append(delivery.envelope.routing_key)
        if not self.healthy:
            raise ValueError(f"cannot parse {delivery.envelope.body[:20]!r}")
        audit.record(session, "test", "applied", "message", delivery.envelope.message_id)


@pytest.fixture(params=["in-process", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def bus(request: pytest.FixtureRequest) -> Bus:
    if request.param == "in-process":
        return InProcessBus()
    from hub.bus.rabbitmq import RabbitBus

    return RabbitBus(request.getfixturevalue("amqp_url"))  # closed by hub.stop()


@pytest.fixture
def env(db_url: str, bus: Bus, tmp_path: Path) -> Iterator[tuple[TestClient, Hub, FlakyConsumer, str]]:
    hub = Hub(settings_for(db_url, tmp_path), bus=bus)
    flaky = FlakyConsumer()
    queue = f"test.flaky.{uuid.uuid4().hex[:6]}"
    hub.add_consumer(
        ConsumerSpec(
            QueueSpec(queue, ((INBOUND_EXCHANGE, "flaky.#"),), delivery_limit=3),
            idempotent(hub.db, queue, flaky),
        )
    )
    with TestClient(create_app(hub)) as client:
        yield client, hub, flaky, queue


def wait(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def test_dead_letter_listed_with_reason_then_replayed_once(env) -> None:  # type: ignore[no-untyped-def]
    client, hub, flaky, queue = env
    with hub.db.unit_of_work() as session:
        enqueue(session, INBOUND_EXCHANGE, "flaky.mt1101", b"<Manifest>broken", message_id="msg-flaky-1")
    operator = {"X-API-Key": KEYS["admin"]}

    def listed() -> list[dict]:  # type: ignore[type-arg]
        rows = client.get("/api/v1/dead-letters", headers=operator).json()
        return [r for r in rows if r["original_queue"] == queue]

    assert wait(lambda: len(listed()) == 1)
    dead = listed()[0]
    assert dead["message_id"] == "msg-flaky-1" and dead["attempts"] == 3
    assert dead["reason"].startswith("ValueError: cannot parse")
    assert dead["original_routing_key"] == "flaky.mt1101"

    assert client.get("/api/v1/dead-letters", headers={"X-API-Key": KEYS["broker"]}).status_code == 403
    assert client.post("/api/v1/dead-letters/nope/replay", headers=operator).status_code == 404

    flaky.healthy = True
    replay = client.post(f"/api/v1/dead-letters/{dead['id']}/replay", headers=operator)
    assert replay.status_code == 202 and replay.json()["queue"] == queue
    again = client.post(f"/api/v1/dead-letters/{dead['id']}/replay", headers=operator)
    assert again.status_code == 409  # one replay per dead letter

    def applied() -> list[str]:
        with hub.db.sessions() as session:
            return list(
                session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == "applied"))
            )

    assert wait(lambda: applied() == ["msg-flaky-1"])  # same message id as the original
    # and the routing key it was first sent with (consumers read type, sender, partition from it),
    # not the queue name the replay goes to the queue by
    assert flaky.routing_keys == ["flaky.mt1101"] * 4, flaky.routing_keys
    with hub.db.sessions() as session:
        replays = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "dead_letter.replay")
        ).all()
    assert len(replays) == 1 and replays[0].actor == "91370200M3C0ADM1NM"
    shown = client.get(f"/api/v1/dead-letters/{dead['id']}", headers=operator).json()
    assert shown["status"] == "replayed" and shown["replay_count"] == 1


def test_a_broker_dead_letter_without_our_headers_is_kept_with_the_x_death_reason(db_url: str) -> None:
    """RabbitMQ's own delivery-limit dead-lettering carries x-death, not x-swhub-error. Redelivered,
    it is stored once and the hubs' dead-letter hooks hear of it once."""
    from hub.bus.base import Envelope
    from hub.db.migrate import upgrade
    from hub.db.models import DeadLetter
    from hub.db.session import Database
    from hub.services.deadletters import consumer_spec

    upgrade(db_url)
    db = Database(db_url)
    envelope = Envelope(
        body=b"<Manifest/>",
        routing_key="mt1101.x",
        message_id="broker-dead-1",
        headers={
            "x-death": [
                {
                    "reason": "delivery_limit",
                    "queue": "swhub.clearance.in",
                    "exchange": "swhub.inbound",
                    "routing-keys": ["mt1101.x"],
                    "count": 5,
                }
            ]
        },
    )
    told: list[tuple[str, str, str]] = []  # what a service keeping counts (clearance) hears
    handle = consumer_spec(db, [lambda session, event, queue, key: told.append((event, queue, key))]).handler
    delivery = Delivery(envelope, "swhub.dlx", "swhub.dead-letters", redelivered=False, attempt=1)
    handle(delivery)
    handle(Delivery(envelope, "swhub.dlx", "swhub.dead-letters", redelivered=True, attempt=2))  # redelivered
    with db.sessions() as session:
        rows = session.scalars(sa.select(DeadLetter)).all()
    db.dispose()
    assert len(rows) == 1  # the redelivery of the dead letter is not stored twice
    assert told == [("dead", "swhub.clearance.in", "mt1101.x")]  # nor counted twice
    row = rows[0]
    assert row.reason == "broker dead-lettered: delivery_limit"
    assert (row.original_queue, row.original_exchange, row.original_routing_key) == (
        "swhub.clearance.in",
        "swhub.inbound",
        "mt1101.x",
    )
    assert row.headers["message_id"] == "broker-dead-1"


def test_an_operator_discards_a_dead_letter_with_a_reason_once(env) -> None:  # type: ignore[no-untyped-def]
    """A message nobody will ever apply (a poison message) is dropped for good: audited with who and
    why, no longer listed as waiting, and neither replayable nor discardable again."""
    client, hub, flaky, queue = env
    with hub.db.unit_of_work() as session:
        enqueue(session, INBOUND_EXCHANGE, "flaky.mt1101", b"<Manifest>poison", message_id="msg-poison-1")
    operator = {"X-API-Key": KEYS["admin"]}

    def listed(status: str) -> list[dict]:  # type: ignore[type-arg]
        rows = client.get("/api/v1/dead-letters", params={"status": status}, headers=operator).json()
        return [r for r in rows if r["original_queue"] == queue]

    assert wait(lambda: len(listed("dead")) == 1)
    dead_id = listed("dead")[0]["id"]
    url = f"/api/v1/dead-letters/{dead_id}/discard"

    assert (
        client.post(url, json={"reason": "poison"}, headers={"X-API-Key": KEYS["broker"]}).status_code == 403
    )
    missing = client.post(url, json={}, headers=operator)
    assert missing.status_code == 422 and "reason" in missing.text  # the sender's term: the field
    assert (
        client.post(
            "/api/v1/dead-letters/nope/discard", json={"reason": "poison"}, headers=operator
        ).status_code
        == 404
    )

    done = client.post(url, json={"reason": "poison message from a test"}, headers=operator)
    assert done.status_code == 200 and done.json() == {"dead_letter_id": dead_id, "status": "discarded"}
    assert client.post(url, json={"reason": "again"}, headers=operator).status_code == 409
    assert client.post(f"/api/v1/dead-letters/{dead_id}/replay", headers=operator).status_code == 409
    assert listed("dead") == [] and [r["id"] for r in listed("discarded")] == [dead_id]
    with hub.db.sessions() as session:
        (entry,) = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "dead_letter.discard")
        ).all()
    assert (entry.actor, entry.subject_id) == ("91370200M3C0ADM1NM", dead_id)
    assert entry.detail["reason"] == "poison message from a test"
    assert "msg-poison-1" not in applied_ids(hub)  # discarding applies nothing


def applied_ids(hub: Hub) -> list[str]:
    with hub.db.sessions() as session:
        return list(session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == "applied")))
