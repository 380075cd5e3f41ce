"""Reuse the hub tests' `db_url` fixture (SQLite and a fresh PostgreSQL database)."""

from tests.hub.conftest import db_url  # noqa: F401
