"""The internal routes the order service calls: signed, one payment per order, close."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from shared.http import internal_client
from shared.service_auth import signed_headers
from tests.payment_service.conftest import (
    SECRET,
    alipay_signed,
    create_payment,
    form,
    new_order_id,
    notify_params,
)


def pay_params(pay_url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(pay_url).query))


async def test_create_payment_returns_a_signed_link_to_the_gateway(payment_service, sandbox):
    deadline = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    response = await create_payment(
        payment_service, amount="99.9", channel="wap", deadline=deadline
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "created"
    assert body["amount"] == "99.90"
    assert body["out_trade_no"] == body["order_id"]
    assert body["pay_url"].startswith(f"{sandbox.url}/gateway.do?")
    params = pay_params(body["pay_url"])
    biz = json.loads(params["biz_content"])
    assert params["method"] == "alipay.trade.wap.pay"
    assert params["notify_url"] == f"{payment_service.url}/alipay/notify"
    assert params["return_url"] == f"{payment_service.url}/alipay/return"
    assert biz["time_expire"] == "2031-02-03 12:05:06"
    assert biz["total_amount"] == "99.90"
    # a buyer who leaves the cashier lands on the order's page, told so; not on the return
    # page, which expects Alipay's signed return
    quit_url = f"http://shop.example/pay/result?order_id={body['order_id']}&result=left"
    assert biz["quit_url"] == quit_url
    # the emulator (a separate implementation of the gateway) accepts the link
    async with httpx.AsyncClient() as client:
        cashier = await client.get(body["pay_url"])
        assert cashier.status_code == 200, cashier.text[:500]
        leave = re.search(r'action="([^"]+/cancel)"', cashier.text)[1]
        left = await client.post(f"{sandbox.url}{leave}")
    assert left.status_code == 303 and left.headers["location"] == quit_url


async def test_the_subject_is_cleaned_of_what_alipay_forbids(payment_service):
    order_id = new_order_id()
    async with internal_client(payment_service.url, SECRET) as client:
        response = await client.post(
            "/internal/payments",
            json={
                "order_id": order_id,
                "amount": "1.00",
                "subject": "Tea / cups=2 & saucers",
                "channel": "page",
                "pay_deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            },
        )
    assert response.status_code == 200, response.text
    subject = json.loads(pay_params(response.json()["pay_url"])["biz_content"])["subject"]
    assert subject == "Tea cups 2 saucers"  # the length limit: tests/shared/test_alipay_wire.py


async def test_same_order_twice_is_the_same_payment(payment_service, payment_db):
    order_id = new_order_id()
    first = await create_payment(payment_service, order_id)
    second = await create_payment(payment_service, order_id)
    assert first.status_code == second.status_code == 200
    assert first.json()["out_trade_no"] == second.json()["out_trade_no"]
    assert (
        len(await payment_db.rows("SELECT id FROM payments WHERE order_id = :o", o=order_id)) == 1
    )


async def test_a_different_amount_for_the_same_order_is_refused(payment_service, payment_db):
    order_id = new_order_id()
    assert (await create_payment(payment_service, order_id, amount="10.00")).status_code == 200
    response = await create_payment(payment_service, order_id, amount="10.01")
    assert response.status_code == 409
    assert response.json()["code"] == "amount_mismatch"
    assert (await payment_db.payment(order_id))["amount"] == 10


async def test_a_paid_payment_gives_no_new_link(payment_service):
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    async with httpx.AsyncClient(base_url=payment_service.url) as client:
        paid = await client.post(
            "/alipay/notify", content=form(alipay_signed(notify_params(order_id)))
        )
    assert paid.text == "success"
    response = await create_payment(payment_service, order_id)
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_open"


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 12.5},
        {"amount": "0.001"},
        {"amount": "0"},
        {"order_id": "has space"},
        {"order_id": "x" * 65},
        {"channel": "app"},
        {"pay_deadline": "2030-01-01T00:00:00"},
        {"subject": ""},
    ],
)
async def test_malformed_requests_get_422(payment_service, change):
    body = {
        "order_id": new_order_id(),
        "amount": "1.00",
        "subject": "s",
        "channel": "page",
        "pay_deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        **change,
    }
    async with internal_client(payment_service.url, SECRET) as client:
        response = await client.post("/internal/payments", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def _body(order_id: str) -> bytes:
    return json.dumps(
        {
            "order_id": order_id,
            "amount": "1.00",
            "subject": "s",
            "pay_deadline": "2031-01-01T00:00:00Z",
        }
    ).encode()


@pytest.mark.parametrize("how", ["unsigned", "stale", "wrong_secret", "other_body"])
async def test_internal_calls_without_a_valid_fresh_signature_get_401(
    payment_service, payment_db, how
):
    order_id = new_order_id()
    body = _body(order_id)
    path = "/internal/payments"
    headers = {"Content-Type": "application/json"}
    if how == "stale":
        headers |= signed_headers(SECRET, "POST", path, body, now=time.time() - 3600)
    elif how == "wrong_secret":
        headers |= signed_headers("not-the-secret", "POST", path, body)
    elif how == "other_body":
        headers |= signed_headers(SECRET, "POST", path, _body("Other1"))
    async with httpx.AsyncClient(base_url=payment_service.url) as client:
        response = await client.post(path, content=body, headers=headers)
        close = await client.post(f"/internal/payments/{order_id}/close", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert close.status_code == 401
    assert await payment_db.payment(order_id) is None


async def test_a_captured_signed_request_is_refused_when_replayed(payment_service, payment_db):
    """Issue 10, item 12: a captured signed request was accepted again for 300 s."""
    order_id = new_order_id()
    body = _body(order_id)
    path = "/internal/payments"
    headers = {"Content-Type": "application/json"} | signed_headers(SECRET, "POST", path, body)
    async with httpx.AsyncClient(base_url=payment_service.url) as client:
        first = await client.post(path, content=body, headers=headers)
        replayed = await client.post(path, content=body, headers=headers)
        fresh = await client.post(
            path,
            content=body,
            headers={"Content-Type": "application/json"}
            | signed_headers(SECRET, "POST", path, body),
        )
    assert first.status_code == 200, first.text
    assert replayed.status_code == 401
    assert replayed.headers["content-type"] == "application/problem+json"
    assert replayed.json()["code"] == "replayed_request"
    assert fresh.status_code == 200  # the same call signed anew is fine (creating is idempotent)


async def test_return_page_redirects_to_the_storefront_and_never_pays(payment_service, payment_db):
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    genuine = alipay_signed(
        {
            "charset": "utf-8",
            "out_trade_no": order_id,
            "method": "alipay.trade.page.pay.return",
            "total_amount": "12.50",
            "trade_no": f"2030{order_id}",
            "auth_app_id": "x",
            "version": "1.0",
            "app_id": notify_params(order_id)["app_id"],
            "seller_id": "2088000000000042",
            "timestamp": "2030-01-02 03:04:05",
        }
    )
    async with httpx.AsyncClient(base_url=payment_service.url) as client:
        ok = await client.get("/alipay/return", params=genuine)
        forged = await client.get("/alipay/return", params=dict(genuine, total_amount="0.01"))
    assert ok.status_code == 303
    assert ok.headers["location"] == (
        f"http://shop.example/pay/result?order_id={order_id}&result=success"
    )
    assert forged.status_code == 303
    assert forged.headers["location"].endswith(f"order_id={order_id}&result=invalid")
    assert (await payment_db.payment(order_id))["status"] == "created"


async def test_payment_record_is_readable_with_its_notifies(payment_service):
    order_id = new_order_id()
    await create_payment(payment_service, order_id)
    async with httpx.AsyncClient(base_url=payment_service.url) as client:
        await client.post("/alipay/notify", content=form(alipay_signed(notify_params(order_id))))
    async with internal_client(payment_service.url, SECRET) as client:
        record = (await client.get(f"/internal/payments/{order_id}")).json()
        missing = await client.get("/internal/payments/Nope1")
    assert record["status"] == "paid"
    assert record["amount"] == "12.50"
    assert [n["outcome"] for n in record["notifies"]] == ["paid"]
    assert missing.status_code == 404
