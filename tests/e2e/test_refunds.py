"""After-sales refunds across the three real processes: the merchant's refunds made at the
emulator by the payment service, racing refunds, a refund made in Alipay's console, and
refunds Alipay refuses. Money is checked where a person would: at Alipay (the emulator's
trade and the refund query), in the payment record and in the order."""

import asyncio
import uuid
from decimal import Decimal

import pytest

from payment_service.main import alipay_client
from payment_service.settings import PaymentSettings
from tests.e2e.conftest import start_stack
from tests.support.processes import run_module
from tests.support.stack import Buyer, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    yield running
    await running.close()


@pytest.fixture(scope="module")
async def admin(stack) -> Buyer:
    env = {**stack.env, "ORDER_ADMIN_PASSWORD": "merchant password"}
    await asyncio.to_thread(run_module, "order_service", "create-admin", "merchant", env=env)
    token = await stack.http.post(
        f"{stack.order.url}/api/auth/token",
        data={"username": "merchant", "password": "merchant password"},
    )
    assert token.status_code == 200, token.text
    return Buyer("merchant", "merchant password", token.json()["access_token"])


async def paid_order(stack, sku_name: str = "e2e item 3", count: int = 1):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name(sku_name)
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": count}])
    await stack.buyer_pays(await stack.pay_url(buyer, order["order_id"]), order["order_id"])
    await stack.wait_order_status(buyer, order["order_id"], "unsent")
    return buyer, sku, order


async def refund(stack, admin, order_id: str, amount: str, key: str | None = None):
    headers = dict(admin.headers)
    if key:
        headers["Idempotency-Key"] = key
    return await stack.http.post(
        f"{stack.order.url}/api/admin/orders/{order_id}/refunds",
        json={"amount": amount, "reason": "after-sales"},
        headers=headers,
    )


async def alipay_refunded(stack, order_id: str) -> Decimal:
    trade = (await stack.emulator_trade(order_id)).json()
    return Decimal(trade["refund_fee"])


async def refund_query(stack, order_id: str, refund_id: str) -> dict:
    merchant = alipay_client(PaymentSettings(**stack.env))
    try:
        return await merchant.refund_query(order_id, refund_id)
    finally:
        await merchant.aclose()


async def test_a_partial_then_a_full_refund_returns_the_money_and_the_stock(stack, admin):
    buyer, sku, order = await paid_order(stack, count=2)  # 2 × 100.00 + 10.00 freight
    order_id = order["order_id"]
    stock_before = (await stack.sku(sku["id"]))["stock"]

    first = await refund(stack, admin, order_id, "30.00", key="refund-1")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded" and first.json()["amount"] == "30.00"
    answer = await refund_query(stack, order_id, first.json()["refund_id"])
    assert answer["refund_status"] == "REFUND_SUCCESS" and answer["refund_amount"] == "30.00"

    async def partly_refunded():  # the refund event reaches the order through the outbox
        order_now = await stack.get_order(buyer, order_id)
        return order_now if order_now["refunded_amount"] == "30.00" else None

    partial = await eventually(partly_refunded, 15, "the partial refund to reach the order")
    assert partial["status"] == "unsent"
    assert [r["refund_id"] for r in partial["refunds"]] == [first.json()["refund_id"]]

    rest = await refund(stack, admin, order_id, "180.00", key="refund-2")
    assert rest.status_code == 201, rest.text and rest.json()["status"] == "succeeded"
    assert rest.json()["refund_id"] != first.json()["refund_id"]
    refunded = await stack.wait_order_status(buyer, order_id, "refunded")
    assert refunded["refunded_amount"] == "210.00"
    assert await alipay_refunded(stack, order_id) == Decimal("210.00")
    assert (await stack.sku(sku["id"]))["stock"] == stock_before + 2
    (payment,) = await stack.payment_sql(
        "SELECT status, refunded_amount FROM payments WHERE order_id = $1", order_id
    )
    assert payment["status"] == "refunded" and payment["refunded_amount"] == Decimal("210.00")

    # nothing is left to refund; a refunded order cannot be shipped
    assert (await refund(stack, admin, order_id, "0.01")).json()["code"] == "refund_exceeds_paid"
    ship = await stack.http.post(
        f"{stack.order.url}/api/admin/orders/{order_id}/ship",
        json={"carrier": "SF", "tracking_no": "SF1"},
        headers=admin.headers,
    )
    assert ship.status_code == 409 and ship.json()["code"] == "order_not_shippable"
    listed = await stack.http.get(
        f"{stack.order.url}/api/admin/orders/{order_id}/refunds", headers=admin.headers
    )
    assert [r["amount"] for r in listed.json()["items"]] == ["30.00", "180.00"]


async def test_racing_refunds_never_exceed_the_payment_and_a_key_refunds_once(stack, admin):
    _, _, order = await paid_order(stack)  # 110.00
    order_id = order["order_id"]
    racing = await asyncio.gather(
        refund(stack, admin, order_id, "80.00", key=f"a-{uuid.uuid4().hex}"),
        refund(stack, admin, order_id, "80.00", key=f"b-{uuid.uuid4().hex}"),
    )
    assert sorted(r.status_code for r in racing) == [201, 409], [r.text for r in racing]
    refused = next(r for r in racing if r.status_code == 409)
    assert refused.json()["code"] == "refund_exceeds_paid"

    key = f"same-{uuid.uuid4().hex}"
    twice = await asyncio.gather(
        refund(stack, admin, order_id, "10.00", key=key),
        refund(stack, admin, order_id, "10.00", key=key),
    )
    assert [r.status_code for r in twice] == [201, 201]
    assert twice[0].json()["refund_id"] == twice[1].json()["refund_id"]
    trade = (await stack.emulator_trade(order_id)).json()
    assert sorted(r["refund_amount"] for r in trade["refunds"]) == ["10.00", "80.00"]
    (payment,) = await stack.payment_sql(
        "SELECT refunded_amount FROM payments WHERE order_id = $1", order_id
    )
    assert payment["refunded_amount"] == Decimal("90.00")


async def test_a_refund_made_in_alipays_console_stops_the_order_being_shippable(stack, admin):
    buyer, sku, order = await paid_order(stack)
    order_id = order["order_id"]
    stock_before = (await stack.sku(sku["id"]))["stock"]
    console = await stack.http.post(
        f"{stack.sandbox.url}/sandbox/trades/{order_id}/refund", json={"amount": "110.00"}
    )
    assert console.status_code == 200, console.text
    refunded = await stack.wait_order_status(buyer, order_id, "refunded")
    assert refunded["refunded_amount"] == "110.00"
    assert refunded["refunds"][0]["refund_id"] == console.json()["out_request_no"]
    assert (await stack.sku(sku["id"]))["stock"] == stock_before + 1
    ship = await stack.http.post(
        f"{stack.order.url}/api/admin/orders/{order_id}/ship",
        json={"carrier": "SF", "tracking_no": "SF2"},
        headers=admin.headers,
    )
    assert ship.status_code == 409 and ship.json()["code"] == "order_not_shippable"
    more = await stack.http.post(
        f"{stack.sandbox.url}/sandbox/trades/{order_id}/refund", json={"amount": "0.01"}
    )
    assert more.status_code == 409


async def test_a_refund_alipay_cannot_make_yet_is_pending_then_succeeds(stack, admin):
    _, _, order = await paid_order(stack)
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, refund_error="ACQ.SELLER_BALANCE_NOT_ENOUGH")
    try:
        pending = await refund(stack, admin, order_id, "5.00", key="short-balance")
        assert pending.status_code == 201, pending.text
        assert pending.json()["status"] == "pending"
        listed = await stack.http.get(
            f"{stack.order.url}/api/admin/orders/{order_id}/refunds", headers=admin.headers
        )
        assert "SELLER_BALANCE_NOT_ENOUGH" in listed.json()["items"][0]["error"]
        assert await alipay_refunded(stack, order_id) == Decimal("0.00")
    finally:
        await stack.clear_faults()

    async def settled():  # the merchant topped up: the relay asks again, same out_request_no
        order_now = await stack.http.get(
            f"{stack.order.url}/api/admin/orders/{order_id}", headers=admin.headers
        )
        refunds = order_now.json()["refunds"]
        return order_now.json() if refunds and refunds[0]["status"] == "succeeded" else None

    done = await eventually(settled, 30, "the pending refund to succeed")
    assert done["refunded_amount"] == "5.00" and done["status"] == "unsent"
    assert await alipay_refunded(stack, order_id) == Decimal("5.00")


async def test_a_refund_alipay_refuses_for_good_is_failed_and_visible(stack, admin):
    _, _, order = await paid_order(stack)
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, refund_error="ACQ.TRADE_HAS_FINISHED")
    try:
        failed = await refund(stack, admin, order_id, "5.00", key="refused")
    finally:
        await stack.clear_faults()
    assert failed.status_code == 201 and failed.json()["status"] == "failed"
    assert failed.json()["error"].startswith("ACQ.TRADE_HAS_FINISHED")

    async def seen():
        detail = await stack.http.get(
            f"{stack.order.url}/api/admin/orders/{order_id}", headers=admin.headers
        )
        refunds = detail.json()["refunds"]
        return detail.json() if refunds and refunds[0]["status"] == "failed" else None

    detail = await eventually(seen, 15, "the failed refund to reach the order")
    assert detail["refunded_amount"] == "0.00" and detail["status"] == "unsent"
    # a failed refund does not count: the whole amount can still be refunded
    assert (await refund(stack, admin, order_id, "110.00", key="after-fail")).status_code == 201


async def test_a_cash_order_is_not_refundable(stack, admin):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 1")
    placed = await stack.http.post(
        f"{stack.order.url}/api/orders",
        json={
            "address_id": buyer.address_id,
            "pay_method": "cash",
            "items": [{"sku_id": sku["id"], "count": 1}],
        },
        headers=buyer.headers,
    )
    answer = await refund(stack, admin, placed.json()["order_id"], "1.00")
    assert answer.status_code == 409 and answer.json()["code"] == "order_not_refundable"
