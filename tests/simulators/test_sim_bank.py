"""The bank simulator as a real separate process, driven through the bank adapter; credit callbacks
land in a real local HTTP receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from simtest_support import (
    CONTROL_KEY,
    HUB_CALLBACK_KEY,
    REPO_ROOT,
    START,
    USCC,
    CallbackReceiver,
    control,
    ok,
)

from adapters.bank import (
    BankClient,
    BankOrderConflict,
    BankOrderNotFound,
    BankRequestInvalid,
    BankServiceUnavailable,
    OrderStatus,
    PaymentOrder,
    parse_credit_notification,
)
from simulators.common.runner import SimulatorProcess

CREDIT_DELAY = 600  # simulated seconds


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def bank_sim(receiver: CallbackReceiver) -> Iterator[SimulatorProcess]:
    env = {
        "BANK_SIM_CLOCK": f"manual:{START}",
        "BANK_SIM_API_KEY": CONTROL_KEY,
        "BANK_SIM_CALLBACK_URL": receiver.url,
        "BANK_SIM_CALLBACK_API_KEY": HUB_CALLBACK_KEY,
        "BANK_SIM_CALLBACK_BACKOFF_INITIAL": "0.05",
        "BANK_SIM_CREDIT_DELAY_SECONDS": str(CREDIT_DELAY),
        "BANK_SIM_REFUSE_ACCOUNT_PREFIXES": "6299",
    }
    with SimulatorProcess("simulators.bank", env=env, cwd=REPO_ROOT) as process:
        yield process


@pytest.fixture
def bank(bank_sim: SimulatorProcess) -> Iterator[BankClient]:
    with BankClient(
        bank_sim.base_url, timeout=0.5, max_attempts=3, backoff_initial=0.05, backoff_max=0.2
    ) as client:
        yield client


def order(account: str | None = None, amount: str = "1300.00") -> PaymentOrder:
    return PaymentOrder(
        order_id=f"PO{uuid.uuid4().hex[:14].upper()}",
        application_no="9APP",
        exporter_uscc=USCC,
        account_no=account or f"6222{uuid.uuid4().int % 10**12:012d}",
        amount=Decimal(amount),
        tax_case_no="TX20250303000001",
        account_name="青岛某出口公司",
    )


def advance(sim: SimulatorProcess, seconds: float) -> None:
    ok(control(sim.base_url, "POST", "/clock", {"advance_seconds": seconds}))


def callbacks_for(receiver: CallbackReceiver, order_id: str) -> list:
    posts = receiver.wait_for(lambda rs: any(order_id.encode() in r.body for r in rs))
    return [parse_credit_notification(r.body) for r in posts if order_id.encode() in r.body]


def balance(sim: SimulatorProcess, account: str) -> Decimal:
    return Decimal(httpx.get(f"{sim.base_url}/accounts/{account}").json()["balance"])


def test_order_is_credited_after_the_delay_and_the_hub_is_called_back(
    bank: BankClient, bank_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    po = order()
    state = bank.submit_payment_order(po)
    assert state.status is OrderStatus.RECEIVED and not state.replayed
    advance(bank_sim, CREDIT_DELAY - 1)
    assert bank.get_payment_order(po.order_id).status is OrderStatus.RECEIVED
    advance(bank_sim, 1)
    credited = bank.get_payment_order(po.order_id)
    assert credited.status is OrderStatus.CREDITED and credited.settled_at == state.credit_due_at
    assert balance(bank_sim, po.account_no) == Decimal("1300.00")

    [note] = callbacks_for(receiver, po.order_id)
    assert (note.status, note.amount, note.currency) == (OrderStatus.CREDITED, Decimal("1300.00"), "CNY")
    assert note.bank_reference == credited.bank_reference and note.occurred_at == credited.settled_at
    assert note.application_no == "9APP" and note.tax_case_no == "TX20250303000001"


def test_refused_credit_by_order_id_and_by_account_prefix(
    bank: BankClient, bank_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    by_id, by_prefix = order(), order(account="629900001111")
    ok(
        control(
            bank_sim.base_url,
            "POST",
            "/refusals",
            {"orderIds": [by_id.order_id], "code": "ACCOUNT_FROZEN", "message": "account frozen"},
        )
    )
    bank.submit_payment_order(by_id)
    bank.submit_payment_order(by_prefix)
    advance(bank_sim, CREDIT_DELAY)
    assert bank.get_payment_order(by_id.order_id).refusal.code == "ACCOUNT_FROZEN"  # type: ignore[union-attr]
    assert bank.get_payment_order(by_prefix.order_id).status is OrderStatus.REFUSED
    [note] = callbacks_for(receiver, by_id.order_id)
    assert note.status is OrderStatus.REFUSED and note.refusal and note.refusal.code == "ACCOUNT_FROZEN"
    assert balance(bank_sim, by_prefix.account_no) == Decimal("0.00")


def test_order_id_is_idempotent(
    bank: BankClient, bank_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    po = order()
    first = bank.submit_payment_order(po)
    again = bank.submit_payment_order(po)
    assert again.replayed and again.received_at == first.received_at
    with pytest.raises(BankOrderConflict):
        bank.submit_payment_order(replace(po, amount=Decimal("1.00")))
    advance(bank_sim, CREDIT_DELAY)
    assert bank.submit_payment_order(po).status is OrderStatus.CREDITED  # replay after credit
    assert balance(bank_sim, po.account_no) == Decimal("1300.00")  # credited once
    assert len(callbacks_for(receiver, po.order_id)) == 1


def test_callback_is_retried_while_the_hub_is_down(
    bank: BankClient, bank_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    po = order()
    bank.submit_payment_order(po)
    attempts_before = receiver.attempts
    receiver.fail_next = 2
    advance(bank_sim, CREDIT_DELAY)
    [note] = callbacks_for(receiver, po.order_id)
    assert note.status is OrderStatus.CREDITED
    assert receiver.attempts - attempts_before == 3  # two 500s, then delivered
    recent = ok(control(bank_sim.base_url, "GET", "/callback"))["recent"]
    assert any(r["attempts"] == 3 and r["state"] == "delivered" for r in recent)


def test_adapter_retries_injected_failures_then_gives_up_typed(
    bank: BankClient, bank_sim: SimulatorProcess
) -> None:
    ok(
        control(
            bank_sim.base_url, "POST", "/failures", {"mode": "http500", "operation": "submit", "count": 2}
        )
    )
    assert bank.submit_payment_order(order()).status is OrderStatus.RECEIVED
    ok(
        control(
            bank_sim.base_url,
            "POST",
            "/failures",
            {"mode": "timeout", "operation": "status", "count": 3, "seconds": 3},
        )
    )
    with pytest.raises(BankServiceUnavailable) as info:
        bank.get_payment_order("PO-ANY")
    assert info.value.attempts == 3
    with pytest.raises(BankOrderNotFound):
        bank.get_payment_order("PO-NONE")


def test_invalid_order_lists_every_error(bank: BankClient) -> None:
    bad = replace(order(), currency="USD", exporter_uscc="X", amount=Decimal("-5"), account_no="12")
    with pytest.raises(BankRequestInvalid) as info:
        bank.submit_payment_order(bad)
    locs = {e["loc"] for e in info.value.errors}
    assert {"body.currency", "body.exporterUscc", "body.amount", "body.account.accountNo"} <= locs


def test_bank_control_api_requires_key(bank_sim: SimulatorProcess) -> None:
    assert control(bank_sim.base_url, "GET", "/state", key=None).status_code == 401
    assert control(bank_sim.base_url, "PUT", "/delays", {"creditDelaySeconds": -1}).status_code == 422
