"""Where the emulator answers as Alipay does: finished and discounted trades, query_options,
refund notifies, notify headers and acknowledgements, and the common parameters it checks."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from .conftest import out_trade_no
from .test_notifies import fault, issue, pay, verified, wait_finished
from .test_requests import gateway, signed


@pytest.fixture(autouse=True)
def no_faults(emulator):
    httpx.delete(f"{emulator.url}/sandbox/faults")
    yield
    httpx.delete(f"{emulator.url}/sandbox/faults")


def test_a_trade_finished_at_payment_is_not_refundable(emulator, merchant, receiver):
    number = out_trade_no("F")
    issue(merchant, number)
    fault(emulator, out_trade_no=number, trade_finished=True)

    pay(emulator, number)

    [post] = receiver.wait_for(number, 1)
    assert post["form"]["trade_status"] == "TRADE_FINISHED" and verified(merchant, post["form"])
    query = merchant.api_alipay_trade_query(out_trade_no=number)
    assert query["trade_status"] == "TRADE_FINISHED"
    refund = merchant.api_alipay_trade_refund("1.00", out_trade_no=number, out_request_no="f1")
    assert refund["code"] == "40004" and refund["sub_code"] == "ACQ.TRADE_HAS_FINISHED"
    cancel = merchant.api_alipay_trade_cancel(out_trade_no=number)
    assert cancel["sub_code"] == "ACQ.TRADE_HAS_FINISHED"


def test_a_discounted_payment_reports_every_amount(emulator, merchant, receiver):
    number = out_trade_no("D")
    issue(merchant, number, "12.50")
    fault(emulator, out_trade_no=number, discount_amount="2.00", point_amount="0.50")

    pay(emulator, number)

    form = receiver.wait_for(number, 1)[0]["form"]
    assert verified(merchant, form)
    assert form["total_amount"] == "12.50"
    assert form["receipt_amount"] == "10.50"  # the merchant's coupon is the merchant's cost
    assert form["buyer_pay_amount"] == "10.00" and form["invoice_amount"] == "10.00"
    assert form["point_amount"] == "0.50"
    bills = json.loads(form["fund_bill_list"])
    assert {bill["fundChannel"] for bill in bills} >= {"ALIPAYACCOUNT", "POINT"}
    assert sum(Decimal(bill["amount"]) for bill in bills) == Decimal("12.50")
    query = merchant.api_alipay_trade_query(out_trade_no=number)
    assert (query["total_amount"], query["receipt_amount"], query["buyer_pay_amount"]) == (
        "12.50",
        "10.50",
        "10.00",
    )
    assert query["point_amount"] == "0.50"


def test_fund_bill_list_only_when_query_options_ask_for_it(emulator, merchant, receiver):
    number = out_trade_no("O")
    issue(merchant, number, "3.00")
    pay(emulator, number)

    plain = merchant.api_alipay_trade_query(out_trade_no=number)
    asked = merchant.server_api(
        "alipay.trade.query",
        biz_content={"out_trade_no": number, "query_options": ["fund_bill_list"]},
    )

    assert plain["trade_status"] == "TRADE_SUCCESS" and "fund_bill_list" not in plain
    assert asked["fund_bill_list"] == [{"fund_channel": "ALIPAYACCOUNT", "amount": "3.00"}]
    bad = merchant.server_api(
        "alipay.trade.query", biz_content={"out_trade_no": number, "query_options": "all"}
    )
    assert bad["sub_code"] == "ACQ.INVALID_PARAMETER"


def test_a_refund_notify_carries_only_what_alipay_sends(emulator, merchant, receiver):
    number = out_trade_no("N")
    issue(merchant, number, "5.00")
    pay(emulator, number)
    receiver.wait_for(number, 1)

    merchant.api_alipay_trade_refund("2.00", out_trade_no=number, out_request_no="n1")

    form = receiver.wait_for(number, 2)[1]["form"]
    assert verified(merchant, form)
    assert form["out_biz_no"] == "n1" and form["refund_fee"] == "2.00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", form["gmt_refund"])
    for absent in (
        "receipt_amount",
        "invoice_amount",
        "buyer_pay_amount",
        "point_amount",
        "fund_bill_list",
    ):
        assert absent not in form, absent
    assert form["total_amount"] == "5.00" and form["gmt_payment"]


def test_notifies_come_with_alipays_headers_and_success_may_end_in_a_newline(
    emulator, merchant, receiver
):
    number = out_trade_no("H")
    issue(merchant, number)
    receiver.answer(number, "success\n")

    pay(emulator, number)

    view = wait_finished(emulator, number)
    [post] = receiver.posts(number)
    headers = {name.lower(): value for name, value in post["headers"].items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded; text/html; charset=utf-8"
    assert headers["user-agent"] == "Mozilla/4.0"
    [notify] = view["notifies"]
    assert notify["acknowledged"] is True and len(notify["deliveries"]) == 1


def test_an_answer_other_than_success_is_not_an_acknowledgement(emulator, merchant, receiver):
    number = out_trade_no("H")
    issue(merchant, number)
    receiver.answer(number, "success!", "ok")

    pay(emulator, number)

    receiver.wait_for(number, 3)
    view = wait_finished(emulator, number)
    assert [d["acknowledged"] for d in view["notifies"][0]["deliveries"]] == [False, False, True]


def query_request(keys, **change) -> dict:
    params = {"method": "alipay.trade.query", "biz_content": '{"out_trade_no":"X1"}', **change}
    return signed(params, keys["pems"]["app"][0])


@pytest.mark.parametrize(
    "change, sub_code",
    [
        # a server in UTC stamping its own clock (python-alipay-sdk's datetime.now())
        ({"timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")}, "isv.invalid-timestamp"),
        ({"version": "2.0"}, "isv.invalid-version"),
        ({"version": ""}, "isv.missing-version"),
        ({"format": "XML"}, "isv.invalid-format"),
    ],
)
def test_timestamp_skew_version_and_format_are_checked(emulator, keys, change, sub_code):
    answer = gateway(emulator, query_request(keys, **change))
    body = answer.json()
    assert "sign" not in body
    assert body["alipay_trade_query_response"]["sub_code"] == sub_code


def test_format_json_in_either_case_is_accepted(emulator, keys):
    for spelling in ("JSON", "json"):
        body = gateway(emulator, query_request(keys, format=spelling)).json()
        assert body["alipay_trade_query_response"]["sub_code"] == "ACQ.TRADE_NOT_EXIST"
