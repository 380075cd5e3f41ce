"""`column IN (values)` for a batch's ids, written so that PostgreSQL gets ONE array parameter.

`column.in_(ids)` expands into one placeholder per id at every execution: SQLAlchemy renders the
expanded list (with a bind cast per element on PostgreSQL), and psycopg parses the resulting query
again each time because a query with over 50 parameters is not in its cache. On the relay's and
the batch prefetches' statements that was a tenth of a worker's CPU (py-spy). `column = ANY(:ids)`
is one cached statement whatever the batch size. SQLite has no arrays: there it stays `IN`.

Also plain Core `update(table)` for the hot UPDATEs (`update_rows`): an ORM-enabled UPDATE goes
through the ORM's bulk-update compile state on every execution even when unsynchronised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Update, any_, bindparam, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Table

from hub.db.session import on_postgresql


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`: `= ANY(array)` on PostgreSQL, `IN (...)` elsewhere."""
    listed = list(values)
    if on_postgresql(session):
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    return column.in_(listed)  # type: ignore[no-any-return]


def update_rows(table: Table | Any) -> Update:
    """A Core UPDATE of a mapped class's table (or a table): no ORM bulk-update machinery."""
    return update(getattr(table, "__table__", table))
