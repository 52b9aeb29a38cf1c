"""POST /alipay/notify on a running payment service: only a genuine notify pays, once."""

import asyncio
from decimal import Decimal

import httpx
import pytest

from tests.payment_service.conftest import (
    alipay_signed,
    create_payment,
    form,
    notify_params,
)
from tests.payment_service.keys import pair

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


async def post_notify(service, body: bytes, headers=FORM) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.url) as client:
        return await client.post("/alipay/notify", content=body, headers=headers)


async def open_payment(service) -> str:
    response = await create_payment(service)
    assert response.status_code == 200, response.text
    return response.json()["order_id"]


async def test_genuine_notify_marks_paid_once_with_one_outbox_event(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id)))
    first = await post_notify(payment_service, body)
    assert first.status_code == 200
    assert first.text == "success"
    assert first.headers["content-type"].startswith("text/plain")
    payment = await payment_db.payment(order_id)
    assert payment["status"] == "paid"
    assert payment["trade_no"] == f"2030{order_id}"
    assert payment["paid_at"] is not None
    assert len(await payment_db.outbox(order_id)) == 1

    again = await asyncio.gather(*(post_notify(payment_service, body) for _ in range(5)))
    assert [r.text for r in again] == ["success"] * 5
    assert len(await payment_db.outbox(order_id)) == 1
    outcomes = [n["outcome"] for n in await payment_db.notifies(order_id)]
    assert outcomes.count("paid") == 1
    assert outcomes.count("duplicate") == 5
    stored = (await payment_db.notifies(order_id))[0]
    assert bytes(stored["raw_body"]) == body
    assert stored["verified"] is True
    assert stored["notify_id"] == f"N{order_id}"


async def test_trade_finished_before_success_pays_once_and_never_moves_back(
    payment_service, payment_db
):
    order_id = await open_payment(payment_service)
    finished = form(alipay_signed(notify_params(order_id, status="TRADE_FINISHED")))
    success = form(alipay_signed(notify_params(order_id, status="TRADE_SUCCESS")))
    closed = form(alipay_signed(notify_params(order_id, status="TRADE_CLOSED")))
    for body in (finished, success, closed):
        assert (await post_notify(payment_service, body)).text == "success"
    assert (await payment_db.payment(order_id))["status"] == "paid"
    assert len(await payment_db.outbox(order_id)) == 1
    assert [n["outcome"] for n in await payment_db.notifies(order_id)] == [
        "paid",
        "duplicate",
        "recorded",
    ]


async def test_wait_buyer_pay_is_recorded_and_pays_nothing(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id, status="WAIT_BUYER_PAY")))
    assert (await post_notify(payment_service, body)).text == "success"
    assert (await payment_db.payment(order_id))["status"] == "created"
    assert [n["outcome"] for n in await payment_db.notifies(order_id)] == ["recorded"]


async def test_gbk_notify_is_decoded_in_its_declared_charset(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    params = notify_params(order_id, charset="gbk")
    from urllib.parse import urlencode

    from shared.alipay_sign import NOTIFY_EXCLUDED, load_private_key, sign_bytes, signing_string

    key = load_private_key(pair("alipay")[0])
    params["sign_type"] = "RSA2"
    params["sign"] = sign_bytes(signing_string(params, NOTIFY_EXCLUDED).encode("gbk"), key)
    body = urlencode(params, encoding="gbk").encode("ascii")
    assert (await post_notify(payment_service, body)).text == "success"
    assert (await payment_db.payment(order_id))["status"] == "paid"


# --- bad input: each answers `fail`, pays nothing, and is recorded ---------------------------


async def _assert_refused(service, db, order_id, body: bytes, outcome: str, verified: bool):
    before = await db.notifies()
    response = await post_notify(service, body)
    assert response.status_code == 200
    assert response.text == "fail"
    payment = await db.payment(order_id)
    assert payment["status"] == "created"
    assert payment["trade_no"] is None
    assert await db.outbox(order_id) == []
    new = (await db.notifies())[len(before) :]
    assert [(n["outcome"], n["verified"]) for n in new] == [(outcome, verified)]
    # a signed one is kept whole; an unverified one only its first 4 KiB, with the digest
    assert bytes(new[0]["raw_body"]) == body[: 64 * 1024 if verified else 4 * 1024]
    if len(body) <= 64 * 1024:
        assert new[0]["body_size"] == len(body)
    else:  # read only until it is known to be too big
        assert 64 * 1024 < new[0]["body_size"] <= len(body)


async def test_bad_signature_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    params = alipay_signed(notify_params(order_id))
    params["total_amount"] = "0.01"  # changed after signing
    await _assert_refused(
        payment_service, payment_db, order_id, form(params), "bad_signature", False
    )


async def test_notify_signed_with_another_key_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    forged = alipay_signed(notify_params(order_id), private_pem=pair("forger")[0])
    await _assert_refused(
        payment_service, payment_db, order_id, form(forged), "bad_signature", False
    )


async def test_amount_one_cent_off_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id, amount="12.49")))
    await _assert_refused(payment_service, payment_db, order_id, body, "amount_mismatch", True)


async def test_amount_with_other_spelling_is_the_same_amount(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id, amount="12.5")))
    assert (await post_notify(payment_service, body)).text == "success"
    assert (await payment_db.payment(order_id))["amount"] == Decimal("12.50")
    assert (await payment_db.payment(order_id))["status"] == "paid"


async def test_other_app_id_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id, app_id="2021999999999999")))
    await _assert_refused(payment_service, payment_db, order_id, body, "wrong_app_id", True)


async def test_other_seller_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params(order_id, seller_id="2088999999999999")))
    await _assert_refused(payment_service, payment_db, order_id, body, "wrong_seller_id", True)


async def test_unknown_order_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    body = form(alipay_signed(notify_params("NoSuchOrder1")))
    await _assert_refused(payment_service, payment_db, order_id, body, "unknown_trade", True)
    stored = await payment_db.notifies("NoSuchOrder1")
    assert [n["outcome"] for n in stored] == ["unknown_trade"]


@pytest.mark.parametrize(
    "missing", ["sign", "out_trade_no", "total_amount", "trade_status", "app_id", "trade_no"]
)
async def test_missing_fields_fail(payment_service, payment_db, missing):
    order_id = await open_payment(payment_service)
    params = alipay_signed(notify_params(order_id))
    del params[missing]
    await _assert_refused(
        payment_service, payment_db, order_id, form(params), "missing_fields", False
    )


async def test_empty_body_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    await _assert_refused(payment_service, payment_db, order_id, b"", "missing_fields", False)


async def test_repeated_keys_fail(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    genuine = form(alipay_signed(notify_params(order_id)))
    body = genuine + b"&total_amount=0.01"
    await _assert_refused(payment_service, payment_db, order_id, body, "repeated_key", False)


async def test_non_utf8_body_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    genuine = form(alipay_signed(notify_params(order_id)))
    body = genuine + b"&body=%FF%FE%FA"
    await _assert_refused(payment_service, payment_db, order_id, body, "bad_encoding", False)


async def test_oversized_body_fails(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    genuine = form(alipay_signed(notify_params(order_id)))
    body = genuine + b"&padding=" + b"x" * (64 * 1024)
    await _assert_refused(payment_service, payment_db, order_id, body, "oversized", False)


async def test_a_refused_notify_followed_by_the_genuine_one_pays(payment_service, payment_db):
    order_id = await open_payment(payment_service)
    forged = form(alipay_signed(notify_params(order_id, amount="0.01")))
    genuine = form(alipay_signed(notify_params(order_id)))
    assert (await post_notify(payment_service, forged)).text == "fail"
    assert (await post_notify(payment_service, genuine)).text == "success"
    assert (await payment_db.payment(order_id))["status"] == "paid"


@pytest.mark.parametrize("nul", [b"%00", b"\x00"], ids=["percent-encoded", "raw"])
@pytest.mark.parametrize("field", [b"out_trade_no", b"notify_id", b"body"])
async def test_a_nul_character_fails_and_is_recorded(payment_service, payment_db, field, nul):
    # Found by fuzzing: the NUL reached a PostgreSQL text column and the notify answered 500.
    order_id = await open_payment(payment_service)
    genuine = form(alipay_signed(notify_params(order_id)))
    body = genuine + b"&" + field + b"=x" + nul + b"y"
    if field == b"out_trade_no":
        body = b"out_trade_no=x" + nul + b"y"
    await _assert_refused(payment_service, payment_db, order_id, body, "bad_encoding", False)
    expected_text = None if nul == b"\x00" else body.decode()
    assert (await payment_db.notifies())[-1]["raw_text"] == expected_text


async def test_genuine_notify_reusing_another_payments_trade_no_fails_and_is_recorded(
    payment_service, payment_db
):
    """Issue 10, item 9: it answered 500 (the trade_no column's unique constraint)."""
    first = await open_payment(payment_service)
    assert (await post_notify(payment_service, form(alipay_signed(notify_params(first))))).text == (
        "success"
    )
    second = await open_payment(payment_service)
    reused = form(alipay_signed(notify_params(second, trade_no=f"2030{first}")))
    await _assert_refused(payment_service, payment_db, second, reused, "trade_no_conflict", True)
    assert (await payment_db.payment(first))["trade_no"] == f"2030{first}"
    # the genuine one for the second payment still pays it
    assert (
        await post_notify(payment_service, form(alipay_signed(notify_params(second))))
    ).text == ("success")
    assert (await payment_db.payment(second))["status"] == "paid"


async def test_notify_for_a_paid_payment_with_another_payments_trade_no_fails(
    payment_service, payment_db
):
    """Not a repeat: the payment was paid under its own trade_no, this one is another's."""
    first = await open_payment(payment_service)
    second = await open_payment(payment_service)
    for order_id in (first, second):
        body = form(alipay_signed(notify_params(order_id)))
        assert (await post_notify(payment_service, body)).text == "success"
    paid_second = await payment_db.payment(second)
    borrowed = form(alipay_signed(notify_params(second, trade_no=f"2030{first}")))
    before = await payment_db.notifies()
    assert (await post_notify(payment_service, borrowed)).text == "fail"
    new = (await payment_db.notifies())[len(before) :]
    assert [(n["outcome"], n["verified"]) for n in new] == [("trade_no_conflict", True)]
    assert await payment_db.payment(second) == paid_second
    assert len(await payment_db.outbox(second)) == 1
