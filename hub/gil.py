"""A serving process hands the GIL round in 1 ms slices instead of CPython's 5 ms.

The API's event loop answers /health and small requests between the slices that intake threads (a
10 MiB interchange split and checked, bus consumers) hold the GIL for; each await of a request may
wait a whole slice for its turn, and a request takes several. Measured with
tests/hub_clearance/test_clear_limits.py's probe during a 10 MiB interchange (6 runs each, SQLite and
PostgreSQL): /health p90 56-117 ms with 5 ms slices, 16-27 ms with 1 ms. More switches cost the
CPU-bound threads little next to that; only for a process that serves one hub (as hub.heap)."""

from __future__ import annotations

import sys

SERVING_SWITCH_INTERVAL_S = 0.001


def share_finely() -> None:
    sys.setswitchinterval(SERVING_SWITCH_INTERVAL_S)
