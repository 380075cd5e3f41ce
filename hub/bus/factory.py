"""Pick the bus implementation from settings: RabbitMQ when HUB_AMQP_URL is set, else in-process."""

from __future__ import annotations

import threading

from hub.bus.base import Bus
from hub.bus.memory import InProcessBus
from hub.config import Settings, get_settings

_embedded: InProcessBus | None = None
_embedded_lock = threading.Lock()


def embedded_bus() -> InProcessBus:
    """The process-wide in-process bus (one per process, so the API and workers share it)."""
    global _embedded
    with _embedded_lock:
        if _embedded is None or not _embedded.ping():
            _embedded = InProcessBus()
        return _embedded


def create_bus(settings: Settings | None = None) -> Bus:
    settings = settings or get_settings()
    if settings.amqp_url:
        from hub.bus.rabbitmq import RabbitBus  # pika only loaded when a broker is configured

        return RabbitBus(settings.amqp_url, default_delivery_limit=settings.delivery_limit)
    return embedded_bus()
