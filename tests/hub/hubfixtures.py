"""Helpers to build a real Hub (real database, real bus) for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from hub.config import Settings

BROKER_USCC = "91370200M3C0BRK01N"
OTHER_BROKER_USCC = "91370200M3C0BRK02R"
PORT_USCC = "91370200M3C0PRT01B"
CUSTOMS_USCC = "11100000000013127D"
ADMIN_USCC = "91370200M3C0ADM1NM"

KEYS = {
    "admin": "test-admin-key",
    "broker": "test-broker-key",
    "other_broker": "test-other-broker-key",
    "port": "test-port-key",
    "customs": "test-customs-key",
}


def write_parties(path: Path) -> Path:
    parties: list[dict[str, Any]] = [
        {"uscc": ADMIN_USCC, "name": "admin", "roles": ["admin"], "keys": [{"key": KEYS["admin"]}]},
        {"uscc": BROKER_USCC, "name": "青岛海通报关", "roles": ["broker"], "keys": [{"key": KEYS["broker"]}]},
        {
            "uscc": OTHER_BROKER_USCC,
            "name": "烟台另一报关行",
            "roles": ["broker"],
            "keys": [{"key": KEYS["other_broker"]}],
        },
        {"uscc": PORT_USCC, "name": "前湾码头", "roles": ["port_operator"], "keys": [{"key": KEYS["port"]}]},
        {"uscc": CUSTOMS_USCC, "name": "青岛海关", "roles": ["customs"], "keys": [{"key": KEYS["customs"]}]},
    ]
    path.write_text(yaml.safe_dump({"parties": parties}, allow_unicode=True), encoding="utf-8")
    return path


def settings_for(db_url: str, tmp_path: Path, amqp_url: str | None = None) -> Settings:
    return Settings(
        database_url=db_url,
        amqp_url=amqp_url,
        api_keys_file=write_parties(tmp_path / "parties.yaml"),
        _env_file=None,  # type: ignore[call-arg]
    )


@contextmanager
def recorded(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement `engine` sends while the block runs, whitespace collapsed."""
    statements: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
