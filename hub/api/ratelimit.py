"""A fixed per-client budget for the deliberately public endpoints (the 阳光公开 refund query): the
query needs no login, so without a limit anyone could enumerate application numbers and USCCs."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import Depends, Request

from hub.api.auth import get_hub
from hub.api.errors import ApiError
from hub.runtime import Hub


class SlidingWindowLimiter:
    """At most `limit` calls per client in any `window` seconds (a sliding log, one deque per client)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._calls: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """0 when the call may proceed (and is counted); else the seconds until it may."""
        if self.limit <= 0:
            return 0
        now = self.clock()
        with self._lock:
            calls = [t for t in self._calls.get(client, ()) if now - t < self.window]
            if len(calls) >= self.limit:
                self._calls[client] = calls
                return max(1, math.ceil(self.window - (now - calls[0])))
            calls.append(now)
            self._calls[client] = calls
            if len(self._calls) > 10_000:  # forget idle clients so the map cannot grow without bound
                self._calls = {k: v for k, v in self._calls.items() if v and now - v[-1] < self.window}
            return 0


def _limiter(hub: Hub) -> SlidingWindowLimiter:
    limiter = getattr(hub, "public_limiter", None)
    if limiter is None:
        limiter = SlidingWindowLimiter(hub.settings.public_query_per_minute)
        hub.public_limiter = limiter  # type: ignore[attr-defined]
    return limiter


def public_rate_limit(request: Request, hub: Hub = Depends(get_hub)) -> None:
    client = request.client.host if request.client else "unknown"
    wait = _limiter(hub).retry_after(client)
    if wait:
        raise ApiError(
            429,
            f"too many public queries from {client}: at most {hub.settings.public_query_per_minute} "
            f"a minute; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
