"""Fault injection of the port simulator, each kind: the injector's plan (pure), the dispatcher's
timing with a recording transport, and connection_drop on the real transports (RabbitMQ on a private
exchange; a local HTTP server that sees the new connection)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from messages.convert import convert
from messages.errors import MessageError
from messages.xml import decode
from simulators.common.clock import SHANGHAI
from simulators.port.builders import Box, Vessel, arrival, render
from simulators.port.dispatch import Dispatcher
from simulators.port.engine import Outgoing
from simulators.port.faults import FaultInjector, FaultKind, garble
from simulators.port.transport import SendResult, Stats
from simulators.port.transport_amqp import AmqpPublisher
from simulators.port.transport_http import HttpTransport

AT = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
VESSEL = Vessel("COSCO TAURUS", "088E", "9784049", AT)


def message(flow: str = "tally", n: int = 1, body: bytes | None = None) -> Outgoing:
    return Outgoing(
        flow, "MT5101", "terminal", "PRT", body or f"<m{n}/>".encode(), f"REF{n}", AT, "V1", "B", f"C{n}"
    )


def real_arrival(n: int) -> Outgoing:
    box = Box(f"TGHU00000{n}0", "45R1", 600, Decimal("1"), 600, Decimal("1"))
    ref = f"CN_MT3101_1p0_X_{n}"
    model = arrival(VESSEL, "BILL1", box, "CNTAO/4227", message_id=ref, sender="PRT", at=AT)
    return Outgoing("arrival", "MT3101", "terminal", "PRT", render(model, "MT3101"), ref, AT, "V1", "BILL1")


def bodies(transmissions: list[Any]) -> list[bytes]:
    return [t.body for t in transmissions]


# ----- the injector, kind by kind ----------------------------------------------------------------
def test_no_rule_sends_the_message_once_as_is() -> None:
    (t,) = FaultInjector().plan(message(), 0.0)
    assert (t.body, t.delay, t.malformed, t.duplicate, t.drop_connection) == (
        b"<m1/>",
        0.0,
        False,
        False,
        False,
    )


def test_latency_holds_the_message_for_its_seconds() -> None:
    faults = FaultInjector()
    faults.add("tally", "latency", count=1, seconds=2.5)
    (t,) = faults.plan(message(), 0.0)
    assert t.delay == 2.5 and t.faults == ("latency",)
    assert faults.plan(message(n=2), 0.0)[0].delay == 0.0  # count 1: used up
    assert faults.rules() == []


def test_drop_never_sends_and_is_counted() -> None:
    faults = FaultInjector()
    faults.add("arrival", FaultKind.DROP, count=2)
    assert faults.plan(message("arrival", 1), 0.0) == []
    assert faults.plan(message("tally", 2), 0.0) != []  # other flows untouched
    assert faults.plan(message("arrival", 3), 0.0) == []
    assert bodies(faults.plan(message("arrival", 4), 0.0)) == [b"<m4/>"]
    assert faults.dropped == 2


def test_duplicate_sends_the_same_bytes_twice() -> None:
    faults = FaultInjector()
    faults.add("*", "duplicate", count=None)
    first, second = faults.plan(message("manifest"), 0.0)
    assert first.body == second.body and (first.duplicate, second.duplicate) == (False, True)
    assert len(faults.plan(message("distribution", 2), 0.0)) == 2  # until cleared
    assert faults.clear() == 1 and len(faults.plan(message(n=3), 0.0)) == 1


def test_reorder_swaps_a_message_with_the_next_of_its_flow() -> None:
    faults = FaultInjector()
    faults.add("tally", "reorder", count=None)
    assert faults.plan(message(n=1), 0.0) == []  # held
    assert faults.held() == 1
    assert bodies(faults.plan(message("arrival", 9), 0.0)) == [b"<m9/>"]  # another flow passes
    assert bodies(faults.plan(message(n=2), 0.0)) == [b"<m2/>", b"<m1/>"]  # 2 releases 1: swapped
    assert faults.plan(message(n=3), 0.0) == []  # until cleared: pairs swap
    assert bodies(faults.plan(message(n=4), 0.0)) == [b"<m4/>", b"<m3/>"]
    assert faults.held() == 0


def test_a_held_message_is_flushed_when_its_flow_has_nothing_more_planned_or_waited_too_long() -> None:
    faults = FaultInjector(max_hold=10.0)
    faults.add("tally", "reorder", count=None)
    faults.plan(message(n=1), 0.0)
    assert faults.flush({"tally"}, 5.0) == []  # more tallies are planned: wait for the next one
    assert bodies(faults.flush({"tally"}, 10.0)) == [b"<m1/>"]  # waited max_hold
    faults.plan(message(n=2), 20.0)
    assert bodies(faults.flush({"arrival"}, 20.5)) == [b"<m2/>"]  # no tally left to swap with


def test_malformed_sends_a_garbled_copy_first_that_no_parser_accepts() -> None:
    faults = FaultInjector()
    faults.add("arrival", "malformed", count=1)
    good = real_arrival(1)
    garbled, sent = faults.plan(good, 0.0)
    assert (garbled.malformed, sent.malformed) == (True, False)
    assert sent.body == good.body and garbled.body == garble(good.body) and garbled.body != good.body
    decode(sent.body)
    with pytest.raises(MessageError):
        decode(garbled.body)
    codeco = render(decode(good.body), "CODECO")
    assert convert(codeco, to="xml")
    with pytest.raises(MessageError):
        convert(garble(codeco), to="xml")  # truncated EDIFACT: no UNT/UNZ


def test_connection_drop_marks_the_first_send_of_the_message() -> None:
    faults = FaultInjector()
    faults.add("tally", "connection_drop", count=1)
    faults.add("tally", "malformed", count=1)
    first, second = faults.plan(message(), 0.0)
    assert first.drop_connection and first.malformed and not second.drop_connection


def test_every_matching_kind_applies_once_per_message() -> None:
    faults = FaultInjector()
    for kind in ("duplicate", "latency", "connection_drop"):
        faults.add("arrival", kind, count=None, seconds=1.0)
    faults.add("arrival", "duplicate", count=None)  # a second rule of a kind already applied waits
    out = faults.plan(message("arrival"), 0.0)
    assert [(t.duplicate, t.delay, t.drop_connection) for t in out] == [
        (False, 1.0, True),
        (True, 1.0, False),
    ]
    assert out[0].faults == ("connection_drop", "duplicate", "latency")


def test_rules_validate_flow_kind_and_count() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError):
        faults.add("gate", "drop")
    with pytest.raises(ValueError):
        faults.add("tally", "explode")
    with pytest.raises(ValueError):
        faults.add("tally", "drop", count=0)
    rule = faults.add("tally", "drop", count=3)
    assert rule.to_json() == {
        "id": 1,
        "flow": "tally",
        "kind": "drop",
        "count": 3,
        "seconds": 0.0,
        "applied": 0,
    }


# ----- the dispatcher with a recording transport -------------------------------------------------
class Recorder:
    """Transport that records what it is asked to send (no hub involved: this tests sequencing)."""

    kind = "test"
    reconnects = 0

    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes, bool]] = []

    def start(self, on_notice: Any) -> None:
        return None

    def ready(self) -> bool:
        return True

    def send(
        self, party: str, sender_uscc: str, message_type: str, body: bytes, *, drop_connection: bool = False
    ) -> SendResult:
        self.sent.append((time.monotonic(), body, drop_connection))
        return SendResult("refused" if body.endswith(b"<m") else "sent")

    def close(self) -> None:
        return None


@pytest.fixture
def dispatched() -> Iterator[tuple[Dispatcher, Recorder, FaultInjector, Stats]]:
    recorder, faults, stats = Recorder(), FaultInjector(), Stats()
    dispatcher = Dispatcher(recorder, faults, stats)
    dispatcher.start()
    yield dispatcher, recorder, faults, stats
    dispatcher.stop()


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_dispatcher_latency_delays_only_its_message(dispatched: Any) -> None:
    dispatcher, recorder, faults, stats = dispatched
    faults.add("tally", "latency", count=1, seconds=0.6)
    started = time.monotonic()
    dispatcher.submit([message(n=1), message(n=2)])
    wait_for(lambda: len(recorder.sent) == 2)
    (t2, b2, _), (t1, b1, _) = recorder.sent
    assert (b2, b1) == (b"<m2/>", b"<m1/>")
    assert t2 - started < 0.3 and t1 - started >= 0.6
    assert stats.snapshot()["sent"] == {"MT5101": 2}


def test_dispatcher_counts_duplicates_malformed_and_drops(dispatched: Any) -> None:
    dispatcher, recorder, faults, stats = dispatched
    faults.add("tally", "duplicate", count=1)
    faults.add("arrival", "malformed", count=1)
    faults.add("manifest", "drop", count=1)
    dispatcher.submit([message("tally", 1), message("arrival", 2), message("manifest", 3)])
    wait_for(lambda: len(recorder.sent) == 4 and dispatcher.pending() == 0)
    assert [b for _, b, _ in recorder.sent] == [b"<m1/>", b"<m1/>", b"<m", b"<m2/>"]
    snap = stats.snapshot()
    assert (snap["sent"], snap["duplicated"], snap["malformed"], snap["failed"]) == ({"MT5101": 2}, 1, 1, 0)
    assert faults.dropped == 1


# ----- connection_drop on the real transports ----------------------------------------------------
def test_amqp_connection_drop_reconnects_and_publishes(amqp_url: str) -> None:
    import pika

    tag = uuid.uuid4().hex[:8]
    exchange, queue = f"t{tag}.port-ingress", f"t{tag}.port-ingress-q"
    admin = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = admin.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=False, auto_delete=False)
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue, exchange, routing_key="#")
    publisher = AmqpPublisher(amqp_url, attempts=10, exchange=exchange)
    try:
        assert publisher.publish("PRT", "MT5101", b"<m1/>").outcome == "sent"
        assert publisher.publish("PRT", "MT5101", b"<m2/>", drop_connection=True).outcome == "sent"
        assert publisher.publish("PRT", "MT3101", b"<m3/>").outcome == "sent"
        assert publisher.reconnects == 1
        received = []
        for method, props, body in channel.consume(queue, inactivity_timeout=2):
            if method is None:
                break
            received.append((method.routing_key, props.headers["x-swhub-sender"], body))
            channel.basic_ack(method.delivery_tag)
        channel.cancel()
        assert [b for _, _, b in received] == [b"<m1/>", b"<m2/>", b"<m3/>"]  # nothing lost, in order
        assert received[2][:2] == ("MT3101", "PRT")
    finally:
        publisher.close()
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        admin.close()


def test_amqp_unroutable_publish_is_retried_then_failed(amqp_url: str) -> None:
    import pika

    exchange = f"t{uuid.uuid4().hex[:8]}.nowhere"
    admin = pika.BlockingConnection(pika.URLParameters(amqp_url))
    admin.channel().exchange_declare(exchange, exchange_type="topic")
    publisher = AmqpPublisher(amqp_url, attempts=2, exchange=exchange)
    try:
        result = publisher.publish("PRT", "MT5101", b"<m/>")
        assert result.outcome == "failed" and "unroutable" in result.detail
    finally:
        publisher.close()
        admin.channel().exchange_delete(exchange)
        admin.close()


class Ports:
    """HTTP server answering 202, remembering the client port of each request (one per connection)."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so a reused connection shows

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.ports.append(self.client_address[1])
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_http_connection_drop_opens_a_new_connection() -> None:
    server = Ports()
    transport = HttpTransport(server.url, {"terminal": ("PRT", "key")}, [], attempts=2)
    try:
        for drop in (False, False, True, False):
            assert (
                transport.send("terminal", "PRT", "MT5101", b"<m/>", drop_connection=drop).outcome == "sent"
            )
        first, reused, dropped, after = server.ports
        assert first == reused and dropped != reused and after == dropped
        assert transport.reconnects == 1
        assert transport.send("carrier", "BRK", "MT1101", b"<m/>").outcome == "refused"  # no key for it
    finally:
        transport.close()
        server.server.shutdown()
