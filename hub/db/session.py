"""Engine and unit of work. One place decides SQLite vs PostgreSQL specifics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    engine = _engine(url)
    from hub.observability.metrics import DB_STATEMENTS

    # executemany counts once: one round trip
    event.listen(engine, "before_cursor_execute", lambda *_: DB_STATEMENTS.inc())
    return engine


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the relay read while a request writes; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pre-ping: it cost a round trip on every checkout, i.e. several per message. A connection
    # dropped under a busy worker fails its transaction, SQLAlchemy then discards the whole pool, and
    # the bus redelivers the message (consumers ack only after commit). Only a connection that sat
    # idle (where server restarts and idle timeouts strike) is checked before use, and none is kept
    # longer than POOL_RECYCLE_SECONDS.
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=POOL_RECYCLE_SECONDS)
    _ping_after_idle(engine)
    return engine


KEEP_LOADED = "swhub.keep_loaded"  # session.info: strong references to the rows it loaded


def _keep_loaded(session: Session, instance: object) -> None:
    kept = session.info.get(KEEP_LOADED)
    if kept is not None:
        kept.append(instance)


def on_postgresql(session: Session) -> bool:
    """Whether the session's database is PostgreSQL (advisory locks, arrays); else SQLite."""
    return session.get_bind().dialect.name == "postgresql"


def in_batch(session: Session) -> bool:
    """True in a unit_of_work(batch=True): rows loaded stay in its identity map."""
    return KEEP_LOADED in session.info


def batch_memo(session: Session, key: str) -> dict[str, Any] | None:
    """In a batch, a dict under `key` that lives as long as its transaction (rows read once and
    kept for the batch's later messages); None outside a batch, where each transaction reads afresh."""
    return session.info.setdefault(key, {}) if in_batch(session) else None


def at_commit(session: Session, key: str, apply: Callable[[Session, list[Any]], None]) -> list[Any]:
    """A list the transaction's work appends to under `key`; `apply(session, items)` runs once just
    before it commits, with the items in the order appended (nothing if none were). A batch writes
    what its messages each contributed as one statement this way, not one per message."""
    items: list[Any] | None = session.info.get(key)
    if items is None:
        items = session.info[key] = []

        def run(at: Session) -> None:
            collected = at.info.pop(key, [])
            if collected:
                apply(at, collected)

        event.listen(session, "before_commit", run, once=True)
    return items


POOL_RECYCLE_SECONDS = 1800
IDLE_PING_SECONDS = 30.0
_CHECKED_IN = "swhub_checked_in"


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago: no round trip
        try:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT 1")
            cur.close()
        except Exception as exc:  # the pool retries the checkout on a fresh connection
            raise DisconnectionError(f"idle connection was closed: {exc}") from exc


class Database:
    """Engine + session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        for name in ("loaded_as_persistent", "pending_to_persistent"):
            event.listen(self.sessions, name, _keep_loaded)
        self.is_sqlite = url.startswith("sqlite")
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Call `hook` after each successful unit-of-work commit (e.g. wake the outbox relay)."""
        self._after_commit.append(hook)

    @contextmanager
    def unit_of_work(self, notify: bool = True, *, batch: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back on any exception.

        `notify=False` skips the after-commit hooks: the outbox relay's own transactions must not wake
        the relay, or an idle hub polls its database in a tight loop. `batch=True` (a transaction
        applying many messages) keeps every row it loads in the identity map until it ends: the
        session holds clean rows only weakly, so the next message's lookup of the same consignment
        would otherwise query again."""
        session = self.sessions()
        if batch:
            session.info[KEEP_LOADED] = []
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if notify:
            for hook in self._after_commit:
                hook()

    def ping(self) -> bool:
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
