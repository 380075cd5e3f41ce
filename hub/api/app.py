"""FastAPI application factory. Thin: parse input, call a service, render output."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from hub.api import errors
from hub.api.openapi_docs import with_error_envelope
from hub.api.routes import (
    clearance,
    convert,
    deadletters,
    entrustments,
    health,
    messages,
    metrics,
    parties,
    refunds,
    risk,
    ui,
)
from hub.gil import share_finely
from hub.heap import freeze_startup_heap
from hub.runtime import Hub

API_TITLE = "swhub — single-window integration hub"


def create_app(
    hub: Hub | None = None,
    *,
    start: bool = True,
    on_started: Callable[[Hub], None] | None = None,
    on_stopping: Callable[[Hub], None] | None = None,
    freeze_heap: bool | None = None,
) -> FastAPI:
    """Build the app around `hub` (a new one from the environment when None).

    With start=True the hub (migrations, bus topology, relay, consumers) starts with the app and
    stops with it; tests that manage the hub themselves pass start=False. `on_stopping` runs at
    shutdown before the hub stops: after a SIGTERM uvicorn re-raises the signal once it has shut down,
    so code placed after `uvicorn.run` never runs. `freeze_heap` (default: when the app builds its own
    hub, i.e. it is the process's only one) freezes the start-up heap once started (hub.heap) and
    hands the GIL round in 1 ms slices (hub.gil)."""
    if freeze_heap is None:
        freeze_heap = hub is None
    hub = hub or Hub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            hub.start()
            hub.bootstrap_parties()
            if on_started:
                on_started(hub)
            if freeze_heap:  # this process serves this one hub
                freeze_startup_heap()
                share_finely()
        yield
        if start:
            try:
                if on_stopping:
                    on_stopping(hub)
            finally:  # a failing hook must not leave the relay and consumers running
                hub.stop()

    # /docs and /redoc load Swagger UI / ReDoc from the hub itself (a customs intranet has no CDN)
    app = FastAPIOffline(
        title=API_TITLE,
        version="0.1.0",
        lifespan=lifespan,
        description="Declarations, manifests, arrival and tally reports, notices, refunds. "
        "Authenticate with the X-API-Key header.",
    )
    app.state.hub = hub
    errors.install(app)
    _document_error_envelope(app)
    for module in (health, metrics, parties, entrustments, messages, deadletters, risk, ui):
        app.include_router(module.router)
    app.include_router(convert.router)
    refunds.install(app, hub)
    clearance.install(app, hub)
    return app


def _document_error_envelope(app: FastAPI) -> None:
    """/openapi.json documents the error envelope errors.install() really returns, for every route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return with_error_envelope(build())

    app.openapi = openapi  # type: ignore[method-assign]
