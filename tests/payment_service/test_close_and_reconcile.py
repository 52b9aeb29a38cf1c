"""Close and reconcile against the Alipay emulator, a real process over HTTP."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from payment_service.alipay import (
    AlipayBusinessError,
    AlipayClient,
    AlipayConfig,
    AlipayGatewayError,
    TradeNotExist,
    TradeStatusError,
)
from shared.http import internal_client
from tests.payment_service.conftest import (
    APP_ID,
    SECRET,
    PaymentDb,
    create_payment,
    migrate,
    new_order_id,
    start_payment_service,
)
from tests.payment_service.keys import pair
from tests.support.cashier import log_in_async
from tests.support.processes import free_port


async def close(service, order_id: str) -> httpx.Response:
    async with internal_client(service.url, SECRET) as client:
        return await client.post(f"/internal/payments/{order_id}/close")


async def open_at_alipay(service, order_id: str) -> str:
    """Create the payment, follow its link and log in, as the buyer does: the trade exists."""
    response = await create_payment(service, order_id)
    assert response.status_code == 200, response.text
    async with httpx.AsyncClient() as client:
        cashier = await log_in_async(client, response.json()["pay_url"])
    assert cashier.status_code == 200, cashier.text[:300]
    return response.json()["pay_url"]


async def sandbox_call(sandbox, method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        return await client.request(method, path, **kwargs)


async def pay_at_alipay(sandbox, order_id: str) -> dict:
    response = await sandbox_call(sandbox, "POST", f"/sandbox/trades/{order_id}/pay")
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for(predicate, within: float = 30.0):
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_close_without_payment_answers_closed(payment_service):
    response = await close(payment_service, "NeverSeen1")
    assert response.status_code == 200
    assert response.json() == {"order_id": "NeverSeen1", "status": "closed"}


async def test_close_a_trade_that_never_reached_alipay(payment_service, payment_db):
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    response = await close(payment_service, order_id)
    assert response.json()["status"] == "closed"
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "closed"
    assert payment["closed_at"] is not None
    assert (await close(payment_service, order_id)).json()["status"] == "closed"
    link = await create_payment(payment_service, order_id)
    assert link.status_code == 409 and link.json()["code"] == "payment_not_open"


async def test_close_an_open_trade_closes_it_at_alipay(payment_service, payment_db, sandbox):
    order_id = new_order_id()
    await open_at_alipay(payment_service, order_id)
    assert (await close(payment_service, order_id)).json()["status"] == "closed"
    trade = (await sandbox_call(sandbox, "GET", f"/sandbox/trades/{order_id}")).json()
    assert trade["status"] == "TRADE_CLOSED"
    assert (await payment_db.payment(order_id))["status"] == "closed"
    paying = await sandbox_call(sandbox, "POST", f"/sandbox/trades/{order_id}/pay")
    assert paying.status_code == 409


async def test_close_a_trade_paid_whose_notify_is_late_answers_paid(
    payment_service, payment_db, sandbox
):
    order_id = new_order_id()
    await open_at_alipay(payment_service, order_id)
    fault = {"out_trade_no": order_id, "delay_seconds": 3600}
    assert (await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)).status_code == 200
    paid = await pay_at_alipay(sandbox, order_id)
    response = await close(payment_service, order_id)
    assert response.json() == {"order_id": order_id, "status": "paid"}
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "paid"
    assert payment["trade_no"] == paid["trade_no"]
    events = await payment_db.outbox(order_id)
    assert [e["payload"]["type"] for e in events] == ["paid"]
    assert events[0]["payload"]["amount"] == "12.50"
    assert events[0]["payload"]["trade_no"] == paid["trade_no"]


async def test_a_payment_after_a_local_close_is_recorded_as_paid(
    payment_service, payment_db, sandbox
):
    """Closed here while the buyer had not reached Alipay; the old link is then paid anyway."""
    order_id = new_order_id()
    response = await create_payment(payment_service, order_id)
    assert (await close(payment_service, order_id)).json()["status"] == "closed"
    async with httpx.AsyncClient() as client:
        assert (await client.get(response.json()["pay_url"])).status_code == 200
    await pay_at_alipay(sandbox, order_id)
    payment = await wait_for(lambda: _paid(payment_db, order_id))
    assert payment["closed_at"] is not None
    assert len(await payment_db.outbox(order_id)) == 1
    notifies = await payment_db.notifies(order_id)
    assert notifies[0]["outcome"] == "paid" and notifies[0]["verified"] is True


async def _paid(db, order_id):
    payment = await db.payment(order_id)
    return payment if payment["status"] == "paid" else None


async def test_reconciler_finds_a_payment_whose_notify_never_came(pg_databases, sandbox):
    url = await pg_databases.create("payment_reconcile")
    await asyncio.to_thread(migrate, url)
    service = await asyncio.to_thread(
        start_payment_service,
        url,
        f"{sandbox.url}/gateway.do",
        f"http://127.0.0.1:{free_port()}",
        name="payment-reconcile",
        PAYMENT_RECONCILE_INTERVAL_SECONDS="0.3",
        PAYMENT_RECONCILE_AFTER_SECONDS="1",
    )
    db = PaymentDb(url)
    try:
        order_id = new_order_id()
        await open_at_alipay(service, order_id)
        fault = {"out_trade_no": order_id, "fail_first": 8}  # every notify is lost
        assert (await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)).is_success
        paid = await pay_at_alipay(sandbox, order_id)
        payment = await wait_for(lambda: _paid(db, order_id))
        assert payment["trade_no"] == paid["trade_no"]
        assert payment["paid_at"] < datetime.now(UTC) + timedelta(seconds=1)
        assert len(await db.outbox(order_id)) == 1
        assert await db.notifies(order_id) == []  # paid from the query alone
    finally:
        service.stop()
        await db.engine.dispose()


def _client(sandbox_url: str, sign_type: str = "RSA2", timeout: float = 5.0) -> AlipayClient:
    return AlipayClient(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=pair("app")[0],
            alipay_public_key=pair("alipay")[1],
            gateway_url=f"{sandbox_url}/gateway.do",
            sign_type=sign_type,
            timeout_seconds=timeout,
        )
    )


async def test_server_calls_with_either_sign_type_and_typed_errors(payment_service, sandbox):
    order_id = new_order_id()
    await open_at_alipay(payment_service, order_id)
    for sign_type in ("RSA2", "RSA"):
        client = _client(sandbox.url, sign_type)
        try:
            trade = await client.query(order_id)
            assert trade["trade_status"] == "WAIT_BUYER_PAY"
            assert trade["out_trade_no"] == order_id
            with pytest.raises(TradeNotExist) as missing:
                await client.query("NoSuchTrade1")
            assert missing.value.sub_code == "ACQ.TRADE_NOT_EXIST"
        finally:
            await client.aclose()
    client = _client(sandbox.url)
    try:
        await client.close(order_id)
        with pytest.raises(TradeStatusError):
            await client.close(order_id)  # only a waiting trade can be closed
        with pytest.raises(AlipayBusinessError):
            await client.refund(order_id, Decimal("12.50"), f"{order_id}R1", "test")
    finally:
        await client.aclose()


async def test_an_unreachable_gateway_is_a_gateway_error_within_the_timeout():
    client = _client(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    try:
        with pytest.raises(AlipayGatewayError, match="unreachable"):
            await client.query("Any1")
    finally:
        await client.aclose()


async def test_a_response_signed_with_another_key_is_refused(sandbox):
    """Our client configured with the wrong "Alipay public key" (the most common mistake)."""
    client = AlipayClient(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=pair("app")[0],
            alipay_public_key=pair("app")[1],
            gateway_url=f"{sandbox.url}/gateway.do",
        )
    )
    try:
        with pytest.raises(AlipayGatewayError, match="signature"):
            await client.query("Any1")
    finally:
        await client.aclose()


async def test_a_batch_close_answers_each_order_as_its_own_close_would(
    payment_service, payment_db, sandbox
):
    """Issue 10, item 8: the expiry sweeper closes a round's orders in one call (one read of
    their payments, one transaction recording the closes) instead of one call each."""
    open_trade, never_at_alipay, no_payment, paid, failing = (new_order_id() for _ in range(5))
    await open_at_alipay(payment_service, open_trade)
    await create_payment(payment_service, never_at_alipay)
    await open_at_alipay(payment_service, paid)
    await open_at_alipay(payment_service, failing)
    late = {"out_trade_no": paid, "delay_seconds": 3600}
    assert (await sandbox_call(sandbox, "POST", "/sandbox/faults", json=late)).status_code == 200
    await pay_at_alipay(sandbox, paid)
    fault = {
        "out_trade_no": failing,
        "answer": "system_error",
        "answer_methods": ["alipay.trade.close", "alipay.trade.query"],
    }
    assert (await sandbox_call(sandbox, "POST", "/sandbox/faults", json=fault)).status_code == 200
    order_ids = [open_trade, never_at_alipay, no_payment, paid, failing, open_trade]
    try:
        async with internal_client(payment_service.url, SECRET, timeout=30) as client:
            response = await client.post(
                "/internal/payments/close", json={"order_ids": order_ids, "concurrency": 3}
            )
    finally:
        for order_id in (paid, failing):
            await sandbox_call(
                sandbox, "DELETE", "/sandbox/faults", params={"out_trade_no": order_id}
            )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [
        {"order_id": open_trade, "status": "closed"},
        {"order_id": never_at_alipay, "status": "closed"},
        {"order_id": no_payment, "status": "closed"},
        {"order_id": paid, "status": "paid"},
        {"order_id": failing, "status": "unavailable"},
    ]
    trade = (await sandbox_call(sandbox, "GET", f"/sandbox/trades/{open_trade}")).json()
    assert trade["status"] == "TRADE_CLOSED"
    statuses = {o: (await payment_db.payment(o))["status"] for o in order_ids if o != no_payment}
    assert statuses == {
        open_trade: "closed",
        never_at_alipay: "closed",
        paid: "paid",
        failing: "created",
    }
    # closed here only: watched by the reconciler until its deadline; closed at Alipay: not
    assert (await payment_db.payment(never_at_alipay))["next_check_at"] is not None
    assert (await payment_db.payment(open_trade))["next_check_at"] is None
    assert [e["payload"]["type"] for e in await payment_db.outbox(paid)] == ["paid"]
