"""alipay.trade.cancel, and faults in the answers to server calls, through python-alipay-sdk."""

import socket
import time
from urllib.error import URLError

import httpx
import pytest
from alipay.utils import AliPayConfig

from tests.support.cashier import log_in

from .conftest import make_merchant, out_trade_no


def open_trade(emulator, merchant, amount="10.00") -> str:
    """A trade the buyer has engaged with (WAIT_BUYER_PAY)."""
    number = out_trade_no("C")
    url = merchant.page_pay_url(subject="x", out_trade_no=number, total_amount=amount)
    assert log_in(url).status_code == 200
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "WAIT_BUYER_PAY"
    return number


def set_fault(emulator, **fault) -> None:
    response = httpx.post(f"{emulator.url}/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


def test_cancel_closes_an_unpaid_trade(emulator, merchant):
    number = open_trade(emulator, merchant)

    result = merchant.api_alipay_trade_cancel(out_trade_no=number)

    assert result["code"] == "10000"
    assert result["action"] == "close" and result["retry_flag"] == "N"
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 409
    again = merchant.api_alipay_trade_cancel(out_trade_no=number)
    assert again["code"] == "10000" and again["action"] == "close"


def test_cancel_refunds_a_paid_trade_in_full(emulator, merchant, receiver):
    number = open_trade(emulator, merchant, "10.00")
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 200
    receiver.wait_for(number, 1)
    merchant.api_alipay_trade_refund("3.00", out_trade_no=number, out_request_no="part")

    result = merchant.api_alipay_trade_cancel(out_trade_no=number)

    assert result["code"] == "10000"
    assert result["action"] == "refund" and result["retry_flag"] == "N"
    trade = merchant.api_alipay_trade_query(out_trade_no=number)
    assert trade["trade_status"] == "TRADE_CLOSED"
    view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
    assert view["refund_fee"] == "10.00"
    assert [r["refund_amount"] for r in view["refunds"]] == ["3.00", "7.00"]
    notifies = [post["form"] for post in receiver.wait_for(number, 3)]
    [closed] = [form for form in notifies if form["trade_status"] == "TRADE_CLOSED"]
    assert closed["trade_status"] == "TRADE_CLOSED" and closed["refund_fee"] == "10.00"
    sign = closed.pop("sign")
    assert merchant.verify(dict(closed), sign)


def test_cancel_of_an_unknown_trade_is_trade_not_exist(emulator, merchant):
    result = merchant.api_alipay_trade_cancel(out_trade_no=out_trade_no("C"))
    assert result["code"] == "40004" and result["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_system_error_answers_are_signed_and_change_nothing(emulator, merchant):
    number = open_trade(emulator, merchant)
    set_fault(
        emulator,
        out_trade_no=number,
        answer="system_error",
        answer_methods=[
            "alipay.trade.query",
            "alipay.trade.close",
        ],
    )
    try:
        query = merchant.api_alipay_trade_query(out_trade_no=number)  # verified by the SDK
        assert query["code"] == "40004" and query["sub_code"] == "ACQ.SYSTEM_ERROR"
        close = merchant.api_alipay_trade_close(out_trade_no=number)
        assert close["sub_code"] == "ACQ.SYSTEM_ERROR"
        view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
        assert view["status"] == "WAIT_BUYER_PAY"  # the close was not made
        # other methods answer as usual
        assert merchant.api_alipay_trade_cancel(out_trade_no=number)["action"] == "close"
    finally:
        httpx.delete(f"{emulator.url}/sandbox/faults", params={"out_trade_no": number})
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"


def test_a_timeout_does_the_call_but_the_answer_comes_too_late(emulator, keys, receiver):
    impatient = make_merchant(emulator, keys, receiver, config=AliPayConfig(timeout=1))
    number = open_trade(emulator, impatient)
    set_fault(emulator, out_trade_no=number, answer="timeout", answer_delay_seconds=3)
    try:
        started = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout, URLError)):
            impatient.api_alipay_trade_close(out_trade_no=number)
        assert time.monotonic() - started < 2.5
    finally:
        httpx.delete(f"{emulator.url}/sandbox/faults", params={"out_trade_no": number})
    # the close was made all the same
    assert impatient.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"


def test_bad_answer_faults_are_refused(emulator):
    for fault in ({"answer": "slow"}, {"answer": "timeout", "answer_delay_seconds": 1000}):
        response = httpx.post(f"{emulator.url}/sandbox/faults", json=fault)
        assert response.status_code == 422, fault
