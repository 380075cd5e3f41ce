"""Clearance flow benchmark on RabbitMQ + PostgreSQL with `--workers N` real `swhub worker` processes
(private vhost and database): N consignments of C containers pushed through the whole import flow,
the customs simulator a separate process over AMQP: manifest -> summary declaration -> (customs
registers) -> per-container arrival and tally -> release -> complete declaration -> (customs clears).
Parties publish raw XML to `swhub.ingress`.

Reports, in the same run:
- hub messages (in + out, archived) per second, and the ratio to the raw pika rate measured first
  (bench/bus_throughput.py's raw leg: confirm each publish, quorum queue, ack);
- worker CPU ms and SQL statements per inbound message (all workers' utime+stime; their
  swhub_db_statements_total counters);
- arrival published -> its forward reaches customs' side (p50/p99); last arrival -> release notice;
- correctness, each of which must be 0: per-bill order inversions, messages never applied,
  declarations not cleared, unresolved parked messages, duplicated effects, dead letters.
Usage: python bench/clearance.py [--workers 1] [--consignments 10] [--containers 20] [--partitions 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bus_throughput import raw_pika  # noqa: E402
from clearance_harness import check, cpu_seconds, flow, stack  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, float]:
    with stack(args.amqp, args.database, partitions=args.partitions) as hub:
        for _ in range(args.workers):
            hub.start_worker()
        hub.wait_ready()
        cpu0 = {w.process.pid: cpu_seconds(w.process.pid) for w in hub.workers}
        sql0 = sum(w.statements() for w in hub.workers)
        result = flow(hub, args.consignments, args.containers)
        cpu = sum(cpu_seconds(w.process.pid) - cpu0[w.process.pid] for w in hub.workers)
        sql = sum(w.statements() for w in hub.workers) - sql0
        # a batch path that fails as a whole still gets every message through, one transaction each
        whole = sum(w.sample('swhub_batch_fallbacks_total{how="whole"}') for w in hub.workers)
        inbound = int(hub.scalar("SELECT count(*) FROM message WHERE direction = 'in'") or 0)
        messages = int(hub.scalar("SELECT count(*) FROM message") or 0)
        figures = check(hub, result, args.consignments, args.containers)
    return {
        "workers": args.workers,
        "elapsed_s": result.elapsed_s,
        "hub_messages": messages,
        "inbound": inbound,
        "hub_msg_per_s": messages / result.elapsed_s,
        "cpu_ms_per_inbound": cpu * 1000 / inbound,
        "sql_per_inbound": sql / inbound,
        "batches_fallen_back_whole": whole,
        "phases_s": result.phases_s,
        "arrival_p50_ms": statistics.median(result.arrival_ms),
        "arrival_p99_ms": pct(result.arrival_ms, 0.99),
        "release_p50_ms": statistics.median(result.release_ms),
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--consignments", type=int, default=10)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--raw-messages", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    raw = raw_pika(args.amqp, args.raw_messages)
    r = run(args)
    r["raw_pika_msg_per_s"] = raw
    r["ratio_to_raw"] = r["hub_msg_per_s"] / raw
    if args.json:
        print(json.dumps(r))
        return
    print(f"raw pika, confirm per publish:  {raw:8.0f} msg/s")
    print(
        f"hub, {r['workers']} worker(s): {r['hub_messages']} messages ({r['inbound']} in) in "
        f"{r['elapsed_s']:.1f} s = {r['hub_msg_per_s']:.0f} msg/s; ratio to raw {r['ratio_to_raw']:.2f}"
    )
    print(
        f"per inbound message: {r['cpu_ms_per_inbound']:.1f} ms worker CPU, "
        f"{r['sql_per_inbound']:.1f} SQL statements; "
        f"{r['batches_fallen_back_whole']:.0f} batch(es) applied one by one after failing as a whole"
    )
    print(
        f"arrival -> forwarded to customs: p50 {r['arrival_p50_ms']:.0f} ms, "
        f"p99 {r['arrival_p99_ms']:.0f} ms; "
        f"last arrival -> release notice p50 {r['release_p50_ms']:.0f} ms"
    )
    zero = [
        k
        for k in (
            "order_inversions",
            "never_applied",
            "declarations_not_cleared",
            "parked_unresolved",
            "duplicate_releases",
            "duplicate_arrival_forwards",
            "duplicate_declaration_forwards",
            "dead_letters",
        )
    ]
    print("must be 0: " + ", ".join(f"{k} {r[k]}" for k in zero))


if __name__ == "__main__":
    main()
