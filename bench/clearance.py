"""Clearance flow benchmark on RabbitMQ + PostgreSQL: N consignments of 20 containers each pushed
through the whole import flow, with the customs simulator as a separate process over AMQP:
manifest -> summary declaration -> (customs registers) -> per-container arrival and tally ->
release -> complete declaration -> (customs clears). Parties publish raw XML to `swhub.ingress`.

Reports, in the same run:
- consignments per second (first publish -> last consignment cleared);
- per-container arrival latency: arrival report published -> the hub's forward of it (MT3101) reaches
  customs' side of the bus (p50 / p99);
- release latency: last arrival of a consignment published -> its ReleaseNotice on the broker's queue;
- hub messages (in + out, archived) per second, and the ratio to raw bus throughput measured here
  with bench/bus_throughput.py's raw pika leg (confirm each publish, quorum queue, ack).
Usage: python bench/clearance.py [--consignments 10] [--containers 20] [--raw-messages 2000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika
import sqlalchemy as sa
import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bus_throughput import raw_pika  # noqa: E402

from hub.api.routes.clearance import install_service  # noqa: E402
from hub.bus.base import NOTICE_EXCHANGE, Delivery, QueueSpec, Topology  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db.clearance_tables import ClrDeclaration  # noqa: E402
from hub.db.models import Message  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from simulators.common.runner import SimulatorProcess  # noqa: E402
from simulators.customs.traffic import (  # noqa: E402
    TERMINAL,
    Shipment,
    arrival_xml,
    consignee,
    declaration_xml,
    manifest_xml,
    tally_xml,
)

BROKER, YARD, CUSTOMS = "91370200M3C0BRK01N", "91370200M3C0PRT01B", "11100000000013127D"
CONTAINER = re.compile(rb"<ID>([A-Z]{4}[0-9]{7})</ID>")


def parties_file(directory: Path) -> Path:
    path = directory / "parties.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "parties": [
                    {
                        "uscc": BROKER,
                        "name": "broker",
                        "roles": ["broker"],
                        "keys": [{"key": "bench-broker"}],
                        "entrusted_by": [consignee()],  # else every declaration is not_entrusted
                    },
                    {
                        "uscc": YARD,
                        "name": "yard",
                        "roles": ["port_operator"],
                        "terminal_code": TERMINAL,
                        "keys": [{"key": "bench-yard"}],
                    },
                    {
                        "uscc": CUSTOMS,
                        "name": "customs",
                        "roles": ["customs"],
                        "keys": [{"key": "bench-customs"}],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    return path


class Publisher:
    """A party publishing raw messages to swhub.ingress (confirmed, persistent)."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def send(self, sender: str, message_type: str, body: bytes) -> float:
        props = pika.BasicProperties(delivery_mode=2, headers={"x-swhub-sender": sender})
        self.channel.basic_publish("swhub.ingress", message_type, body, props, mandatory=True)
        return time.perf_counter()


def wait(predicate, what: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(amqp: str, pg_admin: str, n: int, containers: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    name = f"swhub_bench_clr_{tag}"
    admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    tmp = Path(tempfile.mkdtemp(prefix="bench-clr-"))
    sim = SimulatorProcess(
        "simulators.customs",
        cwd=ROOT,
        env={
            "CUSTOMS_SIM_AMQP_URL": amqp,
            "CUSTOMS_SIM_QUEUE": f"bench.{tag}.customs",
            "CUSTOMS_SIM_SENDER_USCC": CUSTOMS,
        },
    ).start()
    import os

    os.environ["HUB_CLEARANCE_QUEUE_PREFIX"] = f"bench.{tag}.clearance"
    os.environ["HUB_CLEARANCE_DECLARE_PARTY_QUEUES"] = "false"
    hub = Hub(
        Settings(
            database_url=pg_admin.rsplit("/", 1)[0] + f"/{name}",
            amqp_url=amqp,
            api_keys_file=parties_file(tmp),
            _env_file=None,
        )
    )  # type: ignore[call-arg]
    service = install_service(hub)
    hub.start()
    hub.bootstrap_parties()
    arrived: dict[str, float] = {}
    released: dict[str, float] = {}
    lock = threading.Lock()

    def on_forward(delivery: Delivery) -> None:
        found = CONTAINER.search(delivery.envelope.body)
        if found:
            with lock:
                arrived.setdefault(found.group(1).decode(), time.perf_counter())

    def on_release(delivery: Delivery) -> None:
        if not delivery.envelope.routing_key.endswith(".ReleaseNotice"):
            return  # the broker's other notices (receipts, DEC_DATA) are drained here too
        bill = re.search(rb"<BillNo>([^<]+)</BillNo>", delivery.envelope.body)
        with lock:
            released.setdefault(bill.group(1).decode() if bill else "?", time.perf_counter())

    hub.bus.declare(
        Topology(
            queues=(
                QueueSpec(f"bench.{tag}.arrivals", ((NOTICE_EXCHANGE, "customs.MT3101"),)),
                QueueSpec(f"bench.{tag}.releases", ((NOTICE_EXCHANGE, f"{BROKER}.#"),)),
                QueueSpec(f"bench.{tag}.yard", ((NOTICE_EXCHANGE, f"{YARD}.#"),)),
            )
        )
    )
    consumers = [
        hub.bus.consume(f"bench.{tag}.arrivals", on_forward),
        hub.bus.consume(f"bench.{tag}.releases", on_release),
    ]
    shipments = [Shipment.make(i + 1, containers) for i in range(n)]

    def count(state: str, kind: str) -> int:
        with hub.db.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(ClrDeclaration)
                    .where(ClrDeclaration.state == state, ClrDeclaration.kind == kind)
                )
                or 0
            )

    try:
        party = Publisher(amqp)
        started = time.perf_counter()
        for s in shipments:
            party.send(BROKER, "MT1101", manifest_xml(s))
            party.send(BROKER, "DecMessage", declaration_xml("summary", s, f"B{tag.upper()}{s.bill_no[-9:]}"))
        wait(lambda: count("registered", "summary") == n, "summaries registered", 300)
        sent: dict[str, float] = {}
        last_arrival: dict[str, float] = {}
        for s in shipments:
            for box in s.containers:
                sent[box] = party.send(YARD, "MT3101", arrival_xml(s.bill_no, box))
                party.send(YARD, "MT5101", tally_xml(s.bill_no, box))
            last_arrival[s.bill_no] = sent[s.containers[-1]]
        wait(lambda: len(released) == n, "releases", 600)
        with hub.db.sessions() as session:
            entries = dict(
                session.execute(
                    select(ClrDeclaration.bill_no, ClrDeclaration.entry_id).where(
                        ClrDeclaration.kind == "summary"
                    )
                ).all()
            )
        for s in shipments:
            party.send(
                BROKER,
                "DecMessage",
                declaration_xml(
                    "complete", s, f"C{tag.upper()}{s.bill_no[-9:]}", summary_entry_id=entries[s.bill_no]
                ),
            )
        wait(lambda: count("cleared", "complete") == n, "cleared", 300)
        elapsed = time.perf_counter() - started
        with hub.db.sessions() as session:
            messages = session.scalar(select(func.count()).select_from(Message)) or 0
        latencies = [(arrived[b] - sent[b]) * 1000 for b in sent if b in arrived]
        releases = [(released[b] - last_arrival[b]) * 1000 for b in last_arrival if b in released]
        return {
            "consignments": n,
            "containers": n * containers,
            "elapsed_s": elapsed,
            "consignments_per_s": n / elapsed,
            "hub_messages": messages,
            "hub_msg_per_s": messages / elapsed,
            "arrival_p50_ms": statistics.median(latencies),
            "arrival_p99_ms": pct(latencies, 0.99),
            "release_p50_ms": statistics.median(releases),
            "release_p99_ms": pct(releases, 0.99),
        }
    finally:
        for consumer in consumers:
            consumer.stop()
        service.stop()
        hub.stop()
        sim.stop()
        channel = pika.BlockingConnection(pika.URLParameters(amqp)).channel()
        for q in ("arrivals", "releases", "yard", "customs", "clearance.ingress", "clearance.workflow"):
            channel.queue_delete(f"bench.{tag}.{q}")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--consignments", type=int, default=10)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--raw-messages", type=int, default=2000)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    raw = raw_pika(args.amqp, args.raw_messages)
    r = run(args.amqp, args.database, args.consignments, args.containers)
    print(f"raw bus (bench/bus_throughput.py raw pika leg): {raw:8.0f} msg/s")
    print(
        f"clearance: {r['consignments']} consignments x {args.containers} containers in "
        f"{r['elapsed_s']:.1f} s = {r['consignments_per_s']:.2f} consignments/s"
    )
    print(
        f"hub messages archived (in + out): {r['hub_messages']} = {r['hub_msg_per_s']:.0f} msg/s; "
        f"ratio to raw bus: {r['hub_msg_per_s'] / raw:.2f}"
    )
    print(
        f"per-container arrival -> forwarded to customs: p50 {r['arrival_p50_ms']:.0f} ms, "
        f"p99 {r['arrival_p99_ms']:.0f} ms"
    )
    print(
        f"last arrival -> release notice at the broker: p50 {r['release_p50_ms']:.0f} ms, "
        f"p99 {r['release_p99_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
