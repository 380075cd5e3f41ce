"""Pages for people (brokers, port operators): public HTML shells whose script fetches the data with the
X-API-Key typed into the page or given as #key=..., so no case data is ever served without a key."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@router.get("/ui/consignments/{bill_no}", response_class=HTMLResponse)
def consignment_page(bill_no: str) -> HTMLResponse:
    """The consignment timeline: declarations, containers at a glance, every message, discrepancies."""
    page = (TEMPLATES / "consignment_timeline.html").read_text(encoding="utf-8")
    page = page.replace("<!--BILL-->", html.escape(bill_no)).replace(
        '"__BILL_JSON__"',
        json.dumps(bill_no).replace("<", "\\u003c"),  # no </script> breakout
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
