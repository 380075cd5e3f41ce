"""Issue 13 item 4: several `swhub worker` processes started at once on a fresh database all come
up (before, one crashed: two alembic runs creating the same tables, or `bootstrap_parties` hitting
a duplicate party key), and the first-run file is written once, by one of them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from hub.db.startup_lock import startup_lock
from tests.hub_clearance.clrfixtures import fresh_postgres
from tests.simulators.portsim_support import private_vhost

pytestmark = pytest.mark.timeout(180)
WORKERS = 5


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


def _start_workers(env: dict[str, str], cwd: Path) -> list[subprocess.Popen[bytes]]:
    swhub = str(Path(sys.executable).with_name("swhub"))
    return [
        subprocess.Popen(
            [swhub, "worker"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(WORKERS)
    ]


def _wait_running(worker: subprocess.Popen[bytes], timeout: float = 90) -> str:
    """Output up to 'swhub worker running', or everything it printed before dying."""
    assert worker.stdout is not None
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for raw in worker.stdout:  # type: ignore[union-attr]
            seen.append(raw.decode(errors="replace"))
            if "swhub worker running" in seen[-1]:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    return "".join(seen)


def test_five_workers_started_together_on_a_fresh_database_all_run(
    database: str, amqp_url: str, tmp_path: Path
) -> None:
    keys_file = tmp_path / "parties.yaml"  # absent: first run, someone must write it (once)
    with private_vhost(amqp_url) as vhost:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(HUB_DATABASE_URL=database, HUB_AMQP_URL=vhost, HUB_API_KEYS_FILE=str(keys_file))
        workers = _start_workers(env, tmp_path)
        try:
            outputs = [_wait_running(w) for w in workers]
            for n, (worker, output) in enumerate(zip(workers, outputs, strict=True)):
                assert worker.poll() is None and "swhub worker running" in output, f"worker {n}:\n{output}"
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
    file_parties = {p["uscc"] for p in yaml.safe_load(keys_file.read_text(encoding="utf-8"))["parties"]}
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            in_db = set(connection.scalars(sa.text("SELECT uscc FROM party")))
            keys = connection.scalar(sa.text("SELECT count(*) FROM api_key"))
    finally:
        engine.dispose()
    assert in_db == file_parties  # one first-run file, and the database seeded from it
    assert keys == sum(
        len(p.get("keys", [])) for p in yaml.safe_load(keys_file.read_text(encoding="utf-8"))["parties"]
    )


HOLD = """
import sys, time
from hub.db.startup_lock import startup_lock
with startup_lock(sys.argv[1]):
    print(f"in {time.monotonic():.4f}", flush=True)
    time.sleep(0.4)
    print(f"out {time.monotonic():.4f}", flush=True)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_startup_lock_lets_one_process_in_at_a_time(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        holders = [_hold(url) for _ in range(3)]
        spans = [_span(p) for p in holders]
    else:
        with fresh_postgres() as url:
            holders = [_hold(url) for _ in range(3)]
            spans = [_span(p) for p in holders]
    spans.sort()
    for (_, first_out), (second_in, _) in zip(spans, spans[1:], strict=False):
        assert second_in >= first_out, f"two processes inside the start-up lock at once: {spans}"
    with startup_lock(url if backend == "sqlite" else "sqlite://"):
        pass  # re-entrant use after the others left, and an in-memory URL, need no lock holder


def _hold(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)


def _span(process: subprocess.Popen[str]) -> tuple[float, float]:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    lines = dict(line.split() for line in out.splitlines())
    return float(lines["in"]), float(lines["out"])


def test_a_lock_holder_that_dies_releases_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD.replace("0.4", "60"), url], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().startswith("in ")
    holder.kill()
    holder.wait(10)
    started = time.monotonic()
    with startup_lock(url):
        assert time.monotonic() - started < 5
