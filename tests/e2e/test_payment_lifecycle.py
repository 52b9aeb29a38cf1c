"""The order and payment lifecycle end to end: three real processes, PostgreSQL, Redis.

Everything a buyer or Alipay does goes over HTTP; the database is read only to check what an
operator would check afterwards (one payment, one event, the raw notifies).
"""

import json
import time
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.alipay_sign import (
    NOTIFY_EXCLUDED,
    generate_key_pair,
    load_private_key,
    sign_bytes,
    signing_string,
)
from shared.service_auth import signed_headers
from tests.support.stack import APP_ID, SELLER_ID, eventually

pytestmark = pytest.mark.e2e


# ------------------------------------------------------------------------- helpers


async def one_item_order(stack, sku_name: str = "e2e item 2", count: int = 1):
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name(sku_name)
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": count}])
    return buyer, order


async def applied_events(stack) -> float:
    """The order service's count of payment events that moved an order (its /metrics)."""
    text = (await stack.http.get(f"{stack.order.url}/metrics/")).text
    for line in text.splitlines():
        if line.startswith('order_payment_events_total{result="applied"}'):
            return float(line.split()[-1])
    return 0.0


async def spu_sales(stack) -> dict[str, int]:
    """Each goods' sales, as the shop derives them: the sum of its SKUs' sales."""
    rows = await stack.order_sql(
        "SELECT g.name, coalesce(sum(s.sales), 0) AS sales FROM goods g"
        " LEFT JOIN skus s ON s.goods_id = g.id GROUP BY g.name"
    )
    return {row["name"]: row["sales"] for row in rows}


async def payments_of(stack, order_id: str):
    return await stack.payment_sql("SELECT * FROM payments WHERE order_id = $1", order_id)


async def outbox_of(stack, order_id: str):
    return await stack.payment_sql("SELECT * FROM outbox WHERE payload->>'order_id' = $1", order_id)


async def wait_payment_status(stack, order_id: str, status: str, within: float = 15):
    async def reached():
        rows = await payments_of(stack, order_id)
        return rows if rows and rows[0]["status"] == status else None

    return (await eventually(reached, within, f"payment of {order_id} to be {status!r}"))[0]


async def wait_notify_answer(
    stack, out_trade_no: str, answer: str, count: int = 1, within: float = 15
) -> dict:
    """Until the emulator has `count` notify deliveries for the trade that got `answer` back."""

    async def reached():
        trade = (await stack.emulator_trade(out_trade_no)).json()
        answers = [d["response"] for d in deliveries(trade)]
        return trade if answers.count(answer) >= count else None

    return await eventually(reached, within, f"{count} notify answered {answer!r}")


def deliveries(trade: dict) -> list[dict]:
    """Every delivery of every notify the emulator sent for a trade, with its trade_status."""
    return [
        {**delivery, "trade_status": notify["trade_status"]}
        for notify in trade.get("notifies", [])
        for delivery in notify["deliveries"]
    ]


def forged_notify(order: dict, private_key, **changes) -> dict:
    """A notify with Alipay's field set for the order, signed with `private_key`."""
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    params = {
        "notify_time": now,
        "notify_type": "trade_status_sync",
        "notify_id": uuid.uuid4().hex,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "seller_id": SELLER_ID,
        "trade_no": "2024" + uuid.uuid4().hex[:24],
        "out_trade_no": order["order_id"],
        "buyer_id": "2088102169481075",
        "buyer_logon_id": "buy***@example.com",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": order["total_amount"],
        "receipt_amount": order["total_amount"],
        "buyer_pay_amount": order["total_amount"],
        "subject": "order",
        "gmt_create": now,
        "gmt_payment": now,
    }
    params.update(changes)
    # Alipay signs a notify over everything but sign and sign_type (rsaCheckV1)
    params["sign"] = sign_bytes(signing_string(params, NOTIFY_EXCLUDED).encode(), private_key)
    return params


# ------------------------------------------------------------------------- 1. happy path


async def test_happy_path_from_cart_to_paid_order(live):
    stack = live
    buyer = await stack.register()
    await stack.add_address(buyer)
    first, second = await stack.sku_by_name("e2e item 1"), await stack.sku_by_name("e2e item 3")
    goods_sales = await spu_sales(stack)
    await stack.put_cart(buyer, first["id"], 2)
    await stack.put_cart(buyer, second["id"], 1)

    order = await stack.place_order(buyer)  # the cart's selected items
    assert order["status"] == "unpaid"
    assert order["total_count"] == 3
    goods = Decimal(first["price"]) * 2 + Decimal(second["price"])
    expected_total = goods + Decimal(order["freight"])
    assert Decimal(order["total_amount"]) == expected_total
    assert await stack.cart(buyer) == []
    for sku, count in ((first, 2), (second, 1)):
        now = await stack.sku(sku["id"])
        assert (now["stock"], now["sales"]) == (sku["stock"] - count, sku["sales"] + count)

    pay_url = await stack.pay_url(buyer, order["order_id"])
    assert pay_url.startswith(f"{stack.sandbox.url}/gateway.do")
    cashier = await stack.open_cashier(pay_url)
    assert order["total_amount"] in cashier.text
    paid = await stack.buyer_pays(pay_url, order["order_id"])

    # The browser comes back through the payment service's return page to the storefront.
    back = await stack.http.get(paid["return_url"])
    assert back.status_code == 303, back.text
    target = urlsplit(back.headers["location"])
    assert parse_qs(target.query) == {"order_id": [order["order_id"]], "result": ["success"]}

    await stack.wait_order_status(buyer, order["order_id"], "unsent")
    for sku, count in ((first, 2), (second, 1)):
        now = await stack.sku(sku["id"])
        assert (now["stock"], now["sales"]) == (sku["stock"] - count, sku["sales"] + count)
    sales_now = await spu_sales(stack)
    assert sales_now["e2e goods 1"] == goods_sales["e2e goods 1"] + 2
    assert sales_now["e2e goods 3"] == goods_sales["e2e goods 3"] + 1

    trade = (await stack.emulator_trade(order["order_id"])).json()
    [payment] = await payments_of(stack, order["order_id"])
    assert payment["status"] == "paid"
    assert payment["amount"] == Decimal(order["total_amount"])
    assert payment["trade_no"] == trade["trade_no"]
    assert payment["paid_at"] is not None
    assert payment["out_trade_no"] == order["order_id"]
    assert (payment["channel"], payment["closed_at"], payment["refunded_amount"]) == (
        "page",
        None,
        Decimal("0.00"),
    )
    notifies = await stack.payment_sql(
        "SELECT * FROM notifies WHERE out_trade_no = $1", order["order_id"]
    )
    assert notifies and all(n["verified"] for n in notifies)
    [event] = await outbox_of(stack, order["order_id"])
    assert event["delivered_at"] is not None


# ------------------------------------------------------------------------- 2. repeats


async def test_repeated_and_out_of_order_notifies_pay_once(live):
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, repeat=5, finished_first=True)
    applied_before = await applied_events(stack)
    pay_url = await stack.pay_url(buyer, order_id)
    paid = await stack.buyer_pays(pay_url, order_id)

    await stack.wait_order_status(buyer, order_id, "unsent")
    trade = await wait_notify_answer(stack, order_id, "success", count=10)
    statuses = [notify["trade_status"] for notify in trade["notifies"]]
    assert statuses == ["TRADE_FINISHED", "TRADE_SUCCESS"], statuses

    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "paid"
    [event] = await outbox_of(stack, order_id)  # one "paid" event, hence one transition
    await eventually(lambda: _delivered(stack, order_id), 10, "the paid event to be delivered")
    stored = await stack.payment_sql("SELECT * FROM notifies WHERE out_trade_no = $1", order_id)
    assert len(stored) >= 10 and all(n["verified"] for n in stored)
    assert (await stack.get_order(buyer, order_id))["status"] == "unsent"
    assert await applied_events(stack) == applied_before + 1
    [row] = await stack.order_sql("SELECT * FROM orders WHERE order_id = $1", order_id)
    assert row["trade_no"] == payment["trade_no"] == paid["trade_no"]


async def _delivered(stack, order_id):
    rows = await outbox_of(stack, order_id)
    return rows and all(row["delivered_at"] is not None for row in rows)


# ------------------------------------------------------------------------- 3. failed deliveries


async def test_first_three_notify_deliveries_fail_then_paid(live):
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, fail_first=3)
    pay_url = await stack.pay_url(buyer, order_id)
    await stack.buyer_pays(pay_url, order_id)

    await stack.wait_order_status(buyer, order_id, "unsent", within=20)
    trade = (await stack.emulator_trade(order_id)).json()
    kinds = [d["kind"] for d in deliveries(trade)]
    assert kinds[:4] == ["not_sent", "not_sent", "not_sent", "genuine"], kinds
    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "paid"
    assert len(await outbox_of(stack, order_id)) == 1


# ------------------------------------------------------------------------- lost notify


async def test_lost_notify_is_found_by_query(live):
    """Every one of Alipay's 8 notify deliveries is lost: the payment service's reconciler
    queries the still-open payment at Alipay and applies it as a notify would."""
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    await stack.set_faults(out_trade_no=order_id, fail_first=8)
    pay_url = await stack.pay_url(buyer, order_id)
    paid = await stack.buyer_pays(pay_url, order_id)

    await stack.wait_order_status(buyer, order_id, "unsent", within=20)
    trade = (await stack.emulator_trade(order_id)).json()
    assert {d["kind"] for d in deliveries(trade)} == {"not_sent"}
    [payment] = await payments_of(stack, order_id)
    assert (payment["status"], payment["trade_no"]) == ("paid", paid["trade_no"])
    assert len(await outbox_of(stack, order_id)) == 1


# ------------------------------------------------------------------------- 4. order service down


async def test_order_service_down_when_notify_arrives(live):
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    pay_url = await stack.pay_url(buyer, order_id)
    await stack.stop("order")

    await stack.buyer_pays(pay_url, order_id)
    await wait_notify_answer(stack, order_id, "success")
    await wait_payment_status(stack, order_id, "paid")
    [event] = await outbox_of(stack, order_id)
    assert event["delivered_at"] is None  # nobody to deliver it to yet

    await stack.start("order")
    await stack.wait_order_status(buyer, order_id, "unsent", within=30)
    await eventually(lambda: _delivered(stack, order_id), 10, "the paid event to be delivered")
    assert len(await payments_of(stack, order_id)) == 1


# ------------------------------------------------------------------------- 5. SIGKILL


async def test_payment_service_killed_between_record_and_relay(live):
    """The window between "payment recorded" and "event delivered" is forced open: the order
    service is stopped, so the relay cannot deliver; once the payment is committed in the
    payment database, the payment service is SIGKILLed. Then the order service comes back
    and the payment service restarts: its relay finds the undelivered event in the outbox."""
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    pay_url = await stack.pay_url(buyer, order_id)
    await stack.stop("order")

    await stack.buyer_pays(pay_url, order_id)
    await wait_payment_status(stack, order_id, "paid")
    await stack.kill("payment")
    [event] = await outbox_of(stack, order_id)
    assert event["delivered_at"] is None

    await stack.start("order")
    assert (await stack.get_order(buyer, order_id))["status"] == "unpaid"
    await stack.start("payment")
    await stack.wait_order_status(buyer, order_id, "unsent", within=30)
    await eventually(lambda: _delivered(stack, order_id), 10, "the paid event to be delivered")
    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "paid"
    assert len(await outbox_of(stack, order_id)) == 1


# ------------------------------------------------------------------------- 6. payment service down


async def test_payment_service_down_when_link_requested(live):
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    await stack.stop("payment")

    response = await stack.request_link(buyer, order_id)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payment_unavailable"
    assert (await stack.get_order(buyer, order_id))["status"] == "unpaid"

    await stack.start("payment")
    pay_url = await stack.pay_url(buyer, order_id)
    again = await stack.pay_url(buyer, order_id)  # asking twice still makes one payment
    assert urlsplit(again).path == urlsplit(pay_url).path
    await stack.buyer_pays(again, order_id)
    await stack.wait_order_status(buyer, order_id, "unsent")
    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "paid"
    assert len(await outbox_of(stack, order_id)) == 1


# ------------------------------------------------------------------------- 7. late payment


async def test_payment_after_cancellation_is_refunded(live):
    """A genuine payment that lands on a cancelled order is refunded automatically.

    How a late payment really happens with Alipay: a page-pay trade exists at Alipay only once
    the buyer engages at the cashier. Closing before that finds no trade to close
    (ACQ.TRADE_NOT_EXIST), so the payment is closed on our side only, while the signed link
    stays valid at Alipay until its time limit. A buyer who cancels (or whose order expires
    while the link sits unopened in another tab) and then pays from that link pays for a
    cancelled order. An expiry cannot make this deterministic here, because the link's time
    limit equals the order's deadline and the emulator, like Alipay, refuses a closed or
    expired trade (test_expiry.py checks that 409). The buyer's own cancel takes the same path
    through the payment service (query, close) and leaves the link valid, so it is used.
    """
    stack = live
    buyer = await stack.new_buyer()
    sku = await stack.sku_by_name("e2e item 2")
    order = await stack.place_order(buyer, [{"sku_id": sku["id"], "count": 2}])
    order_id = order["order_id"]
    pay_url = await stack.pay_url(buyer, order_id)

    response = await stack.cancel_order(buyer, order_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"
    assert (await stack.sku(sku["id"]))["stock"] == sku["stock"]
    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "closed"

    await stack.buyer_pays(pay_url, order_id)  # from the tab still holding the link

    async def refunded():
        rows = await payments_of(stack, order_id)
        return rows[0] if rows[0]["status"] == "refunded" else None

    try:
        payment = await eventually(refunded, 20, "the late payment to be refunded")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.logs()}") from None
    assert payment["trade_no"] is not None
    assert payment["refunded_amount"] == Decimal(order["total_amount"])
    [refund] = await stack.payment_sql("SELECT * FROM refunds WHERE payment_id = $1", payment["id"])
    assert refund["amount"] == Decimal(order["total_amount"])
    assert refund["status"] == "succeeded"
    assert refund["reason"]  # the record says why the money went back
    trade = (await stack.emulator_trade(order_id)).json()
    assert Decimal(str(trade["refund_fee"])) == Decimal(order["total_amount"]), trade
    assert [r["out_request_no"] for r in trade["refunds"]] == [refund["out_request_no"]]
    assert trade["status"] == "TRADE_CLOSED"  # a full refund closes the trade

    assert (await stack.get_order(buyer, order_id))["status"] == "canceled"
    now = await stack.sku(sku["id"])
    assert (now["stock"], now["sales"]) == (sku["stock"], sku["sales"])


async def test_late_payment_whose_notifies_are_all_lost_is_still_refunded(live):
    """As above, but every notify of the late payment is lost. The payment was closed on our
    side only (the trade did not exist at Alipay yet), so its link could still be paid: the
    reconciler must keep asking Alipay about it until the link has expired, find the payment
    and refund it. Otherwise the buyer's money stays with the shop for a cancelled order."""
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    pay_url = await stack.pay_url(buyer, order_id)
    assert (await stack.cancel_order(buyer, order_id)).status_code == 200
    [payment] = await payments_of(stack, order_id)
    assert payment["status"] == "closed"

    await stack.set_faults(out_trade_no=order_id, fail_first=8)
    paid = await stack.buyer_pays(pay_url, order_id)

    try:
        payment = await wait_payment_status(stack, order_id, "refunded", within=20)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.logs()}") from None
    assert payment["trade_no"] == paid["trade_no"]
    assert payment["refunded_amount"] == Decimal(order["total_amount"])
    trade = (await stack.emulator_trade(order_id)).json()
    assert {d["kind"] for d in deliveries(trade)} == {"not_sent"}
    assert Decimal(str(trade["refund_fee"])) == Decimal(order["total_amount"])
    assert len(trade["refunds"]) == 1
    assert (await stack.get_order(buyer, order_id))["status"] == "canceled"


# ------------------------------------------------------------------------- 8. forged notifies


async def test_forged_notifies_pay_nothing(live):
    """Crafted notifies at the public route: signed with a key that is not Alipay's, or signed
    with Alipay's key (the emulator's, which the test holds) but with the amount changed. Each
    answers `fail` and pays nothing. The same notify with the real amount and Alipay's key then
    answers `success`, which shows the forged ones failed for the forgery and nothing else."""
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    await stack.pay_url(buyer, order_id)
    notify_url = f"{stack.payment.url}/alipay/notify"
    alipay_key = load_private_key(stack.sandbox_private_key_path)
    stranger_key = load_private_key(generate_key_pair()[0].decode())
    one_cent_more = str(Decimal(order["total_amount"]) + Decimal("0.01"))

    forgeries = [
        forged_notify(order, stranger_key),
        forged_notify(
            order,
            alipay_key,
            total_amount=one_cent_more,
            receipt_amount=one_cent_more,
            buyer_pay_amount=one_cent_more,
        ),
    ]
    tampered = forged_notify(order, alipay_key)
    tampered["total_amount"] = one_cent_more  # changed after signing
    forgeries.append(tampered)
    for params in forgeries:
        response = await stack.http.post(notify_url, data=params)
        assert response.status_code == 200 or response.status_code >= 400
        assert response.text.strip() == "fail", (params, response.text)

    [payment] = await payments_of(stack, order_id)
    assert payment["status"] != "paid"
    assert await outbox_of(stack, order_id) == []
    assert (await stack.get_order(buyer, order_id))["status"] == "unpaid"
    stored = await stack.payment_sql(
        "SELECT * FROM notifies WHERE out_trade_no = $1 ORDER BY id", order_id
    )
    assert [(n["verified"], n["outcome"]) for n in stored] == [
        (False, "bad_signature"),
        (True, "amount_mismatch"),
        (False, "bad_signature"),
    ]

    genuine = await stack.http.post(notify_url, data=forged_notify(order, alipay_key))
    assert genuine.text.strip() == "success"
    await stack.wait_order_status(buyer, order_id, "unsent")


async def test_emulator_forged_copies_are_refused(live):
    """The emulator sends a forged copy before the genuine notify: once with a broken
    signature, once (another order) validly signed but with the amount a cent higher. The
    copy is answered `fail` and recorded unverified or refused; only the genuine notify pays,
    with the order's amount."""
    stack = live
    for fault, kind in (
        ({"bad_signature": True}, "bad_signature"),
        ({"amount_delta": "0.01"}, "amount_delta"),
    ):
        buyer, order = await one_item_order(stack)
        order_id = order["order_id"]
        await stack.set_faults(out_trade_no=order_id, **fault)
        pay_url = await stack.pay_url(buyer, order_id)
        await stack.buyer_pays(pay_url, order_id)

        await stack.wait_order_status(buyer, order_id, "unsent")
        trade = await wait_notify_answer(stack, order_id, "success")
        answers = {d["kind"]: d["response"] for d in deliveries(trade)}
        assert answers == {kind: "fail", "genuine": "success"}, answers
        [payment] = await payments_of(stack, order_id)
        assert payment["status"] == "paid"
        assert payment["amount"] == Decimal(order["total_amount"])
        assert len(await outbox_of(stack, order_id)) == 1
        stored = await stack.payment_sql(
            "SELECT * FROM notifies WHERE out_trade_no = $1 ORDER BY id", order_id
        )
        assert len(stored) == 2, [dict(n) for n in stored]
        assert stored[0]["outcome"] != "paid" and stored[1]["outcome"] == "paid"
        assert stored[1]["verified"]


# ------------------------------------------------------------------------- 9. internal auth


async def test_internal_route_refuses_unsigned_calls(live):
    stack = live
    buyer, order = await one_item_order(stack)
    order_id = order["order_id"]
    path = f"/internal/orders/{order_id}/payment-events"
    body = json.dumps(
        {
            "event_id": uuid.uuid4().hex,
            "type": "paid",
            "order_id": order_id,
            "amount": order["total_amount"],
            "trade_no": "2024" + uuid.uuid4().hex[:24],
            "paid_at": "2024-01-01T00:00:00Z",
        }
    ).encode()
    url = f"{stack.order.url}{path}"
    json_type = {"Content-Type": "application/json"}
    attempts = {
        "unsigned": {},
        "wrong secret": signed_headers("not-the-secret", "POST", path, body),
        "stale": signed_headers(stack.service_secret, "POST", path, body, now=time.time() - 3600),
        "other body": signed_headers(stack.service_secret, "POST", path, b"{}"),
        "other route": signed_headers(stack.service_secret, "POST", path + "x", body),
    }
    for name, headers in attempts.items():
        response = await stack.http.post(url, content=body, headers={**json_type, **headers})
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), name
    assert (await stack.get_order(buyer, order_id))["status"] == "unpaid"

    # The same request signed with the shared secret goes through: the 401s were the signature's.
    signed = signed_headers(stack.service_secret, "POST", path, body)
    response = await stack.http.post(url, content=body, headers={**json_type, **signed})
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "applied"
    assert (await stack.get_order(buyer, order_id))["status"] == "unsent"
