"""/health latency while one client's large interchange is processed, against the idle hub.

    .venv/bin/python bench/health_load.py [--mib 9.99] [--runs 3] [--no-docs]

The hub runs in its own process (uvicorn on loopback, SQLite, in-process bus), as deployed. Per run:
/health is probed 30 times idle, then a port operator posts a --mib MiB EDIFACT interchange of tally
reports and /health is probed every 50 ms until the upload returns (at most 60 probes). One kept-alive
client does the probing, as a load balancer does. The figures are each run's p50/p90/max, and the
ratio of the loaded p90 to the idle p90 of the same run. Issue 12's goal: loaded p90 under 100 ms.
The section "## /health under intake load" of docs/benchmarks.md is replaced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import replace_section  # noqa: E402

from simulators.common.runner import free_port  # noqa: E402
from simulators.customs.traffic import Shipment, tally_xml  # noqa: E402
from tests.hub_clearance.clrfixtures import KEYS, write_parties  # noqa: E402
from tests.hub_clearance.test_clear_gaps_interchange import interchange  # noqa: E402

SECTION = "## /health under intake load"
SERVE = """
import sys, uvicorn
from hub.api.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def big_interchange(mib: float) -> tuple[bytes, int]:
    shipment = Shipment.make(91, containers=1)
    one = interchange(tally_xml(shipment.bill_no, shipment.containers[0]))
    head, unz = one[: one.index(b"UNH+")], one.rindex(b"UNZ+")
    message = one[one.index(b"UNH+") : unz]
    copies = int(mib * 2**20) // len(message)
    trailer = one[unz + 4 :].split(b"+", 1)[1]  # the control reference and terminator after the count
    return head + message * copies + b"UNZ+" + str(copies).encode() + b"+" + trailer, copies


def quantiles(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), statistics.quantiles(values, n=10)[-1], max(values)


def one_run(body: bytes, tmp: Path) -> dict[str, tuple[float, float, float]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp / 'hub.db'}",
        HUB_API_KEYS_FILE=str(write_parties(tmp / "parties.yaml")),
        HUB_MAX_MESSAGES_PER_INTERCHANGE="100000",
        HUB_MAX_MESSAGE_BYTES=str(len(body) + 1024),
    )
    log = (tmp / "hub.log").open("wb")
    command = [sys.executable, "-c", SERVE, str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30) as probe:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if probe.get(url + "/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            idle = []
            for _ in range(30):
                started = time.perf_counter()
                probe.get(url + "/health")
                idle.append(time.perf_counter() - started)
            done = threading.Event()
            status: list[int] = []

            def upload() -> None:
                try:
                    answer = httpx.post(
                        url + "/api/v1/messages",
                        content=body,
                        headers={"X-API-Key": KEYS["yard"], "Content-Type": "application/EDIFACT"},
                        timeout=600,
                    )
                    status.append(answer.status_code)
                except httpx.HTTPError:
                    pass  # the hub is killed once 60 probes are taken, maybe mid-upload
                finally:
                    done.set()

            threading.Thread(target=upload, daemon=True).start()
            time.sleep(0.5)
            loaded = []
            while not done.is_set() and len(loaded) < 60:
                started = time.perf_counter()
                probe.get(url + "/health")
                loaded.append(time.perf_counter() - started)
                time.sleep(0.05)
        return {"idle": quantiles(idle), "loaded": quantiles(loaded)}
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=float, default=9.99)  # just under the 10 MiB default cap
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    body, copies = big_interchange(args.mib)
    results = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            result = one_run(body, Path(tmp))
        results.append(result)
        idle, loaded = result["idle"], result["loaded"]
        print(
            f"run {n + 1}: idle p50/p90/max {idle[0] * 1e3:.1f}/{idle[1] * 1e3:.1f}/{idle[2] * 1e3:.1f} ms; "
            f"loaded {loaded[0] * 1e3:.1f}/{loaded[1] * 1e3:.1f}/{loaded[2] * 1e3:.1f} ms; "
            f"p90 ratio {loaded[1] / idle[1]:.1f}x"
        )
    if not args.no_docs:
        write_docs(args, len(body), copies, results)


def write_docs(args: argparse.Namespace, size: int, copies: int, results: list[dict]) -> None:
    worst = max(r["loaded"][1] for r in results)
    lines = [
        SECTION,
        "",
        f"`.venv/bin/python bench/health_load.py --mib {args.mib:g} --runs {args.runs}`: the hub in its own "
        f"process (uvicorn, SQLite, in-process bus); a port operator posts one {size / 2**20:.1f} MiB "
        f"interchange of {copies:,} tally reports while one kept-alive client probes /health every 50 ms. "
        "Idle = 30 probes before the upload, same process.",
        "",
        "| run | idle p50 | idle p90 | loaded p50 | loaded p90 | loaded max | loaded p90 / idle p90 |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(results, 1):
        idle, loaded = r["idle"], r["loaded"]
        lines.append(
            f"| {n} | {idle[0] * 1e3:.1f} ms | {idle[1] * 1e3:.1f} ms | {loaded[0] * 1e3:.1f} ms | "
            f"{loaded[1] * 1e3:.1f} ms | {loaded[2] * 1e3:.0f} ms | {loaded[1] / idle[1]:.1f}x |"
        )
    verdict = "met" if worst < 0.1 else "missed"
    lines += [
        "",
        f"* Worst loaded p90 {worst * 1e3:.0f} ms (goal < 100 ms: **{verdict}**). Intake splits the "
        "interchange with the cyclic collector paused; with it running, full collections over the parsed "
        "segments held the GIL for up to 1.5 s and the p90 was 85-190 ms.",
        "",
    ]
    replace_section(SECTION, lines)


if __name__ == "__main__":
    main()
