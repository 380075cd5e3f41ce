"""Refund workflow API: filing (exporters), tax/bank callbacks, officers' board (JSON + HTML page),
public query (阳光公开, no login). `install(app, hub)` wires the service, its consumers and sweep."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.bank.errors import BankProtocolError
from adapters.tax import TaxProtocolError
from hub.api import openapi_docs as docs
from hub.api.auth import API_KEY_HEADER, current_principal, get_hub, require_roles
from hub.api.body import read_capped
from hub.api.errors import ApiError
from hub.api.ratelimit import public_rate_limit
from hub.clock import now
from hub.runtime import Hub
from hub.services.parties import Principal, authenticate
from hub.services.refunds.filing import FilingInvalid
from hub.services.refunds.queries import (
    SORT_KEYS,
    BoardFilter,
    board_rows,
    case_sla,
    daily_series,
    public_case,
    public_stats,
)
from hub.services.refunds.service import RefundService, UnknownCase
from hub.services.refunds.workflow import FilingConflict, case_key_of, cases_numbered

router = APIRouter(tags=["refunds"])
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "refunds_board.html"
LEVELS = ("province", "city", "county")


def install(app: FastAPI, hub: Hub) -> RefundService:
    """Include the routes; the service (consumers, sweep) is installed on the hub and runs with it."""
    from hub.services.catalog import install_workflows

    install_workflows(hub)
    app.include_router(router)
    return hub.refunds  # type: ignore[attr-defined, no-any-return]


def service_of(hub: Hub = Depends(get_hub)) -> RefundService:
    svc = getattr(hub, "refunds", None)
    if svc is None:
        raise ApiError(503, "refund service not installed")
    return svc


# ----- filing ----------------------------------------------------------------------------------------
@router.post(
    "/api/v1/refunds",
    status_code=202,
    summary="File an export tax refund application (exporter)",
    openapi_extra=docs.REFUNDS,
    responses=docs.REFUND_ERRORS,
)
async def file_refund(
    request: Request,
    principal: Principal = Depends(require_roles("exporter")),
    service: RefundService = Depends(service_of),
) -> JSONResponse:
    """File an export tax refund application (XML, xsd/refund/RefundApplication.xsd). 202 + receipt."""
    raw = await read_capped(request, service.hub.settings.max_message_bytes, "filing")
    try:
        receipt = await run_in_threadpool(service.file, principal.party_id, raw, "http")
    except FilingInvalid as exc:
        raise ApiError(
            422, "refund application is not valid", details=[p.as_json() for p in exc.problems]
        ) from None
    except FilingConflict as exc:
        raise ApiError(409, str(exc)) from None
    return JSONResponse(receipt.as_json(), status_code=200 if receipt.duplicate else 202)


# ----- callbacks -------------------------------------------------------------------------------------
@router.post(
    "/api/v1/refunds/events/tax",
    summary="A stage event from the tax authority",
    openapi_extra=docs.TAX_EVENT,
    responses=docs.EVENT_ERRORS,
)
async def tax_event(
    request: Request,
    principal: Principal = Depends(require_roles("tax_officer")),
    service: RefundService = Depends(service_of),
) -> dict[str, Any]:
    """Stage event pushed by the tax service (JSON or XML StageEventNotification); deduplicated by eventId."""
    raw = await read_capped(request, service.hub.settings.max_event_bytes, "tax event")
    content_type = request.headers.get("content-type", "")
    try:
        applied = await run_in_threadpool(service.tax_event, raw, content_type, principal.uscc)
    except TaxProtocolError as exc:
        raise ApiError(422, str(exc)) from None
    except UnknownCase as exc:
        raise ApiError(404, f"no refund case {exc}") from None
    return {"applied": applied}


@router.post(
    "/api/v1/refunds/events/bank",
    summary="A credit notification from the bank",
    openapi_extra=docs.BANK_EVENT,
    responses=docs.EVENT_ERRORS,
)
async def bank_event(
    request: Request,
    principal: Principal = Depends(require_roles("tax_officer")),
    service: RefundService = Depends(service_of),
) -> dict[str, Any]:
    """Credit notification (到账) from the bank; deduplicated by eventId."""
    raw = await read_capped(request, service.hub.settings.max_event_bytes, "bank event")
    try:
        applied = await run_in_threadpool(service.bank_event, raw, principal.uscc)
    except BankProtocolError as exc:
        raise ApiError(422, str(exc)) from None
    except UnknownCase as exc:
        raise ApiError(404, f"no refund case {exc} with that payment order") from None
    return {"applied": applied}


# ----- board -----------------------------------------------------------------------------------------
def _filter(enterprise_class: int | None, level: str | None, sort: str, desc: bool) -> BoardFilter:
    problems = []
    if enterprise_class is not None and enterprise_class not in (1, 2, 3, 4):
        problems.append({"location": "query.class", "message": "must be 1-4"})
    if level is not None and level not in LEVELS:
        problems.append({"location": "query.level", "message": f"must be one of {', '.join(LEVELS)}"})
    if sort not in SORT_KEYS:
        problems.append({"location": "query.sort", "message": f"must be one of {', '.join(SORT_KEYS)}"})
    if problems:
        raise ApiError(422, "invalid board filter", details=problems)
    return BoardFilter(enterprise_class, level, sort, desc)


def board_data(service: RefundService, flt: BoardFilter) -> dict[str, Any]:
    at = now()
    with service.db.sessions() as session:
        rows = board_rows(session, service.profile, service.calendar, at, flt)
        daily = daily_series(session, service.calendar, service.profile, at)
    return {
        "as_of": at.isoformat(),
        "profile": service.profile.name,
        "cases": rows,
        "daily": daily,
        "thresholds": {
            "amber_ratio": service.profile.lights.amber_ratio,
            "amber_days_left": service.profile.lights.amber_days_left,
            "same_day_amber_minutes": service.profile.lights.same_day_amber_minutes,
        },
    }


@router.get("/api/v1/refunds/board", summary="The tax officers' board of open cases")
def board(
    enterprise_class: int | None = Query(None, alias="class"),
    level: str | None = Query(None, description="tax office level: province, city or county"),
    sort: str = Query("urgency"),
    desc: bool = Query(False),
    _: Principal = Depends(require_roles("tax_officer")),
    service: RefundService = Depends(service_of),
) -> dict[str, Any]:
    """Open cases by urgency with lights, remaining working days and stage; daily on-time chart data.
    The server-rendered board fragment is in `html` (the /ui/refunds page inserts it)."""
    data = board_data(service, _filter(enterprise_class, level, sort, desc))
    data["html"] = render_board(data)
    return data


@router.get("/ui/refunds", response_class=HTMLResponse, include_in_schema=False)
def board_page(
    request: Request,
    enterprise_class: int | None = Query(None, alias="class"),
    level: str | None = Query(None),
    sort: str = Query("urgency"),
    desc: bool = Query(False),
) -> HTMLResponse:
    """The officers' board. With an X-API-Key header (tax_officer) the cases are rendered in the page;
    without one, a login form keeps the key in sessionStorage and loads the board with the header."""
    hub: Hub = request.app.state.hub
    fragment = ""
    key = request.headers.get(API_KEY_HEADER)
    if key:
        principal = current_principal(request, key)
        if not principal.has("admin", "tax_officer"):
            raise ApiError(403, "requires one of the roles: tax_officer")
        fragment = render_board(board_data(service_of(hub), _filter(enterprise_class, level, sort, desc)))
    page = TEMPLATE.read_text(encoding="utf-8").replace("<!--BOARD-->", fragment)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


LIGHT_LABEL = {"red": "红 red", "amber": "黄 amber", "green": "绿 green"}


def render_board(data: dict[str, Any]) -> str:
    e = html.escape
    rows = []
    for c in data["cases"]:
        remaining = "—" if c["remaining_working_days"] is None else str(c["remaining_working_days"])
        if c["paused"]:
            remaining += " (paused)"
        light, level = e(c["light"]), e(c["tax_office_level"] or "")
        warning = stage_warning(c)
        rows.append(
            f'<tr class="light-{light}" data-class="{c["class"]}" data-level="{level}">'
            f'<td><span class="dot {light}" title="{light}"></span>{e(LIGHT_LABEL[c["light"]])}</td>'
            f'<td class="num">{e(remaining)}</td><td>{e((c["deadline"] or "")[:16].replace("T", " "))}</td>'
            f"<td>{e(c['stage'])} <small>{e(c['status'])}</small>{warning}</td>"
            f"<td>{e(c['enterprise'])}<br><small>{e(c['uscc'])}</small></td>"
            f'<td class="num">{c["class"]}</td><td>{e(c["tax_office_level"] or "—")}</td>'
            f'<td class="mono">{e(c["application_no"])}</td></tr>'
        )
    counts = {k: sum(1 for c in data["cases"] if c["light"] == k) for k in ("red", "amber", "green")}
    header = "".join(
        f'<th><a href="#" data-sort="{k}">{e(label)}</a></th>'
        for k, label in (
            ("urgency", "Light"),
            ("remaining", "Working days left"),
            ("deadline", "Deadline"),
            ("stage", "Stage"),
            ("enterprise", "Enterprise"),
            ("class", "Class"),
            ("urgency", "Office level"),
            ("filed", "Application"),
        )
    )
    table = (
        f'<p class="summary"><span class="dot red"></span>{counts["red"]} red '
        f'<span class="dot amber"></span>{counts["amber"]} amber '
        f'<span class="dot green"></span>{counts["green"]} green — {len(data["cases"])} open cases, '
        f"as of {e(data['as_of'][:16].replace('T', ' '))}, profile {e(data['profile'])}</p>"
        f'<div class="table-wrap"><table id="cases"><thead><tr>{header}</tr></thead><tbody>'
        + ("".join(rows) or '<tr><td colspan="8">No open cases.</td></tr>')
        + "</tbody></table></div>"
    )
    return table + render_chart(data["daily"])


def stage_warning(case: dict[str, Any]) -> str:
    """The current stage's own clock (amber/red) even while the case as a whole is still green."""
    light = case.get("stage_light")
    if light not in ("amber", "red"):
        return ""
    left = case.get("stage_remaining_working_days")
    if left is None:
        text = f"stage {light}"
    elif left < 0:
        text = f"stage {light}: {-left} working days over this stage's limit"
    else:
        text = f"stage {light}: {left} working days left in this stage"
    return f'<br><span class="warn {light}" data-stage-light="{light}">⚠ {html.escape(text)}</span>'


def render_chart(daily: list[dict[str, Any]]) -> str:
    """Inline SVG: bars = daily on-time rate (%), line = average working days (right axis)."""
    title = "<h2>Daily on-time rate (bars) and average working days (line), last 30 days</h2>"
    if not any(d["on_time_rate"] is not None for d in daily):  # an empty frame told nothing
        note = "No data yet: no case has completed in the last 30 days."
        return title + f'<p class="nodata" id="chart-empty">{note}</p>'
    w, h, pad = 760, 220, 36
    n = max(len(daily), 1)
    step = (w - 2 * pad) / n
    max_wd = max([d["mean_working_days"] or 0 for d in daily] + [1])
    parts = [
        f'<svg id="chart" viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-label="daily on-time rate and average working days">',
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>',
        f'<text x="4" y="{pad}" font-size="10">100%</text>',
        f'<text x="{w - pad + 2}" y="{pad}" font-size="10">{max_wd:.0f} wd</text>',
    ]
    points = []
    for i, d in enumerate(daily):
        x = pad + i * step
        if d["on_time_rate"] is not None:
            bh = (h - 2 * pad) * d["on_time_rate"]
            colour = (
                "#2e7d32"
                if d["on_time_rate"] >= 0.9
                else "#f9a825"
                if d["on_time_rate"] >= 0.7
                else "#c62828"
            )
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{h - pad - bh:.1f}" width="{step - 2:.1f}" height="{bh:.1f}" '
                f'fill="{colour}"><title>{d["date"]}: {d["on_time_rate"]:.0%} on time, '
                f"{d['completed']} completed</title></rect>"
            )
        if d["mean_working_days"] is not None:
            y = h - pad - (h - 2 * pad) * d["mean_working_days"] / max_wd
            points.append(f"{x + step / 2:.1f},{y:.1f}")
        if i % 5 == 0:
            parts.append(f'<text x="{x:.1f}" y="{h - pad + 14}" font-size="9">{d["date"][5:]}</text>')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    parts.append("</svg>")
    return title + "".join(parts)


# ----- one case with its SLA (exporter: own cases; officers: all) ----------------------------------------
@router.get("/api/v1/refunds/{application_no}", summary="One refund case")
def refund_case(
    application_no: str,
    exporter: str | None = Query(
        None, description="officers: the exporter's USCC, when several use the number"
    ),
    principal: Principal = Depends(require_roles("exporter", "tax_officer", "admin")),
    service: RefundService = Depends(service_of),
) -> dict[str, Any]:
    """Status, deadline, working days used, light; `on_time` once the SLA clock has stopped."""
    officer = principal.has("tax_officer", "admin")
    with service.db.sessions() as session:
        # an exporter names its own number; officers the exporter's number and, if shared, the exporter
        if officer:
            cases = cases_numbered(session, application_no, exporter)
            if len(cases) > 1:
                raise ApiError(
                    409,
                    f"{len(cases)} exporters use application number {application_no}: "
                    "name one with ?exporter=<USCC>",
                    details=[{"exporter_uscc": c.exporter_uscc} for c in cases],
                )
            key = cases[0].application_no if cases else None
        else:
            key = case_key_of(session, application_no, principal.uscc)
        found = case_sla(session, key, service.profile, service.calendar, now()) if key else None
    if found is None:
        raise ApiError(404, f"no refund case {application_no}")  # same answer for someone else's
    if not officer:
        found["application_no"] = application_no
    return found


# ----- public query (no login) -------------------------------------------------------------------------
@router.get(
    "/api/v1/public/refunds/stats",
    summary="Monthly refund figures (public)",
    dependencies=[Depends(public_rate_limit)],
)
def public_refund_stats(service: RefundService = Depends(service_of)) -> dict[str, Any]:
    """Monthly aggregates (filed, acceptance rate, completed, average working days); no enterprise data."""
    with service.db.sessions() as session:
        return public_stats(session, service.calendar, service.profile)


@router.get(
    "/api/v1/public/refunds/{application_no}",
    summary="One application's stage (public, 阳光公开)",
    dependencies=[Depends(public_rate_limit)],
)
def public_refund(
    application_no: str,
    uscc: str = Query(..., min_length=18, max_length=18),
    service: RefundService = Depends(service_of),
) -> dict[str, Any]:
    """Current stage and elapsed working days; 404 unless the application number AND USCC match."""
    with service.db.sessions() as session:
        found = public_case(session, application_no, uscc, service.calendar, now())
    if found is None:
        raise ApiError(404, "no application with that number for that enterprise")
    return found


__all__ = ["authenticate", "install", "router"]
