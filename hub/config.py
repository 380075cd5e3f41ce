"""Configuration from the environment (prefix HUB_) and an optional `.env` file.

With nothing set, the hub runs embedded: SQLite under var/ and the in-process bus."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'var' / 'swhub.db'}"
    amqp_url: str | None = None  # unset -> embedded in-process bus
    api_keys_file: Path = ROOT / "var" / "parties.yaml"  # created with fresh keys on first run
    partners_file: Path = ROOT / "config" / "partners.yaml"
    timezone: str = "Asia/Shanghai"
    max_message_bytes: int = 10 * 1024 * 1024
    max_event_bytes: int = 1024 * 1024  # tax and bank callbacks are small JSON/XML notifications
    max_messages_per_interchange: int = 1000  # one client's interchange must not monopolise intake
    public_query_per_minute: int = 60  # per client address on the public refund query; 0 = no limit
    # A refused payload is kept in full up to this size; beyond it (or beyond the sender's quota) only
    # its SHA-256, size and first reject_head_bytes stay, so refusals cannot fill the archive.
    reject_archive_bytes: int = 64 * 1024
    reject_head_bytes: int = 1024
    reject_daily_quota_bytes: int = 8 * 1024 * 1024  # per sending party, over the last 24 hours
    delivery_limit: int = 5
    prefetch: int = 50
    outbox_batch: int = 200
    # Inbound clearance traffic is spread over this many single-active-consumer queues by bill of
    # lading (hub/services/clearance/partitions.py): the most workers that can apply it at once.
    partitions: int = 8
    # Intake (AMQP ingress) and the workflow partitions take what is waiting, up to batch_size
    # messages, lingering batch_linger_ms for more, and commit them in one transaction
    # (hub/db/batch.py, docs/clearance.md "Batches"). 1 = one transaction per message.
    batch_size: int = 50
    # AMQP intake applies a message in its own transaction when nothing of its partition is on its
    # way through the partition queue (hub/services/clearance/straight.py); 0 routes all through it.
    straight_through: bool = True
    batch_linger_ms: int = 5
    risk_rules_dir: Path | None = None
    # Prometheus scrape token (Authorization: Bearer ...) for the API's /metrics and worker listeners.
    metrics_token: str | None = None
    metrics_port: int | None = None  # `swhub worker` serves /metrics here when set (token required)
    metrics_host: str = "0.0.0.0"

    @property
    def embedded_bus(self) -> bool:
        return not self.amqp_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
