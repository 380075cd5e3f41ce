"""Parties, filings and hub construction for the refund workflow tests."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from hub.config import Settings
from hub.services.refunds.filing import DeclarationLine, Filing, InvoiceLine, render_filing

EXPORTER_USCC = "91370200M3C5EXP01E"
OTHER_EXPORTER_USCC = "91370200M3C5EXP02H"
TAX_USCC = "11370000M0TAX0001R"
BANK_USCC = "91370000M3BANK001X"
BROKER_USCC = "91370200M3C0BRK01N"
KEYS = {
    "exporter": "refund-exporter-key",
    "other_exporter": "refund-other-exporter-key",
    "officer": "refund-tax-officer-key",
    "tax_sim": "refund-tax-sim-key",
    "bank_sim": "refund-bank-sim-key",
    "broker": "refund-broker-key",
}


def write_parties(path: Path) -> Path:
    parties: list[dict[str, Any]] = [
        {
            "uscc": EXPORTER_USCC,
            "name": "山东鲁货进出口有限公司",
            "roles": ["exporter"],
            "refund_class": 2,
            "tax_office_level": "city",
            "keys": [{"key": KEYS["exporter"]}],
        },
        {
            "uscc": OTHER_EXPORTER_USCC,
            "name": "烟台另一出口公司",
            "roles": ["exporter"],
            "refund_class": 3,
            "tax_office_level": "county",
            "keys": [{"key": KEYS["other_exporter"]}],
        },
        {
            "uscc": TAX_USCC,
            "name": "国家税务总局山东省税务局",
            "roles": ["tax_officer"],
            "keys": [{"key": KEYS["officer"]}, {"key": KEYS["tax_sim"], "label": "tax system callbacks"}],
        },
        {
            "uscc": BANK_USCC,
            "name": "国库代理银行",
            "roles": ["tax_officer"],
            "keys": [{"key": KEYS["bank_sim"], "label": "bank credit callbacks"}],
        },
        {"uscc": BROKER_USCC, "name": "青岛海通报关", "roles": ["broker"], "keys": [{"key": KEYS["broker"]}]},
    ]
    path.write_text(yaml.safe_dump({"parties": parties}, allow_unicode=True), encoding="utf-8")
    return path


def settings_for(db_url: str, tmp_path: Path, amqp_url: str | None = None) -> Settings:
    return Settings(
        database_url=db_url,
        amqp_url=amqp_url,
        api_keys_file=write_parties(tmp_path / "p.yaml"),
        _env_file=None,
    )  # type: ignore[call-arg]


def app_no(prefix: str = "9") -> str:
    return f"{prefix}{uuid.uuid4().hex[:11].upper()}"


def entry_id() -> str:
    return f"4201{uuid.uuid4().int % 10**14:014d}"


def filing(number: str | None = None, *, refund: str = "1300.00", uscc: str | None = None) -> Filing:
    return Filing(
        application_no=number or app_no(),
        exporter_uscc=uscc,
        account_no="6222000011112222",
        account_name="山东鲁货进出口有限公司",
        declarations=(DeclarationLine(entry_id(), Decimal("10000.00"), Decimal(refund), date(2025, 2, 20)),),
        invoices=(InvoiceLine(f"{uuid.uuid4().int % 10**8:08d}", Decimal("10000.00"), Decimal("1300.00")),),
        fx_receipt_proof=None,
    )


def filing_xml(number: str | None = None, **kwargs: Any) -> bytes:
    return render_filing(filing(number, **kwargs))


def auth(who: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[who], "Content-Type": "application/xml"}
