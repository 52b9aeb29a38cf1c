"""alipay.trade.refund and alipay.trade.fastpay.refund.query through python-alipay-sdk."""

import httpx

from tests.support.cashier import log_in

from .conftest import out_trade_no


def paid_trade(emulator, merchant, receiver, amount="10.00") -> str:
    number = out_trade_no("R")
    httpx.get(merchant.page_pay_url(subject="x", out_trade_no=number, total_amount=amount))
    assert httpx.post(f"{emulator.url}/sandbox/trades/{number}/pay").status_code == 200
    receiver.wait_for(number, 1)
    return number


def test_partial_refunds_accumulate_and_a_full_refund_closes_the_trade(
    emulator, merchant, receiver
):
    number = paid_trade(emulator, merchant, receiver)

    first = merchant.api_alipay_trade_refund("3.00", out_trade_no=number, out_request_no="r1")

    assert first["code"] == "10000"
    assert first["fund_change"] == "Y" and first["refund_fee"] == "3.00"
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_SUCCESS"
    notifies = receiver.wait_for(number, 2)
    partial = notifies[1]["form"]
    assert partial["trade_status"] == "TRADE_SUCCESS"
    assert partial["out_biz_no"] == "r1" and partial["refund_fee"] == "3.00"
    assert partial["gmt_refund"]
    sign = partial.pop("sign")
    assert merchant.verify(dict(partial), sign)

    second = merchant.api_alipay_trade_refund("7.00", out_trade_no=number, out_request_no="r2")

    assert second["fund_change"] == "Y" and second["refund_fee"] == "10.00"
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    full = receiver.wait_for(number, 3)[2]["form"]
    assert full["trade_status"] == "TRADE_CLOSED"
    assert full["refund_fee"] == "10.00" and full["out_biz_no"] == "r2" and full["gmt_close"]

    view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
    assert view["refund_fee"] == "10.00"
    assert [r["out_request_no"] for r in view["refunds"]] == ["r1", "r2"]


def test_a_repeated_refund_request_moves_no_money(emulator, merchant, receiver):
    number = paid_trade(emulator, merchant, receiver)
    merchant.api_alipay_trade_refund("4.00", out_trade_no=number, out_request_no="same")

    again = merchant.api_alipay_trade_refund("4.00", out_trade_no=number, out_request_no="same")

    assert again["code"] == "10000"
    assert again["fund_change"] == "N" and again["refund_fee"] == "4.00"
    different = merchant.api_alipay_trade_refund("5.00", out_trade_no=number, out_request_no="same")
    assert different["code"] == "40004"
    assert different["sub_code"] == "ACQ.DISCORDANT_REPEAT_REQUEST"
    view = httpx.get(f"{emulator.url}/sandbox/trades/{number}").json()
    assert view["refund_fee"] == "4.00" and len(view["refunds"]) == 1


def test_refund_over_the_paid_amount_is_refused(emulator, merchant, receiver):
    number = paid_trade(emulator, merchant, receiver, amount="5.00")
    merchant.api_alipay_trade_refund("3.00", out_trade_no=number, out_request_no="a")

    result = merchant.api_alipay_trade_refund("2.01", out_trade_no=number, out_request_no="b")

    assert result["code"] == "40004"
    assert result["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert merchant.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_SUCCESS"


def test_refund_of_an_unpaid_or_unknown_trade(emulator, merchant):
    number = out_trade_no("R")
    unknown = merchant.api_alipay_trade_refund("1.00", out_trade_no=number)
    assert unknown["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    log_in(merchant.page_pay_url(subject="x", out_trade_no=number, total_amount="1.00"))
    unpaid = merchant.api_alipay_trade_refund("1.00", out_trade_no=number)
    assert unpaid["sub_code"] == "ACQ.TRADE_STATUS_ERROR"


def test_refund_amount_format_is_checked(emulator, merchant, receiver):
    number = paid_trade(emulator, merchant, receiver)
    result = merchant.api_alipay_trade_refund("1.001", out_trade_no=number, out_request_no="x")
    assert result["sub_code"] == "ACQ.INVALID_PARAMETER"
    assert "refund_amount" in result["sub_msg"]


def test_refund_query_finds_the_refund_by_request_number(emulator, merchant, receiver):
    number = paid_trade(emulator, merchant, receiver)
    merchant.api_alipay_trade_refund(
        "2.50", out_trade_no=number, out_request_no="q1", refund_reason="damaged"
    )

    found = merchant.api_alipay_trade_fastpay_refund_query("q1", out_trade_no=number)

    assert found["code"] == "10000"
    assert found["refund_status"] == "REFUND_SUCCESS"
    assert found["refund_amount"] == "2.50" and found["total_amount"] == "10.00"
    assert found["out_request_no"] == "q1" and found["refund_reason"] == "damaged"
    missing = merchant.api_alipay_trade_fastpay_refund_query("nope", out_trade_no=number)
    assert missing["code"] == "10000"
    assert "refund_status" not in missing and "refund_amount" not in missing


def test_a_refund_without_request_number_uses_the_order_number(emulator, merchant, receiver):
    number = paid_trade(emulator, merchant, receiver)
    assert merchant.api_alipay_trade_refund("10.00", out_trade_no=number)["fund_change"] == "Y"
    found = merchant.api_alipay_trade_fastpay_refund_query(number, out_trade_no=number)
    assert found["refund_amount"] == "10.00"
