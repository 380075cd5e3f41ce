"""Engine and unit of work. One place decides SQLite vs PostgreSQL specifics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """Engine + session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.is_sqlite = url.startswith("sqlite")
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Call `hook` after each successful unit-of-work commit (e.g. wake the outbox relay)."""
        self._after_commit.append(hook)

    @contextmanager
    def unit_of_work(self, notify: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back on any exception.

        `notify=False` skips the after-commit hooks: the outbox relay's own transactions must not wake
        the relay, or an idle hub polls its database in a tight loop."""
        session = self.sessions()
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
