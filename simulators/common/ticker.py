"""A background thread that lets the simulated world move (due stage changes, due credits) even when
nobody calls the simulator: needed for system/scaled clocks and for push delivery."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, tick: Callable[[], object], interval: float = 0.2) -> None:
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
            except Exception:  # keep ticking: one bad case must not freeze the simulated world
                log.exception("simulator tick failed")
