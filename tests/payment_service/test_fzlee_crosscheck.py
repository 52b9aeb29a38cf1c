"""Our signing checked against an outside implementation, python-alipay-sdk (fzlee/alipay).

The emulator and the payment service share shared/alipay_sign.py, so a mistake in it would be
invisible between the two; these tests make a third party the judge.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

from alipay import AliPay

from payment_service.alipay import AlipayClient, AlipayConfig
from payment_service.alipay.params import BEIJING, TIME_FORMAT
from shared.alipay_sign import (
    NOTIFY_EXCLUDED,
    REQUEST_EXCLUDED,
    load_private_key,
    load_public_key,
    sign_bytes,
    signing_string,
    verify_params,
)
from tests.payment_service.keys import pair

APP_ID = "2021000000000001"


def fzlee(sign_type="RSA2", signer="app") -> AliPay:
    """Their client; signer="alipay" makes it sign as Alipay does (notifies, responses)."""
    app_private, _ = pair(signer)
    _, alipay_public = pair("alipay")
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=app_private,
        alipay_public_key_string=alipay_public,
        sign_type=sign_type,
    )


def ours(sign_type="RSA2") -> AlipayClient:
    return AlipayClient(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=pair("app")[0],
            alipay_public_key=pair("alipay")[1],
            gateway_url="http://127.0.0.1:9/gateway.do",
            sign_type=sign_type,
        )
    )


def _their_request(sign_type="RSA2") -> dict[str, str]:
    query = fzlee(sign_type).client_api(
        "alipay.trade.page.pay",
        {
            "out_trade_no": "O20240102",
            "total_amount": "12.50",
            "subject": "测试 & co",
            "product_code": "FAST_INSTANT_TRADE_PAY",
            "time_expire": "2030-01-01 00:00:00",
        },
        notify_url="https://shop.example/alipay/notify",
        return_url="https://shop.example/alipay/return",
    )
    return dict(parse_qsl(query, keep_blank_values=True))


def _their_string(data: dict) -> str:
    """fzlee's own canonical string for a parameter dict (it mutates, so give it a copy)."""
    return "&".join(f"{k}={v}" for k, v in fzlee()._ordered_data(dict(data)))


def test_same_params_same_signing_string_and_signature():
    for sign_type in ("RSA2", "RSA"):
        theirs = _their_request(sign_type)
        biz = json.loads(theirs["biz_content"])
        now = datetime.strptime(theirs["timestamp"], TIME_FORMAT).replace(tzinfo=BEIJING)
        mine = ours(sign_type).signed_params(
            "alipay.trade.page.pay",
            biz,
            now=now,
            notify_url=theirs["notify_url"],
            return_url=theirs["return_url"],
        )
        assert mine == theirs
        assert signing_string(mine) == _their_string(
            {k: v for k, v in theirs.items() if k != "sign"}
        )


def test_their_request_is_accepted_by_our_verifier():
    theirs = _their_request()
    app_public = load_public_key(pair("app")[1])
    assert verify_params(theirs, app_public, "RSA2", exclude=REQUEST_EXCLUDED)
    assert not verify_params(
        dict(theirs, total_amount="0.01", biz_content="{}"),
        app_public,
        "RSA2",
        exclude=REQUEST_EXCLUDED,
    )


def test_our_request_is_accepted_by_their_verifier():
    url = ours().pay_url(
        "wap",
        "O1",
        Decimal("3.10"),
        "茶",
        datetime.now(UTC) + timedelta(hours=1),
        "https://shop.example/alipay/notify",
        "https://shop.example/alipay/return",
    )
    params = dict(parse_qsl(url.split("?", 1)[1]))
    signature = params.pop("sign")
    checker = AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=pair("app")[0],
        alipay_public_key_string=pair("app")[1],
    )  # verifying as the gateway would
    assert checker._verify(_their_string(params), signature)
    assert not checker._verify(_their_string(dict(params, subject="x")), signature)


def _notify() -> dict[str, str]:
    return {
        "notify_time": "2024-01-02 03:04:05",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2024010222001400000000000001",
        "out_trade_no": "O1",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "3.10",
        "subject": "茶 + 1",
        "fund_bill_list": '[{"amount":"3.10","fundChannel":"ALIPAYACCOUNT"}]',
        "gmt_payment": "2024-01-02 03:04:04",
        "seller_id": "2088000000000001",
    }


def test_notify_signed_by_them_verifies_in_ours():
    alipay = fzlee(signer="alipay")
    notify = _notify()
    notify["sign"] = alipay._sign(_their_string(notify))
    notify["sign_type"] = "RSA2"
    assert ours().verify_callback(notify)
    assert not ours().verify_callback(dict(notify, total_amount="3.11"))


def test_notify_signed_by_us_verifies_in_theirs():
    notify = dict(_notify(), sign_type="RSA2")
    sign = sign_bytes(
        signing_string(notify, NOTIFY_EXCLUDED).encode(), load_private_key(pair("alipay")[0])
    )
    assert fzlee().verify(dict(notify), sign)
    assert not fzlee().verify(dict(notify, trade_status="TRADE_CLOSED"), sign)


def test_response_signed_by_them_verifies_in_ours_and_ours_in_theirs():
    alipay = fzlee(signer="alipay")
    inner = (
        '{"code":"10000","msg":"Success","out_trade_no":"O1","trade_status":"TRADE_SUCCESS",'
        '"total_amount":"3.10","trade_no":"2024"}'
    )
    body = '{"alipay_trade_query_response":' + inner + ',"sign":"' + alipay._sign(inner) + '"}'
    assert ours().verified_response(body.encode(), "alipay.trade.query")["trade_no"] == "2024"
    our_body = (
        '{"alipay_trade_query_response":'
        + inner
        + ',"sign":"'
        + sign_bytes(inner.encode(), load_private_key(pair("alipay")[0]))
        + '"}'
    )
    assert (
        fzlee()._verify_and_return_sync_response(our_body, "alipay_trade_query_response")[
            "trade_status"
        ]
        == "TRADE_SUCCESS"
    )
