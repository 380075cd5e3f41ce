"""Push delivery of simulator events to the hub.

`EventSink` is the pluggable seam: the HTTP callback sink is implemented here; an AMQP publisher only
has to implement `publish`/`status`/`close`. Delivery keeps order per sink (like HMRC's push service it
blocks the channel while the head message is being retried), retries transport errors, 5xx, 408 and
429 with capped exponential backoff, and gives up a message after `max_attempts` (recorded as failed)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

Encoder = Callable[[Mapping[str, Any]], tuple[bytes, str]]  # event -> (body, content type)


class EventSink(Protocol):
    def publish(self, event: Mapping[str, Any]) -> None: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class NullSink:
    """No push target configured: events are still available through the pull operation."""

    def publish(self, event: Mapping[str, Any]) -> None:
        return None

    def status(self) -> dict[str, Any]:
        return {"kind": "none"}

    def close(self) -> None:
        return None


@dataclass
class DeliveryRecord:
    event_id: str
    attempts: int = 0
    state: str = "pending"  # pending | delivered | failed
    last_status: int | None = None
    last_error: str | None = None
    history: list[str] = field(default_factory=list)


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 429)


class HttpCallbackSink:
    """POST each event to `url` (JSON or XML via `encoder`), in order, from one background thread."""

    def __init__(
        self,
        url: str,
        encoder: Encoder,
        *,
        api_key: str | None = None,
        timeout: float = 5.0,
        max_attempts: int = 10,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.url = url
        self._encoder = encoder
        self._headers = {"X-API-Key": api_key} if api_key else {}
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._queue: queue.Queue[Mapping[str, Any] | None] = queue.Queue()
        self._records: deque[DeliveryRecord] = deque(maxlen=500)
        self._counts = {"delivered": 0, "failed": 0}
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="callback-delivery", daemon=True)
        self._thread.start()

    def publish(self, event: Mapping[str, Any]) -> None:
        self._queue.put(dict(event))

    def status(self) -> dict[str, Any]:
        return {
            "kind": "http",
            "url": self.url,
            "pending": self._queue.qsize(),
            **self._counts,
            "recent": [r.__dict__ | {"history": r.history[-5:]} for r in list(self._records)[-20:]],
        }

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._queue.get()
            if event is None:
                return
            self._deliver(event)

    def _deliver(self, event: Mapping[str, Any]) -> None:
        record = DeliveryRecord(event_id=str(event.get("eventId", "?")))
        self._records.append(record)
        body, content_type = self._encoder(event)
        delay = self._backoff_initial
        while not self._stop.is_set():
            record.attempts += 1
            try:
                response = self._client.post(
                    self.url, content=body, headers={"Content-Type": content_type, **self._headers}
                )
                record.last_status = response.status_code
                if response.status_code < 300:
                    record.state = "delivered"
                    self._counts["delivered"] += 1
                    return
                record.last_error = f"HTTP {response.status_code}"
                permanent = not _retryable(response.status_code)
            except httpx.HTTPError as exc:  # connection refused, timeout...: the hub is down
                record.last_error = f"{type(exc).__name__}: {exc}"
                permanent = False
            record.history.append(record.last_error)
            if permanent or record.attempts >= self._max_attempts:
                record.state = "failed"
                self._counts["failed"] += 1
                log.warning(
                    "callback %s for event %s given up: %s", self.url, record.event_id, record.last_error
                )
                return
            self._stop.wait(delay)
            delay = min(delay * 2, self._backoff_max)


class SinkHolder:
    """Lets the control API swap the push target at run time without racing the ticker."""

    def __init__(self, sink: EventSink | None = None) -> None:
        self._lock = threading.Lock()
        self._sink: EventSink = sink or NullSink()

    def publish(self, event: Mapping[str, Any]) -> None:
        with self._lock:
            sink = self._sink
        sink.publish(event)

    def replace(self, sink: EventSink) -> None:
        with self._lock:
            old, self._sink = self._sink, sink
        old.close()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._sink.status()

    def close(self) -> None:
        with self._lock:
            self._sink.close()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
