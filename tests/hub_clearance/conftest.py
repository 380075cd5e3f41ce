"""Reuse the hub tests' `db_url` and `db` fixtures (SQLite and a fresh PostgreSQL database)."""

from tests.hub.conftest import db, db_url  # noqa: F401
