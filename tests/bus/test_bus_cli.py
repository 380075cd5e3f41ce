"""`swhub bus declare` against the real broker, and its refusal without one."""

from __future__ import annotations

import pika
import pytest
from typer.testing import CliRunner

from hub.bus.base import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EVENT_EXCHANGE,
    INBOUND_EXCHANGE,
    NOTICE_EXCHANGE,
)
from hub.cli.main import app


@pytest.mark.rabbitmq
def test_declare_creates_the_default_topology_and_is_idempotent(amqp_url: str) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["bus", "declare", "--url", amqp_url])
        assert result.exit_code == 0, result.output
    assert f"queue {DEAD_LETTER_QUEUE} (quorum)" in result.output
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for exchange in (INBOUND_EXCHANGE, NOTICE_EXCHANGE, EVENT_EXCHANGE, DEAD_LETTER_EXCHANGE):
            channel.exchange_declare(exchange, passive=True)  # raises if missing
        channel.queue_declare(DEAD_LETTER_QUEUE, passive=True)
    finally:
        connection.close()


def test_declare_without_a_broker_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.config import get_settings

    monkeypatch.setenv("HUB_AMQP_URL", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["bus", "declare"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "HUB_AMQP_URL" in result.output


def test_declare_reports_an_unreachable_broker() -> None:
    # Port 1 refuses at once; --timeout bounds the retrying.
    result = CliRunner().invoke(
        app, ["bus", "declare", "--url", "amqp://guest:guest@127.0.0.1:1/%2F", "--timeout", "1"]
    )
    assert result.exit_code == 1
    assert "declare failed" in result.output
