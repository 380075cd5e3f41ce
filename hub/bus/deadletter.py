"""How a message that failed for good is copied to the dead-letter exchange (shared by both buses)."""

from __future__ import annotations

from dataclasses import replace

from hub.bus.base import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    Delivery,
    Envelope,
    Reject,
)

MAX_ERROR_CHARS = 2000  # keep headers small: AMQP frames and the broker's index hold them


def describe_error(exc: BaseException) -> str:
    """`ExcType: text` as stored in ERROR_HEADER; Reject carries only its reason."""
    text = exc.reason if isinstance(exc, Reject) else str(exc)
    described = f"{type(exc).__name__}: {text}"
    return described[:MAX_ERROR_CHARS]


def dead_letter_envelope(delivery: Delivery, error: str) -> Envelope:
    """The copy published to DEAD_LETTER_EXCHANGE: same body and ids, the reason and origin in headers."""
    headers = dict(delivery.envelope.headers)
    headers.update(
        {
            ERROR_HEADER: error,
            ORIGINAL_EXCHANGE_HEADER: delivery.exchange,
            ORIGINAL_ROUTING_KEY_HEADER: delivery.envelope.routing_key,
            ORIGINAL_QUEUE_HEADER: delivery.queue,
            ATTEMPTS_HEADER: delivery.attempt,
        }
    )
    return replace(delivery.envelope, headers=headers)
