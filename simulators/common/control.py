"""Pieces of the tester control API shared by all simulators: API-key guard (header X-API-Key),
clock endpoints and failure-injection endpoints. Each simulator mounts these under /control."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field, model_validator

from simulators.common.clock import ClockMode, ClockState, SimClock
from simulators.common.failures import FailureInjector, FailureMode

API_KEY_HEADER = "X-API-Key"


def api_key_guard(expected: str) -> Callable[[str | None], None]:
    def guard(x_api_key: str | None = Header(default=None, alias=API_KEY_HEADER)) -> None:
        if not x_api_key:
            raise HTTPException(401, f"missing {API_KEY_HEADER} header")
        if not hmac.compare_digest(x_api_key.encode(), expected.encode()):
            raise HTTPException(403, f"wrong {API_KEY_HEADER}")

    return guard


class ClockChange(BaseModel):
    """Exactly one of: set (ISO datetime), advance_seconds, mode (+factor for scaled)."""

    set: datetime | None = None
    advance_seconds: float | None = Field(default=None, ge=0)
    mode: ClockMode | None = None
    factor: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_action(self) -> ClockChange:
        given = [n for n in ("set", "advance_seconds", "mode") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of set, advance_seconds, mode (got {given or 'none'})")
        if self.mode is ClockMode.SCALED and self.factor is None:
            raise ValueError("mode 'scaled' needs factor")
        return self


class FailureRequest(BaseModel):
    mode: FailureMode
    operation: str = "*"
    count: int | None = Field(default=1, ge=1)
    seconds: float = Field(default=0.0, ge=0)


def clock_json(state: ClockState) -> dict[str, Any]:
    return {"mode": state.mode.value, "now": state.now.isoformat(), "factor": state.factor}


def build_common_control_router(
    clock: SimClock, failures: FailureInjector, api_key: str, on_clock_change: Any = None
) -> APIRouter:
    """`on_clock_change()` runs after every clock change so due events fire at once (not a tick later)."""
    router = APIRouter(prefix="/control", tags=["control"], dependencies=[Depends(api_key_guard(api_key))])

    @router.get("/clock")
    def get_clock() -> dict[str, Any]:
        return clock_json(clock.state())

    @router.post("/clock")
    def change_clock(change: ClockChange) -> dict[str, Any]:
        if change.set is not None:
            clock.set(change.set)
        elif change.advance_seconds is not None:
            clock.advance(timedelta(seconds=change.advance_seconds))
        elif change.mode is not None:
            clock.set_mode(change.mode, change.factor)
        if on_clock_change is not None:
            on_clock_change()
        return clock_json(clock.state())

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


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None
