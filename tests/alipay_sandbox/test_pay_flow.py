"""The page pay flow as a merchant using python-alipay-sdk and a buyer's browser see it."""

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.support.cashier import log_in, login_url

from .conftest import APP_ID, SELLER_ID, out_trade_no


def open_cashier(url: str) -> httpx.Response:
    """Open the link and log in: the trade exists from then on."""
    return log_in(url)


def pay_form_action(html: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+/pay)">', html)
    assert match, html
    return match[1]


def test_the_trade_exists_once_the_buyer_logs_in_not_when_the_link_opens(emulator, merchant):
    number = out_trade_no()
    url = merchant.page_pay_url(
        subject="测试订单 & more",
        out_trade_no=number,
        total_amount="88.80",
        return_url="https://shop.example/return",
    )

    page = httpx.get(url, timeout=10)

    assert page.status_code == 200
    assert 'id="login"' in page.text and 'id="pay"' in page.text and 'id="cancel"' in page.text
    assert "88.80" in page.text and number in page.text and "测试订单 &amp; more" in page.text
    # the link was opened, but Alipay knows no trade until the buyer logs in or scans
    assert merchant.api_alipay_trade_query(out_trade_no=number)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert merchant.api_alipay_trade_close(out_trade_no=number)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()["status"] == "LINK_ISSUED"

    page = httpx.post(login_url(page), follow_redirects=True, timeout=10)

    assert (
        page.status_code == 200 and 'id="trade-no"' in page.text and 'id="login"' not in page.text
    )
    result = merchant.api_alipay_trade_query(out_trade_no=number)  # verified by the SDK
    assert result["code"] == "10000"
    assert result["trade_status"] == "WAIT_BUYER_PAY"
    assert result["total_amount"] == "88.80"
    assert result["buyer_pay_amount"] == "0.00"


def test_paying_redirects_to_a_signed_return_and_posts_a_verifiable_notify(
    emulator, merchant, receiver
):
    number = out_trade_no()
    url = merchant.page_pay_url(
        subject="一件商品",
        out_trade_no=number,
        total_amount="12.50",
        return_url="https://shop.example/return?from=alipay",
    )
    page = open_cashier(url)

    paid = httpx.post(emulator.url + pay_form_action(page.text), timeout=10)

    assert paid.status_code == 303
    location = paid.headers["location"]
    assert location.startswith("https://shop.example/return?from=alipay&")
    params = dict(parse_qsl(urlsplit(location).query))
    params.pop("from")
    assert "trade_status" not in params
    assert params["method"] == "alipay.trade.page.pay.return"
    assert params["out_trade_no"] == number and params["total_amount"] == "12.50"
    assert params["app_id"] == APP_ID and params["seller_id"] == SELLER_ID
    sign = params.pop("sign")
    assert merchant.verify(dict(params), sign)

    notify = receiver.wait_for(number, 1)[0]
    assert notify["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = dict(notify["form"])
    assert form["trade_status"] == "TRADE_SUCCESS"
    assert form["notify_type"] == "trade_status_sync"
    assert form["total_amount"] == "12.50" and form["receipt_amount"] == "12.50"
    assert form["trade_no"] == params["trade_no"]
    assert form["seller_id"] == SELLER_ID and form["app_id"] == APP_ID
    assert form["subject"] == "一件商品"
    assert form["sign_type"] == "RSA2"
    for field in (
        "notify_id",
        "notify_time",
        "buyer_id",
        "gmt_create",
        "gmt_payment",
        "fund_bill_list",
    ):
        assert form[field]
    sign = form.pop("sign")
    assert merchant.verify(dict(form), sign)

    query = merchant.api_alipay_trade_query(trade_no=params["trade_no"])
    assert query["trade_status"] == "TRADE_SUCCESS"
    assert query["buyer_pay_amount"] == "12.50"
    assert query["send_pay_date"]


def test_sandbox_pay_route_pays_an_issued_link_without_a_browser(emulator, merchant, receiver):
    number = out_trade_no()
    url = merchant.page_pay_url(
        subject="x",
        out_trade_no=number,
        total_amount="1.00",
        return_url="https://shop.example/return",
    )
    # the merchant hands the link out, but nobody opens it yet: the emulator has seen nothing
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 404
    # the browser fetches it (here with a POST form, as official SDKs do)
    query = dict(parse_qsl(urlsplit(url).query))
    assert httpx.post(f"{emulator.url}/gateway.do", data=query).status_code == 200

    answer = httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "TRADE_SUCCESS"
    returned = dict(parse_qsl(urlsplit(body["return_url"]).query))
    sign = returned.pop("sign")
    assert merchant.verify(dict(returned), sign)
    receiver.wait_for(number, 1)
    again = httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay")
    assert again.status_code == 409
    assert again.json()["code"] == "trade_not_open"

    view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
    assert view["status"] == "TRADE_SUCCESS"
    assert view["total_amount"] == "1.00"
    assert view["notifies"][0]["acknowledged"] is True
    assert view["notifies"][0]["deliveries"][0]["response"] == "success"
    # the buyer can come back to the cashier: it now says the trade is paid
    cashier = httpx.get(view["cashier_url"])
    assert cashier.status_code == 409 and "ACQ.TRADE_HAS_SUCCESS" in cashier.text


def test_unknown_trade_is_404_on_the_test_routes(emulator):
    assert httpx.get(f"{emulator.url}/sandbox/trades/NOPE123").status_code == 404
    answer = httpx.post(f"{emulator.url}/sandbox/trades/NOPE123/pay")
    assert answer.status_code == 404
    assert answer.json()["code"] == "trade_not_found"


def test_close_an_open_trade_then_it_cannot_be_paid(emulator, merchant):
    number = out_trade_no()
    open_cashier(merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="3.00"))

    closed = merchant.api_alipay_trade_close(out_trade_no=number)

    assert closed["code"] == "10000" and closed["out_trade_no"] == number
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    again = merchant.api_alipay_trade_close(out_trade_no=number)
    assert again["code"] == "40004" and again["sub_code"] == "ACQ.TRADE_STATUS_ERROR"
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 409


def test_close_before_the_buyer_engages_is_trade_not_exist(emulator, merchant):
    number = out_trade_no()
    merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="3.00")
    result = merchant.api_alipay_trade_close(out_trade_no=number)
    assert result["code"] == "40004"
    assert result["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_close_a_paid_trade_is_a_status_error(emulator, merchant):
    number = out_trade_no()
    open_cashier(merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="3.00"))
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 200
    result = merchant.api_alipay_trade_close(out_trade_no=number)
    assert result["sub_code"] == "ACQ.TRADE_STATUS_ERROR"


@pytest.mark.parametrize("product_code", ["QUICK_WAP_WAY", "QUICK_WAP_PAY"])
def test_wap_pay_accepts_both_product_codes(emulator, merchant, product_code):
    number = out_trade_no()
    url = merchant.wap_pay_url(
        subject="x",
        out_trade_no=number,
        total_amount="2.00",
        product_code=product_code,
        return_url="https://shop.example/return",
    )
    assert open_cashier(url).status_code == 200
    paid = httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").json()
    returned = dict(parse_qsl(urlsplit(paid["return_url"]).query))
    assert returned["method"] == "alipay.trade.wap.pay.return"


def test_cancel_leaves_the_trade_open(emulator, merchant):
    number = out_trade_no()
    page = open_cashier(
        merchant.page_pay_url(
            subject="x",
            out_trade_no=number,
            total_amount="2.00",
            return_url="https://shop.example/return",
        )
    )
    cancel = re.search(r'action="([^"]+/cancel)"', page.text)[1]

    left = httpx.post(emulator.url + cancel)

    assert left.status_code == 200 and "canceled" in left.text
    assert 'href="https://shop.example/return"' in left.text
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "WAIT_BUYER_PAY"
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 200


def test_wap_cancel_goes_to_quit_url(emulator, merchant):
    number = out_trade_no()
    page = open_cashier(
        merchant.wap_pay_url(
            subject="x",
            out_trade_no=number,
            total_amount="2.00",
            quit_url="https://shop.example/q",
        )
    )
    cancel = re.search(r'action="([^"]+/cancel)"', page.text)[1]
    left = httpx.post(emulator.url + cancel)
    assert left.status_code == 303 and left.headers["location"] == "https://shop.example/q"


def test_a_new_link_with_another_amount_for_an_existing_trade_is_refused(emulator, merchant):
    number = out_trade_no()
    open_cashier(merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="2.00"))
    same = httpx.get(
        merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="2.00"), timeout=10
    )
    assert same.status_code == 200 and 'id="trade-no"' in same.text  # logged in already
    other = httpx.get(
        merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="2.01"), timeout=10
    )
    assert other.status_code == 400 and "ACQ.CONTEXT_INCONSISTENT" in other.text
