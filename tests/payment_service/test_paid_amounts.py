"""What the payment service records for a payment Alipay reports with a discount or points, or
as TRADE_FINISHED: the order is paid for its total, and Alipay's amounts are kept. Against the
emulator, with its payment faults."""

from decimal import Decimal

import httpx

from tests.payment_service.conftest import create_payment, new_order_id
from tests.payment_service.test_close_and_reconcile import (
    _paid,
    close,
    open_at_alipay,
    pay_at_alipay,
    sandbox_call,
    wait_for,
)


async def opened_link(service, order_id: str) -> None:
    """The buyer's browser opens the pay link (the emulator has seen it; no trade yet)."""
    response = await create_payment(service, order_id, amount="12.50")
    assert response.status_code == 200, response.text
    async with httpx.AsyncClient() as client:
        assert (await client.get(response.json()["pay_url"])).status_code == 200


async def set_fault(sandbox, **fault) -> None:
    response = await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


async def test_a_discounted_payment_told_by_its_notify(payment_service, payment_db, sandbox):
    order_id = new_order_id()
    await opened_link(payment_service, order_id)
    await set_fault(sandbox, out_trade_no=order_id, discount_amount="2.00", point_amount="0.50")

    await pay_at_alipay(sandbox, order_id)

    payment = await wait_for(lambda: _paid(payment_db, order_id))
    assert payment["amount"] == Decimal("12.50")
    assert payment["receipt_amount"] == Decimal("10.50")
    assert payment["buyer_pay_amount"] == Decimal("10.00")
    assert payment["point_amount"] == Decimal("0.50")
    [event] = await payment_db.outbox(order_id)
    assert event["payload"]["amount"] == "12.50"  # the order is paid for its total
    [notify] = await payment_db.notifies(order_id)
    assert notify["outcome"] == "paid"


async def test_a_discounted_payment_found_by_a_query(payment_service, payment_db, sandbox):
    order_id = new_order_id()
    await open_at_alipay(payment_service, order_id)
    await set_fault(
        sandbox, out_trade_no=order_id, delay_seconds=3600, discount_amount="1.25"
    )  # the notify comes too late: the close's query finds the payment
    await pay_at_alipay(sandbox, order_id)

    assert (await close(payment_service, order_id)).json()["status"] == "paid"

    payment = await payment_db.payment(order_id)
    assert (payment["amount"], payment["receipt_amount"], payment["buyer_pay_amount"]) == (
        Decimal("12.50"),
        Decimal("11.25"),
        Decimal("11.25"),
    )
    assert payment["point_amount"] == Decimal("0.00")
    assert [e["payload"]["amount"] for e in await payment_db.outbox(order_id)] == ["12.50"]


async def test_a_trade_finished_at_payment_pays(payment_service, payment_db, sandbox):
    order_id = new_order_id()
    await opened_link(payment_service, order_id)
    await set_fault(sandbox, out_trade_no=order_id, trade_finished=True)

    await pay_at_alipay(sandbox, order_id)

    payment = await wait_for(lambda: _paid(payment_db, order_id))
    assert payment["receipt_amount"] == Decimal("12.50")
    [notify] = await payment_db.notifies(order_id)
    assert (notify["trade_status"], notify["outcome"]) == ("TRADE_FINISHED", "paid")
    assert (await close(payment_service, order_id)).json()["status"] == "paid"
