"""Shared fixtures. Tests that need RabbitMQ or PostgreSQL use the real services; when one is
unreachable the test is skipped on a developer machine but FAILS under CI=true."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NoReturn
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


def missing(message: str) -> NoReturn:
    """A service or tool a test needs is not there: under CI=true that fails the test (.ci/run
    starts or installs everything), on a dev machine it skips it."""
    if IN_CI:
        pytest.fail(f"{message}: under CI=true a missing service is a failure")
    pytest.skip(reason=f"{message}; skipped unless CI=true")


def require_service(name: str, url: str) -> None:
    if not _reachable(url):
        missing(f"{name} unreachable at {url}")


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


# Queues that test hubs declare on the shared vhost under a prefix of their own (a clearance hub:
# ingress, gateway and 8 workflow partitions). Left behind, quorum queues pile up run after run: with a
# few hundred the broker stopped completing AMQP handshakes and the suite failed on RabbitMQ.
_TEST_QUEUE = re.compile(r"^(swhub\.clearance\.t|swhub\.refunds\.t|swhub\.test\.)[0-9a-f]{8}\.")


def _delete_leftover_test_queues() -> None:
    """Delete unused test queues on the default vhost (none while no suite runs; 0 consumers)."""
    if shutil.which("rabbitmqctl") is None or not _reachable(AMQP_URL):
        return
    try:
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "-p", "/", "name", "consumers"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return  # not ours to manage (no permission, another broker): leave it
    rows = [line.split("\t") for line in listed.splitlines()]
    names = [r[0] for r in rows if len(r) == 2 and r[1] == "0" and _TEST_QUEUE.match(r[0])]
    if not names:
        return
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPError:
        return  # the broker's own tests report it
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)
    finally:
        connection.close()


# Every test session on this machine holds a shared lock on this file while it runs; only a session
# that can take it exclusively (no other suite running) deletes unused test queues. Another suite's
# queues have no consumer for moments (a hub starting, a consumer reconnecting): deleting them then
# lost that suite's messages and failed its end-to-end tests.
_SUITES_LOCK = Path(tempfile.gettempdir()) / "swhub-test-suites.lock"


def _clean_if_alone(lock: IO[str]) -> None:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another suite is running: its queues may be in use
    _delete_leftover_test_queues()


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_test_queues() -> Iterator[None]:
    with _SUITES_LOCK.open("a") as lock:
        _clean_if_alone(lock)
        fcntl.flock(lock, fcntl.LOCK_SH)  # from here on, another suite does not clean up under us
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            _clean_if_alone(lock)
            fcntl.flock(lock, fcntl.LOCK_UN)
