"""The running hub: settings, database, bus, outbox relay and consumers, started and stopped together.

`swhub serve`, `swhub worker`, the tests and the benchmarks all build one of these."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from hub.bus.base import (
    BatchHandler,
    Batching,
    Bus,
    Consumer,
    Delivery,
    Handler,
    QueueSpec,
    Topology,
    as_first_routed,
)
from hub.bus.memory import InProcessBus
from hub.config import Settings, get_settings
from hub.db.migrate import upgrade
from hub.db.outbox import OutboxRelay
from hub.db.recovery import mark_interrupted
from hub.db.session import Database
from hub.db.startup_lock import startup_lock
from hub.observability import metrics
from hub.services import parties, party_cache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    queue: QueueSpec
    handler: Handler | None = None
    prefetch: int = 50
    declare: bool = True  # False for queues the bus declares itself (the dead-letter queue)
    # Instead of `handler`: deliveries in batches of the hub's batch_size/batch_linger_ms settings
    batch_handler: BatchHandler | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"{self.queue.name}: give either handler or batch_handler")


class HubService(Protocol):
    """A workflow living in the hub: registers its consumers, runs background work while started."""

    def register(self) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Told in the transaction that stores a dead letter ("dead") or replays one ("replayed"), with the
# queue it died in and the routing key it was first published with: a service keeping counts of what
# is on its way in its queues settles them there.
DeadLetterHook = Callable[[Session, str, str, str], None]


class Hub:
    def __init__(self, settings: Settings | None = None, *, bus: Bus | None = None) -> None:
        self.settings = settings or get_settings()
        self.db = Database(self.settings.database_url)
        self._own_bus = bus is None  # an embedded bus of its own is made durable at start
        if bus is None:
            from hub.bus.factory import create_bus

            bus = create_bus(self.settings)
        self.bus = bus
        self.relay = OutboxRelay(self.db, self.bus, batch=self.settings.outbox_batch)
        self._consumer_specs: list[ConsumerSpec] = []
        self._consumers: list[Consumer] = []
        self.first_run_keys: dict[str, str] = {}
        self.services: dict[str, HubService] = {}
        self.dead_letter_hooks: list[DeadLetterHook] = []

    def install(self, name: str, service: HubService) -> HubService:
        """Add a workflow once (API process and workers alike); its consumers start with the hub."""
        if name not in self.services:
            service.register()
            self.services[name] = service
        return self.services[name]

    def add_consumer(self, spec: ConsumerSpec) -> None:
        self._consumer_specs.append(spec)

    def topology(self) -> Topology:
        from hub.bus.topology import default_topology

        return default_topology(Topology(queues=tuple(s.queue for s in self._consumer_specs if s.declare)))

    def migrate(self) -> None:
        upgrade(self.settings.database_url)

    def bootstrap_parties(self, path: Path | None = None) -> int:
        """Load parties and API keys from the bootstrap file; on first run create one with fresh keys."""
        path = path or self.settings.api_keys_file
        # Workers started together: one writes the first-run file and seeds, the others then find
        # both done (before, the second crashed on a duplicate party key).
        with startup_lock(self.settings.database_url):
            if not path.exists():
                self.first_run_keys = parties.write_demo_bootstrap(path)
            loaded = parties.load_bootstrap(path)
            with self.db.unit_of_work() as session:
                parties.seed_parties(session, loaded)  # the API's later changes win over the file
                count = len(loaded)
        self.parties_changed()
        return count

    def parties_changed(self) -> None:
        """Let services act on new parties at once (e.g. declare their notice queues): a party known only
        after the services started must not wait for a periodic sweep to receive its first notice."""
        party_cache.cache_for(self.db.engine).invalidate()  # this process sees the change at once
        for service in self.services.values():
            hook = getattr(service, "declare_party_queues", None)
            if hook is not None:
                hook()

    def start(self, *, migrate: bool = True, relay: bool = True, consumers: bool = True) -> Hub:
        if migrate:
            self.migrate()
        if self._own_bus:
            _make_durable(self.bus, self.db)  # after migrating: the store's table exists
        # The in-process bus means one process takes messages: anything `received` now was cut off.
        grace = timedelta(0) if isinstance(self.bus, InProcessBus) else timedelta(minutes=10)
        mark_interrupted(self.db, grace)
        self.bus.declare(self.topology())
        if relay:
            self.relay.start()
        if consumers:
            for spec in self._consumer_specs:
                self._consumers.append(self._consume(spec))
            for service in self.services.values():
                service.start()
        return self

    def batching(self) -> Batching:
        return Batching(max(1, self.settings.batch_size), max(0, self.settings.batch_linger_ms) / 1000)

    def _consume(self, spec: ConsumerSpec) -> Consumer:
        name = spec.queue.name
        if spec.batch_handler is not None:
            batch_handler = spec.batch_handler

            def first_routed_batch(deliveries: Sequence[Delivery]) -> Sequence[Exception | None]:
                return batch_handler([as_first_routed(d) for d in deliveries])  # outcomes in order

            batch = metrics.watch_batches(name, first_routed_batch)
            return self.bus.consume_batch(name, batch, self.batching(), spec.prefetch)
        assert spec.handler is not None
        handler = spec.handler

        def first_routed(delivery: Delivery) -> None:
            handler(as_first_routed(delivery))

        return self.bus.consume(name, metrics.watch_queue(name, first_routed), spec.prefetch)

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        for consumer in self._consumers:
            consumer.stop()
        self._consumers.clear()
        metrics.forget_queues(spec.queue.name for spec in self._consumer_specs)
        self.relay.stop()
        self.bus.close()
        self.db.dispose()


def _make_durable(bus: Bus, db: Database) -> None:
    """The embedded bus keeps its queues in the hub's database, so a 202 survives a SIGKILL: the relay
    marks an outbox row sent only once its copies are stored, and the next start resumes them."""
    from hub.bus.memory import InProcessBus
    from hub.bus.queue_store import DatabaseStore

    if isinstance(bus, InProcessBus) and not bus.durable:
        bus.attach_store(DatabaseStore(db))
