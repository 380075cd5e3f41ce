"""Port day benchmark on RabbitMQ + PostgreSQL: a simulated day at one terminal, with the port
simulator as its own process over AMQP (scaled clock), the customs simulator over AMQP, the hub in
this process (API served by uvicorn, workflow consumers, relay), and brokers filing each bill's summary
declaration over HTTP once its manifest is at the hub, before the vessel arrives.

Default: 5 vessel calls x 20 consignments x 20 containers = 2,000 containers; calls spread over the
day, each discharged at one box per `--interval` simulated seconds, the port clock `--factor` times
faster than wall time. Reports, from the same run:
- wall time from the first manifest to the last container gated out at the port simulator;
- hub messages per second: every row of the hub's message table (in + out, archived) / wall time;
- per container: arrival report delivered by the port simulator (gate-in) -> the hub's ReleaseNotice
  for it applied at the port simulator, p50 / p99 (includes waiting for the bill's other containers:
  the hub releases a bill once all its containers arrived); and per bill: last arrival -> release;
- per inbound message: SQL statements of every hub process (the API and relay here, the workers)
  and, with `--workers N`, the workers' CPU ms (their utime + stime; this process also runs the
  bench's own driver);
- baseline: raw pika publish (confirm each) + consume/ack of as many messages as the hub archived
  (bench/bus_throughput.py's raw leg), measured in the same run, and the ratio hub / raw.
Usage: python bench/port_day.py [--calls 5 --consignments 20 --containers 20] [--append-docs]
Smoke: python bench/port_day.py --calls 1 --consignments 2 --containers 5 --factor 1000
Saturated (the hub keeps up with a --factor 2000 day): --factor 5000 --workers 1
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pika
import sqlalchemy as sa
import uvicorn
import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bus_throughput import raw_pika  # noqa: E402
from clearance_harness import Worker, cpu_seconds, spawn_worker  # noqa: E402

from hub.api.app import create_app  # noqa: E402
from hub.bus.vhost import private_vhost  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db.clearance_tables import ClrConsignment  # noqa: E402
from hub.db.models import Message, MessageRef  # noqa: E402
from hub.observability.metrics import REGISTRY  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from messages.xml import samples  # noqa: E402
from simulators.common.clock import SHANGHAI  # noqa: E402
from simulators.common.runner import SimulatorProcess, free_port  # noqa: E402
from simulators.customs.traffic import TERMINAL, Shipment, consignee, declaration_xml  # noqa: E402

BROKER, YARD, CUSTOMS = "91370200M3C0BRK01N", "91370200M3C0PRT01B", "11100000000013127D"
BROKER_KEY, CONTROL_KEY = "bench-broker", "bench-port-control"
DAY = datetime(2026, 11, 23, tzinfo=SHANGHAI)  # a Monday
DOCS = ROOT / "docs" / "benchmarks.md"


def parties_file(directory: Path) -> Path:
    parties: list[dict[str, Any]] = [
        {
            "uscc": BROKER,
            "name": "carrier agent / broker",
            "roles": ["broker"],
            "keys": [{"key": BROKER_KEY}],
            "entrusted_by": [consignee()],  # else every declaration is refused not_entrusted
        },
        {
            "uscc": YARD,
            "name": "terminal",
            "roles": ["port_operator"],
            "terminal_code": TERMINAL,
            "keys": [{"key": "bench-yard"}],
        },
        {"uscc": CUSTOMS, "name": "customs", "roles": ["customs"], "keys": [{"key": "bench-customs"}]},
    ]
    path = directory / "parties.yaml"
    path.write_text(yaml.safe_dump({"parties": parties}, allow_unicode=True), encoding="utf-8")
    return path


def vessel_calls(tag: str, calls: int, consignments: int, containers: int, interval: float) -> list[dict]:
    """Calls spread over the day: manifest 1 h before arrival, discharge from 30 min after it."""
    spacing = timedelta(hours=24) / calls
    out = []
    serial = random.randrange(0, 10**5)  # different boxes run to run: the broker is shared
    for k in range(calls):
        arrival = DAY + timedelta(hours=1) + k * spacing
        cons = []
        for j in range(consignments):
            boxes = []
            for _ in range(containers):
                boxes.append({"number": samples.container_no("PDY", serial % 1_000_000)})
                serial += 1
            cons.append({"bill_no": f"PD{tag.upper()}{k:02d}{j:04d}", "containers": boxes})
        out.append(
            {
                "call_id": f"DAY-{k + 1}",
                "vessel_name": f"COSCO DAY {k + 1}",
                "voyage_no": f"{k + 1:03d}E",
                "arrival": arrival.isoformat(),
                "manifest_at": (arrival - timedelta(hours=1)).isoformat(),
                "discharge_start": (arrival + timedelta(minutes=30)).isoformat(),
                "discharge_interval_seconds": interval,
                "consignments": cons,
            }
        )
    return out


@contextmanager
def run_vhost(amqp_url: str, shared: bool) -> Iterator[str]:
    """A vhost of its own for the run (hub.bus.vhost): on a shared vhost concurrent runs process and
    answer each other's messages (seen: foreign customs answers clearing or inspecting this run's
    declarations). `shared`: the given vhost."""
    if shared:
        yield amqp_url
        return
    with private_vhost(amqp_url, "swhub-bench") as url:
        yield url


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Filer(threading.Thread):
    """The brokers: each bill's summary declaration over HTTP as soon as its manifest is at the hub."""

    def __init__(self, hub: Hub, hub_url: str, calls: list[dict]) -> None:
        super().__init__(name="bench-filer", daemon=True)
        self.hub, self.hub_url, self.calls = hub, hub_url, calls
        self.filed: dict[str, float] = {}  # bill -> epoch filed
        self.errors: list[str] = []
        self.stop = threading.Event()

    def _known(self, bills: list[str]) -> int:
        with self.hub.db.sessions() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(ClrConsignment).where(ClrConsignment.bill_no.in_(bills))
                )
                or 0
            )

    def run(self) -> None:
        client = httpx.Client(timeout=60, headers={"X-API-Key": BROKER_KEY})
        for call in self.calls:
            bills = [c["bill_no"] for c in call["consignments"]]
            while self._known(bills) < len(bills) and not self.stop.wait(0.2):
                pass
            for cons in call["consignments"]:
                shipment = Shipment(cons["bill_no"], tuple(b["number"] for b in cons["containers"]))
                seq = f"A26{random.randrange(10**15):015d}"
                response = client.post(
                    f"{self.hub_url}/api/v1/messages", content=declaration_xml("summary", shipment, seq)
                )
                if response.status_code != 202:
                    self.errors.append(f"{cons['bill_no']}: {response.status_code} {response.text[:200]}")
                self.filed[cons["bill_no"]] = time.time()
        client.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    db_name = f"swhub_bench_day_{tag}"
    admin = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    prefix = f"bench.{tag}"
    queues = [f"{prefix}.customs", f"{prefix}.port"]
    queues += [f"{prefix}.clearance.{q}" for q in ("ingress", "customs-gateway")]
    queues += [f"{prefix}.clearance.workflow.p{k}" for k in range(Settings(_env_file=None).partitions)]  # type: ignore[call-arg]
    customs = SimulatorProcess(
        "simulators.customs",
        cwd=ROOT,
        env={
            "CUSTOMS_SIM_AMQP_URL": args.amqp,
            "CUSTOMS_SIM_QUEUE": f"{prefix}.customs",
            "CUSTOMS_SIM_SENDER_USCC": CUSTOMS,
        },
    ).start()
    os.environ["HUB_CLEARANCE_QUEUE_PREFIX"] = f"{prefix}.clearance"
    os.environ["HUB_CLEARANCE_DECLARE_PARTY_QUEUES"] = "false"
    hub = Hub(
        Settings(
            database_url=args.database.rsplit("/", 1)[0] + f"/{db_name}",
            amqp_url=args.amqp,
            api_keys_file=parties_file(Path(tempfile.mkdtemp(prefix="bench-day-"))),
            _env_file=None,
        )  # type: ignore[call-arg]
    )
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    workers = []
    if args.workers:  # the API (and a relay) here; intake and workflow in N `swhub worker` processes
        hub.start(consumers=False)
        hub.bootstrap_parties()
        env = {
            **os.environ,
            "HUB_DATABASE_URL": hub.settings.database_url,
            "HUB_AMQP_URL": args.amqp,
            "HUB_API_KEYS_FILE": str(hub.settings.api_keys_file),
            "PYTHONPATH": str(ROOT),
        }
        workers = [spawn_worker(env) for _ in range(args.workers)]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(hub, start=not args.workers), host="127.0.0.1", port=hub_port, log_level="warning"
        )
    )
    server_thread = threading.Thread(target=server.run, daemon=True)
    server_thread.start()
    port: SimulatorProcess | None = None
    filer: Filer | None = None
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline:
                raise SystemExit("hub did not start")
            time.sleep(0.1)
        port = SimulatorProcess(
            "simulators.port",
            cwd=ROOT,
            env={
                "PORT_SIM_AMQP_URL": args.amqp,
                "PORT_SIM_QUEUE": f"{prefix}.port",
                "PORT_SIM_API_KEY": CONTROL_KEY,
                "PORT_SIM_CLOCK": f"manual:{(DAY - timedelta(seconds=30)).isoformat()}",
                "PORT_SIM_TERMINAL_CODE": TERMINAL,
                "PORT_SIM_TERMINAL_USCC": YARD,
                "PORT_SIM_CARRIER_USCC": BROKER,
            },
        ).start()
        control = httpx.Client(
            base_url=f"{port.base_url}/control", headers={"X-API-Key": CONTROL_KEY}, timeout=120
        )
        calls = vessel_calls(tag, args.calls, args.consignments, args.containers, args.interval)
        for call in calls:
            response = control.post("/vessel-calls", json=call)
            if response.status_code != 201:
                raise SystemExit(f"vessel call refused: {response.text[:2000]}")
        total = args.calls * args.consignments * args.containers
        wait_ready(workers)
        cost0 = cost(workers)
        filer = Filer(hub, hub_url, calls)
        filer.start()
        started = time.time()
        control.post("/clock", json={"mode": "scaled", "factor": args.factor}).raise_for_status()
        last_report, status = started, {}
        while True:
            status = httpx.get(f"{port.base_url}/status", timeout=60).json()
            now = time.time()
            if status["gated_out"] >= total or now - started > args.timeout:
                break
            if now - last_report >= 30:
                print(
                    f"  {now - started:6.0f} s  sim {status['clock']['now'][:16]}"
                    f"  sent {sum(status['sent'].values())}"
                    f"  gated out {status['gated_out']}/{total}  queued {status['queued']}",
                    flush=True,
                )
                last_report = now
            time.sleep(1)
        finished = time.time()
        elapsed = finished - started
        cpu_s, statements = (b - a for a, b in zip(cost0, cost(workers), strict=True))
        rows = httpx.get(f"{port.base_url}/containers", timeout=120).json()
        with hub.db.sessions() as session:
            # only this run's messages (their bill refs): on a shared broker every hub's ingress queue is
            # bound to swhub.ingress `#`, so other runs' traffic lands in this archive too
            ours = (
                select(MessageRef.message_id)
                .where(MessageRef.kind == "bill", MessageRef.value.like(f"PD{tag.upper()}%"))
                .distinct()
            )
            by_direction = dict(
                session.execute(
                    select(Message.direction, func.count())
                    .where(Message.id.in_(ours))
                    .group_by(Message.direction)
                ).all()
            )
            archived = session.scalar(select(func.count()).select_from(Message)) or 0
        messages = sum(by_direction.values())
        latencies = [
            r["release_received_epoch"] - r["arrival_sent_epoch"]
            for r in rows
            if r["release_received_epoch"] and r["arrival_sent_epoch"]
        ]
        by_bill: dict[str, list[dict]] = {}
        for r in rows:
            by_bill.setdefault(r["bill_no"], []).append(r)
        bill_latencies = [
            min(r["release_received_epoch"] for r in boxes) - max(r["arrival_sent_epoch"] for r in boxes)
            for boxes in by_bill.values()
            if all(r["release_received_epoch"] and r["arrival_sent_epoch"] for r in boxes)
        ]
        first_arrival = {
            call["call_id"]: min(
                (
                    r["arrival_sent_epoch"]
                    for r in rows
                    if r["call_id"] == call["call_id"] and r["arrival_sent_epoch"]
                ),
                default=None,
            )
            for call in calls
        }
        early = sum(
            1
            for call in calls
            for cons in call["consignments"]
            if cons["bill_no"] in filer.filed
            and (
                first_arrival[call["call_id"]] is None
                or filer.filed[cons["bill_no"]] < first_arrival[call["call_id"]]
            )
        )
        return {
            "calls": args.calls,
            "consignments": args.calls * args.consignments,
            "containers": total,
            "gated_out": status["gated_out"],
            "outside_hours": status["gated_out_outside_office_hours"],
            "elapsed_s": elapsed,
            "sim_span": status["clock"]["now"],
            "port_sent": sum(status["sent"].values()),
            "port_failed": status["failed"],
            "port_notices": status["notices"],
            "hub_messages": messages,
            "hub_archived_all": archived,
            "hub_in": by_direction.get("in", 0),
            "hub_out": by_direction.get("out", 0),
            "hub_msg_per_s": messages / elapsed,
            # the workers' CPU (this process also runs the bench's own driver and filer) and every
            # hub process's SQL (the API and relay here, intake and workflow in the workers)
            "worker_cpu_ms_per_inbound": cpu_s * 1000 / max(1, by_direction.get("in", 0))
            if workers
            else None,
            "sql_per_inbound": statements / max(1, by_direction.get("in", 0)),
            "containers_per_s": status["gated_out"] / elapsed,
            "lat_p50": statistics.median(latencies) if latencies else float("nan"),
            "lat_p99": pct(latencies, 0.99) if latencies else float("nan"),
            "bill_p50": statistics.median(bill_latencies) if bill_latencies else float("nan"),
            "bill_p99": pct(bill_latencies, 0.99) if bill_latencies else float("nan"),
            "summaries_early": early,
            "filer_errors": filer.errors[:5],
        }
    finally:
        if filer is not None:
            filer.stop.set()
        if port is not None:
            port.stop()
        customs.stop()
        server.should_exit = True
        server_thread.join(30)
        for worker in workers:
            worker.process.terminate()
            worker.process.wait(30)
        if args.workers:
            hub.stop()
        channel = pika.BlockingConnection(pika.URLParameters(args.amqp)).channel()
        for name in queues:
            channel.queue_delete(name)
        channel.connection.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def wait_ready(workers: list[Worker], timeout: float = 120.0) -> None:
    """Until every worker serves its metrics (it does once its consumers have started), so their
    start-up is not counted in the run's cost."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        while True:
            if not worker.alive():
                raise SystemExit(f"worker exited: {worker.log.read_text()[-3000:]}")
            try:
                if "swhub_consumer_active{" in worker.metrics():
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("worker did not start")
            time.sleep(0.2)


def cost(workers: list[Worker]) -> tuple[float, float]:
    """(the workers' CPU seconds, SQL statements of the workers and of this process's hub) so far."""
    cpu = sum(cpu_seconds(w.process.pid) for w in workers)
    local = REGISTRY.get_sample_value("swhub_db_statements_total") or 0.0
    return cpu, local + sum(w.statements() for w in workers)


def table(r: dict[str, Any], raw: float, raw_n: int, args: argparse.Namespace) -> str:
    ratio = r["hub_msg_per_s"] / raw
    return "\n".join(
        [
            "| figure | value |",
            "|---|---:|",
            f"| vessel calls x consignments x containers | {r['calls']} x "
            f"{r['consignments'] // r['calls']} x {r['containers'] // r['consignments']} = "
            f"{r['containers']:,} containers |",
            f"| port clock | x{args.factor:g}, one box per {args.interval:g} s simulated per call |",
            "| intake and workflow | "
            + (f"{args.workers} `swhub worker` process(es) |" if args.workers else "the API's own process |"),
            f"| containers gated out (outside office hours) | {r['gated_out']:,} ({r['outside_hours']:,}) |",
            f"| wall time, first manifest -> last gate-out | {r['elapsed_s']:.0f} s |",
            f"| containers per second | {r['containers_per_s']:.2f} |",
            f"| port simulator messages sent (failed) | {r['port_sent']:,} ({r['port_failed']}) |",
            f"| hub messages of this run archived, in + out | {r['hub_messages']:,} "
            f"({r['hub_in']:,} + {r['hub_out']:,}) |",
            f"| **hub messages per second** | **{r['hub_msg_per_s']:.1f}** |",
            f"| all archive rows (with --shared-vhost other runs' traffic lands here too) | "
            f"{r['hub_archived_all']:,} |",
            f"| raw bus, same run (pika, confirm each, quorum queue, ack; {raw_n:,} msgs) | "
            f"{raw:,.0f} msg/s |",
            f"| **ratio hub / raw bus** | **{ratio:.3f}** |",
            "| per inbound message: worker CPU, SQL statements (every hub process) | "
            + (
                f"{r['worker_cpu_ms_per_inbound']:.2f} ms"
                if r["worker_cpu_ms_per_inbound"] is not None
                else "— (hub in the bench's process)"
            )
            + f", {r['sql_per_inbound']:.2f} |",
            f"| per container: gate-in arrival sent -> ReleaseNotice at the port, p50 / p99 | "
            f"{r['lat_p50']:.2f} s / {r['lat_p99']:.2f} s |",
            f"| per bill: last arrival sent -> ReleaseNotice at the port, p50 / p99 | "
            f"{r['bill_p50']:.2f} s / {r['bill_p99']:.2f} s |",
            f"| summaries filed over HTTP before their call's first arrival | {r['summaries_early']} / "
            f"{r['consignments']} |",
        ]
    )


def append_docs(text: str) -> None:
    body = DOCS.read_text(encoding="utf-8")
    if "\n## Port day\n" not in body:
        body = body.rstrip("\n") + "\n\n## Port day\n"
    DOCS.write_text(body.rstrip("\n") + "\n\n" + text + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--consignments", type=int, default=20, help="per vessel call")
    parser.add_argument("--containers", type=int, default=20, help="per consignment")
    parser.add_argument("--interval", type=float, default=30.0, help="simulated seconds between discharges")
    parser.add_argument("--factor", type=float, default=200.0, help="port clock speed-up")
    parser.add_argument("--timeout", type=float, default=1800.0, help="wall seconds before giving up")
    parser.add_argument(
        "--raw-messages", type=int, default=0, help="raw bus leg size (0 = as many as the hub)"
    )
    parser.add_argument(
        "--shared-vhost", action="store_true", help="run on --amqp's vhost, not a private one"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="N swhub worker processes (0: the hub's own consumers)"
    )
    parser.add_argument("--append-docs", action="store_true", help="append the table to docs/benchmarks.md")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    total = args.calls * args.consignments * args.containers
    print(
        f"port day: {args.calls} calls x {args.consignments} x {args.containers} = {total} containers",
        flush=True,
    )
    with run_vhost(args.amqp, args.shared_vhost) as url:
        args.amqp = url
        r = run(args)
        raw_n = args.raw_messages or max(1000, r["hub_messages"])
        raw = raw_pika(args.amqp, raw_n)  # same broker, same vhost
    text = table(r, raw, raw_n, args)
    print(text)
    if r["filer_errors"]:
        print("summary filing errors:", *r["filer_errors"], sep="\n  ")
    if r["gated_out"] < r["containers"]:
        print(f"NOT FINISHED: {r['gated_out']} of {r['containers']} gated out within {args.timeout:.0f} s")
    if args.append_docs:
        stamp = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        append_docs(f"Run {stamp} (`bench/port_day.py {' '.join(sys.argv[1:])}`):\n\n{text}")


if __name__ == "__main__":
    main()
