"""Database tables (SQLAlchemy 2.0 typed ORM). The same schema runs on SQLite and PostgreSQL;
Alembic migrations in hub/db/migrations create it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names so migrations are identical on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement is not rowid-backed on SQLite; use INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Role(StrEnum):
    BROKER = "broker"
    IMPORTER = "importer"
    EXPORTER = "exporter"
    PORT_OPERATOR = "port_operator"
    TALLY = "tally"
    CUSTOMS = "customs"
    TAX_OFFICER = "tax_officer"
    TESTER = "tester"
    ADMIN = "admin"


class CreditClass(StrEnum):
    """Customs enterprise credit class (海关企业信用等级)."""

    AEO = "aeo"  # advanced-certified enterprise (高级认证企业)
    CERTIFIED = "certified"  # general-certified enterprise (一般认证企业, no longer issued; kept)
    GENERAL = "general"  # 一般信用企业
    DISCREDITED = "discredited"  # 失信企业


class Party(Base):
    """An enterprise or agency, keyed by its 18-character unified social credit code (USCC)."""

    __tablename__ = "party"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(default=list)
    customs_code: Mapped[str | None] = mapped_column(String(10))  # 10-digit customs registration
    credit_class: Mapped[str] = mapped_column(String(16), default=CreditClass.GENERAL.value)
    aeo_mra_country: Mapped[str | None] = mapped_column(String(3))  # e.g. JPN, KOR
    refund_class: Mapped[int | None] = mapped_column(Integer)  # export refund class 1-4
    ftz: Mapped[bool] = mapped_column(Boolean, default=False)
    reputable: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal_code: Mapped[str | None] = mapped_column(String(32))  # for port operators / yards
    tax_office_level: Mapped[str | None] = mapped_column(String(16))  # province / city / county
    # Terminals a tally company is assigned to, or further sites a port operator runs (0006)
    terminals: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    keys: Mapped[list[ApiKey]] = relationship(back_populates="party")


class Entrustment(Base):
    """A consignee's electronic agency entrustment (代理报关委托) of a customs broker (0006)."""

    __tablename__ = "entrustment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consignee_uscc: Mapped[str] = mapped_column(String(18))
    broker_uscc: Mapped[str] = mapped_column(String(18))
    created_by: Mapped[str] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("consignee_uscc", "broker_uscc", name="uq_entrustment_pair"),)


class ApiKey(Base):
    """An API key, stored only as its SHA-256; maps a caller to a party and roles."""

    __tablename__ = "api_key"

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    roles: Mapped[list[str]] = mapped_column(default=list)
    label: Mapped[str] = mapped_column(String(100), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    party: Mapped[Party] = relationship(back_populates="keys")


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Message(Base):
    """Every message in or out, archived raw (with its hash) before anything else is done."""

    __tablename__ = "message"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))  # http / amqp / soap / internal
    format: Mapped[str] = mapped_column(String(16))  # xml / edifact / json / unknown
    message_type: Mapped[str] = mapped_column(String(32), default="")
    external_id: Mapped[str | None] = mapped_column(String(128))  # MessageID / UNB+UNH ref
    sender: Mapped[str | None] = mapped_column(String(64))
    receiver: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    bill_no: Mapped[str | None] = mapped_column(String(64))
    container_no: Mapped[str | None] = mapped_column(String(16))
    client_seq_no: Mapped[str | None] = mapped_column(String(32))
    seq_no: Mapped[str | None] = mapped_column(String(32))
    entry_id: Mapped[str | None] = mapped_column(String(32))
    voyage_no: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    refs: Mapped[list[MessageRef]] = relationship(back_populates="message", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_message_bill_no", "bill_no"),
        Index("ix_message_client_seq_no", "client_seq_no"),
        Index("ix_message_entry_id", "entry_id"),
        Index("ix_message_sha256", "sha256"),
        Index("ix_message_external_id", "external_id"),
        Index("ix_message_sender", "sender"),
        Index("ix_message_receiver", "receiver"),
        Index("ix_message_correlation_id", "correlation_id"),
    )


class MessageRef(Base):
    """Multi-valued business keys of a message (every container of a manifest, every bill...)."""

    __tablename__ = "message_ref"

    message_id: Mapped[str] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # bill / container / declaration
    value: Mapped[str] = mapped_column(String(64), primary_key=True)

    message: Mapped[Message] = relationship(back_populates="refs")

    __table_args__ = (Index("ix_message_ref_kind_value", "kind", "value"),)


class OutboxMessage(Base):
    """Messages to publish, written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[str] = mapped_column(String(64))
    routing_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_type: Mapped[str] = mapped_column(String(64), default="application/octet-stream")
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)


class InboxMessage(Base):
    """Ids of messages a consumer has processed: recorded in the same transaction as the effects."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only audit log (UPDATE and DELETE are refused by database triggers)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    correlation_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)


class DeadLetter(Base):
    """A message the bus gave up on, kept with its reason until an operator replays or drops it."""

    __tablename__ = "dead_letter"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the dead-lettered copy's message id
    original_exchange: Mapped[str] = mapped_column(String(64))
    original_routing_key: Mapped[str] = mapped_column(String(255))
    original_queue: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_type: Mapped[str] = mapped_column(String(64), default="application/octet-stream")
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    dead_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="dead")  # dead / replayed / discarded
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replayed_by: Mapped[str | None] = mapped_column(String(64))
    replay_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_dead_letter_status", "status", "dead_at"),)


class CalendarYear(Base):
    """A year of the official working-day calendar loaded from the State Council notice."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Notice data as parsed by refunds.notice: holiday runs {name, start, end}, working weekend days
    # {date, name} (调休), and the source notice {title, document_number, issued, text} as JSON text.
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    working_weekends: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    loaded_by: Mapped[str] = mapped_column(String(64), default="")


__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "CalendarYear",
    "CreditClass",
    "DeadLetter",
    "Direction",
    "InboxMessage",
    "Message",
    "MessageRef",
    "OutboxMessage",
    "Party",
    "Role",
]
