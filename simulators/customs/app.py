"""Customs simulator process: receives what the hub sends to customs (HTTP `POST /inbox`, or AMQP
from NOTICE_EXCHANGE `customs.#`) and answers in single-window XML, in order, after the steered delay:
over HTTP to the hub's `POST /api/v1/messages` (with the customs party's API key), or over AMQP to
`swhub.ingress` (routing key = message type, header x-swhub-sender = the customs USCC).
Testers steer it through the control API in simulators/customs/control.py."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from messages.detect import detect
from messages.errors import MessageError
from simulators.common.failures import FailureInjector
from simulators.customs.amqp import AmqpConsumer, AmqpPublisher
from simulators.customs.control import (
    INBOX_OPERATION,
    build_customs_control_router,
    injected_response,
    tester_key,
)
from simulators.customs.engine import Answer, CustomsEngine

log = logging.getLogger(__name__)


class CustomsSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMS_SIM_", extra="ignore")

    hub_url: str | None = None  # answers are POSTed to {hub_url}/api/v1/messages
    hub_api_key: str | None = None  # the customs party's key at the hub
    amqp_url: str | None = None  # if set: consume `queue` and publish answers to swhub.ingress
    queue: str = "swhub.customs.inbox"
    sender_uscc: str = "11100000000013127D"
    customs_code: str = "4227"
    base_delay: float = 0.0
    send_attempts: int = 60
    api_key: str | None = None  # X-API-Key for /control/*; unset: a random key, logged at start
    hang_seconds: float = 30.0  # how long an injected "timeout" failure holds an /inbox call


class Sender(threading.Thread):
    """Sends answers one by one in arrival order (a later answer never overtakes an earlier one)."""

    def __init__(self, settings: CustomsSimSettings) -> None:
        super().__init__(name="customs-sender", daemon=True)
        self.settings = settings
        self.queue: queue.Queue[Answer | None] = queue.Queue()
        self.sent = 0
        self.failed = 0

    def run(self) -> None:
        client = httpx.Client(timeout=10)
        publisher = (
            AmqpPublisher(self.settings.amqp_url, self.settings.sender_uscc)
            if self.settings.amqp_url
            else None
        )
        while (answer := self.queue.get()) is not None:
            if answer.delay:
                time.sleep(answer.delay)
            if publisher is not None:
                publisher.publish(answer)
                self.sent += 1
            else:
                self._send(client, answer)
        client.close()

    def _send(self, client: httpx.Client, answer: Answer) -> None:
        headers = {"Content-Type": "application/xml", "X-API-Key": self.settings.hub_api_key or ""}
        if answer.in_reply_to:  # the hub matches the answer against the message it forwarded
            headers["X-Correlation-Id"] = answer.in_reply_to
        for attempt in range(self.settings.send_attempts):
            try:
                response = client.post(
                    f"{self.settings.hub_url}/api/v1/messages", content=answer.body, headers=headers
                )
                if response.status_code < 500:
                    if response.status_code >= 300:
                        log.warning("hub refused %s: %s", answer.message_type, response.text[:300])
                        self.failed += 1
                    else:
                        self.sent += 1
                    return
            except httpx.HTTPError as exc:
                log.warning("hub unreachable (%s), attempt %d", exc, attempt + 1)
            time.sleep(min(2.0, 0.1 * 2**attempt))
        self.failed += 1


def create_app(settings: CustomsSimSettings | None = None) -> FastAPI:
    settings = settings or CustomsSimSettings()
    engine = CustomsEngine(settings.customs_code, settings.base_delay)
    sender = Sender(settings)
    received: list[str] = []
    received_by_type: Counter[str] = Counter()
    lock = threading.Lock()
    failures = FailureInjector()
    api_key = tester_key(settings.api_key)

    def handle(message_type: str, body: bytes, message_id: str = "") -> None:
        with lock:  # the engine keeps per-declaration state; answers keep the order of the inputs
            received.append(message_type)
            received_by_type[message_type] += 1
            for answer in engine.handle(message_type, body, message_id):
                sender.queue.put(answer)

    consumer = AmqpConsumer(settings.amqp_url, settings.queue, handle) if settings.amqp_url else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sender.start()
        if consumer is not None:
            consumer.start()
            consumer.ready.wait(30)  # /health answers only once the customs queue exists
        yield
        if consumer is not None:
            consumer.stop()
        sender.queue.put(None)

    app = FastAPI(title="swhub customs simulator", lifespan=lifespan)
    app.state.api_key, app.state.failures, app.state.engine = api_key, failures, engine

    def status() -> dict[str, Any]:
        with lock:
            snapshot = engine.snapshot()
            by_type = dict(received_by_type)
        declarations = snapshot["declarations"]
        return {
            "transport": "amqp" if settings.amqp_url else "http",
            "received": len(received),
            "received_by_type": by_type,
            "sent": sender.sent,
            "failed": sender.failed,
            "pending": sender.queue.qsize(),
            "declarations": len(declarations),
            "declarations_by_status": dict(Counter(d["status"] for d in declarations)),
            "releases": len(snapshot["releases"]),
            "registered": declarations,
        }

    app.include_router(build_customs_control_router(api_key, failures, status))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "received": len(received), "sent": sender.sent, "failed": sender.failed}

    @app.post("/inbox", status_code=202)
    async def inbox(request: Request) -> Response:
        body = await request.body()
        problem: MessageError | None = None
        try:
            message_type = request.headers.get("X-Message-Type") or detect(body).message_type
        except MessageError as exc:
            message_type, problem = INBOX_OPERATION, exc
        # injected failures come first: a broken gateway fails whatever it is sent
        rule = failures.take(message_type) or failures.take(INBOX_OPERATION)
        if (early := await injected_response(rule, settings.hang_seconds)) is not None:
            return early
        try:
            if problem is not None:
                raise problem
            handle(message_type, body, request.headers.get("X-Message-Id", ""))
        except MessageError as exc:
            return Response(f"not a message customs understands: {exc}", status_code=400)
        return Response(status_code=202)

    @app.get("/declarations")
    def declarations() -> dict[str, Any]:
        return engine.snapshot()

    return app
