"""HTTP transport: POST raw bytes to the hub's `/api/v1/messages` with the sending party's API key
(202 accepted, 200 duplicate; other 4xx refused and recorded; 5xx and transport errors retried with
backoff), and poll the hub's message archive for notices to the terminal and the carrier
(`GET /api/v1/messages?message_type=<T>&limit=N`, newest first; each new row's `raw_url` fetched once,
deduplicated by message id). The archive has no cursor: if more than 1,000 notices of one type arrive
between two polls, the oldest of them are missed (use AMQP for heavy traffic)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import httpx

from simulators.port.transport import NoticeHandler, SendResult, content_type

log = logging.getLogger(__name__)
MAX_PAGE = 1000
MOVING = ("ReleaseNotice", "InspectionNotice")


class HttpTransport:
    kind = "http"

    def __init__(
        self,
        hub_url: str,
        parties: dict[str, tuple[str, str | None]],  # party -> (uscc, api key)
        notice_types: list[str],
        *,
        poll_seconds: float = 0.5,
        attempts: int = 30,
        timeout: float = 15.0,
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.parties = parties
        self.notice_types = notice_types
        self.poll_seconds = poll_seconds
        self.attempts = attempts
        self.timeout = timeout
        self.reconnects = 0
        self._client = httpx.Client(timeout=timeout)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._seen: set[str] = set()
        self._baseline: set[tuple[str, str]] = set()  # (party, type) polled once already
        self._limits: dict[tuple[str, str], int] = {}
        self._sent_any = False

    # ----- sending ------------------------------------------------------------------------------
    def send(
        self, party: str, sender_uscc: str, message_type: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult:
        key = self.parties.get(party, ("", None))[1]
        if not key:
            return SendResult("refused", f"no API key for the {party} (PORT_SIM_{party.upper()}_API_KEY)")
        if drop_connection:  # a new client = a new TCP connection
            self._client.close()
            self._client = httpx.Client(timeout=self.timeout)
            self.reconnects += 1
        headers = {"Content-Type": content_type(body), "X-API-Key": key}
        error = ""
        for attempt in range(self.attempts):
            try:
                response = self._client.post(f"{self.hub_url}/api/v1/messages", content=body, headers=headers)
                if response.status_code in (200, 202):
                    self._sent_any = True
                    return SendResult("sent" if response.status_code == 202 else "duplicate")
                if response.status_code < 500:
                    return SendResult("refused", f"HTTP {response.status_code}: {response.text[:1000]}")
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            log.warning("port HTTP send of %s failed (%s), attempt %d", message_type, error, attempt + 1)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        return SendResult("failed", error)

    # ----- notices ------------------------------------------------------------------------------
    def start(self, on_notice: NoticeHandler) -> None:
        self._poller = threading.Thread(
            target=self._poll_loop, args=(on_notice,), name="port-poller", daemon=True
        )
        self._poller.start()

    def ready(self) -> bool:
        return self._poller is not None and self._poller.is_alive()

    def _poll_loop(self, on_notice: NoticeHandler) -> None:
        client = httpx.Client(timeout=self.timeout)  # the poller's own client (httpx.Client per thread)
        rounds = 0
        try:
            while not self._stop.is_set():
                # the notices that move containers every round, the ones only counted every 5th: the
                # archive query is not free for the hub
                types = (
                    self.notice_types if rounds % 5 == 0 else [t for t in self.notice_types if t in MOVING]
                )
                rounds += 1
                pending: list[tuple[datetime, str, str, dict[str, Any]]] = []
                for party, (uscc, key) in self.parties.items():
                    if not key:
                        continue
                    for notice_type in types:
                        try:
                            pending += [
                                (_at(r), r["id"], key, r)
                                for r in self._fresh(client, party, uscc, key, notice_type)
                            ]
                        except httpx.HTTPError as exc:
                            log.warning("port notice poll (%s, %s) failed: %s", party, notice_type, exc)
                # across types and parties in the hub's order: an inspection result before the release
                for _, message_id, key, row in sorted(pending, key=lambda p: (p[0], p[1])):
                    try:
                        raw = client.get(f"{self.hub_url}{row['raw_url']}", headers={"X-API-Key": key})
                        raw.raise_for_status()
                    except httpx.HTTPError as exc:
                        log.warning("port notice %s not fetched (%s): next round", message_id, exc)
                        break  # keep the order: this one and the later ones are fetched again
                    try:
                        on_notice(row["message_type"], raw.content)
                    except Exception:  # one bad notice must not stop the poller
                        log.exception("port notice %s could not be applied", row["message_type"])
                    self._seen.add(message_id)
                self._stop.wait(self.poll_seconds)
        finally:
            client.close()

    def _fresh(
        self, client: httpx.Client, party: str, uscc: str, key: str, notice_type: str
    ) -> list[dict[str, Any]]:
        """Rows of one notice type sent to `uscc` that were not applied yet."""
        slot = (party, notice_type)
        limit = self._limits.get(slot, 100)
        rows = self._list(client, key, notice_type, limit)
        if len(rows) == limit and limit < MAX_PAGE and all(r["id"] not in self._seen for r in rows):
            self._limits[slot] = MAX_PAGE  # a busy type: look further back from now on
            rows = self._list(client, key, notice_type, MAX_PAGE)
        fresh = [
            r
            for r in rows
            if r["id"] not in self._seen and r.get("direction") == "out" and r.get("receiver") == uscc
        ]
        if slot not in self._baseline:
            self._baseline.add(slot)
            if not self._sent_any:  # what the hub held before we sent anything belongs to an earlier run
                self._seen.update(r["id"] for r in fresh)
                return []
        return fresh

    def _list(self, client: httpx.Client, key: str, notice_type: str, limit: int) -> list[dict[str, Any]]:
        response = client.get(
            f"{self.hub_url}/api/v1/messages",
            params={"message_type": notice_type, "limit": limit},
            headers={"X-API-Key": key},
        )
        response.raise_for_status()
        return list(response.json())

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5)
        self._client.close()


def _at(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(row["received_at"]))
