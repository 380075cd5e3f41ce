"""Every workflow the hub runs, installed the same way in the API process and in workers."""

from __future__ import annotations

from hub.runtime import Hub
from hub.services.clearance.service import ClearanceService


class _DeadLetterService:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def register(self) -> None:
        from hub.services import deadletters

        self.hub.add_consumer(deadletters.consumer_spec(self.hub.db, self.hub.dead_letter_hooks))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _RefundLifecycle:
    """Adapts RefundService (register / start_sweep / stop) to the hub's service lifecycle."""

    def __init__(self, hub: Hub) -> None:
        from hub.services.refunds.service import RefundService

        self.service = RefundService(hub)
        hub.refunds = self.service  # type: ignore[attr-defined]

    def register(self) -> None:
        self.service.register()

    def start(self) -> None:
        self.service.start_sweep()

    def stop(self) -> None:
        self.service.stop()


def install_clearance(hub: Hub) -> ClearanceService:
    """The clearance workflow (ClearanceService already has register/start/stop)."""
    if "clearance" not in hub.services:
        service = ClearanceService(hub)
        hub.clearance = service  # type: ignore[attr-defined]
        hub.install("clearance", service)
    return hub.clearance  # type: ignore[attr-defined, no-any-return]


def install_workflows(hub: Hub) -> Hub:
    hub.install("dead-letters", _DeadLetterService(hub))
    hub.install("refunds", _RefundLifecycle(hub))
    install_clearance(hub)
    return hub
