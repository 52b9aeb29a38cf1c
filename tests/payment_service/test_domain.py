"""The payment rules that need no database or gateway."""

from decimal import Decimal

import pytest

from payment_service.domain.payments import (
    PaymentStatus,
    is_paid_status,
    refund_confirmed,
    refund_request_no,
    sources_of,
)


def test_moves_only_go_forward():
    assert sources_of(PaymentStatus.PAID) == (PaymentStatus.CLOSED, PaymentStatus.CREATED)
    assert sources_of(PaymentStatus.REFUNDED) == (PaymentStatus.PAID,)
    assert sources_of(PaymentStatus.CREATED) == ()


@pytest.mark.parametrize(
    "status, paid",
    [
        ("TRADE_SUCCESS", True),
        ("TRADE_FINISHED", True),
        ("WAIT_BUYER_PAY", False),
        ("TRADE_CLOSED", False),
        (None, False),
    ],
)
def test_only_success_and_finished_mean_paid(status, paid):
    assert is_paid_status(status) is paid


def test_the_refund_request_number_is_stable_per_payment():
    assert refund_request_no("20261126A") == refund_request_no("20261126A") == "20261126AR1"


@pytest.mark.parametrize(
    "answer, confirmed",
    [
        ({"code": "10000", "refund_status": "REFUND_SUCCESS", "refund_amount": "12.50"}, True),
        # Alipay's "query ran, no such refund": no refund_status at all
        ({"code": "10000", "out_request_no": "xR1"}, False),
        ({"code": "10000", "refund_amount": "12.50"}, False),
        ({"code": "10000", "refund_status": "REFUND_SUCCESS", "refund_amount": "12.49"}, False),
        ({"code": "10000", "refund_status": "REFUND_SUCCESS"}, False),
        ({"code": "10000", "refund_status": "REFUND_SUCCESS", "refund_amount": "abc"}, False),
    ],
)
def test_a_refund_counts_only_when_alipay_reports_it_done_for_our_amount(answer, confirmed):
    assert refund_confirmed(answer, Decimal("12.50")) is confirmed
