"""Helpers for the simulator tests: a tiny real HTTP receiver standing in for the hub's callback
endpoint, the control-API caller, and application builders. (Not a conftest: tests/ has several
package-less folders and this keeps module names unique.)"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from adapters.tax import DeclarationItem, InvoiceItem, RefundApplication

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTROL_KEY = "test-control-key"
HUB_CALLBACK_KEY = "hub-callback-key"
START = "2025-03-03T09:00:00+08:00"  # a Monday
USCC = "91370200M3C5XXX1YF"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class CallbackReceiver:
    """Real HTTP server on 127.0.0.1; answers 500 to the first `fail_next` POSTs (hub down)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts = 0
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.attempts += 1
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/callbacks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.received)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"callback condition not met in {timeout}s; got {len(self.received)} posts")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def control(
    base_url: str, method: str, path: str, json: Any = None, key: str | None = CONTROL_KEY
) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    response = httpx.request(method, f"{base_url}/control{path}", json=json, headers=headers, timeout=10)
    return response


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def entry_id() -> str:
    return f"4201{uuid.uuid4().int % 10**14:014d}"


def app_no(prefix: str = "9") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


def application(
    number: str | None = None,
    *,
    enterprise_class: int = 2,
    fx: str | None = None,
    fob: str = "10000.00",
    refund: str = "1300.00",
    ftz: bool = False,
    reputable: bool = False,
    entry: str | None = None,
    uscc: str = USCC,
) -> RefundApplication:
    return RefundApplication(
        application_no=number or app_no(),
        exporter_uscc=uscc,
        enterprise_class=enterprise_class,
        ftz=ftz,
        reputable=reputable,
        declarations=(DeclarationItem(entry or entry_id(), Decimal(fob), Decimal(refund)),),
        invoices=(InvoiceItem(f"{uuid.uuid4().int % 10**8:08d}", Decimal("10000.00"), Decimal("1300.00")),),
        filed_at=datetime.fromisoformat(START),
        fx_receipt_proof=fx,
    )
