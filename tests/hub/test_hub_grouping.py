"""hub/db/batch.Grouping: batches that several consumers (a worker's partitions) hand in while one is
being applied are applied together as one batch, each consumer getting exactly its own outcomes, in
its own order; one at a time, never two at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from hub.bus.base import Delivery
from hub.db.batch import Grouping
from tests.hub.test_hub_batches import delivery, ids


def test_batches_handed_in_meanwhile_are_applied_as_one_with_their_own_outcomes() -> None:
    applied: list[list[str]] = []
    running = threading.Event()
    release = threading.Event()
    overlap = []
    active = threading.Lock()

    def handler(batch: Sequence[Delivery]) -> list[Exception | None]:
        if not active.acquire(blocking=False):
            overlap.append(ids(batch))  # two batches at once: the grouping failed its one job
        try:
            applied.append(ids(batch))
            if len(applied) == 1:
                running.set()
                release.wait(5)
            return [ValueError(m) if m.endswith("!") else None for m in ids(batch)]
        finally:
            active.release()

    grouping = Grouping(handler, max_size=50)
    results: dict[str, Sequence[Exception | None]] = {}

    def hand_in(name: str, messages: list[str]) -> None:
        results[name] = grouping([delivery(m) for m in messages])

    first = threading.Thread(target=hand_in, args=("p0", ["a1", "a2"]))
    first.start()
    assert running.wait(5)
    others = [
        threading.Thread(target=hand_in, args=("p1", ["b1", "b2!", "b3"])),
        threading.Thread(target=hand_in, args=("p2", ["c1"])),
    ]
    for t in others:
        t.start()
        time.sleep(0.05)  # p1 hands in before p2
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert overlap == []
    assert applied == [["a1", "a2"], ["b1", "b2!", "b3", "c1"]]  # the two waiting went together, in order
    assert results["p0"] == [None, None] and results["p2"] == [None]
    assert [None if e is None else str(e) for e in results["p1"]] == [None, "b2!", None]


def test_a_combined_batch_stays_within_max_size_but_takes_a_larger_batch_whole() -> None:
    applied: list[list[str]] = []
    gate = threading.Event()

    def handler(batch: Sequence[Delivery]) -> list[Exception | None]:
        applied.append(ids(batch))
        if len(applied) == 1:
            gate.wait(5)
        return [None] * len(batch)

    grouping = Grouping(handler, max_size=3)
    threads = [threading.Thread(target=grouping, args=([delivery("x0")],))]
    threads[0].start()
    time.sleep(0.05)
    for name, size in (("y", 2), ("z", 2), ("w", 5)):
        batch = [delivery(f"{name}{i}") for i in range(size)]
        threads.append(threading.Thread(target=grouping, args=(batch,)))
        threads[-1].start()
        time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(5)
    assert applied == [["x0"], ["y0", "y1"], ["z0", "z1"], ["w0", "w1", "w2", "w3", "w4"]]


def test_a_handler_that_raises_fails_every_batch_it_carried() -> None:
    def handler(batch: Sequence[Delivery]) -> list[Exception | None]:
        raise RuntimeError("database gone")

    outcomes = Grouping(handler, max_size=10)([delivery("a"), delivery("b")])
    assert [str(e) for e in outcomes] == ["database gone", "database gone"]
