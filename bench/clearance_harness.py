"""The clearance flow on RabbitMQ + PostgreSQL with real `swhub worker` processes, shared by
bench/clearance.py (throughput, cost per message) and tests/hub/test_hub_workers_kill.py (3 workers,
one SIGKILLed mid-run).

Each run has a private vhost and a private database, so nothing else on the broker answers or eats
its messages. Parties publish raw XML to `swhub.ingress` as they would; the customs simulator is a
separate process answering over AMQP. After the flow, `check()` reads what the hub recorded and counts
what must be zero: per-bill order inversions, stuck declarations, unresolved parked messages,
duplicated effects."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pika
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.bus.base import NOTICE_EXCHANGE, Delivery, QueueSpec, Topology  # noqa: E402
from hub.bus.rabbitmq import RabbitBus  # noqa: E402
from hub.bus.vhost import private_vhost  # noqa: E402
from simulators.common.runner import SimulatorProcess, free_port  # noqa: E402
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
METRICS_TOKEN = "bench-metrics"
WORKFLOW_INBOX = "swhub.clearance.workflow"
CONTAINER = re.compile(rb"<ID>([A-Z]{4}[0-9]{7})</ID>")
REFERENCE = re.compile(rb"<MessageID>([^<]+)</MessageID>")


def parties_file(directory: Path) -> Path:
    path = directory / "parties.yaml"
    parties = [
        {
            "uscc": BROKER,
            "name": "broker",
            "roles": ["broker"],
            "keys": [{"key": "bench-broker"}],
            "entrusted_by": [consignee()],
        },
        {
            "uscc": YARD,
            "name": "yard",
            "roles": ["port_operator"],
            "terminal_code": TERMINAL,
            "keys": [{"key": "bench-yard"}],
        },
        {"uscc": CUSTOMS, "name": "customs", "roles": ["customs"], "keys": [{"key": "bench-customs"}]},
    ]
    path.write_text(yaml.safe_dump({"parties": parties}), encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), children excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    metrics_port: int
    log: Path

    def metrics(self) -> str:
        return httpx.get(
            f"http://127.0.0.1:{self.metrics_port}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        ).text

    def statements(self) -> float:
        return self.sample("swhub_db_statements_total")

    def sample(self, series: str) -> float:
        """One series of this worker's /metrics, e.g. 'swhub_batch_fallbacks_total{how="whole"}'."""
        found = re.search(rf"^{re.escape(series)} (\S+)$", self.metrics(), re.M)
        return float(found.group(1)) if found else 0.0

    def last_delivery(self, queue: str) -> float:
        """When this worker last received from `queue` (0: never): the active consumer of a
        single-active-consumer queue is the one receiving."""
        pattern = rf'^swhub_partition_last_delivery_timestamp{{queue="{re.escape(queue)}"}} (\S+)$'
        found = re.search(pattern, self.metrics(), re.M)
        return float(found.group(1)) if found else 0.0

    def alive(self) -> bool:
        return self.process.poll() is None


def spawn_worker(env: dict[str, str]) -> Worker:
    """`swhub worker` as a child process with `env`, serving its metrics on a port of its own."""
    port = free_port("127.0.0.1")
    log = Path(tempfile.mkstemp(prefix="swhub-worker-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "worker"],
            env={**env, "HUB_METRICS_PORT": str(port), "HUB_METRICS_TOKEN": METRICS_TOKEN},
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    return Worker(process, port, log)


@dataclass
class Stack:
    amqp: str
    database: str
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    engine: sa.Engine | None = None

    def start_worker(self) -> Worker:
        worker = spawn_worker(self.env)
        self.workers.append(worker)
        return worker

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every worker serves its metrics, which it does once its consumers have started
        (the broker reports only the active consumer of a single-active-consumer queue, so its
        consumer count cannot tell)."""
        deadline = time.monotonic() + timeout
        pending = list(self.workers)
        while pending and time.monotonic() < deadline:
            for worker in list(pending):
                if not worker.alive():
                    raise RuntimeError(f"worker exited: {worker.log.read_text()[-3000:]}")
                try:
                    if 'swhub_consumer_active{queue="swhub.clearance.ingress"} 1.0' in worker.metrics():
                        pending.remove(worker)
                except httpx.HTTPError:
                    pass  # not listening yet
            time.sleep(0.3)
        if pending:
            raise RuntimeError("workers did not start consuming in time")

    def kill(self, worker: Worker) -> None:
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(10)

    def scalar(self, sql: str, **params: Any) -> Any:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())


@contextmanager
def stack(amqp: str, pg_admin: str, partitions: int = 8) -> Iterator[Stack]:
    """A private vhost and database, the customs simulator; workers are started by the caller."""
    name = f"swhub_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database = pg_admin.rsplit("/", 1)[0] + f"/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="swhub-bench-"))
    try:
        with private_vhost(amqp, "swhub-bench") as vhost:
            env = {
                **os.environ,
                "HUB_DATABASE_URL": database,
                "HUB_AMQP_URL": vhost,
                "HUB_API_KEYS_FILE": str(parties_file(tmp)),
                "HUB_PARTITIONS": str(partitions),
                "HUB_CLEARANCE_DECLARE_PARTY_QUEUES": "false",
                "HUB_METRICS_TOKEN": METRICS_TOKEN,
                "HUB_METRICS_HOST": "127.0.0.1",
                "PYTHONPATH": str(ROOT),
            }
            sim = SimulatorProcess(
                "simulators.customs",
                cwd=ROOT,
                env={"CUSTOMS_SIM_AMQP_URL": vhost, "CUSTOMS_SIM_SENDER_USCC": CUSTOMS},
            ).start()
            run = Stack(vhost, database, env, engine=sa.create_engine(database))
            try:
                yield run
            finally:
                for worker in run.workers:
                    if worker.alive():
                        worker.process.send_signal(signal.SIGTERM)
                for worker in run.workers:
                    try:
                        worker.process.wait(20)
                    except subprocess.TimeoutExpired:
                        worker.process.kill()
                sim.stop()
                if run.engine is not None:
                    run.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Party:
    """A party publishing raw messages to swhub.ingress (confirmed, persistent), in one order."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def send(self, sender: str, message_type: str, body: bytes) -> float:
        props = pika.BasicProperties(delivery_mode=2, headers={"x-swhub-sender": sender})
        self.channel.basic_publish("swhub.ingress", message_type, body, props, mandatory=True)
        return time.perf_counter()

    def close(self) -> None:
        self.connection.close()


@dataclass
class FlowResult:
    elapsed_s: float
    arrival_ms: list[float]
    release_ms: list[float]
    published: dict[str, list[str]]  # bill -> the sender's references, in publish order
    phases_s: dict[str, float] = field(default_factory=dict)  # time spent in each phase of the flow


def wait(predicate: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def count_declarations(run: Stack, state: str, kind: str) -> int:
    return int(
        run.scalar(
            "SELECT count(*) FROM clr_declaration WHERE state = :state AND kind = :kind",
            state=state,
            kind=kind,
        )
        or 0
    )


def flow(
    run: Stack,
    n: int,
    containers: int,
    *,
    during_arrivals: Callable[[int], None] | None = None,
    timeout: float = 600.0,
) -> FlowResult:
    """Manifest and summary declaration per bill; per container arrival then tally; release; the
    complete declaration; customs clears. `during_arrivals(i)` is called after the i-th container."""
    tag = uuid.uuid4().hex[:6].upper()
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
            return
        bill = re.search(rb"<BillNo>([^<]+)</BillNo>", delivery.envelope.body)
        with lock:
            released.setdefault(bill.group(1).decode() if bill else "?", time.perf_counter())

    bus = RabbitBus(run.amqp, name="bench-observer")
    bus.declare(
        Topology(
            queues=(
                QueueSpec("bench.arrivals", ((NOTICE_EXCHANGE, "customs.MT3101"),)),
                QueueSpec("bench.releases", ((NOTICE_EXCHANGE, f"{BROKER}.#"),)),
                QueueSpec("bench.yard", ((NOTICE_EXCHANGE, f"{YARD}.#"),)),
            )
        )
    )
    consumers = [bus.consume("bench.arrivals", on_forward), bus.consume("bench.releases", on_release)]
    shipments = [Shipment.make(i + 1, containers) for i in range(n)]
    published: dict[str, list[str]] = {s.bill_no: [] for s in shipments}
    party = Party(run.amqp)

    def send(bill: str, sender: str, message_type: str, body: bytes, reference: str | None = None) -> float:
        found = REFERENCE.search(body)
        published[bill].append(reference or (found.group(1).decode() if found else ""))
        return party.send(sender, message_type, body)

    try:
        started = time.perf_counter()
        for s in shipments:
            send(s.bill_no, BROKER, "MT1101", manifest_xml(s))
            csn = f"B{tag}{s.bill_no[-9:]}"
            send(s.bill_no, BROKER, "DecMessage", declaration_xml("summary", s, csn), csn)
        wait(lambda: count_declarations(run, "registered", "summary") == n, "summaries registered", timeout)
        phases = {"manifests+summaries registered": time.perf_counter() - started}
        sent: dict[str, float] = {}
        last_arrival: dict[str, float] = {}
        done = 0
        for s in shipments:
            for box in s.containers:
                sent[box] = send(s.bill_no, YARD, "MT3101", arrival_xml(s.bill_no, box))
                send(s.bill_no, YARD, "MT5101", tally_xml(s.bill_no, box))
                done += 1
                if during_arrivals is not None:
                    during_arrivals(done)
            last_arrival[s.bill_no] = sent[s.containers[-1]]
        phases["arrivals+tallies published"] = time.perf_counter() - started - sum(phases.values())
        wait(lambda: len(released) == n, "releases", timeout)
        phases["until released"] = time.perf_counter() - started - sum(phases.values())
        entries = dict(run.rows("SELECT bill_no, entry_id FROM clr_declaration WHERE kind = 'summary'"))
        for s in shipments:
            csn = f"C{tag}{s.bill_no[-9:]}"
            body = declaration_xml("complete", s, csn, summary_entry_id=entries[s.bill_no])
            send(s.bill_no, BROKER, "DecMessage", body, csn)
        wait(lambda: count_declarations(run, "cleared", "complete") == n, "cleared", timeout)
        elapsed = time.perf_counter() - started
        phases["complete declarations cleared"] = elapsed - sum(phases.values())
    finally:
        party.close()
        for consumer in consumers:
            consumer.stop()
        bus.close()
    return FlowResult(
        elapsed,
        [(arrived[b] - sent[b]) * 1000 for b in sent if b in arrived],
        [(released[b] - last_arrival[b]) * 1000 for b in last_arrival if b in released],
        published,
        {k: round(v, 2) for k, v in phases.items()},
    )


def check(run: Stack, result: FlowResult, n: int, containers: int) -> dict[str, int]:
    """What must be zero after a run (and the counts they are judged against)."""
    applied = dict(
        run.rows(
            "SELECT m.external_id, i.processed_at FROM message m JOIN inbox i "
            "ON i.message_id = m.id AND i.consumer = :inbox WHERE m.direction = 'in'",
            inbox=WORKFLOW_INBOX,
        )
    )
    inversions = missing = 0
    for references in result.published.values():
        times = [applied.get(r) for r in references]
        missing += sum(t is None for t in times)
        present = [t for t in times if t is not None]
        inversions += sum(later < earlier for earlier, later in zip(present, present[1:], strict=False))
    out = {
        (kind, receiver): count
        for kind, receiver, count in run.rows(
            "SELECT message_type, receiver, count(*) FROM message WHERE direction = 'out' "
            "GROUP BY message_type, receiver"
        )
    }
    return {
        "order_inversions": inversions,
        "never_applied": missing,
        "declarations_not_cleared": int(
            run.scalar("SELECT count(*) FROM clr_declaration WHERE kind = 'complete' AND state <> 'cleared'")
            or 0
        ),
        "parked_unresolved": int(
            run.scalar("SELECT count(*) FROM clr_parked WHERE resolved_at IS NULL") or 0
        ),
        "duplicate_releases": int(out.get(("ReleaseNotice", BROKER), 0)) - n,
        "duplicate_arrival_forwards": int(out.get(("MT3101", "customs"), 0)) - n * containers,
        "duplicate_declaration_forwards": int(out.get(("DecMessage", "customs"), 0)) - 2 * n,
        "dead_letters": int(run.scalar("SELECT count(*) FROM dead_letter") or 0),
    }
