"""Batches of deliveries applied in one transaction, with per-message failure isolation.

The transaction is all or nothing, so a message that fails takes the batch's work with it; the
batch is then split around it: the messages before it are applied again as a batch, the failing
one on its own (the bus retries or dead-letters it with its reason), the rest as a batch. Order is
kept: each part commits before the next one starts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hub.bus.base import BatchHandler, Delivery

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
        if len(deliveries) <= 1:
            return list(single(deliveries))
        try:
            apply_all(deliveries)
        except BatchFailed as failed:
            k = failed.index
            log.info("batch of %d: delivery %d failed (%s); split", len(deliveries), k, failed.cause)
            return run(deliveries[:k]) + list(single(deliveries[k : k + 1])) + run(deliveries[k + 1 :])
        except Exception as exc:  # the commit itself (e.g. a concurrent duplicate): each on its own
            log.info("batch of %d failed as a whole (%s); each on its own", len(deliveries), exc)
            return list(single(deliveries))
        return [None] * len(deliveries)

    return run
