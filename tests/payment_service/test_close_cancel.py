"""Close when Alipay cannot tell whether the buyer paid (alipay.trade.close refused because the
trade is not open, or its outcome unknown, and alipay.trade.query fails too):
alipay.trade.cancel settles it once the buyer's time is up. Against the emulator, with its
answer faults."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from shared.http import internal_client
from tests.payment_service.conftest import SECRET, create_payment, new_order_id
from tests.payment_service.test_close_and_reconcile import pay_at_alipay, sandbox_call, wait_for
from tests.support.cashier import log_in_async


async def close(service, order_id: str) -> httpx.Response:
    """A close may wait for a query to time out (ALIPAY_TIMEOUT_SECONDS, 5 here) first."""
    async with internal_client(service.url, SECRET, timeout=30) as client:
        return await client.post(f"/internal/payments/{order_id}/close")


async def short_lived_open_trade(service, sandbox, seconds: float = 3.0) -> tuple[str, datetime]:
    """A payment whose buyer has reached the cashier, with a pay deadline `seconds` away."""
    order_id = new_order_id()
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds + 1)
    response = await create_payment(service, order_id, deadline=deadline)
    assert response.status_code == 200, response.text
    async with httpx.AsyncClient() as client:
        page = await log_in_async(client, response.json()["pay_url"])
        assert page.status_code == 200 and 'id="trade-no"' in page.text
    return order_id, deadline


async def _notifies(db, order_id: str) -> list[dict]:
    return await db.notifies(order_id)


async def set_fault(sandbox, **fault) -> None:
    response = await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


async def clear_fault(sandbox, order_id: str) -> None:
    await sandbox_call(sandbox, "DELETE", "/sandbox/faults", params={"out_trade_no": order_id})


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)


async def trade_at_alipay(sandbox, order_id: str) -> dict:
    return (await sandbox_call(sandbox, "GET", f"/sandbox/trades/{order_id}")).json()


async def test_an_unknown_outcome_before_the_deadline_is_asked_again_later(
    payment_service, payment_db, sandbox
):
    order_id, _ = await short_lived_open_trade(payment_service, sandbox, seconds=600)
    await set_fault(
        sandbox,
        out_trade_no=order_id,
        answer="system_error",
        answer_methods=["alipay.trade.close", "alipay.trade.query"],
    )
    try:
        response = await close(payment_service, order_id)
    finally:
        await clear_fault(sandbox, order_id)
    assert response.status_code == 503 and response.json()["code"] == "alipay_unavailable"
    assert (await payment_db.payment(order_id))["status"] == "created"
    assert (await trade_at_alipay(sandbox, order_id))["status"] == "WAIT_BUYER_PAY"


async def test_an_open_trade_is_closed_by_one_close_without_a_query(
    payment_service, payment_db, sandbox
):
    """Issue 10, item 8: an open trade needs alipay.trade.close only (a query before it doubled
    the gateway calls of every expired order). Queries fail here: the close still succeeds."""
    order_id, _ = await short_lived_open_trade(payment_service, sandbox, seconds=600)
    await set_fault(
        sandbox, out_trade_no=order_id, answer="system_error", answer_methods=["alipay.trade.query"]
    )
    try:
        response = await close(payment_service, order_id)
    finally:
        await clear_fault(sandbox, order_id)
    assert response.status_code == 200, response.text
    assert response.json() == {"order_id": order_id, "status": "closed"}
    assert (await payment_db.payment(order_id))["status"] == "closed"
    assert (await trade_at_alipay(sandbox, order_id))["status"] == "TRADE_CLOSED"


async def test_a_paid_trade_whose_query_fails_after_the_deadline_is_cancelled_and_refunded(
    payment_service, payment_db, sandbox
):
    order_id, deadline = await short_lived_open_trade(payment_service, sandbox)
    # the notify is lost for an hour, and every query fails
    await set_fault(
        sandbox,
        out_trade_no=order_id,
        delay_seconds=3600,
        answer="system_error",
        answer_methods=["alipay.trade.query"],
    )
    try:
        paid = await pay_at_alipay(sandbox, order_id)
        # the cancel's refund notify is delivered at once (the payment's stays lost)
        await set_fault(
            sandbox,
            out_trade_no=order_id,
            answer="system_error",
            answer_methods=["alipay.trade.query"],
        )
        await until(deadline)
        response = await close(payment_service, order_id)
    finally:
        await clear_fault(sandbox, order_id)

    assert response.status_code == 200, response.text
    assert response.json() == {"order_id": order_id, "status": "closed"}
    trade = await trade_at_alipay(sandbox, order_id)
    assert trade["status"] == "TRADE_CLOSED" and trade["refund_fee"] == "12.50"
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "refunded"
    assert payment["trade_no"] == paid["trade_no"]
    assert payment["refunded_amount"] == Decimal("12.50")
    refunds = await payment_db.rows("SELECT * FROM refunds WHERE payment_id = :p", p=payment["id"])
    assert [(r["status"], r["amount"], r["out_request_no"]) for r in refunds] == [
        ("succeeded", Decimal("12.50"), order_id)
    ]
    assert await payment_db.outbox(order_id) == []  # the order is cancelled, never paid
    # Alipay's refund notify for the cancel names our refund row: nothing more is refunded
    notify = await wait_for(lambda: _notifies(payment_db, order_id))
    assert [(n["trade_status"], n["outcome"]) for n in notify] == [("TRADE_CLOSED", "duplicate")]
    payment = await payment_db.payment(order_id)
    assert payment["refunded_amount"] == Decimal("12.50")
    again = await close(payment_service, order_id)
    assert again.json()["status"] == "closed"


async def test_an_unpaid_trade_whose_query_times_out_after_the_deadline_is_closed(
    payment_service, payment_db, sandbox
):
    order_id, deadline = await short_lived_open_trade(payment_service, sandbox)
    await until(deadline)
    # ALIPAY_TIMEOUT_SECONDS is 5 in these tests: the query's answer comes too late
    await set_fault(
        sandbox,
        out_trade_no=order_id,
        answer="timeout",
        answer_delay_seconds=8,
        answer_methods=["alipay.trade.query"],
    )
    try:
        response = await close(payment_service, order_id)
    finally:
        await clear_fault(sandbox, order_id)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed"
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "closed" and payment["refunded_amount"] == Decimal("0")
    assert (await trade_at_alipay(sandbox, order_id))["status"] == "TRADE_CLOSED"
