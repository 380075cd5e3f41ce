"""Failure injection for testers: make the next N calls (of one operation or all) slow, fail with a
500, a SOAP fault, or hang past any sensible client timeout."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FailureMode(StrEnum):
    LATENCY = "latency"  # answer normally after `seconds`
    HTTP_500 = "http500"  # plain HTTP 500 with a non-protocol body (a crashed gateway)
    SOAP_FAULT = "soap_fault"  # protocol-level server error (SOAP Server fault / JSON 503 for REST sims)
    TIMEOUT = "timeout"  # hold the request for `seconds` (default long), then answer 504


@dataclass
class FailureRule:
    id: int
    mode: FailureMode
    operation: str = "*"  # "*" = every operation
    remaining: int | None = 1  # None = until cleared
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FailureInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FailureRule] = []
        self._ids = itertools.count(1)

    def add(
        self, mode: FailureMode, operation: str = "*", count: int | None = 1, seconds: float = 0.0
    ) -> FailureRule:
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 (or null for 'until cleared')")
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        rule = FailureRule(next(self._ids), mode, operation or "*", count, seconds)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> int:
        with self._lock:
            cleared, self._rules = len(self._rules), []
        return cleared

    def rules(self) -> list[FailureRule]:
        with self._lock:
            return list(self._rules)

    def take(self, operation: str) -> FailureRule | None:
        """Consume one use of the first rule matching `operation`, oldest first."""
        with self._lock:
            for rule in self._rules:
                if rule.operation in ("*", operation):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule
        return None
