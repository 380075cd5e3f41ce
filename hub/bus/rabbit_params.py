"""Connection parameters and retry policy shared by the RabbitMQ publisher, consumers and admin link."""

from __future__ import annotations

import logging

import pika
from pika.exceptions import AMQPConnectionError, AMQPError, ChannelClosedByBroker
from tenacity import RetryCallState

from hub.bus.base import BusUnavailable, TopologyError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
BLOCKED_CONNECTION_TIMEOUT = 30.0  # a broker resource alarm fails publishes instead of hanging them
SOCKET_TIMEOUT = 5.0
BACKOFF_INITIAL = 0.2
BACKOFF_MAX = 5.0


def connection_parameters(url: str, connection_name: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = HEARTBEAT_SECONDS
    params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT
    params.socket_timeout = SOCKET_TIMEOUT
    params.stack_timeout = 15
    params.connection_attempts = 1  # tenacity does the retrying, with backoff
    params.client_properties = {"connection_name": connection_name, "product": "swhub"}
    return params


def translate(exc: BaseException, what: str) -> Exception:
    """Map a pika failure onto the bus's error types (callers only ever see BusError)."""
    if isinstance(exc, ChannelClosedByBroker) and exc.reply_code in (404, 406):
        # 404 NOT_FOUND (missing exchange/queue) or 406 PRECONDITION_FAILED (conflicting arguments)
        return TopologyError(f"{what}: {exc.reply_code} {exc.reply_text}")
    if isinstance(exc, AMQPError | OSError):
        return BusUnavailable(f"{what}: {type(exc).__name__}: {exc}")
    return exc if isinstance(exc, Exception) else BusUnavailable(f"{what}: {exc!r}")


def is_connection_failure(exc: BaseException) -> bool:
    return isinstance(exc, AMQPConnectionError | BusUnavailable | OSError)


def log_retry(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    error = outcome.exception() if outcome else None
    log.warning(
        "RabbitMQ unavailable (attempt %d): %s: %s; retrying in %.1fs",
        retry_state.attempt_number,
        type(error).__name__,
        error,
        retry_state.upcoming_sleep,
    )
