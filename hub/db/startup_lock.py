"""One process at a time through start-up work (migrations, first-run seeding) on one database.

Several `swhub worker` processes started together on a fresh database each ran the migrations and
the party seeding: one lost the race and crashed on a duplicate key. The lock makes the second
wait, then find the work done.
- PostgreSQL: a session-level advisory lock, held on its own connection, released when the block
  ends or the process dies (the server drops it with the connection).
- SQLite: an exclusive `flock` on `<database file>.startup.lock` (released by the kernel when the
  process dies); an in-memory database has nobody to race with.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

# A fixed application key (pg_advisory_lock takes a bigint): crc32 of the name, stable across runs.
_LOCK_KEY = zlib.crc32(b"swhub.startup")


@contextmanager
def startup_lock(database_url: str) -> Iterator[None]:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with _postgres_lock(database_url):
            yield
        return
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        yield
        return
    with _file_lock(Path(database).with_name(Path(database).name + ".startup.lock")):
        yield


@contextmanager
def _postgres_lock(database_url: str) -> Iterator[None]:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                connection.commit()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
