"""A late payment whose refund Alipay refuses for good is recorded as a failed refund for a
person to act on, and the relay stops asking. The whole stack runs (order service, payment
service, emulator as processes) so the late payment reaches the refund the real way."""

import asyncio
from decimal import Decimal

import pytest

from payment_service.alipay import AlipayGatewayError
from payment_service.alipay.errors import business_error, gateway_level_error
from payment_service.main import alipay_client
from payment_service.services.refunds import RefundNotConfirmed, refused_for_good
from shared.http import internal_client
from tests.e2e.conftest import start_stack
from tests.payment_service.conftest import payment_settings
from tests.support.processes import run_module
from tests.support.stack import eventually


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory)
    yield running
    await running.close()


async def test_a_refund_alipay_refuses_is_failed_with_its_reason_and_not_retried(stack):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 2")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    order_id = order["order_id"]
    pay_url = await stack.pay_url(buyer, order_id)
    assert (await stack.cancel_order(buyer, order_id)).json()["status"] == "canceled"

    # The buyer pays from the tab still holding the link while the payment service is down;
    # meanwhile the merchant refunds one cent by hand at Alipay, so our full refund no longer fits.
    await stack.stop("payment")
    await stack.buyer_pays(pay_url, order_id)
    merchant = alipay_client(payment_settings(stack.env))
    try:
        answer = await merchant.refund(order_id, Decimal("0.01"), "BYHAND1", "by hand")
        assert answer["fund_change"] == "Y"
    finally:
        await merchant.aclose()
    await stack.start("payment")  # Alipay's notify retries (or the reconciler) bring the payment

    async def refused():
        rows = await stack.payment_sql(
            "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id"
            " WHERE p.order_id = $1 AND r.origin = 'late_payment'",
            order_id,
        )
        return rows[0] if rows and rows[0]["status"] == "failed" else None

    try:
        refund = await eventually(refused, 30, "the refund to be marked failed")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.logs()}") from None
    assert refund["last_error"].startswith("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    assert refund["refunded_at"] is None
    [payment] = await stack.payment_sql("SELECT * FROM payments WHERE order_id = $1", order_id)
    # the cent refunded by hand reached us as a refund notify: it counts, our refund does not
    assert (payment["status"], payment["refunded_amount"]) == ("paid", Decimal("0.01"))

    [event] = await stack.payment_sql("SELECT * FROM outbox WHERE topic = 'payment.paid'")
    assert event["delivered_at"] is not None  # settled: the relay will not claim it again
    assert "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" in event["last_error"]
    attempts = event["attempts"]
    await asyncio.sleep(2)  # ten relay rounds
    [again] = await stack.payment_sql("SELECT attempts FROM outbox WHERE topic = 'payment.paid'")
    assert again["attempts"] == attempts

    trade = (await stack.emulator_trade(order_id)).json()
    assert [r["out_request_no"] for r in trade["refunds"]] == ["BYHAND1"]  # nothing more went back
    assert Decimal(str(trade["refund_fee"])) == Decimal("0.01")

    async with internal_client(stack.urls["payment"], stack.service_secret) as client:
        shown = (await client.get(f"/internal/payments/{order_id}")).json()
    assert [
        (r["status"], r["last_error"][:30]) for r in shown["refunds"] if r["origin"] != "console"
    ] == [("failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")]
    # the cent refunded by hand is recorded as a refund made outside the shop
    assert [
        (r["out_request_no"], r["amount"], r["status"])
        for r in shown["refunds"]
        if r["origin"] == "console"
    ] == [("BYHAND1", "0.01", "succeeded")]

    metrics = (await stack.http.get(f"{stack.urls['payment']}/metrics/")).text
    assert 'payment_refunds_total{result="failed"} 1.0' in metrics
    assert 'payment_relay_deliveries_total{result="refund_refused"} 1.0' in metrics

    # A person looks into it and asks Alipay again (here nothing changed, so Alipay refuses
    # again): the refusal is recorded once more and still nothing more leaves the shop.
    await asyncio.to_thread(run_module, "payment_service", "retry-refund", order_id, env=stack.env)

    async def refused_twice():
        text = (await stack.http.get(f"{stack.urls['payment']}/metrics/")).text
        return 'payment_refunds_total{result="failed"} 2.0' in text

    await eventually(refused_twice, 30, "the retried refund to be refused again")
    [refund] = await stack.payment_sql(
        "SELECT r.status FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " WHERE p.order_id = $1 AND r.origin = 'late_payment'",
        order_id,
    )
    assert refund["status"] == "failed"
    events = await stack.payment_sql("SELECT delivered_at FROM outbox WHERE topic = 'payment.paid'")
    assert len(events) == 2 and all(e["delivered_at"] is not None for e in events)
    trade = (await stack.emulator_trade(order_id)).json()
    assert [r["out_request_no"] for r in trade["refunds"]] == ["BYHAND1"]


async def test_retry_refund_says_so_when_there_is_no_failed_refund(stack):
    with pytest.raises(AssertionError, match="has no failed refund"):
        await asyncio.to_thread(
            run_module, "payment_service", "retry-refund", "20260101000000000001abc", env=stack.env
        )


@pytest.mark.parametrize(
    ("error", "for_good"),
    [
        (business_error({"code": "40004", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"}), True),
        (business_error({"code": "40004", "sub_code": "ACQ.TRADE_HAS_FINISHED"}), True),
        (business_error({"code": "40004", "sub_code": "ACQ.TRADE_STATUS_ERROR"}), True),
        (business_error({"code": "20000", "sub_code": "ACQ.SYSTEM_ERROR"}), False),
        (business_error({"code": "40002", "sub_code": "isv.invalid-signature"}), True),
        (business_error({"code": "40004", "sub_code": "ACQ.SELLER_BALANCE_NOT_ENOUGH"}), False),
        (gateway_level_error("m", {"code": "40002", "sub_code": "isv.invalid-signature"}), True),
        (gateway_level_error("m", {"code": "40002", "sub_code": "isv.invalid-app-id"}), True),
        (gateway_level_error("m", {"code": "20000", "sub_code": "isp.unknow-error"}), False),
        (gateway_level_error("m", {"code": "12345"}), False),
        (AlipayGatewayError("gateway unreachable"), False),
        (RefundNotConfirmed("refund not confirmed"), False),
    ],
)
def test_refusals_and_configuration_errors_stop_the_retries(error, for_good):
    assert refused_for_good(error) is for_good
