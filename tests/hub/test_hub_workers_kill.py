"""Three `swhub worker` processes share the clearance flow on RabbitMQ + PostgreSQL (private vhost and
database); one is SIGKILLed in the middle of the arrivals (issue 13). The broker hands its partitions
to the others and redelivers what it had not acked. Afterwards nothing is lost or doubled: every
declaration cleared, no bill's messages applied out of the order they were sent, nothing left parked,
every effect (release notice, forward to customs) exactly once, nothing dead-lettered."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from clearance_harness import check, flow, stack

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(600)]

CONSIGNMENTS, CONTAINERS = 6, 5


def test_three_workers_one_killed_mid_run_lose_and_double_nothing(amqp_url: str) -> None:
    from tests.conftest import PG_ADMIN_URL, require_service

    require_service("PostgreSQL", PG_ADMIN_URL)
    with stack(amqp_url, PG_ADMIN_URL, partitions=8) as hub:
        workers = [hub.start_worker() for _ in range(3)]
        hub.wait_ready()
        killed: list[int] = []

        def kill_midway(done: int) -> None:
            if done == CONSIGNMENTS * CONTAINERS // 2 and not killed:
                # the worker active on the ingress queue (it accepts every message): kill that one
                victim = max(workers, key=lambda w: w.last_delivery("swhub.clearance.ingress"))
                hub.kill(victim)
                killed.append(victim.process.pid)

        result = flow(hub, CONSIGNMENTS, CONTAINERS, during_arrivals=kill_midway, timeout=300)
        figures = check(hub, result, CONSIGNMENTS, CONTAINERS)
        survivors = [w for w in workers if w.alive()]

    assert killed and len(survivors) == 2
    assert figures == {
        "order_inversions": 0,
        "never_applied": 0,
        "declarations_not_cleared": 0,
        "parked_unresolved": 0,
        "duplicate_releases": 0,
        "duplicate_arrival_forwards": 0,
        "duplicate_declaration_forwards": 0,
        "dead_letters": 0,
    }
