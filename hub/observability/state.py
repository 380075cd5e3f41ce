"""Gauges read from the database at scrape time: what is waiting, not what one process did.

Outbox lag, parked inputs and dead letters are shared by every process of a deployment, so they are
read from the database rather than counted in memory (a counter in one worker would miss what the
others did). Each scrape costs four small aggregate queries on indexed columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hub.clock import now
from hub.db.clearance_tables import ClrParked
from hub.db.models import DeadLetter, OutboxMessage
from hub.db.session import Database


class DatabaseStateCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.sessions() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.sent_at.is_(None)
                )
            ).one()
            parked = session.execute(
                select(ClrParked.message_type, func.count())
                .where(ClrParked.resolved_at.is_(None))
                .group_by(ClrParked.message_type)
            ).all()
            dead = session.execute(
                select(DeadLetter.original_queue, func.count())
                .where(DeadLetter.status == "dead")
                .group_by(DeadLetter.original_queue)
            ).all()
        yield GaugeMetricFamily("swhub_outbox_pending", "Outbox rows not yet on the bus", value=pending)
        yield GaugeMetricFamily(
            "swhub_outbox_lag_seconds",
            "Age of the oldest outbox row not yet on the bus (0 when none waits)",
            value=_age(oldest),
        )
        parked_family = GaugeMetricFamily(
            "swhub_parked", "Inputs parked until what they wait for arrives", labels=["message_type"]
        )
        for message_type, count in parked:
            parked_family.add_metric([message_type], count)
        yield parked_family
        dead_family = GaugeMetricFamily(
            "swhub_dead_letters", "Dead letters not yet replayed or discarded", labels=["queue"]
        )
        for queue, count in dead:
            dead_family.add_metric([queue], count)
        yield dead_family


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    current = now()
    if oldest.tzinfo is None:  # SQLite hands back the hub clock's wall time without its zone
        oldest = oldest.replace(tzinfo=current.tzinfo)
    return max(0.0, (current - oldest).total_seconds())
