"""The customs simulator's tester control API (under /control, header X-API-Key = the tester key):
GET /control/status, GET/POST/DELETE /control/failures. Failure rules apply to `POST /inbox` (the
HTTP channel the hub pushes to); the AMQP consumer is not affected. A rule's operation is `*` or
`inbox` (every /inbox call) or a message type (`DecMessage`, `MT1101`, `InspectionNotice`, ...).

The simulator has no clock of its own (its answers carry wall-clock times), so there is no
/control/clock here, unlike the tax and bank simulators."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Response

from simulators.common.control import FailureRequest, api_key_guard
from simulators.common.failures import FailureInjector, FailureMode, FailureRule

log = logging.getLogger(__name__)

INBOX_OPERATION = "inbox"  # rule operation matching every /inbox call, whatever its message type


def tester_key(configured: str | None) -> str:
    """The configured CUSTOMS_SIM_API_KEY, or a random one for this run, logged so a tester can use it."""
    if configured:
        return configured
    key = "sim_" + secrets.token_urlsafe(18)
    log.warning("CUSTOMS_SIM_API_KEY not set: control API key for this run is %s", key)
    return key


async def injected_response(rule: FailureRule | None, hang_seconds: float) -> Response | None:
    """What an injected failure does to one /inbox call: None = go on (after any latency)."""
    if rule is None:
        return None
    if rule.mode is FailureMode.LATENCY:
        await asyncio.sleep(rule.seconds)
        return None
    if rule.mode is FailureMode.HTTP_500:  # a crashed gateway: not processed, the hub must retry
        return Response("Internal Server Error (injected)", status_code=500, media_type="text/plain")
    if rule.mode is FailureMode.SOAP_FAULT:  # protocol-level "try later" for this REST-ish inbox
        return Response('{"error": "SERVICE_UNAVAILABLE"}', status_code=503, media_type="application/json")
    await asyncio.sleep(rule.seconds or hang_seconds)
    return Response("Gateway Timeout (injected)", status_code=504, media_type="text/plain")


def build_customs_control_router(
    api_key: str, failures: FailureInjector, status: Callable[[], dict[str, Any]]
) -> APIRouter:
    router = APIRouter(prefix="/control", tags=["control"], dependencies=[Depends(api_key_guard(api_key))])

    @router.get("/status")
    def get_status() -> dict[str, Any]:
        return status() | {"failures": [r.to_json() for r in failures.rules()]}

    @router.get("/failures")
    def list_failures() -> list[dict[str, Any]]:
        return [r.to_json() for r in failures.rules()]

    @router.post("/failures", status_code=201)
    def add_failure(request: FailureRequest) -> dict[str, Any]:
        return failures.add(request.mode, request.operation, request.count, request.seconds).to_json()

    @router.delete("/failures")
    def clear_failures() -> dict[str, int]:
        return {"cleared": failures.clear()}

    return router
