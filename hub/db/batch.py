"""Batches of deliveries applied in one transaction, with per-message failure isolation.

The transaction is all or nothing, so a message that fails takes the batch's work with it; the
batch is then split around it: the messages before it are applied again as a batch, the failing
one on its own (the bus retries or dead-letters it with its reason), the rest as a batch. Order is
kept: each part commits before the next one starts."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from hub.bus.base import BatchHandler, Delivery, batch_outcomes
from hub.observability.metrics import BATCH_FALLBACKS

log = logging.getLogger(__name__)


class BatchFailed(Exception):
    """Raised by a batch's apply function: delivery `index` failed (the transaction is rolled back)."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"delivery {index} of the batch failed: {cause}")
        self.index = index
        self.cause = cause


def isolating(apply_all: Callable[[Sequence[Delivery]], None], single: BatchHandler) -> BatchHandler:
    """A batch handler from `apply_all` (all deliveries in one transaction; BatchFailed names the one
    that failed, any other exception fails the batch as a whole, e.g. its commit) and `single` (each
    delivery in its own transaction, the fallback)."""

    def run(deliveries: Sequence[Delivery]) -> list[Exception | None]:
        if not deliveries:
            return []
        # one delivery too: the batch path is the one that applies intake's messages at once
        # (hub/services/clearance/straight.py); a failure still ends in `single`
        try:
            apply_all(deliveries)
        except BatchFailed as failed:
            k = failed.index
            BATCH_FALLBACKS.labels("split").inc()
            log.info("batch of %d: delivery %d failed (%s); split", len(deliveries), k, failed.cause)
            return run(deliveries[:k]) + list(single(deliveries[k : k + 1])) + run(deliveries[k + 1 :])
        except Exception as exc:  # the commit itself (e.g. a concurrent duplicate): each on its own
            BATCH_FALLBACKS.labels("whole").inc()
            # a database conflict is expected now and then; anything else is a defect in the batch
            # path that makes every message pay a transaction of its own: logged with its traceback
            log.warning(
                "batch of %d failed as a whole (%s: %s); each on its own",
                len(deliveries),
                type(exc).__name__,
                exc,
                exc_info=not isinstance(exc, DBAPIError),
            )
            return list(single(deliveries))
        return [None] * len(deliveries)

    return run


@dataclass
class _Handed:
    deliveries: list[Delivery]
    outcomes: list[Exception | None] | None = None


class Grouping:
    """One batch handler shared by several consumers (a worker's workflow partitions): the batches
    they hand in while another is being applied are applied together, as ONE batch, when it is done.

    Why: a worker holding 8 partitions otherwise commits each partition's few waiting messages on
    their own, and a batch's fixed cost (its dedupe query, prefetches, multi-row inserts, UPDATE,
    commit, the relay pass its commit wakes) is paid 8 times. Applying them one after the other was
    already the case: they share the process's GIL and, on SQLite, the single writer.

    Order: each consumer hands in one batch at a time and waits for its outcomes before it acks and
    takes the next, so a partition's messages are never in two combined batches at once, and within
    one they keep their order (batches are concatenated in the order they were handed in). The first
    consumer that finds nothing running applies what is waiting, up to `max_size` deliveries (at least
    one whole batch); the others wait for their outcomes or their turn."""

    def __init__(
        self, handler: BatchHandler, max_size: int, on_batch: Callable[[int], None] | None = None
    ) -> None:
        self._handler = handler
        self._max_size = max(1, max_size)
        self._on_batch = on_batch
        self._waiting: deque[_Handed] = deque()
        self._running = False
        self._turn = threading.Condition()

    def __call__(self, deliveries: Sequence[Delivery]) -> list[Exception | None]:
        mine = _Handed(list(deliveries))
        with self._turn:
            self._waiting.append(mine)
            while mine.outcomes is None:
                if self._running:
                    self._turn.wait()
                    continue
                self._running = True
                taken = self._take()
                combined = [d for handed in taken for d in handed.deliveries]
                outcomes: list[Exception | None] | None = None
                self._turn.release()
                try:
                    if self._on_batch is not None:
                        self._on_batch(len(combined))
                    outcomes = batch_outcomes(self._handler, combined)
                finally:
                    self._turn.acquire()
                    self._running = False
                    if outcomes is None:  # interrupted (e.g. KeyboardInterrupt): the waiting learn it
                        outcomes = [RuntimeError("batch interrupted")] * len(combined)
                    start = 0
                    for handed in taken:
                        handed.outcomes = outcomes[start : start + len(handed.deliveries)]
                        start += len(handed.deliveries)
                    self._turn.notify_all()
        return mine.outcomes

    def _take(self) -> list[_Handed]:
        taken = [self._waiting.popleft()]
        size = len(taken[0].deliveries)
        while self._waiting and size + len(self._waiting[0].deliveries) <= self._max_size:
            size += len(self._waiting[0].deliveries)
            taken.append(self._waiting.popleft())
        return taken
