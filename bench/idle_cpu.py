"""Idle CPU: what an idle hub costs the machine, against a bare uvicorn app in the same run.

An idle hub should cost next to nothing: its relay, consumers and sweeps wait on events and timers.
Both legs run `python -m` in a child process on an ephemeral port, wait for /health, then idle for
`--seconds` while this script reads the child's CPU time (user + system, /proc/PID/stat) before and
after. Legs:
  (a) baseline: a FastAPI app with one /health route on uvicorn, nothing else;
  (b) the hub: `swhub serve --no-simulators` on the embedded default (SQLite, in-process bus).
With --database / --amqp (b) runs on PostgreSQL / RabbitMQ instead; on a local broker it gets a
virtual host of its own, since a shared one may hold other runs' backlog (then it is not idle).
Reports CPU seconds per idle second (1.0 = one core busy) and the ratio hub / baseline. Linux only (/proc).
Usage: python bench/idle_cpu.py [--seconds 10] [--database URL] [--amqp URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from hub.cli.simstack import drop_vhost, own_vhost
from simulators.common.runner import free_port

ROOT = Path(__file__).resolve().parents[1]
BASELINE_APP = """
import sys
import uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/health")
def health() -> dict: return {"status": "ok"}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, from /proc (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(cmd: list[str], env: dict[str, str], port: int, seconds: float) -> float:
    """CPU seconds per idle second of the process `cmd` starts, once it answers /health."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"{cmd} did not start:\n{log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.2)
            time.sleep(2)  # let start-up work (migrations, topology, first sweep) finish
            before, started = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            return (cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        finally:
            proc.terminate()
            proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database", default=None, help="HUB_DATABASE_URL for the hub leg")
    parser.add_argument("--amqp", default=None, help="HUB_AMQP_URL for the hub leg")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    port = free_port()
    baseline = measure([sys.executable, "-c", BASELINE_APP, str(port)], env, port, args.seconds)

    with tempfile.TemporaryDirectory() as work:
        hub_env = env | {
            "HUB_DATABASE_URL": args.database or f"sqlite:///{work}/hub.db",
            "HUB_API_KEYS_FILE": f"{work}/parties.yaml",
        }
        vhost = None
        if args.amqp:
            hub_env["HUB_AMQP_URL"], vhost = own_vhost(args.amqp, uuid.uuid4().hex[:8])
        port = free_port()
        cmd = [sys.executable, "-m", "hub.cli.main", "serve", "--no-simulators", "--port", str(port)]
        try:
            hub = measure(cmd, hub_env, port, args.seconds)
        finally:
            if vhost:
                drop_vhost(vhost)

    where = f"{'PostgreSQL' if args.database else 'SQLite'}, {'RabbitMQ' if args.amqp else 'in-process bus'}"
    print(f"idle {args.seconds:.0f} s, CPU seconds per second (1.0 = one core busy):")
    print(f"  baseline (bare FastAPI on uvicorn): {baseline:.4f}")
    print(f"  hub ({where}):        {hub:.4f}")
    print(f"  ratio hub / baseline: {hub / baseline:.1f}" if baseline > 0 else "  baseline used no CPU")


if __name__ == "__main__":
    main()
