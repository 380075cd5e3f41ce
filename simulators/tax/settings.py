"""Tax simulator configuration from the environment (prefix TAX_SIM_)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from simulators.tax.model import DEFAULT_DURATIONS, DEFAULT_FAST_TRACK, StageDurations


class TaxSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAX_SIM_", extra="ignore")

    api_key: str = "sim-tester-key"  # X-API-Key for /control/...
    clock: str = "system"  # system | manual[:iso] | scaled:<factor>[:iso]
    callback_url: str | None = None  # where stage events are POSTed; unset = pull only
    callback_format: Literal["json", "xml"] = "json"
    callback_api_key: str | None = None  # sent as X-API-Key on callbacks (the hub's key for this agency)
    callback_max_attempts: int = 10
    callback_backoff_initial: float = 0.5
    callback_backoff_max: float = 30.0
    customs_mode: Literal["permissive", "strict"] = "permissive"
    prefix_steering: bool = True
    durations: str | None = None  # JSON {"1": {"review": s, "approval": s, "treasury": s}, ...}
    fast_track: str | None = None  # JSON {"review": s, "approval": s, "treasury": s}
    hang_seconds: float = 30.0  # how long "timeout" failures hold a call
    tick_seconds: float = 0.2

    @field_validator("durations")
    @classmethod
    def _check_durations(cls, value: str | None) -> str | None:
        if value is not None:
            parse_durations(value)
        return value

    def stage_durations(self) -> dict[int, StageDurations]:
        return parse_durations(self.durations) if self.durations else dict(DEFAULT_DURATIONS)

    def fast_track_durations(self) -> StageDurations:
        if not self.fast_track:
            return DEFAULT_FAST_TRACK
        return StageDurations.from_json(json.loads(self.fast_track))


def parse_durations(text: str) -> dict[int, StageDurations]:
    data = json.loads(text)
    result = dict(DEFAULT_DURATIONS)
    for key, value in data.items():
        if str(key) not in {"1", "2", "3", "4"}:
            raise ValueError(f"enterprise class must be 1-4, got {key!r}")
        result[int(key)] = StageDurations.from_json(value)
    return result
