"""The dispatcher thread: every outgoing message passes the fault injector and is then sent, one at a
time in planned order (a latency fault delays only its own message), through the transport. It also
notes the real (wall-clock) time each container's arrival report got through, for latency figures."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from simulators.port.engine import Outgoing
from simulators.port.faults import FaultInjector, Transmission
from simulators.port.transport import Stats, Transport

log = logging.getLogger(__name__)


class Dispatcher(threading.Thread):
    def __init__(self, transport: Transport, faults: FaultInjector, stats: Stats) -> None:
        super().__init__(name="port-dispatcher", daemon=True)
        self.transport, self.faults, self.stats = transport, faults, stats
        self.arrival_sent: dict[str, float] = {}  # container -> epoch seconds its arrival got through
        self._heap: list[tuple[float, int, Transmission]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False

    def submit(self, messages: list[Outgoing]) -> None:
        now = time.monotonic()
        planned = [t for m in messages for t in self.faults.plan(m, now)]
        self._push(planned, now)

    def flush(self, busy_flows: set[str]) -> None:
        now = time.monotonic()
        self._push(self.faults.flush(busy_flows, now), now)

    def _push(self, transmissions: list[Transmission], now: float) -> None:
        if not transmissions:
            return
        with self._cond:
            for t in transmissions:
                heapq.heappush(self._heap, (now + t.delay, next(self._seq), t))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + (1 if self._busy else 0)

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stop:
                    return
                _, _, t = heapq.heappop(self._heap)
                self._busy = True
            try:
                self._send(t)
            except Exception:  # the dispatcher must outlive any one message
                log.exception("port dispatcher: sending %s failed", t.message.message_type)
            finally:
                with self._cond:
                    self._busy = False

    def _send(self, t: Transmission) -> None:
        m = t.message
        result = self.transport.send(
            m.party, m.sender_uscc, m.message_type, t.body, drop_connection=t.drop_connection
        )
        self.stats.record(m.message_type, result, malformed=t.malformed, duplicate=t.duplicate)
        if result.delivered and m.flow == "arrival" and m.container and not t.malformed:
            self.arrival_sent.setdefault(m.container, time.time())
        if not result.delivered and not t.malformed:
            log.warning(
                "port: %s %s not delivered: %s %s",
                m.message_type,
                m.message_id,
                result.outcome,
                result.detail[:300],
            )

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
