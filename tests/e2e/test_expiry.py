"""Scenario 7: an unpaid order passes its deadline. Its own stack, with a 5-second pay timeout.

The late payment that follows a cancellation is in test_payment_lifecycle.py
(`test_payment_after_cancellation_is_refunded`): see its docstring for why it is not made
by paying the closed trade here.
"""

import asyncio
from decimal import Decimal

import pytest

from tests.e2e.conftest import start_stack
from tests.support.stack import StackOptions

pytestmark = pytest.mark.e2e

# Alipay's time_expire is the deadline cut to whole seconds, so the buyer has 4 to 5 s to open
# the cashier after the order is placed: slack for a loaded machine, not the expected wait.
PAY_TIMEOUT = 5
SWEEP_INTERVAL = 0.5


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    options = StackOptions(pay_timeout_seconds=PAY_TIMEOUT, sweep_interval_seconds=SWEEP_INTERVAL)
    running = await start_stack(pg_databases, tmp_path_factory, options)
    yield running
    await running.close()


async def test_expired_order_is_cancelled_and_its_trade_closed(live):
    """The buyer logs in at the cashier (the trade now exists at Alipay, waiting for the buyer) and
    walks away. After the deadline the sweeper asks the payment service to close; the trade
    is closed at the emulator, the order cancelled, its stock and sales given back. Alipay
    then refuses to take money for the closed trade."""
    stack = live
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 5")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 3}])
    order_id = order["order_id"]
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"] - 3
    pay_url = await stack.pay_url(buyer, order_id)
    await stack.open_cashier(pay_url, log_in=True)

    canceled = await stack.wait_order_status(buyer, order_id, "canceled", within=PAY_TIMEOUT + 15)
    assert canceled["order_id"] == order_id
    now = await stack.sku(sku["id"])
    assert (now["stock"], now["sales"]) == (sku["stock"], sku["sales"])

    trade = (await stack.emulator_trade(order_id)).json()
    assert trade["status"] == "TRADE_CLOSED", trade
    [payment] = await stack.payment_sql("SELECT * FROM payments WHERE order_id = $1", order_id)
    assert payment["status"] == "closed"
    assert payment["closed_at"] is not None

    late = await stack.pay_at_emulator(order_id)
    assert late.status_code == 409, late.text
    assert (await stack.get_order(buyer, order_id))["status"] == "canceled"
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"]


async def test_expired_order_whose_link_was_never_opened(live):
    """The trade never reached Alipay (the buyer never opened the link): closing it still
    succeeds, and the order is cancelled with its stock back."""
    stack = live
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 6")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 2}])
    await stack.pay_url(buyer, order["order_id"])

    await stack.wait_order_status(buyer, order["order_id"], "canceled", within=PAY_TIMEOUT + 15)
    now = await stack.sku(sku["id"])
    assert (now["stock"], now["sales"]) == (sku["stock"], sku["sales"])
    [payment] = await stack.payment_sql(
        "SELECT * FROM payments WHERE order_id = $1", order["order_id"]
    )
    assert payment["status"] == "closed"


async def test_expired_order_without_a_link_is_cancelled(live):
    stack = live
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 6")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    await stack.wait_order_status(buyer, order["order_id"], "canceled", within=PAY_TIMEOUT + 15)
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"]


async def test_paid_just_before_the_deadline_is_paid_not_cancelled(live):
    """The buyer pays but Alipay's notify is slow (delayed well past the deadline): the
    sweeper's close first asks Alipay, learns the trade was paid, and the order ends up paid."""
    stack = live
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 4")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 1}])
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, delay_seconds=60)
    pay_url = await stack.pay_url(buyer, order_id)
    await stack.buyer_pays(pay_url, order_id)

    await stack.wait_order_status(buyer, order_id, "unsent", within=PAY_TIMEOUT + 15)
    now = await stack.sku(sku["id"])
    assert (now["stock"], now["sales"]) == (sku["stock"] - 1, sku["sales"] + 1)
    [payment] = await stack.payment_sql("SELECT * FROM payments WHERE order_id = $1", order_id)
    assert payment["status"] == "paid"
    assert payment["amount"] == Decimal(order["total_amount"])
    events = await stack.payment_sql(
        "SELECT * FROM outbox WHERE payload->>'order_id' = $1", order_id
    )
    assert len(events) == 1
    await asyncio.sleep(4 * SWEEP_INTERVAL)  # a few more sweeps must not cancel it
    assert (await stack.get_order(buyer, order_id))["status"] == "unsent"
