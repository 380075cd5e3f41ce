"""Refund workflow settings (environment prefix HUB_REFUND_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class RefundSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_REFUND_", env_file=".env", extra="ignore")

    profile: str = "shandong-2020"  # SLA profile: limits and traffic-light thresholds
    profiles_dir: Path | None = None  # extra profile files (a site's own thresholds)
    tax_wsdl_url: str | None = None  # e.g. http://127.0.0.1:8102/soap?wsdl
    bank_url: str | None = None  # e.g. http://127.0.0.1:8103
    bank_api_key: str | None = None
    adapter_timeout: float = 10.0
    adapter_attempts: int = 4
    sweep_seconds: float = 60.0  # how often open cases' lights are re-evaluated (alerts)
    queue_prefix: str = "swhub.refunds"  # queues: <prefix>.filings, .submit, .payments, .alerts
