"""Shared fixtures. Tests that need RabbitMQ or PostgreSQL use the real services; when one is
unreachable the test is skipped on a developer machine but FAILS under CI=true."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

AMQP_URL = os.environ.get("HUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PG_ADMIN_URL = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    if _reachable(url):
        return
    message = f"{name} unreachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}: under CI=true a missing service is a failure")
    pytest.skip(reason=f"{message}; skipped unless CI=true")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    require_service("RabbitMQ", AMQP_URL)
    return AMQP_URL


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    require_service("PostgreSQL", PG_ADMIN_URL)
    import sqlalchemy as sa

    name = f"swhub_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
