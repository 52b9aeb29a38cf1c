"""A buyer cancels an order they have just paid, before Alipay's notify arrived.

With the whole stack as processes (emulator, payment service, order service): the cancel asks
the payment service to close the trade, which queries Alipay, learns it was paid, and records
it; the order becomes paid instead of cancelled and the cancel answers 409. The paid event the
relay then delivers is acknowledged as already applied and fills in Alipay's trade number.
"""

import pytest

from tests.e2e.conftest import start_stack
from tests.support.stack import StackOptions, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(pg_databases, tmp_path_factory):
    running = await start_stack(pg_databases, tmp_path_factory, StackOptions())
    yield running
    await running.close()


async def test_cancel_of_a_paid_trade_makes_the_order_paid(stack):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 1")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 2}])
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, delay_seconds=60)  # the notify is slow
    await stack.buyer_pays(await stack.pay_url(buyer, order_id), order_id)

    response = await stack.cancel_order(buyer, order_id)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "order_not_cancelable"
    assert (await stack.get_order(buyer, order_id))["status"] == "unsent"
    now = await stack.sku(sku["id"])
    assert (now["stock"], now["sales"]) == (sku["stock"] - 2, sku["sales"] + 2)

    async def trade_no_recorded():
        rows = await stack.order_sql("SELECT trade_no FROM orders WHERE order_id = $1", order_id)
        return rows[0]["trade_no"]

    trade_no = await eventually(trade_no_recorded, 15, "the relayed event's trade_no recorded")
    [payment] = await stack.payment_sql("SELECT * FROM payments WHERE order_id = $1", order_id)
    assert payment["status"] == "paid" and payment["trade_no"] == trade_no
    await stack.clear_faults()
