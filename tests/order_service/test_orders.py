"""Placing, reading and cancelling orders through HTTP, on PostgreSQL and Redis."""

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from tests.order_service.test_api import assert_problem


async def test_alipay_order_is_unpaid_with_totals_and_deadline(shop):
    buyer = await shop.buyer()
    a, b = await shop.add_skus(10, 10, price="12.50")
    response = await shop.order(buyer, [(b, 1), (a, 2)])
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "unpaid" and order["pay_method"] == "alipay"
    assert order["total_count"] == 3
    assert order["freight"] == "10.00" and order["total_amount"] == "47.50"
    assert [(i["sku_id"], i["count"], i["price"]) for i in order["items"]] == [
        (a, 2, "12.50"),
        (b, 1, "12.50"),
    ]
    created = datetime.fromisoformat(order["created_at"])
    deadline = datetime.fromisoformat(order["pay_deadline"])
    assert deadline - created == timedelta(seconds=1800)
    assert (await shop.stock(a))["stock"] == 8 and (await shop.stock(b))["stock"] == 9
    assert (await shop.stock(a))["sales"] == 2
    await shop.assert_conserved({a: 10, b: 10})


async def test_cash_order_is_unsent(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(3)
    order = (await shop.order(buyer, [(sku, 3)], pay_method="cash")).json()
    assert order["status"] == "unsent" and order["pay_deadline"] is None
    assert (await shop.stock(sku))["stock"] == 0


async def test_spu_sales_add_up_across_its_skus(shop):
    buyer = await shop.buyer()
    spu = f"goods {uuid.uuid4().hex[:6]}"
    a, b = await shop.add_skus(10, 10, goods_name=spu)
    await shop.order(buyer, [(a, 2), (b, 3)])
    await shop.order(buyer, [(b, 1)], pay_method="cash")
    assert await shop.goods_sales((await shop.stock(a))["goods_id"]) == 6


async def test_the_same_sku_twice_in_one_order_is_one_line(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    order = (await shop.order(buyer, [(sku, 2), (sku, 3)])).json()
    assert [(i["sku_id"], i["count"]) for i in order["items"]] == [(sku, 5)]


async def test_order_from_the_cart_takes_selected_items_and_clears_them(shop):
    buyer = await shop.buyer()
    a, b, c = await shop.add_skus(10, 10, 10, price="1.00")
    for sku, count, selected in [(a, 2, True), (b, 1, False), (c, 4, True)]:
        await shop.client.put(
            f"/api/cart/items/{sku}",
            json={"count": count, "selected": selected},
            headers=buyer.headers,
        )
    order = (await shop.order(buyer, None)).json()
    assert [(i["sku_id"], i["count"]) for i in order["items"]] == [(a, 2), (c, 4)]
    assert order["total_amount"] == "16.00"
    cart = (await shop.client.get("/api/cart", headers=buyer.headers)).json()["items"]
    assert [(i["sku_id"], i["selected"]) for i in cart] == [(b, False)]


async def test_empty_cart_is_400(shop):
    buyer = await shop.buyer()
    assert_problem(await shop.order(buyer, None), 400, "empty_cart")


async def test_insufficient_stock_names_the_sku_and_changes_nothing(shop):
    buyer = await shop.buyer()
    a, b = await shop.add_skus(5, 1)
    problem = assert_problem(await shop.order(buyer, [(a, 2), (b, 2)]), 409, "insufficient_stock")
    assert problem["sku_id"] == b
    assert (await shop.stock(a))["stock"] == 5 and (await shop.stock(b))["stock"] == 1
    assert (await shop.client.get("/api/orders", headers=buyer.headers)).json() == {
        "items": [],
        "total": 0,
    }


async def test_insufficient_stock_from_the_cart_keeps_the_cart(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(1)
    await shop.client.put(f"/api/cart/items/{sku}", json={"count": 2}, headers=buyer.headers)
    assert_problem(await shop.order(buyer, None), 409, "insufficient_stock")
    cart = (await shop.client.get("/api/cart", headers=buyer.headers)).json()["items"]
    assert [(i["sku_id"], i["count"]) for i in cart] == [(sku, 2)]


async def test_unknown_sku_and_foreign_address_are_404(shop):
    alice, bob = await shop.buyer(), await shop.buyer()
    (sku,) = await shop.add_skus(5)
    problem = assert_problem(await shop.order(alice, [(sku, 1), (999999, 1)]), 404, "sku_not_found")
    assert problem["sku_id"] == 999999
    alice.address_id, saved = bob.address_id, alice.address_id
    assert_problem(await shop.order(alice, [(sku, 1)]), 404, "address_not_found")
    alice.address_id = saved
    assert (await shop.stock(sku))["stock"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"pay_method": "alipay", "items": [{"sku_id": 1, "count": 1}]},
        {"address_id": 1, "items": [{"sku_id": 1, "count": 1}]},
        {"address_id": 1, "pay_method": "bitcoin", "items": [{"sku_id": 1, "count": 1}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 1, "count": 0}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 1, "count": -3}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 1, "count": 10**15}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 1, "count": "2"}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 1, "count": 1.5}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": "x", "count": 1}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"sku_id": 10**12, "count": 1}]},
        {"address_id": 1, "pay_method": "alipay", "items": [{"count": 1}]},
        {"address_id": 1, "pay_method": "alipay", "items": []},
        {"address_id": 1, "pay_method": "alipay", "items": "all"},
        {"address_id": "1", "pay_method": "alipay"},
        {"address_id": 1, "pay_method": "alipay", "coupon": "FREE"},
    ],
)
async def test_malformed_order_bodies_are_422_and_change_nothing(shop, body):
    buyer = await shop.buyer()
    response = await shop.client.post("/api/orders", json=body, headers=buyer.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"] and all("field" in e and "message" in e for e in problem["errors"])
    assert (await shop.client.get("/api/orders", headers=buyer.headers)).json() == {
        "items": [],
        "total": 0,
    }


async def test_not_json_is_422(shop):
    buyer = await shop.buyer()
    response = await shop.client.post(
        "/api/orders",
        content=b"{not json",
        headers={**buyer.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


async def test_orders_are_listed_newest_first_and_only_ones_own(shop):
    alice, bob = await shop.buyer(), await shop.buyer()
    (sku,) = await shop.add_skus(10)
    first = (await shop.order(alice, [(sku, 1)])).json()
    second = (await shop.order(alice, [(sku, 1)], pay_method="cash")).json()
    bobs = (await shop.order(bob, [(sku, 1)])).json()
    listed = (await shop.client.get("/api/orders", headers=alice.headers)).json()["items"]
    assert [o["order_id"] for o in listed] == [second["order_id"], first["order_id"]]
    got = await shop.client.get(f"/api/orders/{first['order_id']}", headers=alice.headers)
    assert got.json() == first
    for path in (f"/api/orders/{bobs['order_id']}", "/api/orders/nosuchorder"):
        assert_problem(await shop.client.get(path, headers=alice.headers), 404, "order_not_found")
    stolen_cancel = await shop.client.post(
        f"/api/orders/{bobs['order_id']}/cancel", headers=alice.headers
    )
    assert_problem(stolen_cancel, 404, "order_not_found")
    stolen_pay = await shop.client.post(
        f"/api/orders/{bobs['order_id']}/payment", headers=alice.headers
    )
    assert_problem(stolen_pay, 404, "order_not_found")
    assert (await shop.client.get(f"/api/orders/{bobs['order_id']}", headers=bob.headers)).json()[
        "status"
    ] == "unpaid"


async def test_two_orders_in_the_same_second_get_different_ids(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(100)
    responses = await asyncio.gather(*(shop.order(buyer, [(sku, 1)]) for _ in range(10)))
    ids = {r.json()["order_id"] for r in responses}
    assert len(ids) == 10
    assert all(r.status_code == 201 for r in responses)


# ----------------------------------------------------------------------------- idempotency


async def test_same_key_same_body_answers_the_same_order(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    first = await shop.order(buyer, [(sku, 2)], key="retry-1")
    again = await shop.order(buyer, [(sku, 2)], key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (await shop.stock(sku))["stock"] == 8
    assert len((await shop.client.get("/api/orders", headers=buyer.headers)).json()["items"]) == 1


async def test_same_key_other_body_is_422(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    assert (await shop.order(buyer, [(sku, 2)], key="k")).status_code == 201
    assert_problem(await shop.order(buyer, [(sku, 3)], key="k"), 422, "idempotency_key_reused")
    assert_problem(
        await shop.order(buyer, [(sku, 2)], pay_method="cash", key="k"),
        422,
        "idempotency_key_reused",
    )
    assert (await shop.stock(sku))["stock"] == 8


async def test_keys_are_per_user(shop):
    alice, bob = await shop.buyer(), await shop.buyer()
    (sku,) = await shop.add_skus(10)
    a = (await shop.order(alice, [(sku, 1)], key="shared-key")).json()
    b = (await shop.order(bob, [(sku, 1)], key="shared-key")).json()
    assert a["order_id"] != b["order_id"]
    assert (await shop.stock(sku))["stock"] == 8


async def test_concurrent_retries_with_one_key_make_one_order(shop):
    """A client that times out and retries while the first request still runs."""
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(50)
    responses = await asyncio.gather(
        *(shop.order(buyer, [(sku, 1)], key="burst") for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert (await shop.stock(sku))["stock"] == 49


async def test_failed_request_does_not_burn_its_key(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(1)
    assert_problem(await shop.order(buyer, [(sku, 2)], key="try"), 409, "insufficient_stock")
    assert (await shop.order(buyer, [(sku, 1)], key="try")).status_code == 201


async def test_cart_order_replay_with_same_key_after_cart_was_cleared(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    await shop.client.put(f"/api/cart/items/{sku}", json={"count": 2}, headers=buyer.headers)
    first = await shop.order(buyer, None, key="cart-order")
    again = await shop.order(buyer, None, key="cart-order")
    assert again.json()["order_id"] == first.json()["order_id"]


async def test_bad_idempotency_key_header_is_422(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(10)
    assert_problem(await shop.order(buyer, [(sku, 1)], key="x" * 300), 422, "validation_error")


# ----------------------------------------------------------------------------- cancel, pay


async def test_cash_orders_are_not_cancelable(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)], pay_method="cash")).json()
    response = await shop.client.post(
        f"/api/orders/{order['order_id']}/cancel", headers=buyer.headers
    )
    assert_problem(response, 409, "order_not_cancelable")
    assert (await shop.stock(sku))["stock"] == 4


async def test_cash_orders_are_not_payable(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)], pay_method="cash")).json()
    response = await shop.client.post(
        f"/api/orders/{order['order_id']}/payment", headers=buyer.headers
    )
    assert_problem(response, 409, "order_not_payable")


async def test_payment_service_down_gives_503_and_keeps_the_order(shop):
    """ORDER_PAYMENT_SERVICE_URL points at a closed port in this module's shop."""
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 2)])).json()
    path = f"/api/orders/{order['order_id']}"
    assert_problem(
        await shop.client.post(f"{path}/payment", json={"channel": "wap"}, headers=buyer.headers),
        503,
        "payment_unavailable",
    )
    # a cancel cannot confirm that the trade is closed, so it does not cancel
    assert_problem(
        await shop.client.post(f"{path}/cancel", headers=buyer.headers), 503, "payment_unavailable"
    )
    assert (await shop.client.get(path, headers=buyer.headers)).json()["status"] == "unpaid"
    assert (await shop.stock(sku))["stock"] == 3


async def test_payment_channel_must_be_page_or_wap(shop):
    buyer = await shop.buyer()
    (sku,) = await shop.add_skus(5)
    order = (await shop.order(buyer, [(sku, 1)])).json()
    response = await shop.client.post(
        f"/api/orders/{order['order_id']}/payment", json={"channel": "app"}, headers=buyer.headers
    )
    assert_problem(response, 422, "validation_error")


async def test_an_order_above_alipays_limit_is_refused_and_reserves_nothing(make_shop):
    shop = await make_shop()
    (sku,) = await shop.add_skus(10, price="60000000.00")
    buyer = await shop.buyer()

    for pay_method in ("alipay", "cash"):
        response = await shop.order(buyer, [(sku, 2)], pay_method=pay_method)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "amount_out_of_range"
    assert (await shop.order(buyer, [(sku, 1)])).status_code == 201  # 60,000,010.00 is fine
    assert (await shop.stock(sku))["stock"] == 9


async def test_the_unit_limit_holds_after_lines_of_one_sku_are_added_up(make_shop):
    shop = await make_shop()
    (sku,) = await shop.add_skus(100_000)
    buyer = await shop.buyer()

    response = await shop.order(buyer, [(sku, 9999), (sku, 9999)], pay_method="cash")

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "too_many_units"
    assert (await shop.stock(sku))["stock"] == 100_000


async def test_a_buyer_holds_at_most_the_configured_unpaid_orders(make_shop):
    shop = await make_shop(max_unpaid_orders=2)
    (sku,) = await shop.add_skus(100)
    buyer, other = await shop.buyer(), await shop.buyer()

    answers = await asyncio.gather(*(shop.order(buyer, [(sku, 1)]) for _ in range(4)))

    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201, 409, 409], [r.text for r in answers]
    refused = [r.json()["code"] for r in answers if r.status_code == 409]
    assert refused == ["too_many_unpaid_orders"] * 2
    assert (await shop.order(buyer, [(sku, 1)], pay_method="cash")).status_code == 201
    assert (await shop.order(other, [(sku, 1)])).status_code == 201  # the cap is per buyer
    assert (await shop.stock(sku))["stock"] == 100 - 4
