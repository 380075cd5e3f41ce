"""The embedded bus's queued deliveries, kept in the hub's own database so a crash cannot take them.

One row per copy routed to a queue (a message bound to two queues has two rows). The row is written
before publish returns (so before the outbox relay marks its row sent), its `returns` counts the
deliveries handed back unacked (RabbitMQ's x-delivery-count), and it is deleted on ack or when the
copy is dead-lettered or dropped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, BigId


class BusQueueRow(Base):
    __tablename__ = "bus_queue"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # FIFO order
    queue: Mapped[str] = mapped_column(String(128))
    exchange: Mapped[str] = mapped_column(String(64))
    routing_key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_type: Mapped[str] = mapped_column(String(64), default="application/octet-stream")
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    returns: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_bus_queue_queue", "queue", "id"),)
