"""Cost of one inbound message, in process, on PostgreSQL (issue 13): CPU ms and SQL statements.

A representative mix goes through the whole hub (ingress consumer -> intake -> outbox relay ->
workflow consumer -> outbox relay -> notices), on the embedded bus: per consignment a manifest
(MT1101 XML), a summary declaration (DecMessage XML), and per container an arrival report (CODECO
EDIFACT) and a tally report (MT5101 XML). No customs simulator: customs' queue is drained.

Reports per inbound message: process CPU ms (every thread: consumers, relay, bus), SQL statements
(a `before_cursor_execute` listener), transactions begun, pool pre-pings, and which statements.
Usage: python bench/per_message_cost.py [--consignments 12] [--containers 5]
       [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from clearance_harness import BROKER, YARD, parties_file  # noqa: E402

from hub.api.routes.clearance import install_service  # noqa: E402
from hub.bus.base import NOTICE_EXCHANGE, Delivery, Envelope, QueueSpec, Topology  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db.models import Message, OutboxMessage  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.services.clearance.settings import INGRESS_EXCHANGE, SENDER_HEADER  # noqa: E402
from messages.convert import convert  # noqa: E402
from simulators.customs.traffic import (  # noqa: E402
    Shipment,
    arrival_xml,
    declaration_xml,
    manifest_xml,
    tally_xml,
)


def traffic(shipments: list[Shipment], tag: str) -> list[tuple[str, str, bytes]]:
    out: list[tuple[str, str, bytes]] = []
    for s in shipments:
        out.append((BROKER, "MT1101", manifest_xml(s)))
        out.append((BROKER, "DecMessage", declaration_xml("summary", s, f"B{tag}{s.bill_no[-9:]}")))
    for s in shipments:
        for box in s.containers:
            codeco = convert(arrival_xml(s.bill_no, box), to="edifact")[0].content
            out.append((YARD, "CODECO", codeco))
            out.append((YARD, "MT5101", tally_xml(s.bill_no, box)))
    return out


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


class Counter:
    """SQL statements (by first words), transactions and pre-pings of one engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.begins = 0
        self.pings = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        dialect = engine.dialect
        real_ping = dialect.do_ping

        def ping(conn: Any) -> bool:
            if self.on:
                self.pings += 1
            return bool(real_ping(conn))

        dialect.do_ping = ping  # type: ignore[method-assign]

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            verb = statement.split(None, 1)[0].upper()
            table = _TABLE.search(statement)
            self.statements[f"{verb} {table.group(1) if table else ''}".strip()] += 1

    def _begin(self, _conn: Any) -> None:
        if self.on:
            self.begins += 1


class Parses:
    """Full XML parses into a model (messages.xml.layers.check_layers: intake's layers and
    messages.xml.decode both end there), with their thread CPU time."""

    def __init__(self) -> None:
        from messages.xml import layers

        self.count, self.cpu, self.on = 0, 0.0, False
        real = layers.check_layers

        def counted(data: bytes, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return real(data, **kw)
            finally:
                if self.on:
                    self.count += 1
                    self.cpu += time.thread_time() - started

        layers.check_layers = counted  # type: ignore[assignment]
        self.wire_cpu = 0.0
        try:  # the model's JSON that replaces the workflow's parse (absent before issue 13)
            from messages.models import wire
        except ImportError:
            return
        for name in ("dumps", "loads"):
            setattr(wire, name, self._timed(getattr(wire, name)))

    def _timed(self, real: Any) -> Any:
        def timed(*args: Any, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return real(*args, **kw)
            finally:
                if self.on:
                    self.wire_cpu += time.thread_time() - started

        return timed


def wait(predicate: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def run(pg_admin: str, consignments: int, containers: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    name = f"swhub_bench_cost_{tag}"
    admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    tmp = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    os.environ["HUB_CLEARANCE_QUEUE_PREFIX"] = f"bench.{tag}.clearance"
    os.environ["HUB_CLEARANCE_DECLARE_PARTY_QUEUES"] = "false"
    settings = Settings(
        database_url=pg_admin.rsplit("/", 1)[0] + f"/{name}",
        amqp_url=None,
        api_keys_file=parties_file(tmp),
        _env_file=None,
    )  # type: ignore[call-arg]
    hub = Hub(settings)
    install_service(hub)
    hub.start()
    hub.bootstrap_parties()
    drained: list[int] = []

    def drain(_: Delivery) -> None:
        drained.append(1)

    hub.bus.declare(Topology(queues=(QueueSpec(f"bench.{tag}.notices", ((NOTICE_EXCHANGE, "#"),)),)))
    consumer = hub.bus.consume(f"bench.{tag}.notices", drain)
    counter, parses = Counter(hub.db.engine), Parses()

    probe = sa.create_engine(settings.database_url)  # the bench's own polls: not counted

    def settled(expected: int) -> bool:
        with probe.connect() as conn:
            open_in = conn.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == "in", Message.status.in_(("received", "accepted")))
            )
            total = conn.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
            unsent = conn.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
            )
        return open_in == 0 and unsent == 0 and (total or 0) >= expected

    def push(messages: list[tuple[str, str, bytes]], already: int) -> None:
        for sender, kind, body in messages:
            envelope = Envelope(body, kind, str(uuid.uuid4()), {SENDER_HEADER: sender})
            hub.bus.publish(INGRESS_EXCHANGE, envelope)
        wait(lambda: settled(already + len(messages)), "every message applied", 120)

    try:
        warm = traffic([Shipment.make(900 + i, containers) for i in range(2)], tag.upper())
        push(warm, 0)  # imports, compiled statements, pool connections: not what a message costs
        measured = traffic([Shipment.make(i + 1, containers) for i in range(consignments)], tag.upper())
        time.sleep(0.5)  # let the relay's and the sweep's idle polls settle before measuring
        counter.on = parses.on = True
        cpu, wall = time.process_time(), time.perf_counter()
        push(measured, len(warm))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        counter.on = parses.on = False
    finally:
        consumer.stop()
        hub.stop()
        probe.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"n": len(measured), "cpu": cpu, "wall": wall, "counter": counter, "parses": parses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consignments", type=int, default=12)
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument(
        "--pg",
        default=os.environ.get("HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    out = run(args.pg, args.consignments, args.containers)
    n, counter = out["n"], out["counter"]
    total = sum(counter.statements.values())
    print(f"inbound messages measured: {n} ({args.consignments} consignments x {args.containers} containers)")
    print(f"wall {out['wall']:.2f} s; process CPU {out['cpu'] * 1000 / n:.2f} ms per inbound message")
    print(f"SQL statements per inbound message: {total / n:.1f}")
    print(
        f"transactions begun: {counter.begins / n:.1f}; pool pre-pings: {counter.pings / n:.1f} per message"
    )
    parsed = out["parses"]
    print(f"full XML parses: {parsed.count / n:.2f} per inbound message, {parsed.cpu * 1000 / n:.2f} ms CPU")
    print(f"model JSON (messages.models.wire dumps + loads): {parsed.wire_cpu * 1000 / n:.2f} ms CPU")
    print("most frequent statements (count per inbound message):")
    for statement, count in counter.statements.most_common(14):
        print(f"  {count / n:6.2f}  {statement}")


if __name__ == "__main__":
    main()
