"""Parties, a running hub (real database, real bus) and helpers for the clearance tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from hub.bus.base import NOTICE_EXCHANGE, Delivery, QueueSpec, Topology
from hub.config import Settings
from hub.runtime import Hub
from hub.services.catalog import install_workflows
from messages.models.notices import InspectionNotice, InspectionOutcome
from messages.models.receipts import DecImportResponse, DecResultReceipt
from messages.xml import decode, encode, samples
from simulators.customs.traffic import TERMINAL

BROKER = "91370200M3C0BRK01N"
OTHER_BROKER = "91370200M3C0BRK02R"
YARD = "91370200M3C0PRT01B"
OTHER_YARD = "91370200M3C0PRT02E"
TALLY = "91370200M3C0TLY015"
OTHER_TALLY = "91370200M3C0TLY028"
CUSTOMS = "11100000000013127D"
ADMIN = "91370200M3C0ADM1NM"
KEYS = {
    "admin": "clr-admin-key",
    "broker": "clr-broker-key",
    "other_broker": "clr-other-broker-key",
    "yard": "clr-yard-key",
    "other_yard": "clr-other-yard-key",
    "customs": "clr-customs-key",
    "depot": "clr-depot-key",
    "elsewhere": "clr-elsewhere-key",
    "tally": "clr-tally-key",
    "other_tally": "clr-other-tally-key",
}
# Supervised sites' operators (issue 12 item 2: a port operator reports only for the site it operates).
DEPOT, ELSEWHERE_YARD = "91370200M3C0PRT03H", "91370200M3C0PRT04L"


def write_parties(path: Path) -> Path:
    parties: list[dict[str, Any]] = [
        {"uscc": ADMIN, "name": "admin", "roles": ["admin"], "keys": [{"key": KEYS["admin"]}]},
        {
            "uscc": BROKER,
            "name": "青岛海通报关",
            "roles": ["broker"],
            "entrusted_by": [samples.TRADE_CO_SCC],  # the consignee of the sample bills
            "keys": [{"key": KEYS["broker"]}],
        },
        {
            "uscc": OTHER_BROKER,
            "name": "烟台报关",
            "roles": ["broker"],
            "entrusted_by": [samples.TRADE_CO_SCC],
            "keys": [{"key": KEYS["other_broker"]}],
        },
        {
            "uscc": YARD,
            "name": "前湾码头",
            "roles": ["port_operator"],
            "terminal_code": TERMINAL,
            "keys": [{"key": KEYS["yard"]}],
        },
        {
            "uscc": OTHER_YARD,
            "name": "日照码头",
            "roles": ["port_operator"],
            "terminal_code": "CNRZH/4228",
            "keys": [{"key": KEYS["other_yard"]}],
        },
        {
            "uscc": DEPOT,
            "name": "保税港区冷链监管仓",
            "roles": ["port_operator"],
            "terminal_code": "CNTAO/4258",
            "keys": [{"key": KEYS["depot"]}],
        },
        {
            "uscc": ELSEWHERE_YARD,
            "name": "另一监管场所",
            "roles": ["port_operator"],
            "terminal_code": "CNTAO/4299",
            "keys": [{"key": KEYS["elsewhere"]}],
        },
        {"uscc": CUSTOMS, "name": "青岛海关", "roles": ["customs"], "keys": [{"key": KEYS["customs"]}]},
        {
            "uscc": TALLY,
            "name": "外轮理货青岛",
            "roles": ["tally"],
            "terminals": [TERMINAL],  # the terminals the tally company is assigned to
            "keys": [{"key": KEYS["tally"]}],
        },
        {
            "uscc": OTHER_TALLY,
            "name": "外轮理货日照",
            "roles": ["tally"],
            "terminals": ["CNRZH/4228"],
            "keys": [{"key": KEYS["other_tally"]}],
        },
    ]
    path.write_text(yaml.safe_dump({"parties": parties}, allow_unicode=True), encoding="utf-8")
    return path


def settings_for(db_url: str, tmp_path: Path, amqp_url: str | None = None) -> Settings:
    return Settings(
        database_url=db_url,
        amqp_url=amqp_url,
        api_keys_file=write_parties(tmp_path / "parties.yaml"),
        _env_file=None,
    )  # type: ignore[call-arg]


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Inbox:
    """Collects what the hub publishes to a notice queue (a party's or customs')."""

    def __init__(self, hub: Hub, name: str, binding: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.ids: list[tuple[str, str]] = []  # (type, the hub's message id) as a receiver sees them
        self._lock = threading.Lock()
        hub.bus.declare(Topology(queues=(QueueSpec(name, ((NOTICE_EXCHANGE, binding),)),)))
        self.consumer = hub.bus.consume(name, self._on)

    def _on(self, delivery: Delivery) -> None:
        with self._lock:
            notice_type = delivery.envelope.routing_key.split(".", 1)[1]
            self.messages.append((notice_type, delivery.envelope.body))
            self.ids.append((notice_type, delivery.envelope.message_id))

    def of(self, notice_type: str) -> list[bytes]:
        with self._lock:
            return [body for t, body in self.messages if t == notice_type]

    def ids_of(self, notice_type: str) -> list[str]:
        with self._lock:
            return [i for t, i in self.ids if t == notice_type]


def import_response(client_seq_no: str, seq_no: str, ok: bool = True) -> bytes:
    return encode(DecImportResponse("0" if ok else "1", "" if ok else "退单: 测试", client_seq_no, seq_no))


def dec_data(seq_no: str, entry_id: str, bill_no: str, channel: str, note: str = "") -> bytes:
    receipt: DecResultReceipt = samples.dec_data(channel)
    receipt.result.seq_no, receipt.result.entry_id, receipt.result.bill_no = seq_no, entry_id, bill_no
    receipt.result.notice_date = f"2026-11-21T09:{len(channel):02d}:{abs(hash(channel + note)) % 60:02d}"
    receipt.result.note = note or "test"
    return encode(receipt)


def inspection_result(instruction_xml: bytes, outcome: InspectionOutcome) -> bytes:
    notice: InspectionNotice = decode(instruction_xml)
    notice.outcome = outcome
    return encode(notice)


def kg(value: str) -> Decimal:
    return Decimal(value)


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL database of its own (the session-wide pg_url is shared between tests)."""
    import uuid

    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL, require_service

    require_service("PostgreSQL", PG_ADMIN_URL)
    name = f"swhub_clr_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def burst_hub(request: Any, tmp_path: Path, monkeypatch: Any) -> Iterator[Hub]:
    """A running hub on the parametrised database (`request.param`: sqlite or postgresql, a fresh
    one), with queues of its own and an ingress batch that lingers long enough for a whole published
    burst to be one batch (yield from it in a fixture)."""
    import uuid

    monkeypatch.setenv("HUB_CLEARANCE_QUEUE_PREFIX", f"swhub.clearance.t{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("HUB_BATCH_LINGER_MS", "400")  # the whole burst waits for one batch
    if request.param == "sqlite":
        yield from running(Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path)))
    else:
        with fresh_postgres() as url:
            yield from running(Hub(settings_for(url, tmp_path)))


def running(hub: Hub) -> Iterator[Hub]:
    """A hub with every workflow installed (the dead-letter recorder included), migrated, seeded and
    started for the test; stopped afterwards (yield from it in a fixture)."""
    install_workflows(hub)
    hub.migrate()
    hub.bootstrap_parties()
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
