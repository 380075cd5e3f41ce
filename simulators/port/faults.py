"""Fault injection on the terminal's outgoing flows (manifest, tally, arrival, distribution), pure
logic: `FaultInjector.plan(message, now)` turns one outgoing message into the transmissions the
dispatcher makes (or none yet), applying every matching rule once:

  latency          hold it `seconds` real seconds before sending (later messages are not held up)
  drop             never send it (counted as dropped)
  duplicate        send it twice (same bytes: the hub must answer the second with its first receipt)
  reorder          hold it and send it right after the next message of the same flow (a swap); if no
                   such message comes, `flush` lets it go once its flow has nothing planned any more
                   or after `max_hold` seconds
  malformed        send a truncated copy first, then the good one (a terminal resending after the
                   rejection); the copy is cut in half, so it is never well-formed XML/EDIFACT and
                   never takes the good message's reference
  connection_drop  drop the connection abruptly before this send (AMQP: reconnect and re-publish;
                   HTTP: a new client)
A rule applies to `count` messages (None = until cleared); rules are consumed oldest first."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from simulators.port.engine import FLOWS, Outgoing


class FaultKind(StrEnum):
    LATENCY = "latency"
    DROP = "drop"
    DUPLICATE = "duplicate"
    REORDER = "reorder"
    MALFORMED = "malformed"
    CONNECTION_DROP = "connection_drop"


@dataclass
class FaultRule:
    id: int
    flow: str  # manifest | tally | arrival | distribution | gate_out | *
    kind: FaultKind
    count: int | None  # None = until cleared
    seconds: float = 0.0
    applied: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"kind": self.kind.value}


@dataclass(frozen=True, slots=True)
class Transmission:
    """One send of (a copy of) a message. `delay`: real seconds to wait from planning."""

    message: Outgoing
    body: bytes
    delay: float = 0.0
    malformed: bool = False
    duplicate: bool = False  # the extra copy of a duplicated message
    drop_connection: bool = False
    faults: tuple[str, ...] = ()


@dataclass
class _Held:
    since: float
    transmissions: list[Transmission] = field(default_factory=list)


def garble(body: bytes) -> bytes:
    """A truncated copy: never well-formed, so it cannot be mistaken for the real message."""
    return body[: max(1, len(body) // 2)]


class FaultInjector:
    def __init__(self, max_hold: float = 300.0) -> None:
        self.max_hold = max_hold
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self.dropped = 0

    # ----- rules --------------------------------------------------------------------------------
    def add(
        self, flow: str, kind: FaultKind | str, count: int | None = None, seconds: float = 0.0
    ) -> FaultRule:
        if flow != "*" and flow not in FLOWS:
            raise ValueError(f"flow must be one of {', '.join(FLOWS)} or *")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 (or null for 'until cleared')")
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        kind = FaultKind(kind)  # ValueError for an unknown kind, before an id is used
        with self._lock:
            rule = FaultRule(next(self._ids), flow, kind, count, seconds)
            self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> int:
        with self._lock:
            cleared, self._rules = len(self._rules), []
        return cleared

    def held(self) -> int:
        with self._lock:
            return sum(len(h.transmissions) for h in self._held.values())

    def _take(self, flow: str, skip: set[FaultKind]) -> dict[FaultKind, FaultRule]:
        """One use of the oldest matching rule of each kind."""
        taken: dict[FaultKind, FaultRule] = {}
        for rule in list(self._rules):
            if rule.flow not in ("*", flow) or rule.kind in taken or rule.kind in skip:
                continue
            taken[rule.kind] = rule
            rule.applied += 1
            if rule.count is not None and rule.applied >= rule.count:
                self._rules.remove(rule)
        return taken

    # ----- planning -----------------------------------------------------------------------------
    def plan(self, message: Outgoing, now: float) -> list[Transmission]:
        """The transmissions to make now for `message` (plus any message it releases)."""
        with self._lock:
            held = self._held.pop(message.flow, None)
            # a message that releases a held one is not held itself: the two swap places
            rules = self._take(message.flow, {FaultKind.REORDER} if held else set())
            names = tuple(sorted(k.value for k in rules))
            if FaultKind.DROP in rules:
                self.dropped += 1
                return self._release(held, 0.0)
            delay = rules[FaultKind.LATENCY].seconds if FaultKind.LATENCY in rules else 0.0
            out: list[Transmission] = []
            if FaultKind.MALFORMED in rules:
                out.append(Transmission(message, garble(message.body), delay, malformed=True, faults=names))
            out.append(Transmission(message, message.body, delay, faults=names))
            if FaultKind.DUPLICATE in rules:
                out.append(Transmission(message, message.body, delay, duplicate=True, faults=names))
            if FaultKind.CONNECTION_DROP in rules:
                out[0] = _with(out[0], drop_connection=True)
            if FaultKind.REORDER in rules:
                self._held[message.flow] = _Held(now, out)
                return []
            return out + self._release(held, delay)

    def flush(self, busy_flows: set[str], now: float) -> list[Transmission]:
        """Held messages whose flow has nothing more planned, or that waited `max_hold`, go now."""
        with self._lock:
            out: list[Transmission] = []
            for flow in list(self._held):
                held = self._held[flow]
                if flow not in busy_flows or now - held.since >= self.max_hold:
                    out += self._release(self._held.pop(flow), 0.0)
            return out

    @staticmethod
    def _release(held: _Held | None, after: float) -> list[Transmission]:
        if held is None:
            return []
        return [_with(t, delay=max(t.delay, after)) for t in held.transmissions]


def _with(t: Transmission, **changes: Any) -> Transmission:
    return replace(t, **changes)
