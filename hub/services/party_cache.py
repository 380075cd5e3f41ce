"""The party register as a per-process snapshot, so the per-message paths (AMQP ingress sender,
site authority, enrichment's known facts, yard notice receivers) do not query `party` every time.

One query loads every party (the register is small: parties are enterprises and agencies, not
messages) into frozen views detached from any session. The snapshot is dropped
- at once in this process when the API or the bootstrap changes a party (`Hub.parties_changed`
  calls `invalidate`), and
- after `TTL_SECONDS` in any case, so a change made by another process (an API on another machine,
  a worker started with another bootstrap) is seen within that time.
Readers never see a half-loaded snapshot: it is built aside and swapped in whole."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.db.models import Party

TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class PartyView:
    """What the message paths read of a party (the names of `hub.db.models.Party`)."""

    uscc: str
    name: str
    roles: tuple[str, ...]
    terminal_code: str | None
    terminals: tuple[str, ...] | None

    @classmethod
    def of(cls, row: Party) -> PartyView:
        terminals = tuple(row.terminals) if row.terminals is not None else None
        return cls(row.uscc, row.name, tuple(row.roles or ()), row.terminal_code, terminals)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_uscc: dict[str, PartyView]
    loaded_at: float


class PartyCache:
    def __init__(self, ttl: float | None = None) -> None:
        self.ttl = ttl
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate: a load that raced with it is not kept
        self.loads = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._snapshot = None

    def _current(self, session: Session) -> dict[str, PartyView]:
        ttl = TTL_SECONDS if self.ttl is None else self.ttl
        snap = self._snapshot
        if snap is not None and time.monotonic() - snap.loaded_at < ttl:
            return snap.by_uscc
        generation = self._generation
        started = time.monotonic()
        views = {p.uscc: PartyView.of(p) for p in session.scalars(select(Party))}
        with self._lock:
            self.loads += 1
            if generation == self._generation:
                self._snapshot = _Snapshot(views, started)
        return views

    def get(self, session: Session, uscc: str) -> PartyView | None:
        return self._current(session).get(uscc) if uscc else None

    def all(self, session: Session) -> Iterable[PartyView]:
        return self._current(session).values()

    def at_terminal(self, session: Session, terminal_code: str) -> list[PartyView]:
        return [p for p in self._current(session).values() if p.terminal_code == terminal_code]


_CACHES: weakref.WeakKeyDictionary[Engine, PartyCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(bind: Engine | Session) -> PartyCache:
    """The cache of one database (its engine), shared by every service of this process."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    engine = getattr(engine, "engine", engine)  # a Connection bound session: its Engine
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = PartyCache()
        return cache


def party(session: Session, uscc: str) -> PartyView | None:
    return cache_for(session).get(session, uscc)
