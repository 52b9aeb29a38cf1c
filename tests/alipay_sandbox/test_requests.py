"""What the gateway accepts and how it refuses, with Alipay's codes."""

import json
from urllib.parse import urlencode

import httpx
import pytest
from alipay.exceptions import AliPayException

from shared.alipay_sign import (
    extract_response_content,
    load_private_key,
    load_public_key,
    sign_params,
    verify_bytes,
)
from tests.support.cashier import login_url

from .conftest import APP_ID, beijing_now, make_merchant, out_trade_no


def signed(params: dict, private_pem: str, charset: str = "utf-8") -> dict:
    params = {
        "charset": charset,
        "sign_type": "RSA2",
        "version": "1.0",
        "timestamp": beijing_now(),
        "app_id": APP_ID,
        **params,
    }
    params["sign"] = sign_params(params, load_private_key(private_pem), "RSA2", charset)
    return params


def page_pay(biz: dict | str, **extra) -> dict:
    content = biz if isinstance(biz, str) else json.dumps(biz, separators=(",", ":"))
    return {"method": "alipay.trade.page.pay", "biz_content": content, **extra}


def order(**changes) -> dict:
    return {
        "out_trade_no": out_trade_no("Q"),
        "total_amount": "9.99",
        "subject": "s",
        "product_code": "FAST_INSTANT_TRADE_PAY",
        **changes,
    }


def gateway(emulator, params: dict, charset: str = "utf-8") -> httpx.Response:
    query = urlencode(params, encoding=charset)
    return httpx.get(f"{emulator.url}/gateway.do?{query}", timeout=10)


def test_a_bad_signature_shows_the_error_page_with_the_rebuilt_string(emulator, keys):
    params = signed(page_pay(order()), keys["pems"]["app"][0])
    params["timestamp"] = "2024-01-02 03:04:06"  # changed after signing

    page = gateway(emulator, params)

    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"]
    assert "invalid-signature" in page.text
    assert "app_id=" + APP_ID + "&amp;biz_content=" in page.text
    assert "sign_type=RSA2&amp;timestamp=2024-01-02 03:04:06&amp;version=1.0" in page.text


def test_a_request_signed_with_another_key_is_refused_unsigned(emulator, keys, receiver):
    """Gateway-level errors come back without `sign`, as Alipay's do; the SDK raises on them."""
    stranger = make_merchant(emulator, keys, receiver, app_private_pem=keys["pems"]["alipay"][0])
    with pytest.raises(AliPayException) as raised:
        stranger.api_alipay_trade_query(out_trade_no="X1")
    body = json.loads(str(raised.value).split("message:", 1)[1])
    assert "sign" not in body
    assert body["alipay_trade_query_response"]["code"] == "40002"
    assert body["alipay_trade_query_response"]["sub_code"] == "isv.invalid-signature"


def test_an_unknown_app_is_invalid_app_id(emulator, keys, receiver):
    other = make_merchant(emulator, keys, receiver, appid="2016000000000000")
    with pytest.raises(AliPayException) as raised:
        other.api_alipay_trade_query(out_trade_no="X1")
    result = json.loads(str(raised.value).split("message:", 1)[1])["alipay_trade_query_response"]
    assert result["code"] == "40002"
    assert result["sub_code"] == "isv.invalid-app-id"
    page = httpx.get(other.page_pay_url(subject="s", out_trade_no="X1", total_amount="1.00"))
    assert page.status_code == 400 and "isv.invalid-app-id" in page.text


@pytest.mark.parametrize(
    "amount",
    [
        "1.001",
        "0",
        "0.00",
        "100000000.01",
        "-1",
        "abc",
        "",
        "1e2",
        " 1.00",
        "NaN",
        0.30000000000000004,
    ],
)
def test_bad_amounts_are_refused(emulator, merchant, amount):
    page = httpx.get(
        merchant.page_pay_url(subject="s", out_trade_no=out_trade_no(), total_amount=amount)
    )
    assert page.status_code == 400
    assert "ACQ.INVALID_PARAMETER" in page.text and "total_amount" in page.text


@pytest.mark.parametrize(
    "biz_change, field",
    [
        ({"out_trade_no": "has-dash"}, "out_trade_no"),
        ({"out_trade_no": "x" * 65}, "out_trade_no"),
        ({"subject": ""}, "subject"),
        ({"product_code": "QUICK_WAP_WAY"}, "product_code"),
        ({"time_expire": "tomorrow"}, "time_expire"),
        ({"timeout_express": "1.5h"}, "timeout_express"),
    ],
)
def test_bad_business_fields_are_refused(emulator, keys, biz_change, field):
    page = gateway(emulator, signed(page_pay(order(**biz_change)), keys["pems"]["app"][0]))
    assert page.status_code == 400
    assert "ACQ.INVALID_PARAMETER" in page.text and field in page.text


def test_amounts_as_numbers_and_any_json_layout_are_accepted(emulator, keys):
    number = out_trade_no()
    biz = (
        '{ "out_trade_no" : "' + number + '", "total_amount": 12.5,'
        ' "subject": "\\u6d4b\\u8bd5", "product_code": "FAST_INSTANT_TRADE_PAY" }'
    )
    page = gateway(emulator, signed(page_pay(biz), keys["pems"]["app"][0]))
    assert page.status_code == 200, page.text
    assert "12.50" in page.text and "测试" in page.text


def test_query_string_and_form_body_are_merged(emulator, keys, merchant):
    number = out_trade_no()
    params = signed(page_pay(order(out_trade_no=number)), keys["pems"]["app"][0])
    common = {k: v for k, v in params.items() if k != "biz_content"}
    page = httpx.post(
        f"{emulator.url}/gateway.do?{urlencode(common)}",
        data={"biz_content": params["biz_content"]},
    )
    assert page.status_code == 200, page.text
    assert httpx.post(login_url(page), timeout=10).status_code == 303
    assert merchant.api_alipay_trade_query(out_trade_no=number)["code"] == "10000"


def test_gbk_requests_are_verified_in_gbk(emulator, keys):
    biz = json.dumps(order(subject="中文商品"), ensure_ascii=False, separators=(",", ":"))
    page = gateway(emulator, signed(page_pay(biz), keys["pems"]["app"][0], "gbk"), "gbk")
    assert page.status_code == 200, page.text
    assert "中文商品" in page.text


@pytest.mark.parametrize(
    "change, sub_code",
    [
        ({"timestamp": "2024/01/02 03:04:05"}, "isv.invalid-timestamp"),
        ({"charset": "latin-1"}, "isv.invalid-charset"),
        ({"sign_type": "MD5"}, "isv.invalid-signature-type"),
        ({"sign": ""}, "isv.missing-signature"),
    ],
)
def test_bad_common_parameters(emulator, keys, change, sub_code):
    params = {
        **signed(
            {"method": "alipay.trade.query", "biz_content": '{"out_trade_no":"X1"}'},
            keys["pems"]["app"][0],
        ),
        **change,
    }
    answer = gateway(emulator, params)
    assert answer.status_code == 200
    assert "sign" not in answer.json()  # a gateway-level error is not signed
    body = answer.json()["alipay_trade_query_response"]
    assert body["sub_code"] == sub_code


def test_responses_are_signed_over_the_exact_node_text(emulator, keys):
    answer = gateway(
        emulator,
        signed(
            {"method": "alipay.trade.query", "biz_content": '{"out_trade_no":"X1"}'},
            keys["pems"]["app"][0],
        ),
    )
    text = answer.text
    content = extract_response_content(text, "alipay_trade_query_response")
    assert text.index('"sign"') > text.index(content)
    alipay_public = load_public_key(keys["pems"]["alipay"][1])
    assert verify_bytes(content.encode(), answer.json()["sign"], alipay_public)
    assert json.loads(content)["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_an_unknown_method_is_an_unsigned_error_response(emulator, keys):
    answer = gateway(emulator, signed({"method": "alipay.rade.refund"}, keys["pems"]["app"][0]))
    body = answer.json()
    assert "sign" not in body
    assert body["error_response"]["sub_code"] == "isv.invalid-method"
