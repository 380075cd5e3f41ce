"""What every transport gives the dispatcher: `send(...) -> SendResult`, a notice feed, readiness; and
the counters shown on GET /status."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

NoticeHandler = Callable[[str, bytes], None]  # (notice type, body)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: str  # sent | duplicate (the hub already had it) | refused (4xx / rejected) | failed
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.outcome in ("sent", "duplicate")


class Transport(Protocol):
    kind: str  # amqp | http | none
    reconnects: int

    def start(self, on_notice: NoticeHandler) -> None: ...

    def ready(self) -> bool: ...

    def send(
        self, party: str, sender_uscc: str, message_type: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult: ...

    def close(self) -> None: ...


def content_type(body: bytes) -> str:
    return "application/xml" if body.lstrip()[:1] == b"<" else "application/edifact"


class NoTransport:
    """Neither PORT_SIM_AMQP_URL nor PORT_SIM_HUB_URL: the plan runs, nothing leaves (all failed)."""

    kind = "none"
    reconnects = 0

    def start(self, on_notice: NoticeHandler) -> None:
        return None

    def ready(self) -> bool:
        return True

    def send(
        self, party: str, sender_uscc: str, message_type: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult:
        return SendResult("failed", "no transport configured (PORT_SIM_AMQP_URL / PORT_SIM_HUB_URL)")

    def close(self) -> None:
        return None


class Stats:
    """Thread-safe counters of what left the terminal and what happened to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: Counter[str] = Counter()  # delivered good messages by wire type (duplicates excluded)
        self.failed = 0  # good messages that never got through (refused, or retries exhausted)
        self.duplicated = 0  # extra copies sent by the duplicate fault
        self.malformed = 0  # garbled copies sent by the malformed fault
        self.hub_duplicates = 0  # sends the hub answered as a duplicate of an earlier message
        self.errors: deque[dict[str, Any]] = deque(maxlen=20)

    def record(self, message_type: str, result: SendResult, *, malformed: bool, duplicate: bool) -> None:
        with self._lock:
            if malformed:
                self.malformed += 1
                return  # its refusal is the point; the good copy follows
            if duplicate:
                self.duplicated += 1
            if result.outcome == "duplicate":
                self.hub_duplicates += 1
            if result.delivered:
                if not duplicate:
                    self.sent[message_type] += 1
                return
            self.failed += 1
            self.errors.append(
                {"type": message_type, "outcome": result.outcome, "detail": result.detail[:500]}
            )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "sent": dict(self.sent),
                "failed": self.failed,
                "duplicated": self.duplicated,
                "malformed": self.malformed,
                "hub_duplicates": self.hub_duplicates,
                "errors": list(self.errors),
            }
