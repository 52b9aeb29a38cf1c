"""Payment link, paid events, cancel and expiry, with the real payment service as a process.

The payment service here has no reachable Alipay gateway: it can make pay links (signed
locally) and close orders that never had a payment, but cannot confirm a close at Alipay.
Full flows with the emulator are in tests/e2e.
"""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx

from order_service.services.sweeper import sweep, sweep_once
from shared.service_auth import ServiceAuth
from tests.order_service.conftest import SERVICE_SECRET
from tests.order_service.test_api import assert_problem


def internal_client(shop, secret: str | None = SERVICE_SECRET) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shop.app),
        base_url="http://order.test",
        auth=ServiceAuth(secret) if secret else None,
    )


def paid_event(order: dict, **changes) -> dict:
    event = {
        "event_id": uuid.uuid4().hex,
        "type": "paid",
        "order_id": order["order_id"],
        "amount": order["total_amount"],
        "trade_no": "2026112622001400000000000001",
        "paid_at": "2026-11-26T10:00:00+00:00",
    }
    event.update(changes)
    return event


async def send_event(shop, order: dict, secret=SERVICE_SECRET, **changes) -> httpx.Response:
    async with internal_client(shop, secret) as client:
        return await client.post(
            f"/internal/orders/{order['order_id']}/payment-events",
            json=paid_event(order, **changes),
        )


async def eventually(check, within: float, what: str):
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {within}s (last: {result!r})")
        await asyncio.sleep(0.1)


# ----------------------------------------------------------------------------- paid events


async def test_paid_event_applies_once(make_shop):
    shop = await make_shop()
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 2)])).json()
    first = await send_event(shop, order)
    assert first.status_code == 200 and first.json() == {"result": "applied"}
    again = await send_event(shop, order)
    assert again.status_code == 200 and again.json() == {"result": "already_applied"}
    seen = (await shop.client.get(f"/api/orders/{order['order_id']}", headers=buyer.headers)).json()
    assert seen["status"] == "unsent" and seen["paid_at"].startswith("2026-11-26T10:00:00")
    assert (await shop.stock(sku))["stock"] == 3  # paying does not touch stock
    path = f"/api/orders/{order['order_id']}"
    assert_problem(
        await shop.client.post(f"{path}/cancel", headers=buyer.headers), 409, "order_not_cancelable"
    )
    assert_problem(
        await shop.client.post(f"{path}/payment", headers=buyer.headers), 409, "order_not_payable"
    )


async def test_concurrent_duplicate_events_apply_exactly_once(make_shop):
    shop = await make_shop()
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    responses = await asyncio.gather(*(send_event(shop, order) for _ in range(10)))
    results = sorted(r.json()["result"] for r in responses)
    assert results == ["already_applied"] * 9 + ["applied"]


async def test_a_batch_of_events_answers_each_and_a_refusal_fails_only_its_own(make_shop):
    """The relay's POST /internal/payment-events: one transaction, an outcome per event."""
    shop = await make_shop()
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    paid, wrong_amount, cash, again = [
        (await shop.order(buyer, [(sku, 1)], pay_method=method)).json()
        for method in ("alipay", "alipay", "cash", "alipay")
    ]
    assert (await send_event(shop, again)).json() == {"result": "applied"}
    unknown = {**paid, "order_id": "20261126000000000000nosuch"}
    events = [
        paid_event(paid),
        paid_event(wrong_amount, amount="0.01"),
        paid_event(cash),
        paid_event(unknown),
        paid_event(again),
    ]
    async with internal_client(shop) as client:
        response = await client.post("/internal/payment-events", json={"events": events})
        assert response.status_code == 200, response.text
        results = [(r["order_id"], r["result"], r["code"]) for r in response.json()["results"]]
        assert results == [
            (paid["order_id"], "applied", None),
            (wrong_amount["order_id"], "refused", "amount_mismatch"),
            (cash["order_id"], "refused", "order_not_payable"),
            (unknown["order_id"], "refused", "order_not_found"),
            (again["order_id"], "already_applied", None),
        ]
        too_many = await client.post("/internal/payment-events", json={"events": events * 21})
        assert_problem(too_many, 422, "validation_error")
    for order, status in [(paid, "unsent"), (wrong_amount, "unpaid"), (cash, cash["status"])]:
        path = f"/api/orders/{order['order_id']}"
        assert (await shop.client.get(path, headers=buyer.headers)).json()["status"] == status


async def test_unsigned_or_badly_signed_events_are_401_and_change_nothing(make_shop):
    shop = await make_shop()
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    unsigned = await send_event(shop, order, secret=None)
    assert_problem(unsigned, 401, "unsigned_request")
    forged = await send_event(shop, order, secret="not the shared secret at all")
    assert_problem(forged, 401, "bad_signature")
    seen = (await shop.client.get(f"/api/orders/{order['order_id']}", headers=buyer.headers)).json()
    assert seen["status"] == "unpaid"


async def test_event_errors(make_shop):
    shop = await make_shop()
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    cash = (await shop.order(buyer, [(sku, 1)], pay_method="cash")).json()
    unknown = {**order, "order_id": "20261126000000000000nosuch"}
    assert_problem(await send_event(shop, unknown), 404, "order_not_found")
    assert_problem(await send_event(shop, order, amount="0.01"), 409, "amount_mismatch")
    assert_problem(await send_event(shop, cash), 409, "order_not_payable")
    async with internal_client(shop) as client:
        mismatch = await client.post(
            f"/internal/orders/{order['order_id']}/payment-events",
            json=paid_event(order, order_id=cash["order_id"]),
        )
        assert_problem(mismatch, 422, "order_id_mismatch")
        malformed = await client.post(
            f"/internal/orders/{order['order_id']}/payment-events",
            json=paid_event(order, type="refunded", amount=1.5),
        )
        assert_problem(malformed, 422, "validation_error")
    seen = (await shop.client.get(f"/api/orders/{order['order_id']}", headers=buyer.headers)).json()
    assert seen["status"] == "unpaid"


# ----------------------------------------------------------------------------- cancel


async def test_cancel_returns_stock_and_sales_once(make_shop, payment_service):
    shop = await make_shop(payment_service_url=payment_service.url)
    buyer = await shop.buyer()
    spu = f"spu {uuid.uuid4().hex[:6]}"
    a, b = await shop.add_skus(10, 10, goods_name=spu)
    order = (await shop.order(buyer, [(a, 2), (b, 3)])).json()
    kept = (await shop.order(buyer, [(a, 1)], pay_method="cash")).json()
    goods_id = (await shop.stock(a))["goods_id"]
    assert await shop.goods_sales(goods_id) == 6

    canceled = await shop.client.post(
        f"/api/orders/{order['order_id']}/cancel", headers=buyer.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["cancel_reason"] == "user"
    assert await shop.stock(a) == {"stock": 9, "sales": 1, "goods_id": goods_id}
    assert await shop.stock(b) == {"stock": 10, "sales": 0, "goods_id": goods_id}
    assert await shop.goods_sales(goods_id) == 1

    again = await shop.client.post(f"/api/orders/{order['order_id']}/cancel", headers=buyer.headers)
    assert_problem(again, 409, "order_not_cancelable")
    assert (await shop.stock(a))["stock"] == 9
    assert_problem(await send_event(shop, order), 409, "order_canceled")
    assert kept["status"] == "unsent"
    await shop.assert_conserved({a: 10, b: 10})


async def test_double_click_cancel_returns_stock_once(make_shop, payment_service):
    shop = await make_shop(payment_service_url=payment_service.url)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    order = (await shop.order(buyer, [(sku, 4)])).json()
    path = f"/api/orders/{order['order_id']}/cancel"
    responses = await asyncio.gather(
        *(shop.client.post(path, headers=buyer.headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 4
    assert (await shop.stock(sku))["stock"] == 10
    await shop.assert_conserved({sku: 10})


async def test_payment_link_comes_from_the_payment_service(make_shop, payment_service):
    shop = await make_shop(payment_service_url=payment_service.url)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10, price="0.10")
    order = (await shop.order(buyer, [(sku, 3)])).json()
    path = f"/api/orders/{order['order_id']}/payment"
    page = await shop.client.post(path, json={"channel": "page"}, headers=buyer.headers)
    assert page.status_code == 200, page.text
    pay_url = page.json()["pay_url"]
    assert "gateway.do" in pay_url and order["order_id"] in httpx.URL(pay_url).params["biz_content"]
    assert "10.30" in httpx.URL(pay_url).params["biz_content"]
    wap = await shop.client.post(path, json={"channel": "wap"}, headers=buyer.headers)
    assert (
        wap.status_code == 200
        and "QUICK_WAP_WAY" in httpx.URL(wap.json()["pay_url"]).params["biz_content"]
    )
    default = await shop.client.post(path, headers=buyer.headers)  # no body: page
    assert default.status_code == 200

    # Now a payment exists and Alipay cannot be asked: the order must not be cancelled.
    cancel = await shop.client.post(
        f"/api/orders/{order['order_id']}/cancel", headers=buyer.headers
    )
    assert_problem(cancel, 503, "payment_unavailable")
    seen = (await shop.client.get(f"/api/orders/{order['order_id']}", headers=buyer.headers)).json()
    assert seen["status"] == "unpaid"
    assert (await shop.stock(sku))["stock"] == 7


async def test_an_order_past_its_deadline_is_not_payable(make_shop, payment_service):
    shop = await make_shop(payment_service_url=payment_service.url, pay_timeout_seconds=1)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    await asyncio.sleep(1.1)
    response = await shop.client.post(
        f"/api/orders/{order['order_id']}/payment", headers=buyer.headers
    )
    assert_problem(response, 409, "order_not_payable")


# ----------------------------------------------------------------------------- expiry


async def test_sweeper_cancels_expired_orders_and_returns_stock(make_shop, payment_service):
    shop = await make_shop(
        payment_service_url=payment_service.url, pay_timeout_seconds=1, sweep_interval_seconds=0.2
    )
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    expiring = (await shop.order(buyer, [(sku, 3)])).json()
    cash = (await shop.order(buyer, [(sku, 2)], pay_method="cash")).json()
    path = f"/api/orders/{expiring['order_id']}"

    async def canceled():
        seen = (await shop.client.get(path, headers=buyer.headers)).json()
        return seen if seen["status"] == "canceled" else None

    seen = await eventually(canceled, 30, "cancelled by the sweeper")
    assert seen["cancel_reason"] == "expired"
    assert (await shop.stock(sku)) == {
        "stock": 8,
        "sales": 2,
        "goods_id": (await shop.stock(sku))["goods_id"],
    }
    cash_seen = (
        await shop.client.get(f"/api/orders/{cash['order_id']}", headers=buyer.headers)
    ).json()
    assert cash_seen["status"] == "unsent"
    await shop.assert_conserved({sku: 10})


async def test_sweeper_does_not_cancel_when_the_close_cannot_be_confirmed(make_shop):
    """The payment service is unreachable: a payment might still land, so the stock stays held."""
    # Rounds are run here, so that they surely ran; the lifespan's sweeper waits an hour.
    shop = await make_shop(pay_timeout_seconds=1, sweep_interval_seconds=3600)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    order = (await shop.order(buyer, [(sku, 3)])).json()
    deadline = datetime.fromisoformat(order["pay_deadline"])
    await asyncio.sleep((deadline - datetime.now(UTC)).total_seconds() + 0.01)  # now past it
    for _ in range(3):  # a lease of 0 s: every round claims the order again
        outcome = await sweep_once(shop.sessions, shop.app.state.payments, 0)
        assert outcome == {"canceled": 0, "paid": 0, "deferred": 1, "skipped": 0}
    seen = (await shop.client.get(f"/api/orders/{order['order_id']}", headers=buyer.headers)).json()
    assert seen["status"] == "unpaid"
    assert (await shop.stock(sku))["stock"] == 7
    # and a paid event arriving now is still applied
    assert (await send_event(shop, order)).json() == {"result": "applied"}


async def test_two_sweepers_share_the_work_without_doing_it_twice(make_shop, payment_service):
    # twelve unpaid orders of one buyer: more than the default cap, which is not tested here
    shop = await make_shop(
        payment_service_url=payment_service.url, pay_timeout_seconds=1, max_unpaid_orders=0
    )
    buyer = await shop.buyer()
    skus = await shop.add_skus(20, 20, 20)
    for n in range(12):
        assert (await shop.order(buyer, [(skus[n % 3], 1)])).status_code == 201
    await asyncio.sleep(1.1)
    outcomes = await asyncio.gather(
        *(sweep_once(shop.sessions, shop.app.state.payments, 30) for _ in range(3))
    )
    assert sum(o["canceled"] for o in outcomes) == 12
    assert all(o["deferred"] == 0 and o["skipped"] == 0 for o in outcomes)
    for sku in skus:
        assert (await shop.stock(sku))["stock"] == 20
    await shop.assert_conserved({sku: 20 for sku in skus})
    assert (await sweep_once(shop.sessions, shop.app.state.payments, 30)) == {
        "canceled": 0,
        "paid": 0,
        "deferred": 0,
        "skipped": 0,
    }


async def test_a_backlog_larger_than_a_batch_is_drained_without_waiting_for_the_interval(
    make_shop, payment_service
):
    """Issue 10, item 8: one round of 50 per interval. `sweep` is what the lifespan runs each
    interval; one call claims again at once while a round claimed a full batch."""
    shop = await make_shop(
        payment_service_url=payment_service.url, pay_timeout_seconds=1, max_unpaid_orders=0
    )
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(50)
    for _ in range(12):
        assert (await shop.order(buyer, [(sku, 1)])).status_code == 201
    await asyncio.sleep(1.1)
    outcome = await sweep(shop.sessions, shop.app.state.payments, 30, batch_size=5, concurrency=3)
    assert outcome == {"canceled": 12, "paid": 0, "deferred": 0, "skipped": 0, "rounds": 3}
    assert (await shop.stock(sku))["stock"] == 50
    await shop.assert_conserved({sku: 50})


async def test_draining_stops_at_a_deferred_close(make_shop):
    """The payment service is down: one round, not a spin through the whole backlog."""
    shop = await make_shop(pay_timeout_seconds=1)
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(50)
    for _ in range(8):
        assert (await shop.order(buyer, [(sku, 1)])).status_code == 201
    await asyncio.sleep(1.1)
    outcome = await sweep(shop.sessions, shop.app.state.payments, 30, batch_size=5, concurrency=5)
    assert outcome == {"canceled": 0, "paid": 0, "deferred": 5, "skipped": 0, "rounds": 1}
    assert (await shop.stock(sku))["stock"] == 42


class PaidMeanwhile:
    """A payment service whose closes all answer `closed`, while one order's paid event lands
    between its close and the round's cancel (the paid event of a payment made before the
    close, delivered late): the batch cancel must skip that order and return only the others'
    stock."""

    def __init__(self, shop, paid_order: dict, found_paid: str):
        self.shop = shop
        self.paid_order = paid_order
        self.found_paid = found_paid

    async def close_payments(self, order_ids: list[str], concurrency: int) -> dict[str, str]:
        assert self.paid_order["order_id"] in order_ids
        assert (await send_event(self.shop, self.paid_order)).json() == {"result": "applied"}
        return {o: "paid" if o == self.found_paid else "closed" for o in order_ids}


async def test_a_round_cancels_its_closed_orders_together_and_skips_one_paid_meanwhile(make_shop):
    shop = await make_shop(pay_timeout_seconds=1, max_unpaid_orders=0)
    buyer = await shop.buyer()
    a, b = await shop.add_skus(30, 30)
    orders = [(await shop.order(buyer, [(a, 1 + n % 2), (b, 2)])).json() for n in range(6)]
    await asyncio.sleep(1.1)
    payments = PaidMeanwhile(shop, orders[1], found_paid=orders[4]["order_id"])
    outcome = await sweep_once(shop.sessions, payments, 30, batch_size=10, concurrency=3)
    assert outcome == {"canceled": 4, "paid": 1, "deferred": 0, "skipped": 1}
    statuses = [
        (await shop.client.get(f"/api/orders/{o['order_id']}", headers=buyer.headers)).json()
        for o in orders
    ]
    kept = {1, 4}  # paid meanwhile, and found paid by the close
    assert [s["status"] for s in statuses] == [
        "unsent" if n in kept else "canceled" for n in range(6)
    ]
    # the two kept orders hold their units (2 + 1 of a, 2 + 2 of b); the four others gave back
    assert (await shop.stock(a))["stock"] == 30 - 3
    assert (await shop.stock(b))["stock"] == 30 - 4
    await shop.assert_conserved({a: 30, b: 30})
