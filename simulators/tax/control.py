"""Tax-specific tester control endpoints (all under /control, guarded by X-API-Key)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from simulators.common.control import api_key_guard
from simulators.common.delivery import HttpCallbackSink, NullSink, SinkHolder
from simulators.tax.codec import encode_push
from simulators.tax.engine import CustomsMode, TaxAuthority
from simulators.tax.model import CustomsExport, FailKind, Outcome, Reason, StageDurations, Steering
from simulators.tax.settings import TaxSimSettings


class CustomsExportIn(BaseModel):
    entryId: str = Field(pattern=r"^[0-9]{18}$")
    exporterUscc: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    fobAmountCny: Decimal = Field(ge=0, decimal_places=2)
    exportDate: date | None = None


class ReasonIn(BaseModel):
    code: str
    message: str
    reference: str | None = None


class OutcomeIn(BaseModel):
    applicationNo: str = Field(min_length=1, max_length=40)
    outcome: Literal["accept", "return", "reject"] = "accept"
    atReview: bool = False
    slowFactor: float = Field(default=1.0, gt=0)
    failFirst: int = Field(default=0, ge=0)
    failKind: Literal["fault", "hang"] = "fault"
    noPush: bool = False
    reasons: list[ReasonIn] = []


class DurationsIn(BaseModel):
    review: float = Field(ge=0)
    approval: float = Field(ge=0)
    treasury: float = Field(ge=0)


class DurationsUpdate(BaseModel):
    classes: dict[Literal["1", "2", "3", "4"], DurationsIn] = {}
    fastTrack: DurationsIn | None = None


class CallbackIn(BaseModel):
    url: str | None = None  # null = stop pushing
    format: Literal["json", "xml"] = "json"
    apiKey: str | None = None


class SettingsIn(BaseModel):
    customsMode: Literal["permissive", "strict"] | None = None
    prefixSteering: bool | None = None


_OUTCOMES = {"accept": Outcome.ACCEPTED, "return": Outcome.RETURNED, "reject": Outcome.REJECTED}


def make_sink(
    settings: TaxSimSettings, url: str | None, fmt: str, api_key: str | None
) -> HttpCallbackSink | NullSink:
    if not url:
        return NullSink()
    return HttpCallbackSink(
        url,
        lambda event: encode_push(event, fmt),
        api_key=api_key,
        max_attempts=settings.callback_max_attempts,
        backoff_initial=settings.callback_backoff_initial,
        backoff_max=settings.callback_backoff_max,
    )


def build_tax_control_router(
    authority: TaxAuthority, sinks: SinkHolder, settings: TaxSimSettings
) -> APIRouter:
    router = APIRouter(
        prefix="/control", tags=["control"], dependencies=[Depends(api_key_guard(settings.api_key))]
    )

    @router.get("/state")
    def state() -> dict[str, Any]:
        return authority.snapshot() | {"callback": sinks.status()}

    @router.post("/customs-exports")
    def load_customs(exports: list[CustomsExportIn]) -> dict[str, int]:
        loaded = authority.load_customs(
            CustomsExport(e.entryId, e.exporterUscc, e.fobAmountCny, e.exportDate) for e in exports
        )
        return {"loaded": loaded, "total": len(authority.customs_exports())}

    @router.get("/customs-exports")
    def list_customs() -> list[dict[str, Any]]:
        return [
            {
                "entryId": e.entry_id,
                "exporterUscc": e.exporter_uscc,
                "fobAmountCny": str(e.fob_amount_cny),
                "exportDate": e.export_date.isoformat() if e.export_date else None,
            }
            for e in authority.customs_exports()
        ]

    @router.delete("/customs-exports")
    def clear_customs() -> dict[str, int]:
        return {"cleared": authority.clear_customs()}

    @router.post("/outcomes", status_code=201)
    def set_outcome(request: OutcomeIn) -> dict[str, Any]:
        steering = Steering(
            outcome=_OUTCOMES[request.outcome],
            at_review=request.atReview,
            slow_factor=request.slowFactor,
            fail_first=request.failFirst,
            fail_kind=FailKind(request.failKind),
            no_push=request.noPush,
            reasons=tuple(Reason(r.code, r.message, r.reference) for r in request.reasons),
        )
        authority.set_override(request.applicationNo, steering)
        return request.model_dump()

    @router.get("/outcomes")
    def list_outcomes() -> dict[str, Any]:
        return {
            no: {
                "outcome": s.outcome.value,
                "atReview": s.at_review,
                "slowFactor": s.slow_factor,
                "failFirst": s.fail_first,
                "failKind": s.fail_kind.value,
                "noPush": s.no_push,
            }
            for no, s in authority.overrides().items()
        }

    @router.delete("/outcomes")
    def clear_outcomes() -> dict[str, int]:
        return {"cleared": authority.clear_overrides()}

    @router.get("/durations")
    def get_durations() -> dict[str, Any]:
        return {
            "classes": {str(k): v.to_json() for k, v in sorted(authority.durations.items())},
            "fastTrack": authority.fast_track.to_json(),
            "unit": "seconds of simulated time",
        }

    @router.put("/durations")
    def put_durations(update: DurationsUpdate) -> dict[str, Any]:
        for key, value in update.classes.items():
            authority.durations[int(key)] = StageDurations.from_json(value.model_dump())
        if update.fastTrack is not None:
            authority.fast_track = StageDurations.from_json(update.fastTrack.model_dump())
        return get_durations()

    @router.get("/callback")
    def get_callback() -> dict[str, Any]:
        return sinks.status()

    @router.put("/callback")
    def put_callback(request: CallbackIn) -> dict[str, Any]:
        sinks.replace(make_sink(settings, request.url, request.format, request.apiKey))
        return sinks.status()

    @router.put("/settings")
    def put_settings(request: SettingsIn) -> dict[str, Any]:
        if request.customsMode is not None:
            authority.customs_mode = CustomsMode(request.customsMode)
        if request.prefixSteering is not None:
            authority.prefix_steering = request.prefixSteering
        return {"customsMode": authority.customs_mode.value, "prefixSteering": authority.prefix_steering}

    return router
