"""ClearanceService: wires intake and the workflow into the hub (consumers, customs gateway, sweep).

Consumers (queues `<prefix>.<name>`):
- ingress: `swhub.ingress` `#`: raw messages published by parties over AMQP (header x-swhub-sender =
  their USCC; in production each party gets its own RabbitMQ user and the broker-validated user_id
  replaces the header) -> intake;
- workflow.p<k>: INBOUND_EXCHANGE `clearance.*.*.p<k>`: accepted messages partitioned by bill
  (partitions.py), each partition single-active-consumer, so applied in order per bill across workers,
  idempotently (inbox);
- customs-gateway (only with HUB_CLEARANCE_CUSTOMS_URL): NOTICE_EXCHANGE `customs.#` pushed over HTTP
  to the customs system's `/inbox`. Without it customs consumes `customs.#` over AMQP itself.
Per-party notice queues `swhub.notices.<uscc>` (bound `<uscc>.#`) are declared for known parties."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bus.base import NOTICE_EXCHANGE, Delivery, Envelope, QueueSpec, Reject, Topology, one_by_one
from hub.db.batch import BatchFailed, Grouping, isolating
from hub.db.inbox import idempotent_batch, record_processed
from hub.db.models import Party
from hub.db.outbox import mark_delivered
from hub.db.turns import my_turn
from hub.observability import metrics
from hub.runtime import ConsumerSpec, Hub
from hub.services import party_cache
from hub.services.calendar_store import DbCalendarStore
from hub.services.clearance import answers, handoff, outbound, partitions, straight
from hub.services.clearance.settings import CUSTOMS_KEY, INGRESS_EXCHANGE, SENDER_HEADER, ClearanceSettings
from hub.services.clearance.workflow import ClearanceWorkflow
from hub.services.intake import (
    ARCHIVE_HEADER,
    STRAIGHT,
    Intake,
    IntakeRejected,
    IntakeResult,
    RejectBounds,
    StraightThrough,
    business_keys,
    write_archived,
)
from hub.services.parties import Principal
from hub.services.screening import engine_for
from messages import xml as xmlcodec
from messages.models import wire
from refunds import WorkingCalendar

log = logging.getLogger(__name__)


def party_queue(uscc: str) -> QueueSpec:
    return QueueSpec(f"swhub.notices.{uscc}", ((NOTICE_EXCHANGE, f"{uscc}.#"),))


_DECODED = "clearance.inbound.decoded"  # session.info: the models a workflow batch's prefetch decoded


class ClearanceService:
    def __init__(self, hub: Hub, settings: ClearanceSettings | None = None) -> None:
        self.hub = hub
        self.db = hub.db
        self.settings = settings or ClearanceSettings()
        self._calendar: WorkingCalendar | None = None
        self.workflow = ClearanceWorkflow(self.settings, lambda: engine_for(hub), lambda: self.calendar)
        self.intake = Intake(
            self.db,
            self.workflow,
            max_bytes=hub.settings.max_message_bytes,
            max_messages=hub.settings.max_messages_per_interchange,
            rejects=RejectBounds.of(hub.settings),
            partitions=hub.settings.partitions,
            straight_through=hub.settings.straight_through,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._declared: set[str] = set()
        self._http: httpx.Client | None = None

    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = WorkingCalendar(extra_years=DbCalendarStore(self.db).load_all())
        return self._calendar

    @property
    def workflow_inbox(self) -> str:
        """The inbox consumer name of the workflow: every partition's, and straight-through intake's."""
        return f"{self.settings.queue_prefix}.workflow"

    def queue(self, name: str) -> str:
        return f"{self.settings.queue_prefix}.{name}"

    # ----- lifecycle ----------------------------------------------------------------------------
    def register(self) -> None:
        limit = self.hub.settings.delivery_limit
        self.hub.bus.declare(Topology(exchanges=(INGRESS_EXCHANGE,)))
        self.hub.add_consumer(
            ConsumerSpec(
                # one consumer at a time: parties' messages are accepted in the order they sent them,
                # whichever worker is active (several at once let a tally overtake its arrival)
                QueueSpec(
                    self.queue("ingress"), ((INGRESS_EXCHANGE, "#"),), limit, single_active_consumer=True
                ),
                # what is waiting is accepted in one transaction, acked after its commit
                batch_handler=isolating(self._accept_batch, one_by_one(self._on_ingress)),
            )
        )
        # One inbox name for every partition: a message keeps its dedupe record when N changes.
        # The partitions this worker holds hand their batches to one Grouping: what they have waiting
        # at the same time commits as one transaction (hub/db/batch.py).
        apply = Grouping(
            idempotent_batch(self.db, self.workflow_inbox, self._on_inbound, self._prefetch_inbound),
            self.hub.settings.batch_size,
            on_batch=metrics.BATCH_SIZE.labels("workflow_transaction").observe,
        )
        for spec in partitions.queue_specs(self.settings.queue_prefix, self.hub.settings.partitions, limit):
            self.hub.add_consumer(ConsumerSpec(spec, batch_handler=apply))
        self.hub.dead_letter_hooks.append(self._dead_letter_moved)
        if self.settings.customs_url:
            # on the bus is not at customs: the copy is `sent` once customs' /inbox took it
            self.hub.relay.forwarded(
                NOTICE_EXCHANGE,
                f"{CUSTOMS_KEY}.",
                f"not delivered yet: on its way to customs at {self.settings.customs_url}",
            )
            self.hub.add_consumer(
                ConsumerSpec(
                    QueueSpec(self.queue("customs-gateway"), ((NOTICE_EXCHANGE, f"{CUSTOMS_KEY}.#"),), limit),
                    self._to_customs_http,
                    prefetch=20,
                )
            )

    def _dead_letter_moved(self, session: Session, event: str, queue: str, routing_key: str) -> None:
        """A partition's message left its queue for the dead letters, or came back (straight.py).
        Counted by its first routing key's partition, as its apply is: a message an older hub queued
        without one (partitions.LEGACY_KEY) was never counted routed."""
        if partitions.partition_of_queue(self.settings.queue_prefix, queue) is None:
            return  # not one of this service's workflow partitions
        partition = partitions.partition_in(routing_key)
        if partition is None:
            return
        if event == "dead":
            straight.dead(session, partition)
        elif event == "replayed":
            straight.replayed(session, partition)

    def start(self) -> None:
        self.declare_party_queues()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sweep_loop, name="clearance-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self._http:
            self._http.close()

    def declare_party_queues(self) -> list[str]:
        """A notice queue per known party, so the broker and the yard each receive their copy."""
        if not self.settings.declare_party_queues:
            return []
        with self.db.sessions() as session:
            usccs = [p.uscc for p in session.scalars(select(Party))]
        new = [u for u in usccs if u not in self._declared]
        if new:
            self.hub.bus.declare(Topology(queues=tuple(party_queue(u) for u in new)))
            self._declared.update(new)
        return new

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_seconds):
            try:
                self.declare_party_queues()
                self.sweep()
            except Exception:  # keep sweeping after a database or broker hiccup
                log.exception("clearance sweep failed")

    def sweep(self) -> dict[str, int]:
        with self.db.unit_of_work() as session:
            if not my_turn(session, "clearance-sweep"):
                return {"skipped": 1}  # another worker is sweeping; twice at once would notify twice
            return self.workflow.sweep(session)

    # ----- intake -------------------------------------------------------------------------------
    def receive(
        self, raw: bytes, principal: Principal, channel: str = "http", in_reply_to: str | None = None
    ) -> IntakeResult:
        return self.intake.receive(raw, principal.uscc, principal.roles, channel, in_reply_to)

    def _sender(self, session: Session, delivery: Delivery) -> party_cache.PartyView:
        sender = str(delivery.envelope.headers.get(SENDER_HEADER, ""))
        party = party_cache.party(session, sender)  # cached: no query per message
        if party is None:
            raise Reject(f"swhub.ingress message without a known {SENDER_HEADER} (got {sender!r})")
        return party

    def _accept_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Accept a batch of ingress in ONE transaction (archive, workflow, queued copies). A message
        that is refused, unknown or an interchange raises BatchFailed: the batch is split around it
        and that one goes through _on_ingress, which records refusals in their own transactions."""
        with self.db.unit_of_work(batch=True) as session:
            prepared = []
            for index, delivery in enumerate(deliveries):  # decoded and checked first, then
                try:
                    party = self._sender(session, delivery)
                    prepared.append(
                        self.intake.prepare_in(
                            session,
                            delivery.envelope.body,
                            party.uscc,
                            frozenset(party.roles),
                            "amqp",
                            delivery.envelope.correlation_id or None,
                        )
                    )
                except Exception as exc:
                    raise BatchFailed(index, exc) from exc
            self.intake.prefetch_references(session, prepared)  # the batch's reference check: 1 query
            # what the batch's authority and answer checks read: 1 query per kind
            self.workflow.prefetch(session, [self.intake.accepted(p) for p in prepared])
            for index, item in enumerate(prepared):
                try:
                    result = self.intake.apply_in(session, item)
                except Exception as exc:
                    raise BatchFailed(index, exc) from exc
                if result.duplicate:
                    log.info("ingress duplicate of %s ignored", result.message_id)
            self._apply_straight_through(session, {p.row.id: i for i, p in enumerate(prepared)})

    def _apply_straight_through(self, session: Session, index_of: dict[str, int]) -> None:
        """The workflow, in this intake transaction, for the batch's messages whose partition had
        nothing on its way (straight.py), in the order accepted; as a partition consumer would apply
        them: the archive rows written first (the handlers read and update them), every hand-off key
        taken at once in sorted order, what the customs answers look up read once. A failure splits
        the batch around its message, which then goes through the partition queue."""
        items: list[StraightThrough] = session.info.pop(STRAIGHT, [])
        if not items:
            return
        write_archived(session)
        keys: set[str] = set()
        for item in items:
            keys.update(handoff.keys_for(item.message_type, item.keys))
        handoff.take(session, keys)
        # acceptance's prefetch (above, same transaction) read the forwarded copies the answers name
        answers.known_replies(
            session, {i.message_id: i.in_reply_to for i in items if i.message_type in answers.ANSWERS}
        )
        answers.prefetch_origins(
            session, [i.in_reply_to for i in items if i.message_type == "MT9999" and i.in_reply_to]
        )
        for item in items:
            try:
                self._apply(
                    session,
                    item.message_type,
                    item.sender,
                    item.model,
                    item.xml,
                    item.message_id,
                    item.headers,
                )
            except Exception as exc:
                raise BatchFailed(index_of[item.message_id], exc) from exc
        # the workflow's inbox says what it applied, whichever way the message came
        record_processed(session, self.workflow_inbox, [item.message_id for item in items])

    def _on_ingress(self, delivery: Delivery) -> None:
        with self.db.sessions() as session:
            party = self._sender(session, delivery)
        try:
            result = self.intake.receive(
                delivery.envelope.body,
                party.uscc,
                frozenset(party.roles),
                "amqp",
                delivery.envelope.correlation_id or None,  # customs: the hub message it answers
            )
        except IntakeRejected as exc:
            # archived with every problem; the sender learns why on its notice queue
            with self.db.unit_of_work() as session:
                outbound.send_json(
                    session,
                    party.uscc,
                    "Rejection",
                    {
                        "message_id": exc.message_id,
                        "status": exc.status,
                        "problems": [p.as_json() for p in exc.problems],
                        **({"layers": exc.layers} if exc.layers else {}),
                    },
                    bills=[],
                    correlation_id=exc.message_id,
                )
            return
        if result.duplicate:
            log.info("ingress duplicate of %s ignored", result.message_id)
        refused = [p for p in result.parts or [] if p.get("status") == "rejected"]
        if refused:  # an interchange partly refused: the sender learns which messages and why
            with self.db.unit_of_work() as session:
                for part in refused:
                    outbound.send_json(
                        session,
                        party.uscc,
                        "Rejection",
                        {
                            "message_id": part["receipt_id"],
                            "interchange_id": result.receipt.get("interchange_id"),
                            "status": part["http_status"],
                            "problems": part["problems"],
                        },
                        bills=[],
                        correlation_id=part["receipt_id"],
                    )

    def _prefetch_inbound(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        """First the hand-off locks of the WHOLE batch, in one sorted order, before anything is read
        (handoff.py): taken message by message, two workers' batches (a worker's partitions commit
        together, hub/db/batch.Grouping) could each hold a key the other waits for, and PostgreSQL
        would abort one of them. Then what the batch's customs answers look up, one query per kind:
        the forwarded ids they carried, and for MT9999s the copies they answer with those copies'
        bills. Nothing else: the batch's handlers change declarations, so those are read when each
        message applies. The models decoded here are kept for _on_inbound."""
        decoded: dict[str, tuple[Any, bytes | None]] = session.info.setdefault(_DECODED, {})
        keys: set[str] = set()
        for d in deliveries:
            try:
                model_and_xml = self._model_of(d.envelope)
                message_type = d.envelope.routing_key.split(".")[1]
            except Exception:  # its own turn raises it again, and the batch splits around it
                continue
            decoded[d.envelope.message_id] = model_and_xml
            keys.update(handoff.keys_for(message_type, business_keys(model_and_xml[0])))
        handoff.take(session, keys)
        self._prefetch_answers(
            session,
            [
                (
                    d.envelope.routing_key.split(".")[1],
                    str(d.envelope.headers.get(ARCHIVE_HEADER, d.envelope.message_id)),
                )
                for d in deliveries
            ],
        )

    @staticmethod
    def _prefetch_answers(session: Session, typed: Sequence[tuple[str, str]]) -> None:
        """What a batch's customs answers look up, one query per kind: the forwarded ids they carried,
        and for MT9999s the copies they answer with those copies' bills. `typed`: (type, archive id)."""
        replies = answers.prefetch_replies(session, [a for t, a in typed if t in answers.ANSWERS])
        receipts = [("MT9999", replies[a] or "", None) for t, a in typed if t == "MT9999" and replies.get(a)]
        answers.prefetch(session, receipts)
        answers.prefetch_origins(session, [forwarded for _, forwarded, _ in receipts])

    def _on_inbound(self, session: Session, delivery: Delivery) -> None:
        envelope = delivery.envelope
        message_type = envelope.routing_key.split(".")[1]
        sender = str(envelope.headers.get(SENDER_HEADER, ""))
        archive_id = str(envelope.headers.get(ARCHIVE_HEADER, envelope.message_id))
        kept = session.info.get(_DECODED, {}).pop(envelope.message_id, None)
        model, xml = kept if kept is not None else self._model_of(envelope)
        # before reading anything: a worker applying the message this one waits for (or releases)
        # must not miss it (handoff.py)
        handoff.take(session, handoff.keys_for(message_type, business_keys(model)))
        self._apply(session, message_type, sender, model, xml, archive_id, envelope.headers)
        straight.applied(session, envelope.routing_key)  # its partition has one fewer on its way

    def _apply(
        self,
        session: Session,
        message_type: str,
        sender: str,
        model: Any,
        xml: bytes | None,
        archive_id: str,
        headers: Any,
    ) -> None:
        with (
            metrics.stage_timer("workflow"),
            metrics.triggered_by(headers, message_type),
            outbound.carrying(model, xml),
        ):
            self.workflow.apply(session, message_type, sender, model, archive_id)

    def _model_of(self, envelope: Envelope) -> tuple[Any, bytes | None]:
        """The canonical model intake decoded (no parse) with the XML intake encoded from it (EDIFACT),
        or, for a message queued by a hub before issue 13 (an XML body), decoded from that XML."""
        if envelope.content_type == wire.CONTENT_TYPE:
            try:
                model, extra = wire.loads(envelope.body)
            except wire.WireError as exc:  # not something intake wrote: never retried
                raise Reject(f"inbound {envelope.message_id}: {exc}") from None
            xml = extra.get("xml")
            return model, xml.encode("utf-8") if isinstance(xml, str) else None
        return xmlcodec.decode(envelope.body, max_bytes=self.hub.settings.max_message_bytes), None

    # ----- customs over HTTP --------------------------------------------------------------------
    def _note_customs_delivery(self, message_id: str, error: str | None) -> None:
        """The archived copy says `sent` once customs took it (error None); else why not (the timeline)."""
        with self.db.unit_of_work(notify=False) as session:
            mark_delivered(session, message_id, error)

    def _not_taken(self, error: str) -> str:
        return f"not delivered yet: customs at {self.settings.customs_url} did not take it ({error})"

    def _to_customs_http(self, delivery: Delivery) -> None:
        """Push one message to customs; retried with back-off for ~30 s before the bus retries it."""
        if self._http is None:
            self._http = httpx.Client(timeout=10)
        envelope = delivery.envelope
        headers = {
            "Content-Type": envelope.content_type,
            "X-Message-Id": envelope.message_id,
            "X-Message-Type": envelope.routing_key.split(".", 1)[1],
        }
        if self.settings.customs_api_key:
            headers["X-API-Key"] = self.settings.customs_api_key
        delay, deadline, told = 0.2, time.monotonic() + 30, False
        response: httpx.Response | None
        while True:
            try:
                response = self._http.post(
                    f"{self.settings.customs_url}/inbox", content=envelope.body, headers=headers
                )
                error = f"customs answered {response.status_code}"
            except httpx.HTTPError as exc:
                response, error = None, f"{type(exc).__name__}: {exc}"
            if response is not None and response.status_code < 300:
                self._note_customs_delivery(envelope.message_id, None)
                return
            if response is not None and 400 <= response.status_code < 500:
                refused = (
                    f"customs refused {envelope.message_id}: {response.status_code} "
                    f"{json.dumps(response.text[:500])}"
                )
                self._note_customs_delivery(envelope.message_id, f"not delivered: {refused} (dead-lettered)")
                raise Reject(refused)
            if not told:  # the timeline says why at once, not only after the ~30 s of retries
                told = True
                self._note_customs_delivery(envelope.message_id, f"{self._not_taken(error)}; retrying")
            if time.monotonic() > deadline or self._stop.is_set():
                self._note_customs_delivery(
                    envelope.message_id,
                    f"{self._not_taken(error)}; the bus retries it up to HUB_DELIVERY_LIMIT times, then "
                    "dead-letters it (replay: POST /api/v1/dead-letters/{id}/replay)",
                )
                raise ConnectionError(error)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
