"""POST /api/v1/convert and /api/v1/validate: the `swhub convert/validate` commands over HTTP.

Body = the message bytes. `Content-Type` says what was sent (XML or EDIFACT types; the format and
message type are still detected from the bytes), `target` (query) the wanted format. Any
authenticated role may call these. Errors: 413 oversize, 415 unknown content type, 422 with every
issue in error.details ({layer, code, location, line, message}, docs/errors.md); /validate also says
in error.layers which layers ran, and with `business=true` runs the hub's business checks for the
caller as /messages would (nothing is archived or stored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api import openapi_docs as docs
from hub.api.auth import current_principal, get_hub
from hub.api.body import read_capped
from hub.api.errors import ApiError
from hub.runtime import Hub
from hub.services.parties import Principal

router = APIRouter(prefix="/api/v1", tags=["conversion"])

XML_TYPES = {"application/xml", "text/xml"}
EDIFACT_TYPES = {
    "application/edifact",
    "application/edi-x12",
    "application/edi-consent",
    "text/plain",
    "application/octet-stream",
}
MEDIA = {"xml": "application/xml", "edifact": "application/EDIFACT"}
# What curl sends by default with -d/--data-binary, and no header at all: the bytes decide (as on
# /messages); messages.detect refuses what is neither XML nor EDIFACT, naming what it expected.
SNIFFED_TYPES = {"application/x-www-form-urlencoded", ""}


def _content_type(request: Request) -> None:
    raw = request.headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    if media not in XML_TYPES | EDIFACT_TYPES | SNIFFED_TYPES:
        raise ApiError(
            415,
            f"unsupported Content-Type {raw or '(none)'!r}: send application/xml or application/EDIFACT",
        )


async def _body(request: Request, hub: Hub) -> bytes:
    _content_type(request)
    return await read_capped(request, hub.settings.max_message_bytes, "payload")


def _partner(name: str | None, data: bytes) -> Any:
    """?partner=NAME, else the profile whose `match` names the interchange's UNB sender, else None."""
    from messages.detect import unb_sender
    from messages.errors import ValidationFailed
    from messages.partners import load_partners_file, select_profile

    sender = None if name else unb_sender(data)
    if not name and not sender:
        return None
    env = os.environ.get("SWHUB_PARTNERS_FILE")
    path = Path(env or "config/partners.yaml")
    if not name and not env and not path.exists():
        return None
    try:
        partners = load_partners_file(path)
    except (OSError, ValidationFailed) as exc:
        raise ApiError(503, f"partner profiles unavailable: {exc}") from None
    if not name:
        return select_profile(partners, sender)
    if name not in partners:
        raise ApiError(
            422, f"unknown partner {name!r}", details=[{"location": "partner", "message": "unknown"}]
        )
    return partners[name]


def _details(issues: list[Any]) -> list[dict[str, Any]]:
    return [i.as_json() for i in issues]


NOT_ASKED = "not asked for: pass business=true to check the message as your submission would be"


def _validate_layers(
    hub: Hub, principal: Principal, data: bytes, encoding: str | None, profile: Any, business: bool
) -> tuple[list[Any], list[dict[str, Any]]]:
    """(every problem, per-layer summary). XML goes through messages.xml.layers (semantic rules on a
    usable model even after schema problems); business=true runs the intake's read-only checks."""
    from hub.services.intake import Problem, layer_summary
    from messages.convert import validate
    from messages.detect import detect
    from messages.errors import MessageError
    from messages.xml.layers import check_layers

    if business:
        service = getattr(hub, "clearance", None)
        if service is None:
            raise ApiError(503, "clearance service not installed: business checks unavailable")
        return service.intake.check(data, principal.uscc, principal.roles)
    try:
        is_xml = detect(data, max_bytes=hub.settings.max_message_bytes).format == "xml"
    except MessageError:
        is_xml = False  # messages.convert.validate names the problem
    if is_xml:
        try:
            layered = check_layers(data, max_bytes=hub.settings.max_message_bytes)
        except MessageError:
            pass
        else:
            problems = [Problem.of(i) for i in layered.issues]
            if layered.not_run:
                return problems, layer_summary(problems, layered.not_run)
            return problems, _without_business(layer_summary(problems))
    problems = [Problem.of(i) for i in validate(data, encoding=encoding, partner=profile)]
    if any(p.layer == "schema" for p in problems):
        return problems, layer_summary(problems, "the message could not be read into a model")
    return problems, _without_business(layer_summary(problems))


def _without_business(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"layer": "business", "run": False, "reason": NOT_ASKED} if entry["layer"] == "business" else entry
        for entry in layers
    ]


def _invalid(exc: Exception) -> ApiError:
    from messages.errors import PayloadTooLarge, ValidationFailed

    if isinstance(exc, PayloadTooLarge):
        return ApiError(413, str(exc))
    if isinstance(exc, ValidationFailed):
        return ApiError(422, f"{len(exc.issues)} problem(s) in the message", details=_details(exc.issues))
    return ApiError(422, str(exc), details=[{"location": "input", "message": str(exc), "line": None}])


@router.post(
    "/convert",
    summary="Convert single-window XML <-> UN/EDIFACT",
    openapi_extra=docs.CONVERT,
    responses=docs.RAW_ERRORS,
)
async def convert_message(
    request: Request,
    target: str | None = Query(None, description="xml or edifact (default: the other format)"),
    encoding: str | None = Query(None, description="codec override for EDIFACT input, e.g. gbk"),
    partner: str | None = Query(None, description="partner profile name"),
    hub: Hub = Depends(get_hub),
    _: Principal = Depends(current_principal),
) -> Response:
    """Convert a message to the other format without submitting it: XML to UN/EDIFACT or EDIFACT to
    XML (`target` to choose), with the partner profile's syntax and identities. One document comes back
    as is (X-Message-Type names it); an interchange of several comes back as JSON `documents`. The
    format is sniffed, so curl's default Content-Type works. 422 lists every problem of the input."""
    from messages.convert import convert
    from messages.errors import MessageError

    data = await _body(request, hub)
    if target is not None and target not in MEDIA:
        raise ApiError(422, f"unknown target {target!r}: expected xml or edifact")
    profile = _partner(partner, data)
    try:
        documents = await run_in_threadpool(convert, data, to=target, encoding=encoding, partner=profile)
    except MessageError as exc:
        raise _invalid(exc) from None
    except LookupError as exc:
        raise ApiError(422, f"unknown encoding: {exc}") from None
    if len(documents) == 1:
        doc = documents[0]
        media = MEDIA["xml"] if doc.name.endswith(".xml") else MEDIA["edifact"]
        return Response(doc.content, media_type=media, headers={"X-Message-Type": doc.message_type})
    return JSONResponse(
        {
            "documents": [
                {"name": d.name, "message_type": d.message_type, "content": d.content.decode("utf-8")}
                for d in documents
            ]
        }
    )


@router.post(
    "/validate",
    summary="Validate a single-window XML or UN/EDIFACT message",
    openapi_extra=docs.VALIDATE,
    responses=docs.RAW_ERRORS,
)
async def validate_message(
    request: Request,
    encoding: str | None = Query(None),
    partner: str | None = Query(None),
    business: bool = Query(
        False,
        description="also run the hub's business checks for the caller (declarant, entrustment, bill "
        "owner, site, references), as POST /api/v1/messages would; nothing is stored",
    ),
    hub: Hub = Depends(get_hub),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    """Check a message without submitting it: schema and semantic layers, and with `business=true` the
    hub's business checks for the caller as POST /api/v1/messages would run them (nothing is stored).
    200 `{"valid": true}`, or 422 with every problem of every layer (docs/errors.md)."""
    data = await _body(request, hub)
    profile = _partner(partner, data)
    try:
        problems, layers = await run_in_threadpool(
            _validate_layers, hub, principal, data, encoding, profile, business
        )
    except LookupError as exc:
        raise ApiError(422, f"unknown encoding: {exc}") from None
    if problems:
        raise ApiError(
            422, f"{len(problems)} problem(s) in the message", details=_details(problems), layers=layers
        )
    return {"valid": True, "issues": []}  # the answer clients compare today: unchanged
