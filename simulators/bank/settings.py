"""Bank simulator configuration from the environment (prefix BANK_SIM_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BankSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BANK_SIM_", extra="ignore")

    api_key: str = "sim-tester-key"  # X-API-Key for /control/...
    clock: str = "system"  # system | manual[:iso] | scaled:<factor>[:iso]
    callback_url: str | None = None  # where credit notifications are POSTed (JSON)
    callback_api_key: str | None = None  # sent as X-API-Key on callbacks
    callback_max_attempts: int = 10
    callback_backoff_initial: float = 0.5
    callback_backoff_max: float = 30.0
    credit_delay_seconds: float = 60.0  # simulated seconds from order receipt to credit
    refuse_account_prefixes: str = ""  # comma-separated account number prefixes always refused
    hang_seconds: float = 30.0
    tick_seconds: float = 0.2
