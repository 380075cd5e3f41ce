"""Where the hub and the simulators are, with the keys to use: the runner needs nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx


class ControlError(RuntimeError):
    """A simulator's or the hub's control call failed: the run cannot be trusted."""


@dataclass
class Service:
    url: str
    key: str

    def call(self, client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
        try:
            response = client.request(
                method,
                f"{self.url.rstrip('/')}{path}",
                json=body,
                headers={"X-API-Key": self.key},
                timeout=15,
            )
        except httpx.HTTPError as exc:
            raise ControlError(f"{method} {self.url}{path}: {exc}") from exc
        if response.status_code >= 300:
            raise ControlError(
                f"{method} {self.url}{path}: HTTP {response.status_code} {response.text[:400]}"
            )
        return response.json() if response.content else None


@dataclass
class Endpoints:
    hub_url: str
    keys: dict[str, str]  # scenario party ref -> its hub API key; plus "admin"
    port: Service | None = None
    customs: Service | None = None
    tax: Service | None = None
    bank: Service | None = None
    now: Callable[[], datetime] = datetime.now  # the hub's (simulated) clock
    # Cuts every hub connection to the broker (RabbitMQ); None on the in-process bus.
    drop_broker_connections: Callable[[], int] | None = None
    bus: str = "in-process"
    extra: dict[str, Any] = field(default_factory=dict)

    def service(self, name: str) -> Service:
        svc = getattr(self, name, None)
        if svc is None:
            raise ControlError(f"the {name} simulator is not running in this environment")
        return svc
