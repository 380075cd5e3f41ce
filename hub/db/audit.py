"""Append-only audit log entries, written inside the transaction they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db.models import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
        correlation_id=correlation_id,
    )
    session.add(entry)
    return entry
