"""Prometheus text exposition for one process, and who may read it.

Scrapers authenticate with `Authorization: Bearer <HUB_METRICS_TOKEN>` (Prometheus' `authorization`
scrape setting); on the API an admin's X-API-Key is accepted too. With no token configured only
admins can read the API's /metrics and a worker serves none."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hub.db.session import Database
from hub.observability.metrics import REGISTRY
from hub.observability.state import DatabaseStateCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST

_state_registries: dict[int, CollectorRegistry] = {}


def render(db: Database | None) -> bytes:
    """This process's metrics, plus the shared database gauges when `db` is given."""
    text = generate_latest(REGISTRY)
    if db is not None:
        text += generate_latest(_state_registry(db))
    return text


def bearer_ok(authorization: str | None, token: str | None) -> bool:
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _state_registry(db: Database) -> CollectorRegistry:
    registry = _state_registries.get(id(db))
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseStateCollector(db))
        _state_registries[id(db)] = registry
    return registry
