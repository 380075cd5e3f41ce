"""Tables of the two-step import clearance workflow (两步申报 / 两段准入). Migration 0004 creates them,
0005 adds distribution destination, reconciliation triggers and parked-answer keys.

A consignment is one bill of lading; its containers come from the manifest (listed) or from arrival
and tally reports (discharged). Declarations are summary (概要) or complete (完整) filings with a
state machine, screening results and due dates. Parked messages are inputs that arrived before what
they depend on (tally before manifest...): kept visibly and replayed when the dependency arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, BigId


class ClrConsignment(Base):
    __tablename__ = "clr_consignment"

    bill_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    voyage_no: Mapped[str] = mapped_column(String(32), default="")
    vessel: Mapped[str] = mapped_column(String(64), default="")
    terminal_code: Mapped[str] = mapped_column(String(32), default="")  # manifest UnloadingLocation ID
    manifest_sender: Mapped[str | None] = mapped_column(String(64))  # USCC of the carrier's agent
    manifest_message_id: Mapped[str | None] = mapped_column(String(36))
    package_qty: Mapped[int | None] = mapped_column(Integer)
    gross_kg: Mapped[Any] = mapped_column(Numeric(18, 3), nullable=True)
    entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # conveyance entry
    first_arrival_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # 分拨 (MT6102): the destination site whose arrival reports count besides the terminal's (0005)
    destination_site: Mapped[str | None] = mapped_column(String(64))
    consignee_uscc: Mapped[str | None] = mapped_column(String(64))  # the manifest's consignee (0006)
    # Reconciliation ran, once per trigger (0005): every listed container tallied / discharge grace over
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    discharge_reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(24), default="manifested")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_clr_consignment_terminal_code", "terminal_code"),)


class ClrContainer(Base):
    __tablename__ = "clr_container"

    bill_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    container_no: Mapped[str] = mapped_column(String(16), primary_key=True)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)  # on the manifest
    manifest_packages: Mapped[int | None] = mapped_column(Integer)
    manifest_gross_kg: Mapped[Any] = mapped_column(Numeric(18, 3), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    arrival_site: Mapped[str | None] = mapped_column(String(64))
    arrival_sender: Mapped[str | None] = mapped_column(String(64))
    tallied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tally_packages: Mapped[int | None] = mapped_column(Integer)
    tally_gross_kg: Mapped[Any] = mapped_column(Numeric(18, 3), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the terminal's / site's gate-out report (CODECO BGM 36, migration 0009)
    gated_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gate_out_site: Mapped[str | None] = mapped_column(String(64))


class ClrDeclaration(Base):
    __tablename__ = "clr_declaration"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the receipt id given at intake
    kind: Mapped[str] = mapped_column(String(12))  # summary / complete
    broker_uscc: Mapped[str] = mapped_column(String(18))
    client_seq_no: Mapped[str] = mapped_column(String(32))
    bill_no: Mapped[str] = mapped_column(String(64))
    summary_id: Mapped[str | None] = mapped_column(String(36))  # complete -> its summary
    seq_no: Mapped[str | None] = mapped_column(String(32))  # assigned by customs
    entry_id: Mapped[str | None] = mapped_column(String(32))  # 18-digit customs number
    # received / held / submitted / registered / inspection / released / cleared / rejected / refused
    state: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(36))
    package_qty: Mapped[int | None] = mapped_column(Integer)
    gross_kg: Mapped[Any] = mapped_column(Numeric(18, 3), nullable=True)
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # risk Decision.to_dict()
    inspection: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # instruction + outcome
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # why held / rejected / refused
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # complete decl. due
    due_rule: Mapped[str | None] = mapped_column(String(120))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_by: Mapped[str | None] = mapped_column(String(36))  # summary -> its complete decl.
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("broker_uscc", "client_seq_no", name="uq_clr_declaration_broker_client_seq"),
        Index("ix_clr_declaration_bill_no", "bill_no"),
        Index("ix_clr_declaration_seq_no", "seq_no"),
        Index("ix_clr_declaration_client_seq_no", "client_seq_no"),
        Index("ix_clr_declaration_state", "state"),
    )


class ClrParked(Base):
    """An input that cannot be applied yet: replayed when what it waits for arrives. `wait_key` NULL =
    the bill's manifest; `client:<ClientSeqNo>` / `seq:<SeqNo>` / `entry:<EntryId>` = a customs answer
    waiting for its declaration (expires); `dist:<bill>` = an arrival from a site no distribution
    application (MT6102) has named yet. `resolution` says how it ended (applied / expired: why)."""

    __tablename__ = "clr_parked"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bill_no: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(36))
    message_type: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    parked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_key: Mapped[str | None] = mapped_column(String(80))  # (0005)
    resolution: Mapped[str | None] = mapped_column(String(255))  # (0005)

    __table_args__ = (
        Index("ix_clr_parked_bill_no", "bill_no", "resolved_at"),
        Index("ix_clr_parked_wait_key", "wait_key", "resolved_at"),
    )


class ClrDiscrepancy(Base):
    __tablename__ = "clr_discrepancy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bill_no: Mapped[str] = mapped_column(String(64))
    # weight / packages / unlisted_container / container_not_discharged
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_clr_discrepancy_bill_no", "bill_no"),)


class ClrPartitionFlow(Base):
    """How many inbound messages intake has routed through each workflow partition's queue
    (`side` = "routed") and how many the partition's consumers have applied ("applied"), migration
    0010. Equal counts mean nothing of that partition is on its way, so intake may apply a message
    of it at once, in its own transaction (hub/services/clearance/straight.py). Routed and applied are
    separate rows so intake and the partition consumers never wait for each other's row locks."""

    __tablename__ = "clr_partition_flow"

    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(BigId, default=0)
