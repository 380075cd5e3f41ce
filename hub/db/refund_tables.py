"""Tables of the export tax refund (出口退税) workflow. Migration 0002 creates them.

A case is one application (keyed by the exporter's application number). Its history is the list of
transitions; clocks and lights are computed on read from that history (hub.services.refunds.clocks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import Base, BigId


class RefundCase(Base):
    __tablename__ = "refund_case"

    application_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    exporter_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    exporter_uscc: Mapped[str] = mapped_column(String(18))
    exporter_name: Mapped[str] = mapped_column(String(200))
    enterprise_class: Mapped[int] = mapped_column(Integer)
    ftz: Mapped[bool] = mapped_column(Boolean, default=False)
    reputable: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_office_level: Mapped[str | None] = mapped_column(String(16))
    # filed / accepted / reviewed / approved / treasury_paid / credited / returned / rejected
    status: Mapped[str] = mapped_column(String(16))
    tax_case_no: Mapped[str | None] = mapped_column(String(32))
    account_no: Mapped[str] = mapped_column(String(32))
    refund_amount_cny: Mapped[str] = mapped_column(String(24))  # claimed total, decimal as text
    paid_amount_cny: Mapped[str | None] = mapped_column(String(24))
    payment_order_no: Mapped[str | None] = mapped_column(String(40))
    bank_reference: Mapped[str | None] = mapped_column(String(40))
    fx_receipt_proof: Mapped[str | None] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the latest filing
    message_id: Mapped[str] = mapped_column(String(36))  # archived raw filing (message table)
    profile: Mapped[str] = mapped_column(String(40))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_rule: Mapped[str] = mapped_column(String(16))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # first filing
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    treasury_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_light: Mapped[str | None] = mapped_column(String(8))  # last light the sweep saw
    sweep_done: Mapped[bool] = mapped_column(Boolean, default=False)  # closed case's final light seen
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_refund_case_status", "status"),
        Index("ix_refund_case_exporter_uscc", "exporter_uscc"),
        Index("ix_refund_case_sweep", "sweep_done"),
    )


class RefundDeclaration(Base):
    """An export declaration (报关单) claimed in an application; linked to the customs-side message."""

    __tablename__ = "refund_declaration"

    application_no: Mapped[str] = mapped_column(
        ForeignKey("refund_case.application_no", ondelete="CASCADE"), primary_key=True
    )
    entry_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    export_date: Mapped[str | None] = mapped_column(String(10))
    fob_amount_cny: Mapped[str] = mapped_column(String(24))
    refund_amount_cny: Mapped[str] = mapped_column(String(24))
    customs_message_id: Mapped[str | None] = mapped_column(String(36))  # message.id with this entry_id

    __table_args__ = (Index("ix_refund_declaration_entry_id", "entry_id"),)


class RefundInvoice(Base):
    """A VAT special invoice (增值税专用发票) backing the claim."""

    __tablename__ = "refund_invoice"

    application_no: Mapped[str] = mapped_column(
        ForeignKey("refund_case.application_no", ondelete="CASCADE"), primary_key=True
    )
    invoice_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    amount: Mapped[str] = mapped_column(String(24))
    tax_amount: Mapped[str] = mapped_column(String(24))


class RefundTransition(Base):
    """One timestamped state change of a case (the clocks are replayed from these)."""

    __tablename__ = "refund_transition"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(ForeignKey("refund_case.application_no", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # business time of the change
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16))  # filing / tax / bank
    event_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_refund_transition_application_no", "application_no", "id"),)


class RefundAlert(Base):
    """An amber/red alert sent for a case: one row per light change, so it is never re-sent."""

    __tablename__ = "refund_alert"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(ForeignKey("refund_case.application_no", ondelete="CASCADE"))
    light: Mapped[str] = mapped_column(String(8))
    previous_light: Mapped[str | None] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_refund_alert_application_no", "application_no"),)


__all__ = ["RefundAlert", "RefundCase", "RefundDeclaration", "RefundInvoice", "RefundTransition"]
