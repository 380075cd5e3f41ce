"""Clearance workflow settings (environment prefix HUB_CLEARANCE_)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

CUSTOMS_KEY = "customs"  # routing-key prefix of everything the hub sends to customs
INGRESS_EXCHANGE = "swhub.ingress"  # parties publish raw messages here (routing key = message type)
SENDER_HEADER = "x-swhub-sender"  # USCC of the publishing party on swhub.ingress
ARCHIVE_HEADER = "x-swhub-archive-id"


class ClearanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_CLEARANCE_", env_file=".env", extra="ignore")

    queue_prefix: str = "swhub.clearance"
    # Where the hub pushes customs-bound messages over HTTP (the customs simulator's /inbox). Unset:
    # customs consumes `customs.#` from NOTICE_EXCHANGE itself over AMQP.
    customs_url: str | None = None
    customs_api_key: str | None = None
    # Complete declaration (完整申报) due: N calendar days after the start event; a due day that is an
    # official rest day rolls to the next working day (configurable, see docs/clearance.md).
    complete_due_days: int = 14
    due_start_event: Literal["conveyance_entry", "first_arrival"] = "conveyance_entry"
    roll_to_working_day: bool = True
    remind_days_before: int = 3
    weight_tolerance_pct: Decimal = Decimal("2")
    # "Listed but never discharged": the hub cannot see the vessel's discharge end, so the sweep
    # reconciles a consignment once this many hours have passed since its start event: the first
    # tally of the voyage (evidence of discharge; not before the manifest's arrival time), or the
    # manifest's arrival time itself (conveyance_entry).
    discharge_grace_hours: float = 24.0
    discharge_grace_start: Literal["first_tally", "conveyance_entry"] = "first_tally"
    # A customs answer (DEC_DATA / DecImportResponse) matching no declaration is parked this long,
    # applied if its declaration appears, else expired with the reason.
    parked_answer_expiry_hours: float = 24.0
    # Refuse a customs answer (DecImportResponse, DEC_DATA, MT9999) that does not name the hub message
    # it answers (X-Correlation-Id / AMQP correlation_id). Off: such an answer is correlated by its own
    # references (a ClientSeqNo belongs to one declarant hub-wide).
    require_answer_correlation: bool = False
    sweep_seconds: float = 30.0
    declare_party_queues: bool = True
